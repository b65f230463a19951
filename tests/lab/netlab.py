"""A two-host lab made of network namespaces, for what one loopback host hides.

Two namespaces joined by a veth pair, addresses from the benchmarking range 198.18.0.0/15:

- the **xivo** host: ``XUC_HOST`` (XUC's HTTP port and the nginx-like HTTPS port serving XUC
  and ``/wssip``), ``MEDIA_HOST`` (where the PBX's media legs gather), and ``INTERNAL`` on its
  loopback device: the Asterisk-like SIP websocket and ``LineConfig.xivoIp``, reachable from
  inside that host only, like a XiVO CC's container address;
- the **lab** host: ``LAB_HOST``, where the phones run.

Nothing leaves the two namespaces.  The simulator runs in the xivo host as ``xctest sim``
started the way a user starts it; phones run in the lab host as ``xctest`` commands.  Needs
root and iproute2; every namespace, link and process made here is removed by ``close``.
"""

from __future__ import annotations

import itertools
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

XUC_HOST = "198.18.0.1"
LAB_HOST = "198.18.0.2"
MEDIA_HOST = "198.18.0.3"
INTERNAL = "198.19.0.1"
PREFIX = 24

REPO = Path(__file__).resolve().parents[2]
READY = "Ctrl-C to stop."
_serial = itertools.count()


class LabError(RuntimeError):
    """The lab could not be built (not root, no iproute2, …): the test fails loudly."""


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")


class TwoHosts:
    """The namespaces and the veth pair between them."""

    def __init__(self) -> None:
        if shutil.which("ip") is None:
            raise LabError("the two-host lab needs iproute2 ('ip'); .ci/run installs it")
        if os.geteuid() != 0:
            raise LabError("the two-host lab needs root (network namespaces)")
        tag = f"{os.getpid() % 100000}{next(_serial)}"
        self.xivo = f"xctx{tag}"
        self.lab = f"xctl{tag}"
        self._made: list[str] = []
        try:
            self._build(tag)
        except BaseException:
            self.close()
            raise

    def _build(self, tag: str) -> None:
        for ns in (self.xivo, self.lab):
            _ip("netns", "add", ns)
            self._made.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        xside, lside = f"xv{tag}", f"lv{tag}"
        _ip(
            "link",
            "add",
            xside,
            "netns",
            self.xivo,
            "type",
            "veth",
            "peer",
            lside,
            "netns",
            self.lab,
        )
        for address in (XUC_HOST, MEDIA_HOST):
            _ip("-n", self.xivo, "addr", "add", f"{address}/{PREFIX}", "dev", xside)
        _ip("-n", self.xivo, "addr", "add", f"{INTERNAL}/32", "dev", "lo")
        _ip("-n", self.lab, "addr", "add", f"{LAB_HOST}/{PREFIX}", "dev", lside)
        _ip("-n", self.xivo, "link", "set", xside, "up")
        _ip("-n", self.lab, "link", "set", lside, "up")

    def command(self, ns: str, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside namespace ``ns``."""
        return ["ip", "netns", "exec", ns, *argv]

    def close(self) -> None:
        """Delete the namespaces (their veth ends go with them)."""
        while self._made:
            ns = self._made.pop()
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


def xctest_argv(*args: str) -> list[str]:
    """The ``xctest`` command of this environment."""
    return [sys.executable, "-m", "xctest", *args]


class SimProcess:
    """``xctest sim`` in the xivo host, until ``stop``."""

    def __init__(self, hosts: TwoHosts, args: Sequence[str], log: Path, timeout: float = 30.0):
        self.log = log
        self.lines: list[str] = []
        self._stderr = open(log, "w")  # noqa: SIM115 - closed in stop()
        argv = hosts.command(hosts.xivo, xctest_argv("-v", "sim", *args))
        self._proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self._stderr, text=True, cwd=REPO
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _wait_ready(self, timeout: float) -> None:
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise LabError(f"xctest sim did not start within {timeout:g} s") from None
            if line is None:
                self._proc.wait(5)
                raise LabError(
                    f"xctest sim exited ({self._proc.returncode}) before it was ready: "
                    f"{self.log.read_text()[-2000:]}"
                )
            self.lines.append(line)
            if line == READY:
                return

    @property
    def description(self) -> str:
        """What the simulator printed when it started."""
        return "\n".join(self.lines)

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._stderr.close()
