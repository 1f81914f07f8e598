"""The WeChat client: its secrets never reach a log, WeChat's words never reach a client,
and its token cache keeps out of the request's transaction."""

from __future__ import annotations

import logging
import socket

import pytest
from sqlalchemy import select

from core.db import db
from org.models import Sector
from tests.conftest import assert_problem
from tests.fakes.wechat import FakeWeChat
from wechat.models import WeChatAccessToken

JS_CODE = "js-code-4b1d7e"


def wechat_login(client, code=JS_CODE, binding_code=None):
    payload = {"code": code} | ({"binding_code": binding_code} if binding_code else {})
    return client.post("/api/v1/auth/wechat", json=payload)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def every_log(caplog):
    """Every record of every logger, urllib3's debug lines included."""
    loggers = [logging.getLogger(name) for name in ("", "urllib3", "wechat", "api")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    with caplog.at_level(logging.DEBUG):
        yield caplog
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


def assert_no_secret(caplog, *also: str) -> None:
    text = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    for secret in (FakeWeChat.app_secret, JS_CODE, *also):
        assert secret not in text


@pytest.mark.parametrize("fault", ["refused", "timeout", "http_502", "http_500", "not_json"])
def test_an_unreachable_wechat_logs_no_secret(app, client, wechat, every_log, monkeypatch, fault):
    wechat_client = app.extensions["wechat"]
    if fault == "refused":
        monkeypatch.setattr(wechat_client, "base_url", f"http://127.0.0.1:{_closed_port()}")
    elif fault == "timeout":
        monkeypatch.setattr(wechat_client, "timeout", 0.2)
        wechat.delay = 0.6
    elif fault.startswith("http_"):
        wechat.down, wechat.status = True, int(fault.removeprefix("http_"))
    else:
        wechat.garbage = True
    response = wechat_login(client)
    assert_problem(response, 503)
    assert response.headers["Retry-After"]
    assert "/sns/jscode2session" in every_log.text  # the path is logged...
    assert_no_secret(every_log)  # ...the query string never


def test_a_successful_call_logs_no_secret(client, wechat, every_log):
    wechat.codes[JS_CODE] = "openid-x"
    wechat_login(client)
    assert any("jscode2session" in r.getMessage() for r in every_log.records)  # urllib3 ran
    assert_no_secret(every_log)


def test_subscribe_messages_log_no_access_token(app, wechat, every_log):
    wechat.refused_openids.add("openid-y")
    client = app.extensions["wechat"]
    with pytest.raises(Exception):  # noqa: B017, PT011 - refused: 43101
        client.send_subscribe_message("openid-y", {"template_id": "t", "data": {}})
    (token,) = wechat.tokens
    assert_no_secret(every_log, token)


@pytest.mark.parametrize(
    ("errcode", "status", "type_", "retry_after"),
    [
        (40029, 422, "urn:problem:wechat-invalid-code", None),
        (40163, 422, "urn:problem:wechat-invalid-code", None),  # a code used twice
        (45011, 429, None, "60"),
        (40226, 403, "urn:problem:wechat-risky-user", None),
        (-1, 503, None, "2"),
        (40013, 502, None, None),  # a wrong AppID: our configuration, not the user
        (99999, 502, None, None),  # anything WeChat may invent
    ],
)
def test_wechat_errors_become_chinese_problems(client, wechat, errcode, status, type_, retry_after):
    wechat.next_errors.append(errcode)
    response = wechat_login(client)
    body = assert_problem(response, status)
    if type_:
        assert body["type"] == type_
    assert response.headers.get("Retry-After") == retry_after
    text = response.get_data(as_text=True)
    assert "fake error" not in text  # WeChat's own English never reaches the user
    assert any("\u4e00" <= char <= "\u9fff" for char in body["detail"])


def test_the_token_cache_keeps_out_of_the_callers_transaction(app, wechat):
    # Something the caller has not decided to keep yet:
    db.session.add(Sector(code="pending_sector", name="未提交的领域"))
    token = app.extensions["wechat"].access_token()
    db.session.rollback()
    # The caller's work is gone, as it asked; the shared token was stored on its own.
    assert db.session.scalar(select(Sector).where(Sector.code == "pending_sector")) is None
    cached = db.session.get(WeChatAccessToken, FakeWeChat.app_id)
    assert cached is not None
    assert cached.token == token
    # And it is reused rather than fetched again.
    calls = len(wechat.calls)
    assert app.extensions["wechat"].access_token() == token
    assert len(wechat.calls) == calls


def test_a_refused_token_is_forgotten_without_committing_the_caller(app, wechat):
    client = app.extensions["wechat"]
    token = client.access_token()
    wechat.tokens.clear()  # WeChat no longer knows it (renewed elsewhere)
    db.session.add(Sector(code="pending_sector", name="未提交的领域"))
    client.send_subscribe_message("openid-z", {"template_id": "t", "data": {}})
    db.session.rollback()
    assert db.session.scalar(select(Sector).where(Sector.code == "pending_sector")) is None
    assert db.session.get(WeChatAccessToken, FakeWeChat.app_id).token != token
    assert wechat.sent
