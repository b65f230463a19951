"""A phone that cannot start says why, as the log-in's error: the line XUC describes, an
IceConfig that never comes, a REGISTER refused — never a bare registration timeout."""

from __future__ import annotations

import pytest
import yaml

from xctest.errors import XctestError
from xctest.phone import xuc_link
from xctest.scenario.target import SimulatorSettings, Target
from xctest.scenario.xivo import LoginTrace, Xivo
from xctest.sim import default_lab

pytestmark = pytest.mark.integration


def target_with(tmp_path, changes: dict, **lab_fields) -> Target:
    lab = default_lab().model_dump(mode="json")
    for user in lab["users"]:
        user.update(changes.get(user["login"], {}))
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump({**lab, **lab_fields}))
    return Target(simulator=SimulatorSettings(lab="lab.yaml"), base_dir=str(tmp_path))


@pytest.mark.parametrize(
    ("changes", "lab_fields", "said"),
    [
        (
            {"alice": {"webrtc": False}},
            {},
            "alice (alice) could not log in: alice: line 'wr1001' (id 1) is not a WebRTC line "
            "(LineConfig webRtc=false): in XiVO, turn WebRTC on for the user's line",
        ),
        (
            {"alice": {"has_device": True}},
            {},
            "alice (alice) could not log in: alice: line 'wr1001' (id 1) has a device attached",
        ),
        (
            {},
            {"xuc": {"ice_config": False}},
            "alice (alice) could not log in: timed out after 1s waiting for alice: IceConfig in "
            "answer to getIceConfig (xc_webrtc does not start without it)",
        ),
        (
            {"alice": {"xuc_line_password": "stale"}},
            {},
            "alice (alice) could not log in: alice: REGISTER of line 'wr1001' to ws://127.0.0.1:",
        ),
    ],
    ids=["no WebRTC", "a desk phone", "no IceConfig", "REGISTER refused"],
)
async def test_a_start_up_failure_is_the_log_ins_error_with_its_cause(
    tmp_path, monkeypatch, changes, lab_fields, said
):
    monkeypatch.setattr(xuc_link, "ICE_CONFIG_TIMEOUT", 1.0)
    trace = LoginTrace()
    async with Xivo(target_with(tmp_path, changes, **lab_fields)) as xivo:
        with pytest.raises(XctestError) as info:
            await xivo.phone("alice", trace=trace)
    assert str(info.value).startswith(said), str(info.value)
    assert "waiting for alice: registration" not in str(info.value)
    if "REGISTER" in said:
        assert str(info.value).endswith("/ws?token=… refused: 403 Forbidden")  # no token shown
    # xc_webrtc's view of it: the stack failed (or the line is unregistered), with the reason
    failed = trace.phone.timeline.find(
        lambda e: e.name in ("general/Failed", "registration/Unregistered")
    )
    assert failed is not None and failed.fields["data"]["reason"]
