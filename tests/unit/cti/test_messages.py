"""CTI frames: round trips, the PROTOCOL.md examples, omitted fields and every decode error."""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xctest.cti import messages as m
from xctest.errors import CtiProtocolError, RemoteProtocolError

DATA = Path(__file__).resolve().parents[2] / "data" / "cti"
SIP_CALL_ID = "5bf0c2…@10.0.0.5"

COMMANDS = [
    m.Ping(),
    m.Dial("1002"),
    m.Dial("1002", {"ticket": "42", "USR_x": ""}),
    m.Dial("1002", {}),
    m.DialByUsername("bob"),
    m.Originate("1003"),
    m.Answer(),
    m.Answer("1700000000.41"),
    m.Hangup(),
    m.Hangup("1700000000.41"),
    m.Hold(),
    m.Hold("1700000000.41"),
    m.DirectTransfer("1004"),
    m.AttendedTransfer("1003"),
    m.AttendedTransfer("1003", device="webrtc"),
    m.CompleteTransfer(),
    m.CancelTransfer(),
    m.Conference(),
    m.ToggleMicrophone(),
    m.ToggleMicrophone("1700000000.41"),
    m.SendDtmf("#"),
    m.SetData({"USR_ticket": "42"}),
    m.GetConfig(),
    m.GetConfig("agent"),
    m.GetIceConfig(),
    m.GetCurrentCallsPhoneEvents(),
    m.UnknownCommand("dnd", {"state": True}),
    m.UnknownCommand("pushLogToServer", {"level": "info", "log": ["a", {"b": None}]}),
]

EVENT = m.PhoneEvent(
    m.PhoneEventType.RINGING,
    "1001",
    other_dn="1002",
    other_dname="Bob Brown",
    linked_id="1700000000.40",
    unique_id="1700000000.41",
    call_direction=m.CallDirection.INCOMING,
    user_data={"XIVO_USERID": "7", "SIPCALLID": SIP_CALL_ID},
)
TURN = m.IceServer(("turn:10.0.0.5:3478",), "1700003600:alice", "…", 3600)
LINE = m.LineConfig("12", "ihvbur", "s3cr3t", "10.0.0.5", context="default", number="1001")

MESSAGES = [
    m.LoggedOn(),
    m.LoggedOn({"login": "alice", "nested": {"a": [1, 2]}}),
    m.UserConfigUpdate(7, "Alice Ahern", "Alice", "Ahern", "0600", 3, 4, True),
    m.UserConfigUpdate(7, None, na_fwd_enabled=True, na_fwd_destination="1009"),
    m.UserConfigUpdate(None, None, dnd_enabled=True),
    LINE,
    m.LineConfig("-", "", "", "10.0.0.5"),
    m.LineConfig("3", "x", "y", "10.0.0.5", "mds1", "5060", False, True, vendor="Snom"),
    m.LineConfig("3", "x", "y", "10.0.0.5", sip_proxy_name=None),
    m.IceConfig(),
    m.IceConfig(m.IceServer(("stun:10.0.0.5:3478",))),
    m.IceConfig(m.IceServer(("stun:a", "stun:b")), TURN),
    EVENT,
    m.PhoneEvent(m.PhoneEventType.DIALING, "1001"),
    m.PhoneEvent(m.PhoneEventType.FAILURE, "1001", queue_name="sales"),
    m.PhoneEvent("EventSomethingNew", "1001", call_direction="Sideways"),
    m.CurrentCallsPhoneEvents(()),
    m.CurrentCallsPhoneEvents((EVENT, m.PhoneEvent(m.PhoneEventType.ON_HOLD, "1001"))),
    m.WebRTCCmd(m.WebRTCCommand.HOLD, sip_call_id=SIP_CALL_ID),
    m.WebRTCCmd(m.WebRTCCommand.SEND_DTMF, key="5"),
    m.WebRTCCmd("Reboot"),
    m.CtiError(m.ERR_UNKNOWN_COMMAND, 'unknown command "dnd"'),
    m.CtiError(m.ERR_NO_SUCH_CALL),
    m.LinkStatusUpdate("opened"),
    m.RightProfile("Supervisor"),
    m.UnknownMessage("QueueStatistics", {"queueId": 3, "counters": [{"statName": "x"}]}),
    m.UnknownMessage("Pong", {}),
    m.UnknownMessage("Weird", [1, "two", None]),
]


def ids(objs: Sequence[object]) -> list[str]:
    return [f"{i}-{type(o).__name__}" for i, o in enumerate(objs)]


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("cmd", COMMANDS, ids=ids(COMMANDS))
def test_command_round_trip(cmd: m.Command) -> None:
    text = m.encode_command(cmd)
    assert m.decode_command(text) == cmd
    assert m.encode_command(m.decode_command(text)) == text
    assert "null" not in text or isinstance(cmd, m.UnknownCommand)


@pytest.mark.parametrize("msg", MESSAGES, ids=ids(MESSAGES))
def test_message_round_trip(msg: m.Message) -> None:
    text = m.encode_message(msg)
    assert m.decode_message(text) == msg
    assert m.encode_message(m.decode_message(text)) == text


def test_every_class_is_covered() -> None:
    assert {type(c) for c in COMMANDS} == {*m.COMMAND_CLASSES.values(), m.Ping, m.UnknownCommand}
    assert {type(x) for x in MESSAGES} == {*m.MESSAGE_CLASSES.values(), m.UnknownMessage}


def test_tables() -> None:
    for name, cls in m.COMMAND_CLASSES.items():
        assert cls.COMMAND == name
    for name, msg_cls in m.MESSAGE_CLASSES.items():
        assert msg_cls.MSG_TYPE == name
    assert m.MESSAGE_CLASSES["Error"] is m.CtiError


def test_ping_is_exactly_claz_ping() -> None:
    assert m.encode_command(m.Ping()) == '{"claz":"ping"}'
    assert m.decode_command('{"claz":"ping","extra":1}') == m.Ping()


def test_encoding_is_compact_utf8_text() -> None:
    text = m.encode_command(m.Dial("José", {"USR_note": "été"}))
    assert (
        text
        == '{"claz":"web","command":"dial","destination":"José","variables":{"USR_note":"été"}}'
    )


# --- the examples of PROTOCOL.md --------------------------------------------------------------

COMMAND_EXAMPLES = {
    "command-dial.json": m.Dial("1002", {"ticket": "42"}),
    "command-attended-transfer.json": m.AttendedTransfer("1003"),
    "command-hold.json": m.Hold("1700000000.42"),
    "command-send-dtmf.json": m.SendDtmf("5"),
    "command-get-config.json": m.GetConfig("line"),
    "command-get-ice-config.json": m.GetIceConfig(),
    "command-ping.json": m.Ping(),
}

MESSAGE_EXAMPLES = {
    "message-phone-event-ringing.json": EVENT,
    "message-current-calls-phone-events.json": m.CurrentCallsPhoneEvents(
        (
            m.PhoneEvent(
                m.PhoneEventType.ESTABLISHED,
                "1001",
                other_dn="1002",
                linked_id="1700000000.40",
                unique_id="1700000000.41",
                user_data={"SIPCALLID": SIP_CALL_ID},
            ),
        )
    ),
    "message-line-config.json": LINE,
    "message-ice-config.json": m.IceConfig(m.IceServer(("stun:10.0.0.5:3478",)), TURN),
    "message-webrtc-cmd-hold.json": m.WebRTCCmd("Hold", sip_call_id=SIP_CALL_ID),
}


@pytest.mark.parametrize(("name", "expected"), COMMAND_EXAMPLES.items())
def test_command_examples(name: str, expected: m.Command) -> None:
    text = (DATA / name).read_text(encoding="utf-8")
    assert m.decode_command(text) == expected
    assert m.encode_command(expected) == text.strip()  # the examples are compact: byte-equal


@pytest.mark.parametrize(("name", "expected"), MESSAGE_EXAMPLES.items())
def test_message_examples(name: str, expected: m.Message) -> None:
    text = (DATA / name).read_text(encoding="utf-8")
    decoded = m.decode_message(text)
    assert decoded == expected
    written = json.loads(text)
    if name == "message-current-calls-phone-events.json":
        # the example leaves out otherDName, which the encoder always writes (default "")
        written["ctiMessage"]["events"][0]["otherDName"] = ""
    assert json.loads(m.encode_message(decoded)) == written


def test_example_phone_event_details() -> None:
    event = m.decode_message((DATA / "message-phone-event-ringing.json").read_text("utf-8"))
    assert isinstance(event, m.PhoneEvent)
    assert event.event_type is m.PhoneEventType.RINGING
    assert event.call_direction is m.CallDirection.INCOMING
    assert event.sip_call_id == SIP_CALL_ID
    assert event.queue_name is None


def test_example_line_config_details() -> None:
    line = m.decode_message((DATA / "message-line-config.json").read_text("utf-8"))
    assert isinstance(line, m.LineConfig)
    assert (line.has_line, line.uses_webrtc, line.sip_port, line.vendor) == (True, True, None, None)


# --- absent and null fields -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cmd", "key"),
    [
        (m.Hangup(), "uniqueId"),
        (m.Answer(), "uniqueId"),
        (m.Hold(), "uniqueId"),
        (m.ToggleMicrophone(), "uniqueId"),
        (m.AttendedTransfer("1003"), "device"),
        (m.Dial("1002"), "variables"),
    ],
)
def test_none_fields_are_omitted_from_commands(cmd: m.Command, key: str) -> None:
    assert key not in json.loads(m.encode_command(cmd))


def test_none_fields_are_omitted_from_messages() -> None:
    line = m.LineConfig("3", "x", "y", "10.0.0.5", sip_proxy_name=None)
    keys = set(json.loads(m.encode_message(line))["ctiMessage"])
    assert keys == {"id", "name", "password", "xivoIp", "webRtc", "hasDevice"}
    event = json.loads(m.encode_message(m.PhoneEvent("EventDialing", "1001")))["ctiMessage"]
    assert "queueName" not in event and "callDirection" not in event
    assert json.loads(m.encode_message(m.IceConfig()))["ctiMessage"] == {}
    assert json.loads(m.encode_message(m.WebRTCCmd("Answer")))["ctiMessage"] == {
        "command": "Answer"
    }


def test_user_config_update_keeps_null() -> None:
    payload = json.loads(m.encode_message(m.UserConfigUpdate(7, None)))["ctiMessage"]
    assert payload["fullName"] is None and payload["naFwdDestination"] is None
    assert payload["userId"] == 7 and payload["dndEnabled"] is False
    partial = '{"msgType":"UserConfigUpdate","ctiMessage":{"fullName":null,"dndEnabled":true}}'
    assert m.decode_message(partial) == m.UserConfigUpdate(None, None, dnd_enabled=True)


def test_null_counts_as_absent_where_a_default_exists() -> None:
    text = (
        '{"msgType":"PhoneEvent","ctiMessage":{"eventType":"EventReleased","DN":"1001",'
        '"otherDName":null,"queueName":null,"callDirection":null,"userData":null}}'
    )
    assert m.decode_message(text) == m.PhoneEvent(m.PhoneEventType.RELEASED, "1001")
    assert m.decode_command('{"claz":"web","command":"hangup","uniqueId":null}') == m.Hangup()


def test_absent_optional_field_decodes_as_none_not_default() -> None:
    text = '{"msgType":"LineConfig","ctiMessage":{"id":"1","name":"a","password":"","xivoIp":"h"}}'
    line = m.decode_message(text)
    assert isinstance(line, m.LineConfig)
    assert line.sip_proxy_name is None and line.web_rtc is True
    assert m.decode_command('{"claz":"web","command":"getConfig"}') == m.GetConfig("line")


def test_extra_fields_are_ignored() -> None:
    assert m.decode_command('{"claz":"web","command":"hangup","x":1}') == m.Hangup()
    text = '{"msgType":"RightProfile","ctiMessage":{"profile":"Admin","rights":[]}}'
    assert m.decode_message(text) == m.RightProfile("Admin")


# --- unknown and unconfirmed values -----------------------------------------------------------


def test_unknown_command_keeps_its_fields() -> None:
    text = '{"claz":"web","command":"naFwd","state":true,"destination":"1009"}'
    cmd = m.decode_command(text)
    assert cmd == m.UnknownCommand("naFwd", {"state": True, "destination": "1009"})
    assert m.encode_command(cmd) == text


def test_unknown_message_round_trips_unchanged() -> None:
    text = '{"msgType":"QueueStatistics","ctiMessage":{"queueId":3,"counters":[{"value":1.5}]}}'
    msg = m.decode_message(text)
    assert msg == m.UnknownMessage("QueueStatistics", {"queueId": 3, "counters": [{"value": 1.5}]})
    assert m.encode_message(msg) == text
    assert m.decode_message('{"msgType":"X"}') == m.UnknownMessage("X", None)


def test_unknown_event_type_and_direction_stay_strings() -> None:
    text = (
        '{"msgType":"PhoneEvent",'
        '"ctiMessage":{"eventType":"EventNew","DN":"1","callDirection":"X"}}'
    )
    event = m.decode_message(text)
    assert isinstance(event, m.PhoneEvent)
    assert type(event.event_type) is str and event.event_type == "EventNew"
    assert type(event.call_direction) is str and event.call_direction == "X"


def test_known_strings_decode_to_enum_members() -> None:
    text = m.encode_message(m.PhoneEvent("EventOnHold", "1", call_direction="Outgoing"))
    event = m.decode_message(text)
    assert isinstance(event, m.PhoneEvent)
    assert event.event_type is m.PhoneEventType.ON_HOLD
    assert event.call_direction is m.CallDirection.OUTGOING
    cmd = m.decode_message('{"msgType":"WebRTCCmd","ctiMessage":{"command":"Answer"}}')
    assert cmd == m.WebRTCCmd(m.WebRTCCommand.ANSWER)


def test_logged_on_keeps_any_object() -> None:
    assert m.decode_message('{"msgType":"LoggedOn"}') == m.LoggedOn()
    msg = m.decode_message('{"msgType":"LoggedOn","ctiMessage":{"login":"alice","n":[1]}}')
    assert isinstance(msg, m.LoggedOn) and msg.payload == {"login": "alice", "n": [1]}


def test_cti_error_payload_shape() -> None:
    assert json.loads(m.encode_message(m.CtiError(m.ERR_BAD_COMMAND, "bad"))) == {
        "msgType": "Error",
        "ctiMessage": {"error": "BadCommand", "message": "bad"},
    }


def test_unknown_message_has_no_fixed_type() -> None:
    with pytest.raises(TypeError):
        m.UnknownMessage.from_payload({})


# --- models -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"urls": ["stun:a", "stun:b"]}, m.IceServer(("stun:a", "stun:b"))),
        ({"urls": "stun:a"}, m.IceServer(("stun:a",))),
        ({"url": "turn:a", "username": "u", "credential": "c"}, m.IceServer(("turn:a",), "u", "c")),
        ({"urls": ["turn:a"], "url": "ignored", "ttl": 60}, m.IceServer(("turn:a",), ttl=60)),
    ],
)
def test_ice_server_accepts_urls_and_legacy_url(entry: dict[str, object], expected: object) -> None:
    assert m.IceServer.from_json(entry) == expected


def test_ice_server_json_forms() -> None:
    assert TURN.to_json() == {
        "urls": ["turn:10.0.0.5:3478"],
        "username": "1700003600:alice",
        "credential": "…",
        "ttl": 3600,
    }
    assert TURN.to_rtc() == {
        "urls": ["turn:10.0.0.5:3478"],
        "username": "1700003600:alice",
        "credential": "…",
    }
    assert m.IceServer.from_json({"url": "stun:a"}).to_json() == {"urls": ["stun:a"]}
    assert m.IceServer(["stun:a"]).urls == ("stun:a",)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ("stun:a", "ICE server must be an object, got string"),
        ({}, 'ICE server is missing field "urls"'),
        ({"urls": [1]}, 'ICE server field "urls[0]" must be a string, got number'),
        ({"url": None}, 'ICE server is missing field "urls"'),
        ({"urls": "s", "ttl": "60"}, 'ICE server field "ttl" must be an integer, got string'),
        ({"urls": "s", "ttl": True}, 'ICE server field "ttl" must be an integer, got boolean'),
    ],
)
def test_ice_server_errors(entry: object, error: str) -> None:
    with pytest.raises(CtiProtocolError) as info:
        m.IceServer.from_json(entry)
    assert str(info.value) == error


def test_ice_config_servers() -> None:
    stun = m.IceServer(("stun:a",))
    assert m.IceConfig().servers() == ()
    assert m.IceConfig(turn_config=TURN).servers() == (TURN,)
    assert m.IceConfig(stun, TURN).servers() == (stun, TURN)


def test_line_config_properties() -> None:
    assert not m.LineConfig("-", "", "", "h").has_line
    assert m.LineConfig("1", "a", "b", "h").uses_webrtc
    assert not m.LineConfig("1", "a", "b", "h", has_device=True).uses_webrtc
    assert not m.LineConfig("1", "a", "b", "h", web_rtc=False).uses_webrtc


def test_phone_event_sip_call_id() -> None:
    assert EVENT.sip_call_id == SIP_CALL_ID
    assert m.PhoneEvent("EventDialing", "1").sip_call_id is None


def test_models_are_frozen_hashable_and_copy_their_mappings() -> None:
    variables = {"USR_a": "1"}
    dial = m.Dial("1002", variables)
    variables["USR_a"] = "changed"
    assert dial.variables == {"USR_a": "1"}
    with pytest.raises(TypeError):
        dial.variables["USR_b"] = "2"  # type: ignore[index]
    with pytest.raises(AttributeError):
        dial.destination = "x"  # type: ignore[misc]
    for obj in [*COMMANDS, *MESSAGES]:
        assert hash(obj) == hash(type(obj)(**vars(obj)))
    assert m.CurrentCallsPhoneEvents([EVENT]).events == (EVENT,)  # type: ignore[arg-type]


def test_to_payload_is_plain_json_data() -> None:
    payload = EVENT.to_payload()
    assert type(payload["userData"]) is dict and type(payload["eventType"]) is str
    assert m.PhoneEvent.from_payload(payload) == EVENT


# --- encode errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "12", "##"])
def test_send_dtmf_needs_exactly_one_character(key: str) -> None:
    with pytest.raises(ValueError) as info:
        m.encode_command(m.SendDtmf(key))
    assert str(info.value) == (
        f'CTI command "sendDtmf" field "key" must be exactly one character, got {len(key)}'
    )


# --- decode errors ----------------------------------------------------------------------------

COMMAND_ERRORS = [
    ("not json", "CTI frame is not JSON: Expecting value at line 1 column 1"),
    (
        '{"claz":"web",',
        "CTI frame is not JSON: Expecting property name enclosed in double quotes"
        " at line 1 column 15",
    ),
    ("", "CTI frame is not JSON: Expecting value at line 1 column 1"),
    ("[1, 2]", "CTI frame is not a JSON object"),
    ('"web"', "CTI frame is not a JSON object"),
    ('{"command":"dial"}', 'CTI frame has no "claz"'),
    ('{"claz":"wob"}', 'CTI frame has unknown claz "wob" (expected "web" or "ping")'),
    ('{"claz":null}', 'CTI frame has unknown claz null (expected "web" or "ping")'),
    ('{"claz":"web"}', 'CTI command frame has no "command"'),
    (
        '{"claz":"web","command":7}',
        'CTI command frame field "command" must be a string, got number',
    ),
    ('{"claz":"web","command":"dial"}', 'CTI command "dial" is missing field "destination"'),
    (
        '{"claz":"web","command":"dial","destination":null}',
        'CTI command "dial" field "destination" must be a string, got null',
    ),
    (
        '{"claz":"web","command":"dial","destination":1002}',
        'CTI command "dial" field "destination" must be a string, got number',
    ),
    (
        '{"claz":"web","command":"dial","destination":"1","variables":["a"]}',
        'CTI command "dial" field "variables" must be an object, got array',
    ),
    (
        '{"claz":"web","command":"dial","destination":"1","variables":{"USR_a":1}}',
        'CTI command "dial" field "variables.USR_a" must be a string, got number',
    ),
    (
        '{"claz":"web","command":"hangup","uniqueId":42}',
        'CTI command "hangup" field "uniqueId" must be a string, got number',
    ),
    ('{"claz":"web","command":"setData"}', 'CTI command "setData" is missing field "variables"'),
    (
        '{"claz":"web","command":"getConfig","objectType":true}',
        'CTI command "getConfig" field "objectType" must be a string, got boolean',
    ),
    (
        '{"claz":"web","command":"sendDtmf","key":"12"}',
        'CTI command "sendDtmf" field "key" must be exactly one character, got 2',
    ),
    (
        '{"claz":"web","command":"sendDtmf","key":""}',
        'CTI command "sendDtmf" field "key" must be exactly one character, got 0',
    ),
    (
        '{"claz":"web","command":"sendDtmf","key":{}}',
        'CTI command "sendDtmf" field "key" must be a string, got object',
    ),
]

MESSAGE_ERRORS = [
    (
        "{",
        "CTI frame is not JSON: Expecting property name enclosed in double quotes at line 1"
        " column 2",
    ),
    ("null", "CTI frame is not a JSON object"),
    ('{"ctiMessage":{}}', 'CTI message has no "msgType"'),
    ('{"msgType":3,"ctiMessage":{}}', 'CTI message field "msgType" must be a string, got number'),
    ('{"msgType":"LineConfig"}', 'CTI message "LineConfig" is missing field "ctiMessage"'),
    (
        '{"msgType":"LineConfig","ctiMessage":"x"}',
        'CTI message "LineConfig" field "ctiMessage" must be an object, got string',
    ),
    (
        '{"msgType":"LineConfig","ctiMessage":{"id":"1","name":"a","xivoIp":"h"}}',
        'CTI message "LineConfig" is missing field "password"',
    ),
    (
        '{"msgType":"LineConfig","ctiMessage":{"id":"1","name":"a","password":1234,"xivoIp":"h"}}',
        'CTI message "LineConfig" field "password" must be a string, got number',
    ),
    (
        '{"msgType":"LineConfig","ctiMessage":{"id":"1","name":"a","password":"p","xivoIp":"h",'
        '"webRtc":"true"}}',
        'CTI message "LineConfig" field "webRtc" must be a boolean, got string',
    ),
    (
        '{"msgType":"UserConfigUpdate","ctiMessage":{"userId":"7"}}',
        'CTI message "UserConfigUpdate" field "userId" must be an integer, got string',
    ),
    (
        '{"msgType":"UserConfigUpdate","ctiMessage":{"userId":7.5}}',
        'CTI message "UserConfigUpdate" field "userId" must be an integer, got number',
    ),
    (
        '{"msgType":"PhoneEvent","ctiMessage":{"DN":"1001"}}',
        'CTI message "PhoneEvent" is missing field "eventType"',
    ),
    (
        '{"msgType":"PhoneEvent","ctiMessage":{"eventType":5,"DN":"1001"}}',
        'CTI message "PhoneEvent" field "eventType" must be a string, got number',
    ),
    (
        '{"msgType":"PhoneEvent","ctiMessage":{"eventType":"EventRinging","DN":"1","userData":[]}}',
        'CTI message "PhoneEvent" field "userData" must be an object, got array',
    ),
    (
        '{"msgType":"PhoneEvent","ctiMessage":{"eventType":"EventRinging","DN":"1",'
        '"userData":{"SIPCALLID":null}}}',
        'CTI message "PhoneEvent" field "userData.SIPCALLID" must be a string, got null',
    ),
    (
        '{"msgType":"CurrentCallsPhoneEvents","ctiMessage":{}}',
        'CTI message "CurrentCallsPhoneEvents" is missing field "events"',
    ),
    (
        '{"msgType":"CurrentCallsPhoneEvents","ctiMessage":{"events":{}}}',
        'CTI message "CurrentCallsPhoneEvents" field "events" must be an array, got object',
    ),
    (
        '{"msgType":"CurrentCallsPhoneEvents","ctiMessage":{"events":[7]}}',
        'CTI message "CurrentCallsPhoneEvents" field "events[0]" must be an object, got number',
    ),
    (
        '{"msgType":"CurrentCallsPhoneEvents","ctiMessage":{"events":[{"eventType":"EventRinging",'
        '"DN":"1"},{"eventType":"EventRinging"}]}}',
        'CTI message "CurrentCallsPhoneEvents" is missing field "events[1].DN"',
    ),
    (
        '{"msgType":"IceConfig","ctiMessage":{"stunConfig":"stun:a"}}',
        'CTI message "IceConfig" field "stunConfig" must be an object, got string',
    ),
    (
        '{"msgType":"IceConfig","ctiMessage":{"turnConfig":{"urls":["t"],"ttl":"3600"}}}',
        'CTI message "IceConfig" field "turnConfig.ttl" must be an integer, got string',
    ),
    (
        '{"msgType":"IceConfig","ctiMessage":{"turnConfig":{"username":"u"}}}',
        'CTI message "IceConfig" is missing field "turnConfig.urls"',
    ),
    (
        '{"msgType":"WebRTCCmd","ctiMessage":{"sipCallId":"x"}}',
        'CTI message "WebRTCCmd" is missing field "command"',
    ),
    (
        '{"msgType":"Error","ctiMessage":"boom"}',
        'CTI message "Error" field "ctiMessage" must be an object, got string',
    ),
    (
        '{"msgType":"LoggedOn","ctiMessage":true}',
        'CTI message "LoggedOn" field "ctiMessage" must be an object, got boolean',
    ),
    (
        '{"msgType":"LinkStatusUpdate","ctiMessage":{}}',
        'CTI message "LinkStatusUpdate" is missing field "status"',
    ),
    (
        '{"msgType":"RightProfile","ctiMessage":{"profile":["a"]}}',
        'CTI message "RightProfile" field "profile" must be a string, got array',
    ),
]


def check_error(info: pytest.ExceptionInfo[CtiProtocolError], text: str, problem: str) -> None:
    assert str(info.value) == f"{problem}: {text!r}"
    assert isinstance(info.value, RemoteProtocolError)
    assert info.value.frame == text
    assert info.value.response_hint == 400


@pytest.mark.parametrize(("text", "problem"), COMMAND_ERRORS)
def test_decode_command_errors(text: str, problem: str) -> None:
    with pytest.raises(CtiProtocolError) as info:
        m.decode_command(text)
    check_error(info, text, problem)


@pytest.mark.parametrize(("text", "problem"), MESSAGE_ERRORS)
def test_decode_message_errors(text: str, problem: str) -> None:
    with pytest.raises(CtiProtocolError) as info:
        m.decode_message(text)
    check_error(info, text, problem)


def test_long_frames_are_quoted_truncated_but_kept_whole() -> None:
    text = '{"claz":"web","command":"dial","destination":' + "9" * 500 + "}"
    with pytest.raises(CtiProtocolError) as info:
        m.decode_command(text)
    assert str(info.value) == (
        'CTI command "dial" field "destination" must be a string, got number: '
        + repr(text[:200] + "...")
    )
    assert info.value.frame == text


def test_from_payload_errors_carry_no_frame() -> None:
    with pytest.raises(CtiProtocolError) as info:
        m.LineConfig.from_payload({"id": "1"})
    assert str(info.value) == 'CTI message "LineConfig" is missing field "name"'
    assert info.value.frame is None


# --- properties -------------------------------------------------------------------------------

PROPERTY = settings(deadline=None, max_examples=200)
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
keys = st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=12)


@PROPERTY
@given(destination=text, variables=st.none() | st.dictionaries(keys, text, max_size=5))
def test_dial_round_trips(destination: str, variables: dict[str, str] | None) -> None:
    cmd = m.Dial(destination, variables)
    text_frame = m.encode_command(cmd)
    assert m.decode_command(text_frame) == cmd
    assert json.loads(text_frame)["destination"] == destination


phone_events = st.builds(
    m.PhoneEvent,
    event_type=st.sampled_from(list(m.PhoneEventType)) | text,
    dn=text,
    other_dn=text,
    other_dname=text,
    linked_id=text,
    unique_id=text,
    call_direction=st.none() | st.sampled_from(list(m.CallDirection)) | text,
    queue_name=st.none() | text,
    user_data=st.dictionaries(text, text, max_size=5),
)


@PROPERTY
@given(event=phone_events)
def test_phone_events_round_trip(event: m.PhoneEvent) -> None:
    assert m.decode_message(m.encode_message(event)) == event


@PROPERTY
@given(events=st.lists(phone_events, max_size=3))
def test_current_calls_round_trip(events: list[m.PhoneEvent]) -> None:
    msg = m.CurrentCallsPhoneEvents(tuple(events))
    assert m.decode_message(m.encode_message(msg)) == msg


# --- tolerant decoding (the phone's): lossless conversions kept and noted ----------------------


@pytest.mark.parametrize(
    ("text", "field", "value", "note"),
    [
        (
            '{"msgType":"LineConfig","ctiMessage":{"id":"12","name":"a","password":"p",'
            '"xivoIp":"h","sipPort":5060}}',
            "sip_port",
            "5060",
            'CTI message "LineConfig" field "sipPort": number 5060 taken as \'5060\'',
        ),
        (
            '{"msgType":"LineConfig","ctiMessage":{"id":12,"name":"a","password":"p",'
            '"xivoIp":"h"}}',
            "id",
            "12",
            'CTI message "LineConfig" field "id": number 12 taken as \'12\'',
        ),
        (
            '{"msgType":"LineConfig","ctiMessage":{"id":"1","name":"a","password":"p",'
            '"xivoIp":"h","webRtc":"true"}}',
            "web_rtc",
            True,
            'CTI message "LineConfig" field "webRtc": string "true" taken as True',
        ),
        (
            '{"msgType":"UserConfigUpdate","ctiMessage":{"userId":"7","fullName":null}}',
            "user_id",
            7,
            'CTI message "UserConfigUpdate" field "userId": string "7" taken as 7',
        ),
        (
            '{"msgType":"IceConfig","ctiMessage":{"turnConfig":{"urls":["t"],"ttl":3600.0}}}',
            "turn_config",
            m.IceServer(("t",), ttl=3600),
            'CTI message "IceConfig" field "turnConfig.ttl": number 3600.0 taken as 3600',
        ),
    ],
)
def test_a_tolerant_decoder_converts_what_converts_without_loss(text, field, value, note) -> None:
    notes: list[str] = []
    msg = m.decode_message(text, notes)
    assert getattr(msg, field) == value
    assert notes == [note]
    with pytest.raises(CtiProtocolError):  # the strict decoder (the simulator's) refuses it
        m.decode_message(text)


def test_a_tolerant_decoder_keeps_a_phone_event_with_numeric_user_data() -> None:
    text = (
        '{"msgType":"PhoneEvent","ctiMessage":{"eventType":"EventRinging","DN":1001,'
        '"userData":{"XIVO_USERID":7,"USR_vip":true,"SIPCALLID":"c1","USR_gone":null}}}'
    )
    notes: list[str] = []
    event = m.decode_message(text, notes)
    assert isinstance(event, m.PhoneEvent)
    assert event.dn == "1001"
    assert dict(event.user_data) == {"XIVO_USERID": "7", "USR_vip": "true", "SIPCALLID": "c1"}
    assert len(notes) == 4 and any(
        "\"userData.USR_gone\": null null taken as 'absent'" in n for n in notes
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (  # xc_webrtc throws on a password that is not text: never converted
            '{"msgType":"LineConfig","ctiMessage":{"id":"1","name":"a","password":1234,'
            '"xivoIp":"h"}}',
            'field "password" must be a string, got number',
        ),
        (  # "12a" is no integer, an object is no text
            '{"msgType":"UserConfigUpdate","ctiMessage":{"userId":"12a","fullName":null}}',
            'field "userId" must be an integer, got string',
        ),
        (
            '{"msgType":"PhoneEvent","ctiMessage":{"eventType":"EventRinging","DN":"1",'
            '"userData":{"X":{"a":1}}}}',
            'field "userData.X" must be a string, got object',
        ),
    ],
)
def test_a_tolerant_decoder_still_refuses_what_does_not_convert(text, error) -> None:
    with pytest.raises(CtiProtocolError, match=error):
        m.decode_message(text, [])
