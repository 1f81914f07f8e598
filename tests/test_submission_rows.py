"""The submission's fast inserts write what the ORM would, and a submission's SQL is counted.

A check-in and an offline submission write their inspection and findings with Core
statements that name only the columns the service set (inspections/service.py,
inspections/findings.py). Here the same requests are made once through those statements
and once with the ORM's unit of work doing the inserts, and the stored rows are compared
column by column: every column of the table, read from the model, so a column added
later (with a `default=` the fast path would have to honour) is compared too.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from accounts.models import Role
from core.audit import AuditEvent
from core.clock import utcnow
from core.db import db
from inspections import checklist, service
from inspections import findings as findings_service
from inspections.models import Finding, Inspection, InspectionStatus, VisitStatus
from tests.conftest import assert_problem
from tests.inspection_helpers import ALL_PASS, PHOTOS, check_in, publish_checklist
from tests.pg_trace import round_trips

FAILING = ALL_PASS | {
    "dress.uniform": {"result": "fail", "note": "一名工作人员未穿工装"},
    "smoke.none": {"result": "fail", "note": "大厅后门有人吸烟"},
}
FAILING_PHOTOS = PHOTOS | {"dress.uniform": ["p-uniform"], "smoke.none": ["p-smoke-1", "p-smoke-2"]}
# Columns that differ between any two rows by nature; timestamps are compared apart.
OWN = {"id", "client_uuid", "inspection_id"}


@pytest.fixture
def inspector(world, client_for):
    publish_checklist()
    db.session.commit()
    return client_for(world.users[Role.inspector])


def _orm_insert(
    inspection: Inspection, data: dict[str, Any], actor, *, findings: int = 0
) -> service.Inserted:
    """The reference: the unit of work inserts the object the service built (and its
    findings get their ids as they are inserted)."""
    db.session.add(inspection)
    db.session.flush()
    if inspection.visit is not None and inspection.status == InspectionStatus.draft:
        inspection.visit.status = VisitStatus.in_progress
    return service.Inserted(inspection, True)


def _orm_write_findings(inspection: Inspection, made: list, *, ids=None) -> list:
    rows = [
        Finding(inspection_id=inspection.id, unit_id=inspection.unit_id, **asdict(finding))
        for finding in made
    ]
    db.session.add_all(rows)
    db.session.flush()
    return findings_service.finding_briefs(inspection)


@pytest.fixture
def through_orm(monkeypatch):
    """Make the service insert through the unit of work while the block runs."""

    @contextlib.contextmanager
    def block() -> Iterator[None]:
        with monkeypatch.context() as patch:
            patch.setattr(service, "_insert", _orm_insert)
            patch.setattr(findings_service, "write_findings", _orm_write_findings)
            yield

    return block


def _row(table, **where) -> dict[str, Any]:
    db.session.expire_all()
    stmt = select(table).where(*(table.c[key] == value for key, value in where.items()))
    return dict(db.session.execute(stmt).mappings().one())


def _assert_same(fast: dict[str, Any], orm: dict[str, Any], table) -> None:
    """Every column of the model's table, except the row's own identity; timestamps set
    by the clock within a minute of each other."""
    assert set(fast) == set(orm) == {c.key for c in table.columns}
    for key in fast.keys() - OWN:
        if isinstance(orm[key], datetime):
            assert isinstance(fast[key], datetime), key
            assert abs(fast[key] - orm[key]) < timedelta(minutes=1), key
        else:
            assert fast[key] == orm[key], key


def _body(unit, **over) -> dict[str, Any]:
    at = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)
    return {
        "client_uuid": str(uuid.uuid4()),
        "unit_id": unit.id,
        "check_in": check_in(unit) | {"at": at.isoformat()},
    } | over


def test_a_check_in_row_is_the_one_the_orm_would_write(world, inspector, through_orm):
    body = _body(world.unit_b)
    fast = inspector.post("/api/v1/inspections", json=body)
    with through_orm():
        orm = inspector.post("/api/v1/inspections", json=body | {"client_uuid": str(uuid.uuid4())})
    assert fast.status_code == orm.status_code == 201, (fast.get_json(), orm.get_json())
    table = Inspection.__table__
    _assert_same(_row(table, id=fast.get_json()["id"]), _row(table, id=orm.get_json()["id"]), table)


def test_a_submissions_rows_are_the_ones_the_orm_would_write(world, inspector, through_orm):
    body = _body(
        world.unit_b,
        answers=FAILING,
        photos=FAILING_PHOTOS,
        fixed_on_spot=["dress.uniform"],
    )
    fast = inspector.post("/api/v1/inspections/submissions", json=body)
    with through_orm():
        orm = inspector.post(
            "/api/v1/inspections/submissions", json=body | {"client_uuid": str(uuid.uuid4())}
        )
    assert fast.status_code == orm.status_code == 201, (fast.get_json(), orm.get_json())
    fast_id, orm_id = fast.get_json()["id"], orm.get_json()["id"]

    table = Inspection.__table__
    _assert_same(_row(table, id=fast_id), _row(table, id=orm_id), table)
    findings = Finding.__table__
    codes = sorted(f["item_code"] for f in fast.get_json()["findings"])
    assert codes == ["dress.uniform", "smoke.none"]
    for code in codes:
        _assert_same(
            _row(findings, inspection_id=fast_id, item_code=code),
            _row(findings, inspection_id=orm_id, item_code=code),
            findings,
        )
    # The answer tells the phone the same findings whether written fast or by the ORM.
    briefs = [[f | {"id": 0} for f in r.get_json()["findings"]] for r in (fast, orm)]
    assert briefs[0] == briefs[1]
    assert fast.get_json()["missing_photos"] == orm.get_json()["missing_photos"]


def test_a_retry_answers_the_same_findings_as_the_first_submission(world, inspector):
    body = _body(world.unit_b, answers=FAILING, photos=FAILING_PHOTOS)
    first = inspector.post("/api/v1/inspections/submissions", json=body)
    again = inspector.post("/api/v1/inspections/submissions", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["findings"] == again.get_json()["findings"]
    assert [f["status"] for f in first.get_json()["findings"]] == ["pending", "pending"]
    assert first.get_json()["missing_photos"] == again.get_json()["missing_photos"]


@contextlib.contextmanager
def counting() -> Iterator[list[str]]:
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement.split(None, 3)[:3])

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


@pytest.fixture
def second_submission(app, world, inspector, monkeypatch) -> dict:
    """The body of a submission made after a first one, with the checklist choice cached
    as it is between requests."""
    monkeypatch.setitem(app.config, "CHECKLIST_CACHE_SECONDS", 60)
    monkeypatch.setattr(checklist, "_chosen", {})
    warm = inspector.post(
        "/api/v1/inspections/submissions", json=_body(world.unit_b, answers=ALL_PASS, photos=PHOTOS)
    )
    assert warm.status_code == 201
    return _body(world.unit_b, answers=FAILING, photos=FAILING_PHOTOS)


def test_an_offline_submission_runs_eight_statements(inspector, second_submission):
    """The token, the unit, the inspection, its findings (one statement for all), the
    audit event (a new inspection's chain starts without a lock or a read), its seal
    (link 1, from the findings as the INSERT returned them), its unit's month in the
    rollups (one upsert: a new row only adds), then the sector's month (one upsert from
    the unit rows, which reads the unit's sector itself); on PostgreSQL the month's lock
    before its upsert, and the lock of the sector's month (each statement reads the
    unit's sector itself)."""
    body = second_submission
    with counting() as statements:
        made = inspector.post("/api/v1/inspections/submissions", json=body)
    assert made.status_code == 201
    assert len(made.get_json()["findings"]) == 2
    kinds = [" ".join(words[:3]) if words[0] == "INSERT" else words[0] for words in statements]
    postgresql = db.engine.dialect.name == "postgresql"
    assert kinds == [
        "SELECT",  # the token's user
        "SELECT",  # the unit
        "INSERT INTO inspection",
        "INSERT INTO finding",
        "INSERT INTO audit_event",
        "INSERT INTO evidence_seal",
        # PostgreSQL: the month's advisory lock first (reports.rollups.recompute)
        *(["SELECT"] if postgresql else []),
        "INSERT INTO unit_month",
        *(["SELECT"] if postgresql else []),  # the lock of the unit's sector's month
        "INSERT INTO sector_month",
    ], statements


def test_on_postgresql_an_offline_submission_takes_five_round_trips(inspector, second_submission):
    """BEGIN, the token, the unit, the inspection (which also draws its findings' ids from
    their sequence); then the findings, the audit event, the seal, both rollups' locks and
    upserts and the COMMIT together, in one pipeline (`Prepared.later`): five, where each
    statement on its own took twelve."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no round trips")
    body = second_submission
    with round_trips(db.engine) as counted:
        made = inspector.post("/api/v1/inspections/submissions", json=body)
    assert made.status_code == 201
    assert counted.count == 5, counted.messages
    stored = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.entity_type == "inspection", AuditEvent.entity_id == made.get_json()["id"]
        )
    )
    assert stored == 1


@pytest.mark.parametrize("which", ["missing", "inactive", "too-large", "text"])
def test_an_offline_submission_at_no_usable_unit_is_refused_and_stores_nothing(
    world, inspector, make_unit, which
):
    """The unit is read by a prepared statement: a missing or deactivated unit is the same
    422 naming `unit_id`, an id no column can hold or of the wrong type is a 4xx too, and
    nothing is written."""
    unit = world.unit_b
    unit_id = {
        "missing": 987654,
        "inactive": make_unit(active=False).id,
        "too-large": 10**23,
        "text": "12",
    }[which]
    body = _body(unit, unit_id=unit_id, answers=ALL_PASS, photos=PHOTOS)
    events = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = inspector.post("/api/v1/inspections/submissions", json=body)
    problem = assert_problem(response, 422)
    # (the service names the field; the schema, for a wrong type or range, under "json")
    assert "unit_id" in (problem["errors"].get("json") or problem["errors"]), problem
    assert db.session.scalar(select(func.count()).select_from(Inspection)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events
