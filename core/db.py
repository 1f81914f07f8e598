"""The one declarative base and the unbound Flask-SQLAlchemy object.

Lives outside `api/` so that domain packages can define models without importing the
HTTP edge. `api.extensions` re-exports `db`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, Select, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

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
    """WAL + synchronous=NORMAL doubled write throughput; enforce foreign keys."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


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
