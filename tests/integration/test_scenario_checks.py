"""Negative controls of the scenario language: for every expectation kind, a scenario that
must fail, run against the simulator and asserted to fail at the right step with the right
message.  (The passing side of each kind is the example scenarios in scenarios/.)"""

from __future__ import annotations

import re

import pytest
import yaml

from xctest.scenario import load_scenario_text
from xctest.scenario.report import ScenarioResult, Status
from xctest.scenario.runner import run_scenario
from xctest.scenario.target import Target
from xctest.scenario.xivo import Xivo

pytestmark = pytest.mark.integration

CONNECT = """
  - alice: {dial: bob}
  - bob: answer
  - expect: {audio: {alice: {hears: bob}, bob: {hears: alice}}}
"""


async def run(steps: str, parties: str = "[alice, bob]", target: Target | None = None):
    text = f"name: control\nparties: {parties}\nsteps:{steps}"
    (scenario,) = load_scenario_text(text, "control.scenario.yaml")
    async with Xivo(target) as xivo:
        return await run_scenario(scenario, xivo)


def failed_at(result: ScenarioResult, index: int, status: Status = Status.FAILED) -> str:
    """The message of step ``index``, after checking it is the step that failed."""
    step = result.failed_step
    assert step is not None, f"expected step {index} to fail; all passed"
    assert (step.index, step.status) == (index, status), result.explain()
    assert result.status is status
    assert all(s.status is Status.NOT_RUN for s in result.steps[index:])
    return step.message


CONTROLS = {
    "events in_order, wrong order": (
        CONNECT
        + """
  - alice: hangup
  - expect:
      events:
        in_order:
          - alice: {webrtc: Terminated}
          - alice: {sip: BYE, direction: in}
        within: 1s
""",
        5,
        r"within 1 s, events did not happen as expected \(in order\)(.|\n)*"
        r"2 alice: sip BYE direction=\"in\" +✗ not seen after 1 \(only before it",
    ),
    "events in_any_order, after not respected": (
        CONNECT
        + """
  - alice: hangup
  - expect:
      events:
        in_any_order:
          - {id: bye, alice: {sip: BYE, direction: in}}
          - {alice: {webrtc: Terminated}, before: bye}
        within: 1s
""",
        5,
        r"alice: webrtc Terminated \(before bye\) +✗ not seen in the order asked",
    ),
    "events never, violated": (
        CONNECT
        + """
  - alice: hangup
  - expect:
      events:
        never:
          - bob: {phone_event: EventReleased}
        within: 2s
""",
        5,
        r"bob: phone_event EventReleased was never to happen, but did: bob cti:PhoneEvent",
    ),
    "events field value differs": (
        """
  - alice: {dial: bob}
  - expect:
      events:
        in_order:
          - bob: {webrtc: Setup, caller: "{bob.number}"}
        within: 1s
""",
        2,
        r'1 bob: webrtc Setup caller="\{bob.number\}" +✗ not seen',
    ),
    "hears the wrong party": (
        CONNECT.replace("bob: {hears: alice}", "bob: {hears: bob}"),
        3,
        r"bob should hear bob: not heard within 2 s \(heard instead: alice \d+%\)",
    ),
    "hears nothing, but a party speaks": (
        CONNECT + "  - expect: {audio: {bob: {hears: nothing}}}\n",
        4,
        r"bob should hear nothing, but heard alice \d+%; sound above -45 dBFS in \d+% of frames",
    ),
    "hears music on hold, but nobody holds": (
        CONNECT + "  - expect: {audio: {bob: {hears: music-on-hold}}}\n",
        4,
        r"bob should hear music-on-hold: not heard within 2 s \(heard instead: alice \d+%\)",
    ),
    "hears DTMF, other digits were sent": (
        CONNECT
        + """
  - alice: {dtmf: "12"}
  - expect: {audio: {bob: {hears: {dtmf: "13"}}}}
""",
        5,
        r"bob should hear DTMF '13' in-band within \d+ s, heard '12' \(call \w+; SIP INFO "
        r"carried '12'\)",
    ),
    "hears DTMF, one digit too many": (
        CONNECT
        + """
  - alice: {dtmf: "123"}
  - expect: {audio: {bob: {hears: {dtmf: "12"}}}}
""",
        5,
        r"bob should hear DTMF '12' in-band within \d+ s, heard '123'",
    ),
    "hears nothing, but a tone no party plays": (
        CONNECT
        + """
  - alice: {play: silence}
  - expect: {audio: {bob: {hears: nothing}}}
  - alice: {play: {tone: 1000, level: -20}}
  - expect: {audio: {bob: {hears: nothing}}}
""",
        7,
        r"bob should hear nothing, but heard no known signal; sound above -45 dBFS in "
        r"(9\d|100)% of frames \(allowed: 5%\)",
    ),
    "hears ringback, none is played": (
        """
  - alice: {dial: bob}
  - expect: {audio: {alice: {hears: ringback, for: 1s}}}
""",
        2,
        r"alice heard no audio on call \w+ in 6 s",
    ),
    "setup time above the bound": (
        CONNECT + "  - expect: {timings: {alice: {setup_time: {below: 1ms}}}}\n",
        4,
        r"alice: setup_time \d+ ms, not below 1 ms",
    ),
    "post-dial delay above the bound": (
        CONNECT + "  - expect: {timings: {alice: {post_dial_delay: {below: 1ms}}}}\n",
        4,
        r"alice: post_dial_delay \d+ ms, not below 1 ms",
    ),
    "MOS of a muted far end": (
        CONNECT
        + """
  - bob: toggle_microphone
  - expect: {mos: {alice: {at_least: 3.0}}}
""",
        5,
        r"alice: no MOS without a far party speaking: (no party's signal is heard|the "
        r"strongest signal, bob's, is in \d%)",
    ),
    "MOS above what a G.711/Opus path gives": (
        CONNECT + "  - expect: {mos: {alice: {at_least: 4.9}}}\n",
        4,
        r"alice: MOS [1-4]\.\d\d below 4.9 \(reference: bob's signal, present in \d+% of frames\)",
    ),
}


@pytest.mark.parametrize("name", CONTROLS)
async def test_each_expectation_kind_fails_when_it_does_not_hold(name):
    steps, index, message = CONTROLS[name]
    parties = "[alice, bob]"
    result = await run(steps, parties)
    assert re.search(message, failed_at(result, index)), result.explain()


async def test_a_failed_expect_reports_every_part_that_did_not_hold():
    result = await run(
        CONNECT
        + """
  - expect:
      audio: {alice: {hears: nothing}}
      timings: {alice: {setup_time: {below: 1ms}}}
"""
    )
    message = failed_at(result, 4)
    assert "alice should hear nothing, but heard bob" in message
    assert "setup_time" in message
    evidence = result.steps[3].evidence
    assert evidence["alice hears nothing"]["shares"]["bob"] >= 0.8  # the evidence is kept
    assert evidence["timings alice"]["setup_time_s"] > 0.001


async def test_a_wait_that_never_ends_is_an_error_with_its_deadline():
    result = await run(
        """
  - alice: {dial: bob}
  - bob: {wait_for: {phone_event: EventEstablished}, timeout: 500ms}
"""
    )
    message = failed_at(result, 2, Status.ERROR)
    # the wait's own message (its deadline, and what the party saw instead)
    assert message.startswith(
        "timed out after 0.5s waiting for bob: phone_event EventEstablished; saw: bob sip:INVITE"
    )
    assert "eventType='EventRinging'" in message


async def test_an_impossible_action_is_an_error_naming_the_party():
    result = await run("\n  - alice: hold\n")
    assert failed_at(result, 1, Status.ERROR) == "alice: no connected call to hold"


async def test_a_refused_transfer_is_named_when_the_expectation_fails():
    result = await run(
        parties="[alice, bob, carol]",
        steps=CONNECT
        + """
  - bob: complete_transfer
  - expect:
      events:
        in_order:
          - alice: {phone_event: EventEstablished, otherDN: "{carol.number}"}
        within: 1s
""",
    )
    message = failed_at(result, 5)
    assert re.search(r"XUC refused commands in this window:\n  bob: Error \w+", message), message


async def test_wrong_credentials_fail_the_scenario_before_any_step(tmp_path):
    lab = tmp_path / "lab.yaml"
    lab.write_text(
        "users:\n"
        "  - {login: alice, password: right, number: '1001', line_name: wr1, "
        "line_password: s1}\n"
    )
    target = Target.model_validate(
        {"simulator": {"lab": str(lab)}, "users": {"bob": {"login": "nobody"}}}
    )
    result = await run(CONNECT, target=target)
    assert result.status is Status.ERROR
    assert all(s.status is Status.NOT_RUN for s in result.steps)
    assert "no lab user 'nobody' for party 'bob'" in result.message


async def test_a_clean_call_scores_a_mos_above_the_bound_and_keeps_the_score():
    result = await run(CONNECT + "  - expect: {mos: {alice: {at_least: 3.5}}}\n")
    assert result.status is Status.PASSED, result.explain()
    evidence = result.steps[3].evidence["mos alice"]
    assert evidence["reference"] == "bob" and 3.5 <= evidence["mos"] <= 4.65


async def test_a_failed_audio_check_keeps_what_the_party_heard_as_wav(tmp_path):
    import wave

    import numpy as np

    from xctest.audio.detector import SignatureDetector
    from xctest.audio.signature import signature_for
    from xctest.scenario.report import ReportWriter, read_report

    result = await run(CONNECT + "  - expect: {audio: {alice: {hears: nothing}}}\n")
    failed_at(result, 4)
    assert list(result.recordings) == ["step4-alice"]
    writer = ReportWriter(tmp_path)
    writer.write(result)
    writer.close()
    (record,) = read_report(writer.path)
    (path,) = record["audio_files"]
    with wave.open(path) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 48000)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    audio = pcm.astype(np.float32) / 32767.0
    assert 2.0 <= audio.size / 48000 <= 10.0  # the call's audio up to the end of the check
    parties = [signature_for(0, "alice"), signature_for(1, "bob")]
    frames = SignatureDetector(parties).feed(audio[-48000:])  # its last second
    share = sum("bob" in f.present for f in frames) / len(frames)
    assert share >= 0.8 and not any("alice" in f.present for f in frames)


LOSSY = """
  - alice: {dial: bob}
  - bob: answer
  - expect:
      audio: {alice: {hears: bob, for: 3s}}
      quality: {alice: {loss: {below: 5%}, for: 3s}}
"""


@pytest.mark.parametrize(("loss", "passes"), [(0.30, False), (0.005, True)])
async def test_a_lossy_path_fails_hears_and_quality_and_a_nearly_clean_one_passes(
    tmp_path, loss, passes
):
    from xctest.sim import default_lab

    lab = default_lab().model_dump(mode="json")
    lab["impair"] = {"loss": loss}  # the PBX's media to the phones loses packets
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(lab))
    target = Target.model_validate({"simulator": {"lab": str(tmp_path / "lab.yaml")}})
    result = await run(LOSSY, target=target)
    if passes:
        assert result.status is Status.PASSED, result.explain()
        quality = result.steps[2].evidence["quality alice"]
        assert quality["expected"] >= 140 and quality["loss"] < 0.05
        return
    message = failed_at(result, 3)
    # a frame that never came is a frame where bob was not heard
    assert re.search(r"alice should hear bob: present in [4-7]\d% of frames", message), message
    assert re.search(r"alice: media quality of call \w+: loss [23]\d\.\d%", message), message
    evidence = result.steps[2].evidence
    assert evidence["alice hears bob"]["stream"]["lost"] > 0
