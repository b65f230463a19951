"""``XivoLab``: a XiVO CC on the xivo host of a two-host lab (the simulator, started as a
user starts it), phones on the lab host as ``xctest`` commands with a target file."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from netlab import INTERNAL, MEDIA_HOST, REPO, XUC_HOST, SimProcess, TwoHosts, xctest_argv

from xctest.sim import default_lab
from xctest.transport.tls import self_signed

TLS_PORT = 8443
HTTP_PORT = 8090
SIP_PORT = 5039


class XivoLab:
    """A XiVO CC on the xivo host (simulator), phones on the lab host.

    ``cert_hosts``: what the served certificate names (the XUC host only by default);
    ``sip_host``: where the SIP websocket listens and what ``LineConfig.xivoIp`` says;
    ``lab``: a lab file's content (default: the built-in lab)."""

    def __init__(
        self,
        workdir: Path,
        *,
        cert_hosts: Sequence[str] = (XUC_HOST,),
        sip_host: str = INTERNAL,
        lab: Mapping[str, Any] | None = None,
        sim_args: Sequence[str] = (),
    ) -> None:
        self.workdir = workdir
        self.lab_data = dict(lab) if lab is not None else default_lab().model_dump(mode="json")
        cert = self_signed(tuple(cert_hosts))
        self.ca_file = workdir / "xivo-ca.pem"
        self.ca_file.write_bytes(cert.cert_pem)
        key_file = workdir / "xivo-key.pem"
        key_file.write_bytes(cert.key_pem)
        lab_file = workdir / "lab.yaml"
        lab_file.write_text(yaml.safe_dump(self.lab_data, sort_keys=False))
        args = [
            "--lab", str(lab_file),
            "--host", XUC_HOST,
            "--http-port", str(HTTP_PORT),
            "--tls", "--tls-port", str(TLS_PORT),
            "--tls-cert", str(self.ca_file), "--tls-key", str(key_file),
            "--sip-host", sip_host,
            "--sip-port", str(SIP_PORT),
            "--media-address", MEDIA_HOST,
            *sim_args,
        ]  # fmt: skip
        self.hosts = TwoHosts()
        try:
            self.sim = SimProcess(self.hosts, args, workdir / "sim.log")
        except BaseException:
            self.hosts.close()
            raise

    def target(self, name: str = "lab", **fields: Any) -> Path:
        """A target file for the lab side: XUC over HTTPS with verification on against the
        xivo host's certificate, one account per lab user; ``fields`` replace top-level keys
        (``None`` removes one)."""
        data: dict[str, Any] = {
            "xuc": f"https://{XUC_HOST}:{TLS_PORT}",
            "tls": {"verify": True, "ca_file": self.ca_file.name},
            "users": {
                u["login"]: {"login": u["login"], "password": u["password"]}
                for u in self.lab_data["users"]
            },
        }
        for key, value in fields.items():
            if value is None:
                data.pop(key, None)
            else:
                data[key] = value
        path = self.workdir / f"{name}.target.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def xctest(self, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        """``xctest ARGS`` on the lab host (from the repository root)."""
        argv = self.hosts.command(self.hosts.lab, xctest_argv(*args))
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=REPO)

    def run(self, *paths: str, target: Path | None = None, **kwargs: Any):
        """``xctest run PATHS --target T`` on the lab host, reports in the work folder."""
        target = target or self.target()
        reports = self.workdir / "reports"
        return self.xctest(
            "run", *paths, "--target", str(target), "--reports", str(reports), **kwargs
        )

    def close(self) -> None:
        try:
            self.sim.stop()
        finally:
            self.hosts.close()


def output(done: subprocess.CompletedProcess[str]) -> str:
    """A command's stdout and stderr, for assertion messages."""
    return done.stdout + done.stderr


def with_users(changes: dict[str, dict[str, Any]], **lab_fields: Any) -> dict[str, Any]:
    """The built-in lab with some users' fields changed, and lab settings."""
    lab = default_lab().model_dump(mode="json")
    for user in lab["users"]:
        user.update(changes.get(user["login"], {}))
    return {**lab, **lab_fields}
