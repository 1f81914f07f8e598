"""The unit × month rollups (reports.rollups): kept in the transaction that changes the
raw rows, equal to a rebuild from them, and rankings and the dashboard read from them the
same figures as the plain GROUP BY over the raw tables."""

from __future__ import annotations

import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from threading import Barrier

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from accounts.models import Role
from console import panels
from console.dashboard import period_of as dashboard_period
from core.clock import DISPLAY_TZ, local, utcnow
from core.db import db
from inspections.models import (
    Finding,
    FindingStatus,
    Inspection,
    InspectionStatus,
    VisitKind,
)
from org.models import Region, Sector, Unit
from rectification import queries as task_queries
from rectification.models import RectificationTask, TaskStatus, UnitTaskCount
from reports import rankings, rollups
from reports.models import SectorMonth, UnitMonth, UnitMonthItem
from reports.periods import Period
from tests.inspection_helpers import ALL_PASS, PHOTOS, check_in, publish_checklist

GRADES = ("优秀", "良好", "合格", "不合格")
ITEMS = ("smoke.none", "dress.badge", "video.working")


def _rows() -> list[tuple]:
    """The unit × month rows (first), the item rows (marked "item") and the sector × month
    rows (marked "sector")."""
    db.session.expire_all()
    names = ["unit_id", "month", "status", *rollups.VALUE_COLUMNS]
    months = sorted(
        tuple(getattr(r, n) for n in names) for r in db.session.scalars(select(UnitMonth))
    )
    items = sorted(
        ("item", r.unit_id, r.month, r.item_code, r.findings, r.title)
        for r in db.session.scalars(select(UnitMonthItem))
    )
    sectors = sorted(
        ("sector", *(getattr(r, n) for n in ["sector_id", *names[1:]]))
        for r in db.session.scalars(select(SectorMonth))
    )
    tasks = sorted(
        ("tasks", r.unit_id, r.status, r.tasks) for r in db.session.scalars(select(UnitTaskCount))
    )
    return months + items + sectors + tasks


def _rebuilt() -> list[tuple]:
    """The table as a rebuild makes it, without keeping the rebuild."""
    with db.session.begin_nested() as savepoint:
        rollups.rebuild()
        rows = _rows()
        savepoint.rollback()
    return rows


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=DISPLAY_TZ).astimezone(UTC)


class History:
    """Inspections over the last ~15 months at three units, with findings and tasks,
    written through the unit of work (what the hook sees)."""

    def __init__(self, world, make_unit):
        self.world = world
        self.unit_c = make_unit(sector_id=world.sector_a.id, region_id=world.region_b)
        self.units = [world.unit_a, world.unit_b, self.unit_c]
        self.inspector = world.users[Role.inspector]
        self.rng = random.Random(14)
        today = local(utcnow()).date()
        self.start = date(today.year - 1, 1, 1)
        self.inspections: list[Inspection] = []
        day = self.start
        while day < today - timedelta(days=3):
            for unit in self.units:
                if self.rng.random() < 0.3:
                    self.inspect(unit, day)
            day += timedelta(days=4)
        db.session.commit()

    def inspect(self, unit, day: date) -> Inspection:
        rng = self.rng
        status = rng.choice(
            [InspectionStatus.published] * 4 + [InspectionStatus.submitted, InspectionStatus.draft]
        )
        score = float(rng.randint(50, 100))
        # An evening visit: 23:30 in the city is the previous UTC day (month edges).
        at = _at(day, 23 if rng.random() < 0.2 else 10)
        inspection = Inspection(
            client_uuid=uuid.uuid4(),
            unit_id=unit.id,
            kind=VisitKind.unannounced,
            inspector_id=self.inspector.id,
            status=status,
            started_at=at,
            submitted_at=at if status != InspectionStatus.draft else None,
            score=score if status != InspectionStatus.draft else None,
            max_score=100.0,
            grade=GRADES[min(3, int((100 - score) // 12))],
            critical_failed=rng.random() < 0.1,
            reviewed_score=score + 5 if rng.random() < 0.2 else None,
        )
        db.session.add(inspection)
        findings = []
        for code in rng.sample(ITEMS, rng.randint(0, 2)):
            finding = Finding(
                unit_id=unit.id,
                item_code=code,
                title=code,
                severity="general",
                status=rng.choice([FindingStatus.confirmed] * 3 + [FindingStatus.dismissed]),
            )
            inspection.findings.append(finding)
            findings.append(finding)
        db.session.flush()
        for finding in findings:
            code = finding.item_code
            if status == InspectionStatus.published and finding.status == "confirmed":
                due = at + timedelta(days=rng.choice([-400, 7, 400]))
                closed = rng.random() < 0.6
                db.session.add(
                    RectificationTask(
                        finding_id=finding.id,
                        inspection_id=inspection.id,
                        unit_id=unit.id,
                        item_code=code,
                        title=code,
                        severity="general",
                        status=TaskStatus.closed if closed else TaskStatus.open,
                        due_on=local(due).date(),
                        due_at=due,
                        deadline_days=7,
                        day_mode="calendar",
                        closed_at=due + timedelta(days=rng.choice([-2, 3])) if closed else None,
                    )
                )
        self.inspections.append(inspection)
        return inspection


@pytest.fixture
def history(world, make_unit):
    return History(world, make_unit)


def _readers(world, make_user):
    return [
        world.users[Role.office_admin],
        world.scoped_offices[Role.office_admin],
        world.users[Role.lead_unit_staff],
    ]


def _periods() -> list[Period]:
    today = local(utcnow()).date()
    last = today.year - 1
    return [
        Period("year", date(last, 1, 1), date(last, 12, 31)),
        Period("year", date(today.year, 1, 1), date(today.year, 12, 31)),
        Period("quarter", date(last, 4, 1), date(last, 6, 30)),
        Period("month", date(last, 3, 1), date(last, 3, 31)),
        Period("custom", date(last, 2, 17), date(last, 9, 3)),  # partial months at both ends
        Period("custom", date(last, 5, 3), date(last, 5, 20)),  # no whole month
    ]


def _as_dicts(figures: dict) -> dict:
    return {
        unit_id: f.as_dict(rankings.DEFAULT_WEIGHTS) | {"tasks_due": f.tasks_due}
        for unit_id, f in figures.items()
    }


def assert_rankings_match_raw(readers):
    for actor in readers:
        for period in _periods():
            rolled = rankings.period_figures(actor, period, rankings.DEFAULT_REPEAT_MONTHS)
            raw = rankings.unit_figures(
                rankings.counted(actor, period), rankings.DEFAULT_REPEAT_MONTHS
            )
            assert _as_dicts(rolled) == _as_dicts(raw), (actor.role, period)
            scope = rankings.counted(actor, period)
            assert rankings.most_failed(actor, period, 10) == rankings.most_failed_raw(scope, 10)


def assert_dashboard_matches_raw(readers):
    for actor in readers:
        for key in ("month", "quarter", "year"):
            period = dashboard_period(key)
            rolled = sorted(panels.sector_figures(period, actor))
            raw = sorted(panels.sector_figures_raw(period, actor))
            assert [(*r[:3], r[4]) for r in rolled] == [(*r[:3], r[4]) for r in raw]
            for a, b in zip(rolled, raw, strict=True):
                assert a[3] == pytest.approx(b[3])
            counts = panels.inspection_counts(period, actor)
            assert counts == panels.inspection_counts_raw(period, actor), (actor.role, key)
        # Tasks not closed, by sector and region: summed counts and live not-yet-due ones
        # against the task rows themselves.
        for column, name, join in (
            (Sector.id, Sector.name, (Sector, Sector.id == Unit.sector_id)),
            (Region.id, Region.name, (Region, Region.id == Unit.region_id)),
        ):
            rolled = task_queries._open_tasks_by(actor, column, name, join)
            live = task_queries._open_tasks_by_live(actor, column, name, join)
            assert sorted(rolled) == sorted(live), actor.role


def test_rollups_equal_a_rebuild_and_rankings_and_dashboard_equal_the_raw_figures(
    history, world, make_user
):
    assert len(history.inspections) > 50
    rows = _rows()
    assert rows, "the hook wrote rollup rows"
    assert rows == _rebuilt()
    readers = _readers(world, make_user)
    assert_rankings_match_raw(readers)
    assert_dashboard_matches_raw(readers)
    # The figures are not all nought: the comparison could fail.
    office = readers[0]
    year = _periods()[0]
    figures = rankings.period_figures(office, year, rankings.DEFAULT_REPEAT_MONTHS)
    total = rankings.Figures()
    for f in figures.values():
        total.add(f)
    for name in ("inspections", "findings", "repeat_findings", "tasks", "on_time", "overdue"):
        assert getattr(total, name), name
    assert total.critical


def test_changes_keep_the_rollups_equal_to_a_rebuild(history, world, make_user):
    rng = random.Random(5)
    published = [i for i in history.inspections if i.status == InspectionStatus.published]
    # A review that changes the score and the grade
    reviewed = published[3]
    reviewed.reviewed_score, reviewed.reviewed_grade = 42.0, "不合格"
    reviewed.reviewed_critical_failed = True
    db.session.commit()
    assert _rows() == _rebuilt()
    # Findings dismissed (earlier ones change later repeats) and confirmed
    for finding in rng.sample([f for i in published for f in i.findings], 6):
        finding.status = (
            FindingStatus.dismissed
            if finding.status == FindingStatus.confirmed
            else FindingStatus.confirmed
        )
    db.session.commit()
    assert _rows() == _rebuilt()
    # Tasks closing late and on time, one reopened
    tasks = db.session.scalars(select(RectificationTask).order_by(RectificationTask.id)).all()
    for task in tasks[:4]:
        task.status, task.closed_at = TaskStatus.closed, task.due_at + timedelta(days=9)
    tasks[5].status, tasks[5].closed_at = TaskStatus.open, None
    db.session.commit()
    assert _rows() == _rebuilt()
    # An inspection moved to another month and another unit; one published; one deleted
    moved = published[7]
    moved.started_at -= timedelta(days=40)
    moved.unit_id = history.unit_c.id if moved.unit_id != history.unit_c.id else world.unit_a.id
    for finding in moved.findings:
        finding.unit_id = moved.unit_id
    waiting = next(i for i in history.inspections if i.status == InspectionStatus.submitted)
    waiting.status = InspectionStatus.published
    db.session.delete(published[10])
    db.session.commit()
    assert _rows() == _rebuilt()
    # A unit moving sector: its unit rows stay, every month of both sectors' rows changes
    sector_rows = [r for r in _rows() if r[0] == "sector"]
    history.unit_c.sector_id = world.sector_b.id
    db.session.commit()
    assert [r for r in _rows() if r[0] == "sector"] != sector_rows
    assert _rows() == _rebuilt()
    readers = _readers(world, make_user)
    assert_rankings_match_raw(readers)
    assert_dashboard_matches_raw(readers)


def test_the_rollups_change_in_the_transaction_and_a_rollback_leaves_them(history):
    inspection = next(i for i in history.inspections if i.status == InspectionStatus.published)
    key = (inspection.unit_id, rollups.month_of(inspection.started_at), "published")
    before = _rows()
    counted = {r[:3]: r for r in before}[key][3]  # inspections of the key (a month row)
    seen = {}

    def refuse(session: Session) -> None:
        row = session.get(UnitMonth, key, populate_existing=True)
        seen["inspections"] = row.inspections if row else 0
        raise RuntimeError("refused after the rollups were written")

    inspection.status = InspectionStatus.submitted
    event.listen(Session, "before_commit", refuse)
    try:
        with pytest.raises(RuntimeError):
            db.session.commit()
    finally:
        event.remove(Session, "before_commit", refuse)
    db.session.rollback()
    assert seen["inspections"] == counted - 1  # written in the committing transaction
    assert _rows() == before  # and gone with it

    inspection = db.session.get(Inspection, inspection.id)
    inspection.status = InspectionStatus.submitted
    db.session.commit()
    assert {r[:3]: r for r in _rows()}.get(key, (*key, 0))[3] == counted - 1


def test_rebuild_command_recomputes_the_table(app, history):
    expected = _rows()
    db.session.execute(UnitMonth.__table__.delete())
    db.session.execute(UnitMonthItem.__table__.delete())
    db.session.execute(SectorMonth.__table__.delete())
    db.session.execute(UnitTaskCount.__table__.delete())
    db.session.commit()
    assert _rows() == []
    result = app.test_cli_runner().invoke(args=["reports", "rebuild-rollups"])
    assert result.exit_code == 0, result.output
    months = [r for r in expected if r[0] not in ("item", "sector", "tasks")]
    assert f"{len(months)} rows" in result.output
    assert {r[0] for r in expected} > {"item", "sector", "tasks"}  # and the derived rows
    assert _rows() == expected


def _submit_offline(client, unit, at) -> None:
    """An offline submission at `unit` checked in at `at`, every item passed."""
    body = {
        "client_uuid": str(uuid.uuid4()),
        "unit_id": unit.id,
        "check_in": check_in(unit) | {"at": at.isoformat()},
        "answers": ALL_PASS,
        "photos": PHOTOS,
    }
    made = client.post("/api/v1/inspections/submissions", json=body)
    assert made.status_code == 201, made.get_json()


def test_an_offline_submission_keeps_its_months_findings_and_tasks(world, client_for):
    """An offline submission (Core inserts, findings pending) recomputes only its key's
    inspection columns: the confirmed findings and the task another submitted inspection
    of the same unit and month counts there stay, and the table equals a rebuild."""
    publish_checklist()
    unit, inspector = world.unit_b, world.users[Role.inspector]
    at = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)
    other = Inspection(
        client_uuid=uuid.uuid4(),
        unit_id=unit.id,
        kind=VisitKind.unannounced,
        inspector_id=inspector.id,
        status=InspectionStatus.submitted,
        started_at=at,
        submitted_at=at,
        score=80.0,
        max_score=100.0,
        grade="良好",
        critical_failed=False,
    )
    finding = Finding(
        unit_id=unit.id, item_code="smoke.none", title="t", severity="general",
        status=FindingStatus.confirmed,
    )  # fmt: skip
    other.findings.append(finding)
    db.session.add(other)
    db.session.flush()
    db.session.add(
        RectificationTask(
            finding_id=finding.id, inspection_id=other.id, unit_id=unit.id,
            item_code="smoke.none", title="t", severity="general", status=TaskStatus.open,
            due_on=local(at).date(), due_at=at, deadline_days=7, day_mode="calendar",
        )
    )  # fmt: skip
    db.session.commit()
    key = (unit.id, rollups.month_of(at), "submitted")
    assert {r[:3]: r for r in _rows()}[key][3] == 1

    _submit_offline(client_for(inspector), unit, at)
    row = dict(zip(["unit_id", "month", "status", *rollups.VALUE_COLUMNS],
                   {r[:3]: r for r in _rows()}[key], strict=True))  # fmt: skip
    assert (row["inspections"], row["findings"], row["tasks"]) == (2, 1, 1)
    assert _rows() == _rebuilt()


def test_an_offline_submission_beside_an_unscored_inspection(world, client_for):
    """The key an offline submission recomputes may hold inspections without a score (a
    record entered without one): their sums are nought, as a rebuild makes them, and the
    submission is stored (it once failed on unit_month.score_sum NOT NULL)."""
    publish_checklist()
    unit, inspector = world.unit_b, world.users[Role.inspector]
    at = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)
    db.session.add(
        Inspection(
            client_uuid=uuid.uuid4(), unit_id=unit.id, kind=VisitKind.unannounced,
            inspector_id=inspector.id, status=InspectionStatus.published, started_at=at,
            submitted_at=at, score=None, max_score=None, grade=None, critical_failed=False,
        )
    )  # fmt: skip
    db.session.commit()
    _submit_offline(client_for(inspector), unit, at)
    rows = {r[:3]: r for r in _rows()}
    published = rows[(unit.id, rollups.month_of(at), "published")]
    assert published[3:6] == (1, 0, 0)  # one inspection, no score sum, none scored
    assert _rows() == _rebuilt()


def test_concurrent_submissions_at_units_of_one_sector_keep_its_rows(
    app, world, make_unit, client_for
):
    """Submissions at different units of one sector, in one month, committing at once:
    each recomputes the sector's month from the unit rows, so each must see what the
    others committed (PostgreSQL: the sector month's lock, taken by the statement that
    reads the unit's sector; SQLite: the single writer). A lost update would leave the
    sector row short of the unit rows, unequal to a rebuild."""
    publish_checklist()
    units = [make_unit(sector_id=world.unit_a.sector_id) for _ in range(6)]
    db.session.commit()
    token = client_for(world.users[Role.inspector]).token
    at = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)
    copies = 12
    barrier = Barrier(copies)

    bodies = [
        {
            "client_uuid": str(uuid.uuid4()),
            "unit_id": unit.id,
            "check_in": check_in(unit) | {"at": at.isoformat()},
            "answers": ALL_PASS,
            "photos": PHOTOS,
        }
        for unit in units * (copies // len(units))
    ]

    def one(body: dict) -> int:
        client = app.test_client()
        barrier.wait(30)
        return client.post(
            "/api/v1/inspections/submissions",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        ).status_code

    with ThreadPoolExecutor(copies) as pool:
        assert list(pool.map(one, bodies)) == [201] * copies
    sector = [
        r
        for r in _rows()
        if r[0] == "sector" and r[1] == world.unit_a.sector_id and r[3] == "submitted"
    ]
    assert [row[4] for row in sector] == [copies]  # inspections, one month
    assert _rows() == _rebuilt()
