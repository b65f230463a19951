"""Target files: the simulator or a real XiVO, accounts per party and per xdist worker,
``${ENV}`` expansion, and errors that point at file:line:column."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from xctest.errors import SourceLocation, TargetError
from xctest.scenario.target import Account, SimulatorSettings, SipWebsocket, Target, load_target


def write(tmp_path: Path, text: str, name: str = "lab.target.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_simulator_target(tmp_path):
    target = load_target(write(tmp_path, "simulator: {lab: my-lab.yaml, tls: true}\n"))
    assert target.simulator == SimulatorSettings(lab="my-lab.yaml", tls=True)
    assert target.is_simulator and target.uses_tls
    assert target.xuc is None and target.users == {}
    assert target.path("my-lab.yaml") == tmp_path / "my-lab.yaml"
    assert target.account("alice") is None  # the lab user named like the party plays it


def test_the_default_target_is_the_plain_simulator():
    target = Target.default()
    assert target.simulator == SimulatorSettings(lab=None, tls=False)
    assert not target.uses_tls


XUC = """\
xuc: https://xivo.lab.example/
tls: {verify: false, ca_file: ca.pem}
users:
  alice: {login: jdoe, password: secret, number: "2001"}
  bob:
    - {login: bsmith, password: one}
    - {login: bsmith2, password: two}
"""


def test_a_xuc_target_with_one_account_and_a_list_of_accounts(tmp_path):
    target = load_target(write(tmp_path, XUC))
    assert not target.is_simulator
    assert target.xuc == "https://xivo.lab.example"  # trailing slash dropped
    assert target.uses_tls
    assert (target.tls.verify, target.tls.ca_file) == (False, "ca.pem")
    assert target.users["alice"] == (Account(login="jdoe", password="secret", number="2001"),)
    assert [a.login for a in target.users["bob"]] == ["bsmith", "bsmith2"]


def test_each_worker_takes_its_own_account(tmp_path):
    target = load_target(write(tmp_path, XUC))
    assert target.account("bob") == Account(login="bsmith", password="one")
    assert target.account("bob", 0) == Account(login="bsmith", password="one")
    assert target.account("bob", 1) == Account(login="bsmith2", password="two")
    assert target.account("alice", 0) is not None
    assert target.account("carol", 5) is None  # a party the file does not name
    with pytest.raises(TargetError) as info:
        target.account("bob", 2)
    assert str(info.value) == (
        "the target gives 2 account(s) for 'bob'; parallel worker 2 needs its own "
        "(list one account per worker)"
    )
    with pytest.raises(TargetError, match="1 account\\(s\\) for 'alice'; parallel worker 1"):
        target.account("alice", 1)


def test_env_variables_are_expanded_anywhere_in_text(tmp_path, monkeypatch):
    monkeypatch.setenv("XCTEST_TEST_HOST", "xivo.example")
    monkeypatch.setenv("XCTEST_TEST_PASSWORD", "s3cret")
    path = write(
        tmp_path,
        "xuc: https://${XCTEST_TEST_HOST}:8443\n"
        'users:\n  alice: {login: jdoe, password: "${XCTEST_TEST_PASSWORD}"}\n'
        '  bob: {login: "b-${XCTEST_TEST_PASSWORD}-x", password: "pa$$word{x}"}\n',
    )
    target = load_target(path)
    assert target.xuc == "https://xivo.example:8443"
    assert target.account("alice") == Account(login="jdoe", password="s3cret")
    bob = target.account("bob")
    assert bob is not None and bob.login == "b-s3cret-x"
    assert bob.password == "pa$word{x}"  # $$ writes one dollar sign


def test_an_unset_env_variable_is_named_with_its_place(tmp_path, monkeypatch):
    monkeypatch.delenv("XCTEST_TEST_UNSET", raising=False)
    path = write(
        tmp_path,
        "xuc: https://xivo.example\nusers:\n"
        '  alice: {login: jdoe, password: "${XCTEST_TEST_UNSET}"}\n',
    )
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert info.value.location == SourceLocation(str(path), 3, 34)
    assert str(info.value).splitlines() == [
        f"{path}:3:34: environment variable XCTEST_TEST_UNSET is not set",
        '> 3 |   alice: {login: jdoe, password: "${XCTEST_TEST_UNSET}"}',
        "    |                                  ^",
    ]


@pytest.mark.parametrize(
    "text",
    ["simulator: {}\nxuc: https://xivo.example\n", "tls: {verify: false}\n"],
    ids=["both", "neither"],
)
def test_a_target_is_either_the_simulator_or_a_xuc(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert str(info.value).startswith(
        f"{path}:1:1: a target has either 'simulator' or 'xuc', not both or neither"
    )


def test_xuc_must_be_an_http_url(tmp_path):
    path = write(tmp_path, "# a real XiVO\nxuc: ftp://x\n")
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert str(info.value).splitlines() == [
        f"{path}:2:1: xuc: 'ftp://x' is not an http:// or https:// URL",
        "> 2 | xuc: ftp://x",
        "    | ^",
    ]


def test_a_misspelt_key_is_pointed_at(tmp_path):
    path = write(tmp_path, "simulator: {}\nsip_prot: 5039\n")
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert str(info.value).startswith(f"{path}:2:1: sip_prot: Extra inputs are not permitted")


def test_a_xuc_user_needs_a_password(tmp_path):
    path = write(tmp_path, "xuc: https://xivo.example\nusers:\n  alice: {login: jdoe}\n")
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert str(info.value).startswith(f"{path}:")
    assert str(info.value).startswith(f"{path}:2:1: users: alice: a real XiVO needs the password")


def test_a_simulator_user_may_leave_the_password_to_the_lab(tmp_path):
    target = load_target(write(tmp_path, "simulator: {}\nusers:\n  alice: {login: bob}\n"))
    assert target.account("alice") == Account(login="bob", password="")


def test_a_missing_or_non_mapping_file_is_a_target_error(tmp_path):
    with pytest.raises(TargetError, match="cannot read target file .*nothing.yaml"):
        load_target(tmp_path / "nothing.yaml")
    path = write(tmp_path, "- simulator\n")
    with pytest.raises(TargetError) as info:
        load_target(path)
    assert str(info.value) == f"{path}:1:1: a target file is a mapping with 'simulator' or 'xuc'"


@pytest.mark.parametrize(
    ("fields", "port"),
    [
        ({"xuc": "https://xivo.example"}, 443),
        ({"xuc": "http://xivo.example"}, 5039),  # XUC's own port: Asterisk is on 5039
        ({"xuc": "http://xivo.example:8090"}, 5039),
        ({"xuc": "https://xivo.example:8443"}, 8443),
        ({"xuc": "https://xivo.example:8443", "sip_port": 5039}, 5039),
        ({"simulator": {}}, None),
        ({"simulator": {}, "sip_port": 5039}, 5039),
    ],
)
def test_websocket_port(fields, port):
    assert Target.model_validate(fields).websocket_port == port


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        # xc_webrtc's pages: over TLS the page's (XUC's) host and port, /wssip
        ({"xuc": "https://xivo.example:8443"}, SipWebsocket(True, 8443, host="xivo.example")),
        ({"xuc": "https://10.0.0.5"}, SipWebsocket(True, 443, host="10.0.0.5")),
        ({"xuc": "https://[fd00::5]:8443"}, SipWebsocket(True, 8443, host="fd00::5")),
        # over plain http: LineConfig.xivoIp (host None) on Asterisk's 5039, /ws
        ({"xuc": "http://xivo.example:8090"}, SipWebsocket(False, 5039)),
        ({"xuc": "http://xivo.example:8090", "sip_port": 8088}, SipWebsocket(False, 8088)),
        (
            {"xuc": "https://cc.example", "sip_url": "wss://sbc.example:7443"},
            SipWebsocket(True, 7443, host="sbc.example"),
        ),
        (
            {"xuc": "https://cc.example", "sip_url": "ws://10.1.1.1:5039/ws-custom"},
            SipWebsocket(False, 5039, url="ws://10.1.1.1:5039/ws-custom"),
        ),
    ],
)
def test_the_sip_websocket_is_chosen_as_xc_webrtc_pages_choose_it(fields, where):
    assert Target.model_validate(fields).sip_websocket() == where


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"xuc": "https://x", "sip_url": "https://x/wssip"}, "is not a ws:// or wss:// URL"),
        ({"xuc": "https://x", "sip_url": "wss://x/wssip?token=1"}, "xctest appends ?token="),
        ({"xuc": "https://x", "media": {"addresses": ["eth0"]}}, "'eth0' is not an IP address"),
        (
            {"xuc": "https://x", "media": {"addresses": ["10.0.0.1"], "interface": "eth0"}},
            "either 'addresses' or 'interface'",
        ),
        ({"simulator": {}, "media": {"addresses": ["10.0.0.1"]}}, "'media' is for a real XiVO"),
        ({"simulator": {}, "sip_url": "ws://x/ws"}, "'sip_url' is for a real XiVO"),
    ],
)
def test_sip_url_and_media_are_checked(fields, error):
    with pytest.raises(ValidationError, match=re.escape(error)):
        Target.model_validate(fields)


def test_media_addresses_are_kept():
    target = Target.model_validate({"xuc": "https://x", "media": {"addresses": ["198.18.0.2"]}})
    assert target.media is not None and target.media.addresses == ("198.18.0.2",)


@pytest.mark.parametrize(
    ("fields", "mode"),
    [
        ({"simulator": {}}, "signature"),
        ({"xuc": "https://xivo.example"}, "any-audio"),
        ({"xuc": "https://xivo.example", "moh": "signature"}, "signature"),
        ({"simulator": {}, "moh": "any-audio"}, "any-audio"),
    ],
)
def test_moh_mode(fields, mode):
    assert Target.model_validate(fields).moh_mode == mode


def test_uses_tls_follows_the_xuc_scheme():
    assert Target(xuc="https://xivo.example").uses_tls
    assert not Target(xuc="http://xivo.example").uses_tls
    assert Target(simulator=SimulatorSettings(tls=True)).uses_tls


@pytest.mark.parametrize(
    ("update", "names"),
    [
        (
            {"full_name": "Alice Archer", "first_name": "Alice", "last_name": "Archer"},
            ("Alice Archer", "Alice", "Archer"),
        ),
        ({"full_name": "Jean Paul Sartre"}, ("Jean Paul Sartre", "Jean", "Paul Sartre")),
        ({"full_name": "Jean Paul", "first_name": "Jean Paul"}, ("Jean Paul", "Jean Paul", "")),
        (None, ("alice", "alice", "")),
    ],
)
def test_party_names_come_from_xucs_user_config(update, names):
    from xctest.cti.messages import UserConfigUpdate
    from xctest.scenario.xivo import _names

    user = UserConfigUpdate(user_id=1, **update) if update else None
    found = _names(user, "alice")
    assert (found["display_name"], found["firstname"], found["lastname"]) == names
