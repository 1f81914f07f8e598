"""The one declarative base and the unbound Flask-SQLAlchemy object.

Lives outside `api/` so that domain packages can define models without importing the
HTTP edge. `api.extensions` re-exports `db`.
"""

from __future__ import annotations

import functools
import sqlite3
import time
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, Select, Table, event, func, inspect, select, update
from sqlalchemy.engine import Connection, CursorResult, Dialect, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.sql import Executable
from sqlalchemy.types import TypeDecorator

from core import sqlite_writers

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL keeps the offset; SQLite drops it. Values are normalised to UTC on the way
    in and come back aware on the way out, so code never meets a naive datetime.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use core.clock.utcnow()")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


db = SQLAlchemy(model_class=Base)

# Objects the transaction wrote with a Core statement rather than the unit of work: the
# listeners that follow the session's changes (reports.rollups) read them before commit.
WRITTEN_BY_CORE = "written_by_core"


def written_by_core(obj: Base) -> None:
    """`obj` (persistent, with its id) was inserted or updated by a Core statement in the
    current transaction: the session's flush events never saw it."""
    db.session.info.setdefault(WRITTEN_BY_CORE, []).append(obj)


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection, _record) -> None:
    """WAL + synchronous=NORMAL doubled write throughput; enforce foreign keys. (The
    app's own connections are `core.sqlite_writers.WriterQueueConnection`s.)"""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(sqlite_writers.BUSY_TIMEOUT_S * 1000)}")
    cursor.close()


# -- one writer of a row at a time ------------------------------------------------------


def lock_for_update(obj: Base) -> bool:
    """Hold `obj`'s row until the transaction ends, then read it again: writers of one
    row (a resent request, two people at once) take turns here, and each sees what the
    one before it wrote, instead of both checking the old row and one failing at its
    flush, or both writing. Call it before checking or changing anything of `obj`.

    PostgreSQL: `SELECT … FOR UPDATE`. SQLite: the database's single write lock (queued
    by `core.sqlite_writers`), taken by an UPDATE that changes nothing; until a write,
    pysqlite reads outside any transaction, so the read after it sees the latest row.

    Lock a parent to make the writes of its children take turns. Reading the parent again
    may read its loaded children again too: a caller that checked a child's version before
    the lock (If-Match) compares it again after, as `inspections.findings.review_finding`
    does, rather than counting on the child's version column to notice.

    False when the row is gone (deleted by the writer this one waited for)."""
    state = inspect(obj)
    mapper = state.mapper
    (key,) = mapper.primary_key
    ident = state.identity[0]
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        found = session.execute(select(key).where(key == ident).with_for_update()).first()
    else:
        table = mapper.local_table  # a plain column: a key's "change" would check others
        same = next(c for c in table.columns if not (c.primary_key or c.foreign_keys))
        changed = update(table).where(key == ident).values({same: same})
        found = session.execute(changed).rowcount == 1
    if not found:
        return False
    session.refresh(obj)
    return True


# -- pooled connections to a server ------------------------------------------------------

_USED_AT = "used_at"  # in a pooled connection's info: when a request last gave it back


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a server connection before a request takes it from the pool, as SQLAlchemy's
    `pool_pre_ping` does (an empty statement; a dead one is replaced, unseen by the
    request), but only when it has lain idle `idle_seconds` or longer. One that a request
    gave back moments ago is taken as alive, as HikariCP does within its 500 ms
    `aliveBypassWindowMs`: the ping is a round trip, ≈0.15 ms of a worker's CPU and as
    much waiting on every request of a busy worker (docs/inspections.md).

    A connection that dies within that window (the server restarted just now) fails its
    request's first statement instead: that request answers 503 with Retry-After, and
    the pool drops the connection and every one older than it, so the next request gets
    a new one. 0 pings on every checkout."""

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _mark_used(dbapi_connection, record) -> None:
        if dbapi_connection is not None:  # (None: invalidated on its way back)
            record.info[_USED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get(_USED_AT, float("-inf")) < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # the pool closes this one and tries a new connection
            raise DisconnectionError("the pooled connection is gone") from exc


def counts_at_most(stmts: list[Select], bound: int) -> list[tuple[int, bool]]:
    """For each statement, (its rows counted up to `bound`; whether that is all of them),
    in one query. Each count reads at most bound + 1 rows (a LIMIT inside it), so with an
    index that matches the statement's filter it costs the same over any length of
    history."""
    counts = [
        select(func.count())
        .select_from(stmt.order_by(None).limit(bound + 1).subquery())
        .scalar_subquery()
        for stmt in stmts
    ]
    row = db.session.execute(select(*counts)).one()
    return [(min(counted or 0, bound), (counted or 0) <= bound) for counted in row]


def count_at_most(stmt: Select, bound: int) -> tuple[int, bool]:
    """(rows of `stmt`, counted up to `bound`; whether that is all of them)."""
    return counts_at_most([stmt], bound)[0]


class Prepared:
    """A fixed Core statement run without SQLAlchemy's per-execution work.

    Compiled once per dialect; each value converted by its type's own bind processor (the
    same conversion `Connection.execute` applies) and sent with `exec_driver_sql`, so it
    is still a statement of the connection: its transaction, its events, the tests' counts
    of statements. `Connection.execute` spends ~55 µs (SQLite) to ~180 µs (PostgreSQL) a
    statement on building the cache key, looking up the compiled form and setting up its
    execution context (bench/submit.py); a submission runs a handful of fixed statements.

    Every bound value must be given (an INSERT names exactly `columns`: `python_defaults`
    and `with_defaults` give it the model's defaults), and nothing is expanded. Rows come
    back as tuples, each value through its column's result processor. The compiled forms
    are kept per dialect and driver: the app's engines share their settings."""

    def __init__(self, statement: Executable, columns: Sequence[str] | None = None):
        self.statement = statement
        self.columns = list(columns) if columns is not None else None
        self._forms: dict[tuple[str, str], _Compiled] = {}

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> CursorResult:
        form = self._form(connection.dialect)
        return connection.exec_driver_sql(form.sql, form.parameters(params))

    def later(self, connection: Connection, params: Mapping[str, Any]) -> None:
        """Run the statement, whose result nobody reads, with the connection's next round
        trip. On PostgreSQL it waits in the connection's queue and goes out, in one
        pipeline, with the next statement the connection runs or with its COMMIT
        (`_send_later`); its error, if any, is raised there. Elsewhere it runs now."""
        dialect = connection.dialect
        if dialect.driver != "psycopg" or not _pipelines(dialect):
            self.execute(connection, params)
            return
        form = self._form(dialect)
        _watch(connection.engine)
        _LATER.setdefault(connection, []).append((form.sql, form.parameters(params)))

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[tuple]:
        """The rows a SELECT or an INSERT … RETURNING gives, each value as
        `Connection.execute` would have returned it."""
        dialect = connection.dialect
        form = self._form(dialect)
        result = connection.exec_driver_sql(form.sql, form.parameters(params))
        convert = form.results
        if convert is None:  # the first run: some types' processors need the driver's codes
            convert = form.results = [
                column.type.dialect_impl(dialect).result_processor(dialect, described[1])
                for column, described in zip(form.selected, result.cursor.description, strict=True)
            ]
        return [
            tuple(c(v) if c else v for c, v in zip(convert, row, strict=True)) for row in result
        ]

    def _form(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        form = self._forms.get(key)
        if form is None:
            form = self._forms[key] = _Compiled(self, dialect)
        return form


_GIVEN = object()


# -- statements sent later, together (PostgreSQL) -----------------------------------------
#
# Each statement on its own is a round trip to the server: a submission's audit event,
# seal link and rollup upkeep were six of its thirteen (bench/submit.py). `Prepared.later`
# queues such statements per connection; before any other statement runs on that
# connection (so every read sees them), or at its COMMIT, the queue goes out in psycopg's
# pipeline mode: one round trip for all of them, the COMMIT included. A rollback drops it.

_LATER: weakref.WeakKeyDictionary[Connection, list[tuple[str, Any]]] = weakref.WeakKeyDictionary()


@functools.cache
def _pipelines(dialect: Dialect) -> bool:
    """Whether the driver's libpq has pipeline mode (14 and later; psycopg's own wheels
    bring one that has)."""
    return dialect.loaded_dbapi.Pipeline.is_supported()


def _watch(engine: Engine) -> None:
    if not event.contains(engine, "commit", _send_later_with_commit):
        event.listen(engine, "before_cursor_execute", _send_later_first)
        event.listen(engine, "commit", _send_later_with_commit)
        event.listen(engine, "rollback", _drop_later)


def _send_later_first(conn: Connection, *_args) -> None:
    if conn in _LATER:
        _send_later(conn, commit=False)


def _send_later_with_commit(conn: Connection) -> None:
    if conn in _LATER:
        _send_later(conn, commit=True)


def _drop_later(conn: Connection) -> None:
    _LATER.pop(conn, None)


def _send_later(conn: Connection, *, commit: bool) -> None:
    """Send the queued statements in one pipeline (and the COMMIT, when it is the
    COMMIT's turn): still statements of the connection, seen by its events. The queue is
    taken first, so these statements' own events do not send it again."""
    queue = _LATER.pop(conn)
    driver = conn.connection.driver_connection
    statement, parameters = queue[0]
    try:
        with driver.pipeline():
            for statement, parameters in queue:
                conn.exec_driver_sql(statement, parameters)
            if commit:
                # As a statement, not `driver.commit()`, whose own sync would be a second
                # round trip; SQLAlchemy's COMMIT then finds no transaction and does nothing.
                driver.execute("COMMIT")
    except conn.dialect.loaded_dbapi.Error as exc:  # raised by the pipeline's sync
        # (as SQLAlchemy would have raised it: an IntegrityError, an OperationalError …;
        # a lost connection is dropped when the request's rollback meets it)
        raise DBAPIError.instance(
            statement, parameters, exc, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
        ) from exc


class _Compiled:
    """One dialect's form of a `Prepared` statement."""

    def __init__(self, prepared: Prepared, dialect: Dialect):
        compiled = prepared.statement.compile(dialect=dialect, column_keys=prepared.columns)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a prepared statement cannot expand parameters")
        self.sql = compiled.string
        # Each bind: (name, its processor, its own value when the statement carries one,
        # such as a literal in COALESCE(x, 0), else _GIVEN: the caller's).
        binds: dict[str, tuple[str, Callable | None, Any]] = {
            name: (
                name,
                bind.type.dialect_impl(dialect).bind_processor(dialect),
                _GIVEN if bind.required else bind.effective_value,
            )
            for name, bind in compiled.binds.items()
        }
        self.positional = compiled.positional
        if self.positional:
            self.order = [binds[name] for name in compiled.positiontup or ()]
        else:
            # Only the binds the string names: `compiled.binds` also holds the anonymous
            # forms of some, and a driver given unused keys does more work (psycopg stops
            # caching its parse of a statement given over 50).
            escaped = compiled.escaped_bind_names or {}
            keys = {name: escaped.get(name, name) for name in binds}
            rendered = {
                name: key
                for name, key in keys.items()
                if compiled.bindtemplate % {"name": key} in self.sql
            }
            self.order = [binds[name] for name in rendered]
            self.keys = list(rendered.values())
        # (a SELECT's columns, or an INSERT's RETURNING)
        self.selected = list(getattr(prepared.statement, "exported_columns", ()))
        self.results: list[Callable | None] | None = None

    def parameters(self, params: Mapping[str, Any]) -> tuple | dict:
        values = []
        for name, process, own in self.order:
            value = params[name] if own is _GIVEN or name in params else own
            values.append(process(value) if process else value)
        return tuple(values) if self.positional else dict(zip(self.keys, values, strict=True))


def python_defaults(table: Table, named: Iterable[str]) -> tuple[tuple[str, Any], ...]:
    """(key, default) of each column of `table` not in `named` whose `default=` SQLAlchemy
    computes in Python (a value or a function of no arguments): what an INSERT naming only
    `named` must be given besides (`with_defaults`) when it does not go through
    `Connection.execute`. Server defaults stay the database's."""
    named = set(named)
    return tuple(
        (column.key, column.default)
        for column in table.columns
        if column.key not in named
        and column.default is not None
        and (column.default.is_scalar or column.default.is_callable)
    )


def with_defaults(values: Mapping[str, Any], defaults: tuple[tuple[str, Any], ...]) -> dict:
    """`values` and, for each of `defaults`, the value SQLAlchemy would have given."""
    out = dict(values)
    for key, default in defaults:
        out[key] = default.arg if default.is_scalar else default.arg(None)
    return out
