"""`core.db.Prepared` runs a statement as `Connection.execute` would, on both databases.

The submission's fixed statements (the audit event, the seal link, the unit read at
check-in, the rollups' upserts and locks) go through it; what they store and read must be
what the ordinary execution path stores and reads, type conversions included, and each
must still be a statement of the session's connection (its transaction, its events).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import bindparam, event, func, insert, select
from sqlalchemy.exc import IntegrityError

from core.audit import AuditEvent
from core.clock import utcnow
from core.db import Prepared, db
from core.geo import CoordSystem
from org.models import Unit
from tests.pg_trace import round_trips

EVENT = {
    "at": utcnow() - timedelta(days=3, microseconds=17),
    "actor_id": None,
    "entity_type": "unit",
    "entity_id": 4711,
    "action": "check",
    "before": {"状态": "草稿", "n": [1, 2.5, None]},
    "after": {"ok": True},
    "reason": "核对",
    "seq": 3,
    "prev_hash": "a" * 64,
    "hash": "b" * 64,
}
COLUMNS = [column.key for column in AuditEvent.__table__.columns if column.key != "id"]


def _stored(entity_id: int) -> dict:
    row = db.session.execute(
        select(AuditEvent.__table__).where(AuditEvent.entity_id == entity_id)
    ).one()
    return {key: value for key, value in row._mapping.items() if key != "id"}


def test_an_insert_stores_what_execute_stores(app):
    statement = insert(AuditEvent.__table__)
    connection = db.session.connection()
    connection.execute(statement, EVENT)
    Prepared(statement, COLUMNS).execute(connection, EVENT | {"entity_id": 4712})
    assert _stored(4712) == _stored(4711) | {"entity_id": 4712}
    assert _stored(4712)["at"] == EVENT["at"]  # aware UTC, to the microsecond


def test_an_insert_needs_every_column_it_names(app):
    with pytest.raises(KeyError, match="hash"):
        Prepared(insert(AuditEvent.__table__), COLUMNS).execute(
            db.session.connection(), {k: v for k, v in EVENT.items() if k != "hash"}
        )


def test_a_select_reads_what_execute_reads(app, make_unit):
    unit = make_unit(latitude=23.29263, longitude=116.15451, coord_system=CoordSystem.gcj02)
    db.session.flush()
    table = Unit.__table__
    statement = select(
        table.c.id, table.c.active, table.c.coord_system, table.c.latitude, table.c.created_at
    ).where(table.c.id == bindparam("unit_id"))
    connection = db.session.connection()
    expected = [tuple(row) for row in connection.execute(statement, {"unit_id": unit.id})]
    rows = Prepared(statement).rows(connection, {"unit_id": unit.id})
    assert rows == expected
    assert rows[0][1] is True
    assert rows[0][2] is CoordSystem.gcj02
    assert Prepared(statement).rows(connection, {"unit_id": -1}) == []


def test_a_statements_own_literals_are_bound_for_it(app):
    """A literal inside the statement (COALESCE(x, 7)) is a bound value the caller never
    names; an unnamed bound value is still refused."""
    statement = select(func.coalesce(bindparam("x"), 7))
    connection = db.session.connection()
    assert Prepared(statement).rows(connection, {"x": None}) == [(7,)]
    assert Prepared(statement).rows(connection, {"x": 3}) == [(3,)]
    with pytest.raises(KeyError):
        Prepared(statement).rows(connection, {})


def test_it_runs_in_the_sessions_transaction_and_is_seen_by_its_events(app):
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        Prepared(insert(AuditEvent.__table__), COLUMNS).execute(
            db.session.connection(), EVENT | {"entity_id": 4713}
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(seen) == 1
    assert seen[0].startswith("INSERT INTO audit_event")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(AuditEvent.entity_id == 4713)) == 0


def test_the_driver_is_given_only_the_parameters_the_statement_names(app):
    """A statement built from repeated parts (the rollups' upsert: literals in each CASE)
    gets each parameter once, by the name in its string: `compiled.binds` also holds
    anonymous forms of some, which the driver would be handed for nothing (psycopg stops
    caching its parse of a statement given more than 50)."""
    from reports.rollups import _submitted_statement

    connection = db.session.connection()
    given: list = []

    def capture(conn, cursor, statement, parameters, *args):
        given.append((statement, parameters))

    prepared = _submitted_statement(1, connection.dialect.name)
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        prepared.execute(
            connection,
            {"unit_0": -1, "month_0": start.date(), "lo_0": start, "hi_0": start},
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    [(statement, parameters)] = given
    if isinstance(parameters, dict):  # psycopg: %(name)s
        named = set(re.findall(r"%\((\w+)\)s", statement))
        assert set(parameters) == named
    else:  # sqlite3: one ? a value
        assert len(parameters) == statement.count("?")
    assert len(parameters) <= 50


# -- statements sent later: with the connection's next statement or its COMMIT ---------


def test_a_statement_sent_later_is_seen_by_the_next_statement(app):
    Prepared(insert(AuditEvent.__table__), COLUMNS).later(
        db.session.connection(), EVENT | {"entity_id": 4714}
    )
    assert _stored(4714) == EVENT | {"entity_id": 4714}  # the ORM's read, same transaction


def test_statements_sent_later_are_committed_with_the_transaction(app):
    prepared = Prepared(insert(AuditEvent.__table__), COLUMNS)
    for entity_id in (4715, 4716):
        prepared.later(db.session.connection(), EVENT | {"entity_id": entity_id})
    db.session.commit()
    with db.engine.connect() as other:  # another connection sees them: committed
        stored = other.scalars(
            select(AuditEvent.entity_id).where(AuditEvent.entity_id.in_([4715, 4716]))
        ).all()
    assert sorted(stored) == [4715, 4716]


def test_statements_sent_later_are_dropped_by_a_rollback(app):
    Prepared(insert(AuditEvent.__table__), COLUMNS).later(
        db.session.connection(), EVENT | {"entity_id": 4717}
    )
    db.session.rollback()
    db.session.execute(select(1))  # a new transaction on the same connection
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(AuditEvent.entity_id == 4717)) == 0


def test_an_error_in_a_statement_sent_later_is_sqlalchemys_and_rolls_back_its_transaction(app):
    """A duplicate of the chain's (entity, seq) queued behind a good event: the commit (on
    PostgreSQL, where both wait for it) or the statement (elsewhere) raises SQLAlchemy's
    IntegrityError, as the request's edge expects (a 409); nothing of the transaction
    stays, and the session goes on."""
    prepared = Prepared(insert(AuditEvent.__table__), COLUMNS)

    def fork_and_commit():
        prepared.later(db.session.connection(), EVENT | {"entity_id": 4718})
        prepared.later(db.session.connection(), EVENT | {"entity_id": 4718})
        db.session.commit()

    with pytest.raises(IntegrityError):
        fork_and_commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).where(AuditEvent.entity_id == 4718)) == 0
    prepared.later(db.session.connection(), EVENT | {"entity_id": 4719})
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(AuditEvent.entity_id == 4719)) == 1


def test_on_postgresql_statements_sent_later_and_the_commit_are_one_round_trip(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no round trips: a statement sent later runs at once")
    connection = db.session.connection()
    connection.exec_driver_sql("SELECT 1")  # the transaction has begun
    prepared = Prepared(insert(AuditEvent.__table__), COLUMNS)
    with round_trips(db.engine, connection.connection.driver_connection) as counted:
        for entity_id in range(4720, 4725):
            prepared.later(connection, EVENT | {"entity_id": entity_id})
        assert counted.count == 0  # nothing sent yet
        db.session.commit()
    assert counted.count == 1, counted.messages
    assert (
        db.session.scalar(select(func.count()).where(AuditEvent.entity_id.between(4720, 4724))) == 5
    )
