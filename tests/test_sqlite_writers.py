"""SQLite's writers queue on a file lock instead of sleeping in SQLite's busy handler
(`core.sqlite_writers`): a write transaction holds the queue from its first write to its
end, however it ends; readers never take it; a writer waits its turn, and gives up after
the busy timeout with SQLite's own error. The app's SQLite connections take part.

The queue is looked at from outside, as another process would: a second open of the
lock file (its own flock) is refused while a transaction holds the queue.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import sqlite3
import threading
import time

import pytest
from sqlalchemy import func, insert, select

from accounts.models import ApiToken, Role
from core import sqlite_writers
from core.sqlite_writers import WriterQueueConnection
from org.models import Sector
from tests.conftest import PASSWORD, assert_problem


@pytest.fixture
def path(tmp_path):
    database = tmp_path / "queue.db"
    with sqlite3.connect(database) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x INTEGER)")
    return database


def connect(path, **kwargs) -> WriterQueueConnection:
    return sqlite3.connect(path, factory=WriterQueueConnection, **kwargs)


def queue_taken(path) -> bool:
    """Whether a writer holds the queue of the database at `path` (tried as an outsider)."""
    fd = os.open(f"{path}{sqlite_writers.LOCK_SUFFIX}", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # drops the lock if this took it
    return False


def rows(path) -> list[int]:
    with sqlite3.connect(path) as reader:
        return [x for (x,) in reader.execute("SELECT x FROM t ORDER BY x")]


@pytest.mark.parametrize("end", ["commit", "rollback", "close"])
def test_a_write_transaction_holds_the_queue_until_it_ends(path, end):
    conn = connect(path)
    conn.execute("SELECT count(*) FROM t").fetchall()
    assert not queue_taken(path)  # a read takes no place in the queue
    conn.execute("INSERT INTO t VALUES (1)")
    conn.execute("UPDATE t SET x = 2")
    assert queue_taken(path)
    getattr(conn, end)()
    assert not queue_taken(path)
    assert rows(path) == ([2] if end == "commit" else [])
    conn.close()


def test_a_write_that_opens_no_transaction_leaves_the_queue_at_once(path):
    conn = connect(path)
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("INSERT INTO missing VALUES (1)")
    assert not queue_taken(path)
    conn.execute("WITH n(v) AS (SELECT 1) SELECT v FROM n").fetchall()  # a read after all
    assert not queue_taken(path)
    conn.isolation_level = None  # autocommit: each write is its own transaction
    conn.execute("INSERT INTO t VALUES (7)")
    assert not queue_taken(path)
    assert rows(path) == [7]
    conn.close()


@pytest.mark.parametrize("begin", ["BEGIN", "SAVEPOINT first"])
def test_a_transaction_begun_by_hand_queues_at_its_first_write(path, begin):
    conn = connect(path, isolation_level=None)
    conn.execute(begin)
    conn.execute("SELECT count(*) FROM t").fetchall()
    assert not queue_taken(path)
    conn.execute("INSERT INTO t VALUES (1)")
    assert queue_taken(path)
    conn.execute("COMMIT" if begin == "BEGIN" else "RELEASE first")
    assert not queue_taken(path)
    assert rows(path) == [1]
    conn.close()


def test_a_failed_statement_inside_a_transaction_keeps_the_queue_to_the_rollback(path):
    conn = connect(path)
    conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("INSERT INTO missing VALUES (1)")
    assert queue_taken(path)
    conn.rollback()
    assert not queue_taken(path)
    conn.close()


def test_a_second_writer_waits_its_turn_where_sqlite_alone_refuses_it(path):
    """Both connections give SQLite no busy timeout: without the queue the second INSERT
    fails at once with "database is locked". With it, the second writer waits for the
    first's commit, then writes."""
    first, second = connect(path, timeout=0), connect(path, timeout=0, check_same_thread=False)
    first.execute("INSERT INTO t VALUES (1)")
    events: list[str] = []

    def write_second():
        second.execute("INSERT INTO t VALUES (2)")
        events.append("second wrote")
        second.commit()

    writer = threading.Thread(target=write_second)
    writer.start()
    time.sleep(0.2)
    events.append("first commits")
    first.commit()
    writer.join(5)
    assert events == ["first commits", "second wrote"]
    assert rows(path) == [1, 2]
    first.close()
    second.close()


def test_a_writer_gives_up_after_the_busy_timeout_with_sqlites_own_error(path, monkeypatch):
    """The waiter gives SQLite no busy timeout of its own: the wait is the queue's."""
    monkeypatch.setattr(sqlite_writers, "BUSY_TIMEOUT_S", 0.2)
    holder = connect(path)
    holder.execute("INSERT INTO t VALUES (1)")
    waiter = connect(path, timeout=0)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        waiter.execute("INSERT INTO t VALUES (2)")
    assert time.monotonic() - started >= 0.2
    holder.commit()
    assert not queue_taken(path)
    waiter.execute("INSERT INTO t VALUES (3)")  # its turn now
    waiter.commit()
    assert rows(path) == [1, 3]
    holder.close()
    waiter.close()


def test_a_connection_dropped_without_close_does_not_keep_the_queue(path):
    conn = connect(path)
    conn.execute("INSERT INTO t VALUES (1)")
    assert queue_taken(path)
    del conn
    gc.collect()
    assert not queue_taken(path)


def test_an_in_memory_database_has_no_queue(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conn = sqlite3.connect(":memory:", factory=WriterQueueConnection)
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    assert conn.execute("SELECT x FROM t").fetchall() == [(1,)]
    assert list(tmp_path.iterdir()) == []
    conn.close()


def test_the_apps_sqlite_writes_take_the_queue(app, database_url):
    if not database_url.startswith("sqlite"):
        assert "connect_args" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        return
    from core.db import db

    database = db.engine.url.database
    db.session.execute(select(Sector.id)).all()
    assert not queue_taken(database)
    db.session.execute(insert(Sector).values(code="queued", name="排队"))
    assert queue_taken(database)
    db.session.commit()
    assert not queue_taken(database)


@contextlib.contextmanager
def queue_held(path):
    """Another process's writer holding the queue (a second open of the lock file)."""
    fd = os.open(f"{path}{sqlite_writers.LOCK_SUFFIX}", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)


def test_a_request_that_waits_out_the_queue_is_a_503_and_writes_nothing(
    app, database_url, world, office, monkeypatch
):
    """Each write of the API meets the queue the same way: a sign-in (its token) and an
    office's new sector, refused while another writer keeps the queue past the timeout,
    then the same requests once it is free."""
    if not database_url.startswith("sqlite"):
        return
    from core.db import db

    monkeypatch.setattr(sqlite_writers, "BUSY_TIMEOUT_S", 0.2)
    login = {"username": world.users[Role.inspector].username, "password": PASSWORD}
    sector = {"code": "queued", "name": "排队"}
    tokens = db.session.scalar(select(func.count(ApiToken.id)))
    with queue_held(db.engine.url.database):
        for response in (
            app.test_client().post("/api/v1/auth/login", json=login),
            office.post("/api/v1/sectors", json=sector),
        ):
            body = assert_problem(response, 503)
            assert int(response.headers["Retry-After"]) > 0
            assert "数据库" in body["detail"]
    db.session.rollback()
    assert db.session.scalar(select(func.count(ApiToken.id))) == tokens
    assert db.session.scalar(select(Sector.id).where(Sector.code == "queued")) is None
    assert app.test_client().post("/api/v1/auth/login", json=login).status_code == 201
    assert office.post("/api/v1/sectors", json=sector).status_code == 201
