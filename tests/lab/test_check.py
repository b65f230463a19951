"""``xctest check`` on the lab host against the XiVO-CC-like xivo host: every step passes, and
a lab with one fault names it, with what to change, and exits 1."""

from __future__ import annotations

import re

import pytest
from netlab import LAB_HOST, MEDIA_HOST, XUC_HOST
from xivolab import XivoLab, output, with_users

pytestmark = [pytest.mark.lab, pytest.mark.timeout(300)]


def lines_of(text: str, section: str) -> list[str]:
    """The step lines of one section of the check's output."""
    block = text.split(f"\n{section}\n", 1)[1].split("\n\n", 1)[0]
    return block.splitlines()


def step(lines: list[str], name: str) -> str:
    found = [ln for ln in lines if re.match(rf"  \S+\s+{re.escape(name)}\s", ln)]
    assert found, f"no {name!r} line in:\n" + "\n".join(lines)
    return found[0]


def test_check_passes_every_step_against_the_lab(xivo_lab: XivoLab) -> None:
    done = xivo_lab.xctest("check", "--target", str(xivo_lab.target()))
    text = output(done)
    assert done.returncode == 0, text
    alice = lines_of(done.stdout, "alice (login alice)")
    assert all(ln.startswith("  ok") or ln.startswith("      ") for ln in alice), alice
    assert f"POST https://{XUC_HOST}:8443/xuc/api/2.0/auth/login" in step(alice, "REST login")
    assert "xivoIp 198.19.0.1" in step(alice, "LineConfig")
    sip = step(alice, "SIP websocket")
    assert f"wss://{XUC_HOST}:8443/wssip?token=…" in sip
    assert f"certificate for {XUC_HOST}" in sip and sip.endswith(", verified"), sip
    # the SIP display name is the user's full name, as on xc_webrtc's sample page
    assert "wr1001 'Alice Archer' <sip:wr1001@default>: registered" in step(alice, "REGISTER")
    assert f"candidates {LAB_HOST}:" in step(alice, "media")
    call = lines_of(done.stdout, "test call alice -> bob (1002)")
    media = step(call, "media")
    assert re.search(rf"alice {LAB_HOST}:\d+ udp host <-> {MEDIA_HOST}:\d+ udp host", media), media
    assert "in 100% of 1 s" in step(call, "bob hears alice")
    assert "in 100% of 1 s" in step(call, "alice hears bob")
    assert "EventReleased on both" in step(call, "hang-up")
    assert "Q8 answer to a ping: Pong" in done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("PASSED: ")


def test_check_names_a_line_without_webrtc_and_what_to_change(make_xivo_lab) -> None:
    lab = make_xivo_lab(lab=with_users({"alice": {"webrtc": False}}))
    done = lab.xctest("check", "--target", str(lab.target()))
    assert done.returncode == 1, output(done)
    alice = lines_of(done.stdout, "alice (login alice)")
    line = step(alice, "LineConfig")
    assert line.startswith("  FAIL") and "webRtc false" in line, alice
    fix = alice[alice.index(line) + 1]
    assert fix.strip() == "-> in XiVO, turn WebRTC on for the user's line", alice
    assert step(alice, "REGISTER").startswith("  skip"), alice
    # the others are fine, and the test call is placed between the first two that logged in
    assert all(not ln.startswith("  FAIL") for ln in lines_of(done.stdout, "bob (login bob)"))
    assert "\ntest call bob -> carol (1003)\n" in done.stdout, done.stdout
    assert done.stdout.rstrip().splitlines()[-1].startswith("FAILED: ")


def test_check_names_loopback_media_and_a_certificate_for_another_host(make_xivo_lab) -> None:
    lab = make_xivo_lab(cert_hosts=("198.18.0.9",))
    done = lab.xctest("check", "--target", str(lab.target()), "--party", "alice")
    assert done.returncode == 1, output(done)
    alice = lines_of(done.stdout, "alice (login alice)")
    login = step(alice, "REST login")
    assert login.startswith("  FAIL") and "IP address mismatch" in login, alice
    fix = alice[alice.index(login) + 1]
    assert "tls.ca_file or tls.verify in the target" in fix, alice

    lab = make_xivo_lab()
    target = lab.target(media={"addresses": ["127.0.0.1"]})
    done = lab.xctest("check", "--target", str(target), "--party", "alice", "--party", "bob")
    assert done.returncode == 1, output(done)
    gathered = step(lines_of(done.stdout, "alice (login alice)"), "media")
    assert gathered.startswith("  FAIL") and "127.0.0.1:" in gathered, gathered
    assert "loopback only" in gathered, gathered
    call = lines_of(done.stdout, "test call alice -> bob (1002)")
    media = step(call, "media")
    assert media.startswith("  FAIL") and "not connected: alice: ICE" in media, call
