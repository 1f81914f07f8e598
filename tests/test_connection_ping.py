"""Pooled PostgreSQL connections are checked before a request uses them only when they
have lain idle (DATABASE_PING_IDLE_SECONDS): a busy worker's requests skip the ping's
round trip, and a connection that died meanwhile is still never a 500."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from api.config import engine_options
from core.db import db
from tests.conftest import assert_problem

ONE_CONNECTION = {"pool_size": 1, "max_overflow": 0}
A_TOKEN = {"Authorization": "Bearer not-a-token"}  # a statement, then 401


@pytest.fixture
def server_app(make_app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a SQLite file has no server connection to lose")

    def make(idle_seconds: float):
        # The app's own engine options, with a pool of one: the connection a test kills is
        # the one its next request gets.
        options = engine_options(database_url) | ONE_CONNECTION
        return make_app(DATABASE_PING_IDLE_SECONDS=idle_seconds, SQLALCHEMY_ENGINE_OPTIONS=options)

    return make


def _pings(app, monkeypatch) -> list[int]:
    with app.app_context():
        dialect = db.engine.dialect
    pinged: list[int] = []
    real = dialect.do_ping

    def counted(dbapi_connection):
        pinged.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return pinged


def _kill_the_pooled_connection(app) -> None:
    """The server ends the backend of the app's one pooled connection (a restart, an
    idle timeout), and this waits until it is gone."""
    with app.app_context():
        with db.engine.connect() as conn:
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        other = create_engine(db.engine.url, poolclass=NullPool)
    # (autocommit: within a transaction pg_stat_activity shows one snapshot)
    with other.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        deadline = time.monotonic() + 10
        while conn.exec_driver_sql(f"SELECT 1 FROM pg_stat_activity WHERE pid = {int(pid)}").all():
            assert time.monotonic() < deadline, "the backend did not end"
            time.sleep(0.01)
    other.dispose()


@pytest.mark.parametrize(
    ("idle_seconds", "pings"),
    [(60, 0), (0, 3)],
    ids=["given-back-moments-ago-not-pinged", "no-window-every-request-pings"],
)
def test_three_requests_in_a_row(server_app, monkeypatch, idle_seconds, pings):
    app = server_app(idle_seconds)
    pinged = _pings(app, monkeypatch)
    client = app.test_client()
    for _ in range(3):
        assert_problem(client.get("/api/v1/auth/me", headers=A_TOKEN), 401)
    assert len(pinged) == pings


def test_a_connection_that_died_while_idle_is_replaced_unseen(server_app, monkeypatch):
    app = server_app(0.05)
    pinged = _pings(app, monkeypatch)
    client = app.test_client()
    assert_problem(client.get("/api/v1/auth/me", headers=A_TOKEN), 401)
    _kill_the_pooled_connection(app)
    time.sleep(0.1)
    assert_problem(client.get("/api/v1/auth/me", headers=A_TOKEN), 401)
    assert pinged  # the ping found it dead, the pool made a new one


def test_a_connection_that_died_within_the_window_costs_one_503(server_app, caplog):
    app = server_app(60)
    client = app.test_client()
    assert_problem(client.get("/api/v1/auth/me", headers=A_TOKEN), 401)
    _kill_the_pooled_connection(app)
    lost = client.get("/api/v1/auth/me", headers=A_TOKEN)
    assert_problem(lost, 503)
    assert lost.headers["Retry-After"]
    assert_problem(client.get("/api/v1/auth/me", headers=A_TOKEN), 401)  # a new connection
    assert client.get("/healthz").status_code == 200
    assert not [r for r in caplog.records if r.exc_info]
