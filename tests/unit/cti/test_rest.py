"""XUC REST authentication bodies, token lookup and the CTI websocket URL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xctest.cti import rest
from xctest.cti.rest import (
    AuthErrorBody,
    AuthErrorCode,
    AuthToken,
    LoginRequest,
    RestBodyError,
    bearer_token,
    cti_url,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "cti"


def load(name: str) -> object:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def test_paths() -> None:
    assert rest.LOGIN_PATH == "/xuc/api/2.0/auth/login"
    assert rest.CHECK_PATH == "/xuc/api/2.0/auth/check"
    assert rest.CTI_PATH == "/xuc/api/2.0/cti"


def test_protocol_examples_round_trip() -> None:
    body = load("rest-login-request.json")
    assert LoginRequest.from_json(body) == LoginRequest("alice", "secret")
    assert LoginRequest("alice", "secret").to_json() == body
    body = load("rest-auth-token.json")
    assert AuthToken.from_json(body) == AuthToken("alice", "9f1c…e2", 3600)
    assert AuthToken("alice", "9f1c…e2", 3600).to_json() == body
    body = load("rest-auth-error.json")
    error = AuthErrorBody.from_json(body)
    assert error == AuthErrorBody("InvalidCredentials", "Invalid username or password")
    assert error.error == AuthErrorCode.INVALID_CREDENTIALS
    assert error.to_json() == body


def test_login_request_optional_fields() -> None:
    full = LoginRequest("alice", "secret", "webBrowser", "ccagent")
    assert full.to_json() == {
        "login": "alice",
        "password": "secret",
        "softwareType": "webBrowser",
        "applicationType": "ccagent",
    }
    assert LoginRequest.from_json(full.to_json()) == full
    assert "softwareType" not in LoginRequest("a", "b").to_json()
    assert LoginRequest.from_json({"login": "a", "password": "b", "softwareType": None}) == (
        LoginRequest("a", "b")
    )


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("alice", "login request must be a JSON object, got string"),
        (None, "login request must be a JSON object, got null"),
        ([], "login request must be a JSON object, got array"),
        ({"password": "x"}, 'login request is missing field "login"'),
        ({"login": "a"}, 'login request is missing field "password"'),
        ({"login": "a", "password": None}, 'login request is missing field "password"'),
        ({"login": 1, "password": "x"}, 'login request field "login" must be a string, got number'),
        (
            {"login": "a", "password": "x", "applicationType": True},
            'login request field "applicationType" must be a string, got boolean',
        ),
    ],
)
def test_login_request_errors(body: object, error: str) -> None:
    with pytest.raises(RestBodyError) as info:
        LoginRequest.from_json(body)
    assert str(info.value) == error
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"login": "a", "token": "t"}, 'token answer is missing field "TTL"'),
        ({"login": "a", "token": "t", "ttl": 5}, 'token answer is missing field "TTL"'),
        (
            {"login": "a", "token": "t", "TTL": "5"},
            'token answer field "TTL" must be an integer, got string',
        ),
        (
            {"login": "a", "token": "t", "TTL": True},
            'token answer field "TTL" must be an integer, got boolean',
        ),
        (
            {"login": "a", "token": 5, "TTL": 5},
            'token answer field "token" must be a string, got number',
        ),
    ],
)
def test_auth_token_errors(body: object, error: str) -> None:
    with pytest.raises(RestBodyError) as info:
        AuthToken.from_json(body)
    assert str(info.value) == error


def test_auth_error_body() -> None:
    body = AuthErrorBody(AuthErrorCode.INVALID_JSON, "request body is not JSON").to_json()
    assert body == {"error": "InvalidJson", "message": "request body is not JSON"}
    assert type(body["error"]) is str
    assert AuthErrorBody.from_json({"error": "UserNotFound"}) == AuthErrorBody("UserNotFound", "")
    with pytest.raises(RestBodyError, match='error answer is missing field "error"'):
        AuthErrorBody.from_json({"message": "x"})
    with pytest.raises(RestBodyError, match="error answer must be a JSON object, got string"):
        AuthErrorBody.from_json("boom")


def test_http_status_of_each_error() -> None:
    assert dict(rest.HTTP_STATUS) == {
        AuthErrorCode.INVALID_CREDENTIALS: 401,
        AuthErrorCode.INVALID_JSON: 400,
        AuthErrorCode.UNHANDLED: 500,
        AuthErrorCode.INVALID_TOKEN: 401,
        AuthErrorCode.TOKEN_EXPIRED: 401,
    }
    assert set(rest.HTTP_STATUS) == set(AuthErrorCode)


@pytest.mark.parametrize(
    ("headers", "query", "token"),
    [
        ({"authorization": "Bearer abc"}, {}, "abc"),
        ({"authorization": "bearer  abc "}, {}, "abc"),
        ({"x-auth-token": "def"}, {}, "def"),
        ({}, {"token": "ghi"}, "ghi"),
        ({"authorization": "Bearer abc", "x-auth-token": "def"}, {"token": "ghi"}, "abc"),
        ({"x-auth-token": "def"}, {"token": "ghi"}, "def"),
        ({"authorization": "Basic YTpi"}, {"token": "ghi"}, "ghi"),
        ({"authorization": "Bearer "}, {}, None),
        ({"x-auth-token": ""}, {"token": ""}, None),
        ({}, {}, None),
    ],
)
def test_bearer_token(headers: dict[str, str], query: dict[str, str], token: str | None) -> None:
    assert bearer_token(headers, query) == token


@pytest.mark.parametrize(
    ("base", "url"),
    [
        ("http://xuc:8090", "ws://xuc:8090/xuc/api/2.0/cti?token=abc"),
        ("https://xivocc.example.org", "wss://xivocc.example.org/xuc/api/2.0/cti?token=abc"),
        (
            "https://xivocc.example.org:443/",
            "wss://xivocc.example.org:443/xuc/api/2.0/cti?token=abc",
        ),
        ("HTTP://127.0.0.1:8090/sample", "ws://127.0.0.1:8090/xuc/api/2.0/cti?token=abc"),
        ("ws://[::1]:8090", "ws://[::1]:8090/xuc/api/2.0/cti?token=abc"),
    ],
)
def test_cti_url(base: str, url: str) -> None:
    assert cti_url(base, "abc") == url


def test_cti_url_encodes_the_token() -> None:
    assert cti_url("http://h", "a b/c+d&e=") == "ws://h/xuc/api/2.0/cti?token=a%20b%2Fc%2Bd%26e%3D"


@pytest.mark.parametrize("base", ["ftp://h", "xuc:8090", "http://", ""])
def test_cti_url_refuses_other_bases(base: str) -> None:
    with pytest.raises(ValueError, match="XUC base URL must be http"):
        cti_url(base, "abc")


@pytest.mark.parametrize(
    ("body", "token", "notes"),
    [
        ({"login": "alice", "token": "t", "TTL": 3600}, AuthToken("alice", "t", 3600), []),
        (
            {"token": "t", "TTL": 3600},
            AuthToken("alice", "t", 3600),
            ["token answer field \"login\": null taken as 'alice'"],
        ),
        (
            {"login": "alice", "token": "t", "TTL": "3600"},
            AuthToken("alice", "t", 3600),
            ["token answer field \"TTL\": string '3600' taken as 3600"],
        ),
        (
            {"login": "alice", "token": "t", "TTL": 3600.0},
            AuthToken("alice", "t", 3600),
            ['token answer field "TTL": number 3600.0 taken as 3600'],
        ),
        (
            {"login": "alice", "token": "t"},
            AuthToken("alice", "t", None),
            ['token answer field "TTL": null None taken as None'],
        ),
    ],
)
def test_a_real_xucs_token_answer_is_read_tolerantly(body, token, notes) -> None:
    said: list[str] = []
    assert AuthToken.from_answer(body, "alice", said) == token
    assert said == notes


def test_a_token_answer_needs_its_token() -> None:
    with pytest.raises(RestBodyError, match='missing field "token"'):
        AuthToken.from_answer({"login": "alice", "TTL": 1}, "alice", [])
    assert AuthToken("a", "t", None).to_json() == {"login": "a", "token": "t"}
