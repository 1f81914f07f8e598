"""SQLite's writers wait in line, not in SQLite's busy handler.

SQLite lets one connection write at a time. A writer that finds the lock taken sleeps in
SQLite's busy handler 1, 2, 5, 10, … ms at a time, however little the writer before it
has left to do. A submission holds the lock about a millisecond, so under load a gunicorn
worker waiting for it slept longer than it waited, and its core stood idle: served
submissions ran with 22–30 % of the machine idle (docs/inspections.md).

Here a transaction's first write takes an exclusive lock on a file beside the database
(`<database>-writers.lock`) and the transaction's end releases it: commit, rollback, close,
or the process's death (the kernel drops a dead process's flock). A writer that finds it
taken retries every 50 µs at first and every 250 µs at most, and gives up after the busy
timeout with SQLite's own error, "database is locked" (a 503 at the API, as before). Every
connection the app opens to the file takes part, in every process; a connection opened
without `WriterQueueConnection` (the sqlite3 shell, a script's own engine) is not queued
and meets SQLite's busy handler as before, which keeps it correct: the queue only orders
writers, SQLite's lock still excludes them.

Readers never queue: in WAL mode they neither block a writer nor wait for one. On a system
without `fcntl` (Windows) connections work as plain ones, without the queue.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

BUSY_TIMEOUT_S = 10.0  # core.db sets SQLite's own busy_timeout to the same
FIRST_RETRY_S = 0.000_05
LONGEST_RETRY_S = 0.000_25
LOCK_SUFFIX = "-writers.lock"

# What can open a write transaction (pysqlite begins one before INSERT, UPDATE, DELETE and
# REPLACE). A statement beginning WITH may be a read: it queues, and its end releases the
# queue at once when it opened no transaction.
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "WITH")


def lock_path(database: str | bytes | os.PathLike) -> str | None:
    """The queue's file for a database file; None for an in-memory database."""
    path = os.fsdecode(database)
    if path in ("", ":memory:") or path.startswith("file:"):
        return None
    return path + LOCK_SUFFIX


def _take(fd: int) -> None:
    deadline, pause = None, FIRST_RETRY_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            now = time.monotonic()
            deadline = deadline or now + BUSY_TIMEOUT_S
            if now >= deadline:
                raise sqlite3.OperationalError("database is locked") from None
        time.sleep(pause)
        pause = min(pause * 2, LONGEST_RETRY_S)


class _QueuedCursor(sqlite3.Cursor):
    def execute(self, sql, parameters=(), /):
        self.connection._queue(sql)
        try:
            return super().execute(sql, parameters)
        finally:
            self.connection._settle()

    def executemany(self, sql, seq_of_parameters, /):
        self.connection._queue(sql)
        try:
            return super().executemany(sql, seq_of_parameters)
        finally:
            self.connection._settle()


class WriterQueueConnection(sqlite3.Connection):
    """A sqlite3 connection whose write transactions take the database's writer queue
    (`sqlite3.connect(path, factory=WriterQueueConnection)`; the app's engine passes it in
    `connect_args`)."""

    _queued = False
    _queue_fd: int | None = None

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        path = lock_path(database) if fcntl is not None else None  # an SQLite URI: none
        if path is not None:
            # (in a read-only folder this fails, and the connection cannot write anyway)
            with contextlib.suppress(OSError):
                self._queue_fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def cursor(self, factory=_QueuedCursor):
        return super().cursor(factory)

    # The connection's shortcuts make their cursor in C, without `cursor()`.
    def execute(self, sql, parameters=(), /):
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql, seq_of_parameters, /):
        return self.cursor().executemany(sql, seq_of_parameters)

    def _queue(self, sql: str) -> None:
        """Before a statement: a transaction's first write takes the queue, however the
        transaction began (pysqlite's implicit BEGIN, an explicit BEGIN or SAVEPOINT)."""
        if self._queue_fd is None or self._queued:
            return
        if sql.lstrip()[:7].upper().startswith(_WRITES):
            _take(self._queue_fd)
            self._queued = True

    def _settle(self) -> None:
        """After a statement: a write that opened no transaction (it failed, or ran in
        autocommit mode, or was a read after all) leaves the queue at once."""
        if self._queued and not self.in_transaction:
            self._leave()

    def _leave(self) -> None:
        if self._queued:
            self._queued = False
            fcntl.flock(self._queue_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._close_queue()

    def _close_queue(self) -> None:
        fd, self._queue_fd, self._queued = self._queue_fd, None, False
        if fd is not None:
            os.close(fd)  # drops the flock if held

    def __del__(self) -> None:
        # A connection dropped without close() must not keep the queue: the next writer
        # would wait for a lock no one will release.
        self._close_queue()
