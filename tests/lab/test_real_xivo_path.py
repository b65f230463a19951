"""The real-XiVO path through two hosts: the simulator on the xivo host like a XiVO CC (XUC
and /wssip behind one HTTPS host, Asterisk and LineConfig.xivoIp on an address the lab cannot
reach, media on a third address), phones on the lab host from a target file, TLS verified."""

from __future__ import annotations

from pathlib import Path

import pytest
from netlab import MEDIA_HOST, REPO, XUC_HOST
from xivolab import XivoLab, output, with_users

from xctest.scenario import load_scenarios

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]

DATA = Path(__file__).resolve().parents[1] / "data" / "lab"
SIGNALLING = str(DATA / "signalling.scenario.yaml")
BASIC = "scenarios/basic_call.scenario.yaml"


def test_phones_register_and_call_through_the_xuc_host(xivo_lab: XivoLab) -> None:
    # xivoIp is the xivo host's internal address: the SIP websocket must go to the XUC host
    done = xivo_lab.run(SIGNALLING)
    assert done.returncode == 0, output(done)
    assert "PASSED" in done.stdout


def test_audio_flows_both_ways_between_the_hosts(xivo_lab: XivoLab) -> None:
    done = xivo_lab.run(BASIC)
    assert done.returncode == 0, output(done)


def test_loopback_only_media_is_named_as_such(xivo_lab: XivoLab) -> None:
    target = xivo_lab.target(media={"addresses": ["127.0.0.1"]})
    done = xivo_lab.run(BASIC, target=target)
    assert done.returncode == 1, output(done)
    assert "media not connected" in done.stdout, output(done)
    assert "127.0.0.1" in done.stdout and MEDIA_HOST in done.stdout, output(done)


def test_a_certificate_not_naming_the_host_fails_with_the_tls_message(make_xivo_lab) -> None:
    lab = make_xivo_lab(cert_hosts=("198.18.0.9",))
    done = lab.run(SIGNALLING)
    assert done.returncode == 1, output(done)
    assert "TLS" in done.stdout and "IP address mismatch" in done.stdout, output(done)
    assert XUC_HOST in done.stdout, output(done)


def test_a_line_without_webrtc_is_named_as_such(make_xivo_lab) -> None:
    lab = make_xivo_lab(lab=with_users({"alice": {"webrtc": False}}))
    done = lab.run(SIGNALLING)
    assert done.returncode == 1, output(done)
    assert "alice (alice) could not log in: alice: line 'wr1001'" in done.stdout, output(done)
    assert "is not a WebRTC line (LineConfig webRtc=false)" in done.stdout, output(done)
    assert "timed out" not in done.stdout, output(done)


def test_plain_http_reaches_asterisk_on_xivo_ip_port_5039(make_xivo_lab) -> None:
    # over http, xc_webrtc's pages leave the host to LineConfig.xivoIp and use port 5039
    lab = make_xivo_lab(sip_host=MEDIA_HOST)
    target = lab.target(xuc=f"http://{XUC_HOST}:8090", tls=None)
    done = lab.run(BASIC, target=target)
    assert done.returncode == 0, output(done)


def test_numbers_where_xuc_is_expected_to_send_text_are_taken_with_a_warning(
    make_xivo_lab,
) -> None:
    lab = make_xivo_lab(lab=with_users({}, xuc={"json_numbers": True}))
    done = lab.run(BASIC)  # its expectations compare otherDN with the parties' numbers
    assert done.returncode == 0, output(done)
    warned = [line for line in done.stderr.splitlines() if "taken as" in line]
    assert any('LineConfig" field "id": number 1 taken as' in line for line in warned), warned
    assert any('"userData.XIVO_USERID": number' in line for line in warned), warned
    # once per field and session, not once per frame
    fields = [line.split("WARNING")[1] for line in warned]
    assert len(fields) == len(set(fields)), warned


def test_a_party_without_a_number_is_named_with_the_fix(make_xivo_lab) -> None:
    lab = make_xivo_lab(lab=with_users({}, xuc={"line_number": False}))
    done = lab.run(BASIC)
    assert done.returncode == 1, output(done)
    assert "bob's number is unknown: XUC's LineConfig for bob carried none; give it as " in (
        done.stdout
    ), output(done)
    assert "users.bob.number in the target" in done.stdout, output(done)
    assert "XUC's LineConfig carries no number" in done.stderr, output(done)
    numbered = {
        u["login"]: {"login": u["login"], "password": u["password"], "number": u["number"]}
        for u in lab.lab_data["users"]
    }
    done = lab.run(BASIC, target=lab.target("numbered", users=numbered))
    assert done.returncode == 0, output(done)


@pytest.mark.timeout(600)
def test_the_bundled_scenarios_pass_through_the_lab(xivo_lab: XivoLab) -> None:
    done = xivo_lab.run("scenarios/", timeout=540)
    assert done.returncode == 0, output(done)
    bundled = sum(len(load_scenarios(f)) for f in (REPO / "scenarios").glob("*.scenario.yaml"))
    summary = done.stdout.strip().splitlines()
    assert any(line.strip() == f"{bundled} passed" for line in summary), output(done)
