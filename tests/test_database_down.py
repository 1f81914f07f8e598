"""The database down: every operation answers 503 with Retry-After, never a 500.

Two ways a database is down: PostgreSQL at a port where nothing listens, and a SQLite file
that cannot be opened. Every operation of the OpenAPI document is called with a bearer
token (the token lookup itself fails) and without one (public operations that read the
database fail later, in the view). Each failure is logged once, as a warning, without a
traceback. When the database comes back, the same app serves again: no restart.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.engine import make_url

from api import create_app
from api.auth import route_methods
from core.db import db
from tests.conftest import assert_problem, make_config


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _down_url(kind: str, tmp: Path) -> str:
    if kind == "postgresql":
        return f"postgresql+psycopg://postgres@127.0.0.1:{_unused_port()}/postgres"
    return f"sqlite:///{tmp / 'no-such-directory' / 'app.db'}"


@pytest.fixture(params=["postgresql", "sqlite"])
def down_app(request, tmp_path, fake_wechat_server) -> Iterator[Flask]:
    _, wechat_url = fake_wechat_server
    app = create_app(make_config(_down_url(request.param, tmp_path), tmp_path, wechat_url))
    return app


# Bodies that pass validation, so public operations reach the database.
VALID_BODIES = {
    ("POST", "/api/v1/auth/login"): {"username": "admin", "password": "whatever-password"},
    ("POST", "/api/v1/auth/wechat"): {"code": "any-wx-login-code"},
}


def _operations(app: Flask) -> list[tuple[str, str, dict]]:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operations = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                operations.append((method.upper(), path, op))
    return operations


def _call(client, method: str, path: str, op: dict, headers: dict):
    url = re.sub(r"\{[^}]+\}", "1", path)
    content = op.get("requestBody", {}).get("content", {})
    kwargs: dict = {"headers": headers | {"If-Match": '"1"'}}
    if "application/json" in content:
        kwargs["json"] = VALID_BODIES.get((method, path), {})
    elif "multipart/form-data" in content:
        kwargs["data"] = {}
        kwargs["content_type"] = "multipart/form-data"
    return client.open(url, method=method, **kwargs)


def _assert_unavailable(response) -> None:
    body = assert_problem(response, 503)
    assert int(response.headers["Retry-After"]) > 0
    assert "数据库" in body["detail"]


def test_every_operation_answers_503_with_a_token(down_app, caplog):
    client = down_app.test_client()
    operations = _operations(down_app)
    assert len(operations) > 60
    for method, path, op in operations:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            response = _call(client, method, path, op, {"Authorization": "Bearer some-token"})
        assert response.status_code == 503, (method, path, response.get_data(as_text=True))
        _assert_unavailable(response)
        loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(loud) == 1, (method, path, [r.getMessage() for r in loud])
        assert loud[0].levelno == logging.WARNING
        assert not any(r.exc_info for r in caplog.records), (method, path)


def test_without_a_token_nothing_is_a_server_error(down_app, caplog):
    client = down_app.test_client()
    for method, path, op in _operations(down_app):
        response = _call(client, method, path, op, {})
        assert response.status_code < 500 or response.status_code == 503, (method, path)
        if response.status_code == 503:
            _assert_unavailable(response)
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/wechat"])
def test_signing_in_answers_503(down_app, wechat, path):
    body = VALID_BODIES[("POST", path)]
    wechat.codes[body.get("code", "")] = "openid-of-someone"
    _assert_unavailable(down_app.test_client().post(path, json=body))


def test_console_pages_answer_503_not_500(down_app, caplog):
    """Signed in (a session cookie): the token lookup fails on every page; signing in
    fails in the view."""
    client = down_app.test_client()
    with client.session_transaction() as session:
        session["token"] = "some-token"
    checked = 0
    for rule, method, endpoint in route_methods(down_app):
        if not rule.startswith("/console/") or "static" in endpoint:
            continue
        url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule)
        response = client.open(url, method=method, data={})
        checked += 1
        assert response.status_code == 503, (method, rule, response.status_code)
        assert int(response.headers["Retry-After"]) > 0
        assert "数据库" in response.get_data(as_text=True)
    assert checked > 20
    anonymous = down_app.test_client()
    page = anonymous.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"username": "a", "password": "b", "csrf_token": token}
    response = anonymous.post("/console/login", data=form)
    assert response.status_code == 503
    assert not any(r.exc_info for r in caplog.records)


# -- recovery without a restart -------------------------------------------------------------


class Switch:
    """A TCP relay to the real PostgreSQL that can be switched off (port closed, every
    connection cut) and on again, at the same address."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = _unused_port()
        self.listener: socket.socket | None = None
        self.links: list[socket.socket] = []

    def on(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def off(self) -> None:
        if self.listener:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        for link in self.links:
            with contextlib.suppress(OSError):
                link.shutdown(socket.SHUT_RDWR)
            link.close()
        self.links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                inbound, _ = listener.accept()
            except OSError:
                return
            outbound = socket.create_connection(self.target)
            self.links += [inbound, outbound]
            for a, b in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def test_down_then_up_again_without_a_restart(database_url, app_session, tmp_path, caplog):
    """PostgreSQL: a relay in front of the test database is cut with connections in the
    pool, then restored. SQLite: the file's directory appears after the first failures."""
    config = dict(app_session.config)
    switch = None
    if database_url.startswith("sqlite"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'later' / 'app.db'}"
    else:
        real = make_url(database_url)
        switch = Switch((real.host or "127.0.0.1", real.port or 5432))
        switch.on()
        relayed = real.set(host="127.0.0.1", port=switch.port)
        config["SQLALCHEMY_DATABASE_URI"] = relayed.render_as_string(hide_password=False)
    config.pop("SQLALCHEMY_ENGINE_OPTIONS", None)
    app = create_app(config)
    client = app.test_client()
    login = {"username": "nobody", "password": "whatever-password"}
    try:
        if switch:  # up, with a connection in the pool; then cut
            assert client.get("/healthz").status_code == 200
            assert_problem(client.post("/api/v1/auth/login", json=login), 401)
            switch.off()
        assert_problem(client.get("/healthz"), 503)
        _assert_unavailable(client.post("/api/v1/auth/login", json=login))
        _assert_unavailable(client.get("/api/v1/auth/me", headers={"Authorization": "Bearer x"}))
        if switch:
            switch.on()
        else:
            (tmp_path / "later").mkdir()
        assert client.get("/healthz").status_code == 200
        if switch:
            assert_problem(client.post("/api/v1/auth/login", json=login), 401)
        assert not [r for r in caplog.records if r.exc_info or r.levelno > logging.WARNING]
    finally:
        if switch:
            switch.off()
        with app.app_context():
            db.engine.dispose()
