"""The real-XiVO path of a run: a target file naming XUC's URL, TLS trust and the accounts,
exercised against a simulator over https/wss (the same code path as a real XiVO), plus the
example target file shipped in targets/."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from xctest.scenario import load_scenario_text
from xctest.scenario.report import Status
from xctest.scenario.runner import run_scenario
from xctest.scenario.target import SipWebsocket, load_target
from xctest.scenario.xivo import Xivo

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CALL = """
name: call through a xuc target
parties: [alice, bob]
steps:
  - alice: {dial: bob}
  - bob: answer
  - expect:
      audio: {alice: {hears: bob}, bob: {hears: alice}}
      events:
        in_order:
          - bob:
              phone_event: EventEstablished
              otherDN: "{alice.number}"
              otherDName: "{alice.display_name}"   # the name XUC's UserConfigUpdate gave
"""


def xuc_target(tmp_path: Path, sim, **passwords: str) -> Path:
    """A target file for ``sim`` as if it were a real XiVO: https URL, its CA, accounts."""
    (tmp_path / "ca.pem").write_bytes(sim.certificate.cert_pem)
    users = {
        party: {"login": party, "password": passwords.get(party, f"{party}-pass")}
        for party in ("alice", "bob")
    }
    body = {
        "xuc": sim.https_url,
        "tls": {"ca_file": "ca.pem"},
        "media": {"addresses": ["127.0.0.1"]},  # a test stays on loopback
        "moh": "signature",
        "users": users,
    }
    path = tmp_path / "lab.target.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


async def test_a_scenario_runs_on_a_xuc_target_over_tls(tmp_path, tls_sim):
    target = load_target(xuc_target(tmp_path, tls_sim))
    assert not target.is_simulator and target.uses_tls
    (scenario,) = load_scenario_text(CALL)
    async with Xivo(target) as xivo:
        result = await run_scenario(scenario, xivo)
    assert result.status is Status.PASSED, result.explain()
    assert result.target == f"xivo {tls_sim.https_url}"
    # numbers came from XUC's LineConfig: the target file gives none
    assert result.steps[0].evidence["number"] == "1002"


async def test_wrong_password_on_a_xuc_target_is_an_error_naming_the_party(tmp_path, tls_sim):
    target = load_target(xuc_target(tmp_path, tls_sim, bob="wrong"))
    (scenario,) = load_scenario_text(CALL)
    async with Xivo(target) as xivo:
        result = await run_scenario(scenario, xivo)
    assert result.status is Status.ERROR
    assert result.message.startswith("log-in failed: bob (bob) could not log in:")
    assert "'bob'" in result.message and "401" in result.message
    assert all(step.status is Status.NOT_RUN for step in result.steps)


def test_the_example_target_file_is_valid(monkeypatch):
    for name in ("ALICE", "BOB", "CAROL", "DAVE"):
        monkeypatch.setenv(f"XCTEST_{name}_PASSWORD", f"{name.lower()}-secret")
    target = load_target(ROOT / "targets" / "xivo-docker.target.yaml")
    assert target.xuc == "https://xivo.lab.example:8443" and target.websocket_port == 8443
    assert target.sip_websocket() == SipWebsocket(True, 8443, host="xivo.lab.example")
    assert target.moh_mode == "any-audio"
    assert target.account("alice").password == "alice-secret"
    assert target.account("dave", worker=1).login == "qa.dave2"


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "No such file or directory"), (b"not a certificate\n", r"\[X509|PEM|no certificate")],
)
async def test_a_ca_file_that_cannot_be_used_is_a_target_error(tmp_path, tls_sim, content, reason):
    import re

    from xctest.errors import TargetError

    path = xuc_target(tmp_path, tls_sim)
    (tmp_path / "ca.pem").unlink()
    if content is not None:
        (tmp_path / "ca.pem").write_bytes(content)
    target = load_target(path)
    with pytest.raises(TargetError) as failed:
        async with Xivo(target):
            pass
    message = str(failed.value)
    assert message.startswith(f"tls.ca_file {str(tmp_path / 'ca.pem')!r} of the target: ")
    assert re.search(reason, message), message
