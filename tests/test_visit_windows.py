"""Visit windows that mean something: units' service hours (办公时间), a drawn day and
session per visit, the office's reassignment of one visit (改派), and photo times checked
against the check-in-to-submission interval as well as the window."""

from __future__ import annotations

import io
import uuid
from datetime import date, datetime, time, timedelta

import pytest
from openpyxl import Workbook

from accounts.models import Role
from core.audit import trail
from core.clock import DISPLAY_TZ, local, utcnow
from core.db import db
from inspections import plans
from inspections.models import Draw, Visit, VisitWindows
from org import hours
from org.models import Unit
from tests import images
from tests.conftest import assert_problem
from tests.inspection_helpers import (
    admin,
    check_in,
    make_plan,
    make_visit,
    publish_checklist,
)
from tests.media_helpers import multipart

SATURDAY_MORNINGS = {"sat": [["09:00", "12:00"]]}
OWN_HOURS = {d: [["08:00", "12:00"], ["14:30", "18:00"]] for d in hours.DAYS[:6]}


def shanghai(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=DISPLAY_TZ)


# -- 办公时间 on units ----------------------------------------------------------------------


def unit_body(world, **over):
    return {
        "name": f"办税服务厅{uuid.uuid4().hex[:6]}",
        "sector_id": world.sector_a.id,
        "region_id": world.unit_a.region_id,
    } | over


def test_units_keep_default_hours_until_given_their_own(office, world):
    created = office.post("/api/v1/units", json=unit_body(world))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["service_hours"] is None
    assert body["service_hours_text"] == "周一至周五 08:30-12:00、14:00-17:30"

    own = {"sat": [["9:00", "12:00"]], "mon": [["14:00", "17:30"], ["08:30", "12:00"]]}
    changed = office.patch(
        f"/api/v1/units/{body['id']}",
        json={"service_hours": own},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.get_json()
    # Sorted, written HH:MM, days in week order.
    assert changed.get_json()["service_hours"] == {
        "mon": [["08:30", "12:00"], ["14:00", "17:30"]],
        "sat": [["09:00", "12:00"]],
    }
    assert changed.get_json()["service_hours_text"] == (
        "周一 08:30-12:00、14:00-17:30；周六 09:00-12:00"
    )
    assert db.session.get(Unit, body["id"]).service_hours["sat"] == [["09:00", "12:00"]]


@pytest.mark.parametrize(
    ("service_hours", "says"),
    [
        ({"mon": [["12:00", "08:00"]]}, "结束不晚于开始"),
        ({"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}, "重叠"),
        ({"mon": [["8点", "12:00"]]}, "HH:MM"),
        ({"mon": [["08:00", "24:30"]]}, "HH:MM"),
        ({"mon": []}, "至少需要一个办公时段"),
    ],
    ids=["backwards", "overlap", "not-a-time", "past-midnight", "none"],
)
def test_bad_service_hours_are_refused_by_field(office, world, service_hours, says):
    refused = office.post("/api/v1/units", json=unit_body(world, service_hours=service_hours))
    body = assert_problem(refused, 422)
    assert says in str(body["errors"]["service_hours"])


def test_an_unknown_weekday_is_refused(office, world):
    refused = office.post(
        "/api/v1/units", json=unit_body(world, service_hours={"monday": [["08:00", "12:00"]]})
    )
    assert "service_hours" in str(assert_problem(refused, 422)["errors"])


IMPORT_HEADER = ["名称", "行业领域", "所属区域", "办公时间"]


def _xlsx(rows) -> tuple[io.BytesIO, str]:
    book = Workbook()
    for row in [IMPORT_HEADER, *rows]:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return out, "units.xlsx"


def _csv(rows) -> tuple[io.BytesIO, str]:
    text = "\n".join(",".join(row) for row in [IMPORT_HEADER, *rows])
    return io.BytesIO(text.encode("utf-8-sig")), "units.csv"


@pytest.mark.parametrize("make_file", [_csv, _xlsx])
def test_the_import_reads_service_hours_and_names_each_bad_row(office, world, make_file):
    sector, region = world.sector_a.name, world.unit_a.region.code
    good = [
        ["医院挂号窗口", sector, region, "周一至周五 08:00-12:00、14:30-18:00；周六 8:00-12:00"],
        ["邮政网点", sector, region, ""],
    ]
    bad = [*good, ["供电营业厅", sector, region, "工作日上午"]]
    refused = office.post(
        "/api/v1/units/import", data={"file": make_file(bad)}, content_type="multipart/form-data"
    )
    rows = assert_problem(refused, 422)["errors"]["rows"]
    assert [(r["line"], r["name"]) for r in rows] == [(4, "供电营业厅")]
    assert "办公时间" in rows[0]["reasons"][0]

    imported = office.post(
        "/api/v1/units/import", data={"file": make_file(good)}, content_type="multipart/form-data"
    )
    assert imported.status_code == 201, imported.get_json()
    hospital = db.session.scalar(db.select(Unit).where(Unit.name == "医院挂号窗口"))
    post = db.session.scalar(db.select(Unit).where(Unit.name == "邮政网点"))
    assert hospital.service_hours == OWN_HOURS | {"sat": [["08:00", "12:00"]]}
    assert post.service_hours is None  # empty: the default hours


# -- drawn windows --------------------------------------------------------------------------


@pytest.fixture
def pool(world, make_unit, make_user):
    publish_checklist()
    units = [make_unit(sector_id=world.sector_a.id) for _ in range(4)]
    units[1].service_hours = SATURDAY_MORNINGS
    units[2].service_hours = OWN_HOURS
    inspectors = [make_user(Role.inspector) for _ in range(3)]
    db.session.commit()
    return units, inspectors


def plan_body(units, inspectors, **over):
    return {
        "name": "一月暗访",
        "kind": "unannounced",
        "period_start": "2030-01-01",  # a Tuesday
        "period_end": "2030-01-31",
        "pool": {"unit_ids": [u.id for u in units]},
        "sampling": {"rate": 1.0},
        "inspector_ids": [i.id for i in inspectors],
        "team_size": 2,
    } | over


def test_the_draw_gives_each_visit_a_day_and_a_session_of_its_unit(app, office, pool):
    units, inspectors = pool
    made = [office.post("/api/v1/plans", json=plan_body(units, inspectors)) for _ in range(2)]
    assert made[0].get_json()["visit_windows"] == "drawn"
    drawn = [
        office.post(f"/api/v1/plans/{m.get_json()['id']}/draws", json={"seed": "jan"}) for m in made
    ]
    assert drawn[0].status_code == 201, drawn[0].get_json()
    # The same seed gives the same units, days and sessions (the teams come from each
    # draw's secret team seed), and the stored draw replays.
    draw, twin = (db.session.get(Draw, d.get_json()["id"]) for d in drawn)
    when = [(r["unit_id"], r["date"], r["window"]) for r in draw.result]
    assert when == [(r["unit_id"], r["date"], r["window"]) for r in twin.result]
    assert plans.verify_draw(draw)

    lead = timedelta(hours=app.config["VISIT_LEAD_HOURS"])
    visits = db.session.scalars(db.select(Visit).where(Visit.draw_id == draw.id)).all()
    assert len(visits) == len(units)
    days = set()
    for visit in visits:
        start, end = local(visit.window_start), local(visit.window_end)
        assert date(2030, 1, 1) <= start.date() <= date(2030, 1, 31)
        assert start.date() == end.date()
        sessions = hours.sessions_on(visit.unit.service_hours, start.date())
        assert (start, end) in sessions, (visit.unit.service_hours, start, end)
        assert visit.visible_from == visit.window_start - lead
        days.add(start.date())
    saturday_unit = next(v for v in visits if v.unit_id == units[1].id)
    assert local(saturday_unit.window_start).weekday() == 5
    assert (local(saturday_unit.window_start).hour, local(saturday_unit.window_end).hour) == (9, 12)

    # Another public seed, other days and sessions. (Not other teams, necessarily: they
    # come from each draw's own random team seed, and may happen to match.)
    another = office.post("/api/v1/plans", json=plan_body(units, inspectors)).get_json()
    other_seed = office.post(f"/api/v1/plans/{another['id']}/draws", json={"seed": "feb"})
    other = db.session.get(Draw, other_seed.get_json()["id"])
    assert [(r["date"], r["window"]) for r in other.result] != [w[1:] for w in when]


def test_a_unit_closed_for_the_whole_period_cannot_be_drawn(office, pool):
    units, inspectors = pool
    weekdays_only = plan_body(
        [units[1]], inspectors, period_start="2030-01-01", period_end="2030-01-04"
    )
    plan_id = office.post("/api/v1/plans", json=weekdays_only).get_json()["id"]
    refused = office.post(f"/api/v1/plans/{plan_id}/draws", json={})
    assert "period_end" in assert_problem(refused, 422)["errors"]


def test_a_period_plan_keeps_whole_period_windows(office, pool):
    units, inspectors = pool
    body = plan_body(units, inspectors, visit_windows="period")
    plan_id = office.post("/api/v1/plans", json=body).get_json()["id"]
    office.post(f"/api/v1/plans/{plan_id}/draws", json={})
    visit = db.session.scalar(db.select(Visit).where(Visit.plan_id == plan_id).limit(1))
    assert local(visit.window_start) == shanghai(date(2030, 1, 1), 0)
    assert local(visit.window_end) == shanghai(date(2030, 2, 1), 0)


# -- 改派 --------------------------------------------------------------------------------------


@pytest.fixture
def planned(world, make_user):
    """An unannounced plan of next week, drawn day-and-session, with a team of two of three."""
    publish_checklist()
    team = [world.users[Role.inspector], make_user(Role.inspector), make_user(Role.inspector)]
    plan = make_plan(
        [world.unit_a], team, starts_in_days=1, team_size=2, visit_windows=VisitWindows.drawn
    )
    plans.draw_plan(plan, seed="fixed", reason=None, actor=admin())
    db.session.commit()
    visit = db.session.scalar(db.select(Visit).where(Visit.plan_id == plan.id))
    return visit, team


def weekday_of_plan(visit: Visit) -> date:
    first = visit.plan.period_start
    return next(d for d in (first + timedelta(days=n) for n in range(7)) if d.weekday() < 5)


def patch(office, visit_id, body, etag=None):
    etag = etag or office.get(f"/api/v1/visits/{visit_id}").headers["ETag"]
    return office.patch(f"/api/v1/visits/{visit_id}", json=body, headers={"If-Match": etag})


def test_the_office_moves_one_visit_within_the_period_and_hours(app, office, planned, world):
    visit, _ = planned
    day = weekday_of_plan(visit)
    start, end = shanghai(day, 9), shanghai(day, 15)  # across the lunch break: one day
    etag = office.get(f"/api/v1/visits/{visit.id}").headers["ETag"]
    no_header = office.patch(
        f"/api/v1/visits/{visit.id}",
        json={
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "reason": "材料尚未备齐",
        },
    )
    assert_problem(no_header, 428)

    body = {"window_start": start.isoformat(), "window_end": end.isoformat(), "reason": "单位停电"}
    moved = patch(office, visit.id, body, etag)
    assert moved.status_code == 200, moved.get_json()
    assert datetime.fromisoformat(moved.get_json()["window_start"]) == start
    assert moved.headers["ETag"] != etag
    assert_problem(patch(office, visit.id, body | {"reason": "再改"}, etag), 412)

    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert (stored.window_start, stored.window_end) == (start, end)
    lead = timedelta(hours=app.config["VISIT_LEAD_HOURS"])
    assert stored.visible_from == start - lead
    event = trail("visit", visit.id)[-1]
    assert (event.action, event.reason) == ("reassign", "单位停电")
    assert event.after["window"] == [f"{day}T09:00+08:00", f"{day}T15:00+08:00"]
    assert event.before["window"] != event.after["window"]
    # The draw is untouched: it still replays to what was drawn.
    assert plans.verify_draw(db.session.get(Draw, stored.draw_id))


@pytest.mark.parametrize(
    ("window", "field"),
    [
        (lambda d: (shanghai(d, 12, 30), shanghai(d, 13, 30)), "window_start"),  # lunch
        (lambda d: (shanghai(d, 16), shanghai(d, 18)), "window_start"),  # after closing
        (
            lambda d: (shanghai(d + timedelta(days=30), 9), shanghai(d + timedelta(days=30), 10)),
            "window_start",
        ),
        (lambda d: (shanghai(d, 11), shanghai(d, 9)), "window_end"),
        (lambda d: (shanghai(d, 9), shanghai(d + timedelta(days=1), 10)), "window_start"),
    ],
    ids=["lunch", "after-hours", "outside-period", "backwards", "two-days"],
)
def test_a_window_outside_the_period_or_hours_is_refused(office, planned, window, field):
    visit, _ = planned
    start, end = window(weekday_of_plan(visit))
    body = {"window_start": start.isoformat(), "window_end": end.isoformat()}
    body["reason"] = "单位临时改期"
    assert field in assert_problem(patch(office, visit.id, body), 422)["errors"]


def test_a_window_without_a_timezone_or_reason_is_refused(office, planned):
    visit, _ = planned
    day = weekday_of_plan(visit)
    naive = {
        "window_start": f"{day}T09:00:00",
        "window_end": f"{day}T10:00:00",
        "reason": "材料尚未备齐",
    }
    assert "window_start" in str(assert_problem(patch(office, visit.id, naive), 422)["errors"])
    aware = {k: f"{v}+08:00" for k, v in naive.items() if k != "reason"}
    assert "reason" in str(assert_problem(patch(office, visit.id, aware | {"reason": " "}), 422))


def test_the_office_gives_one_visit_another_team(office, planned, world, make_user):
    visit, team = planned
    spare = next(m for m in team if m not in visit.inspectors)
    kept = visit.inspectors[0]
    body = {"inspector_ids": [kept.id, spare.id], "reason": "检查人员病假"}
    changed = patch(office, visit.id, body)
    assert changed.status_code == 200, changed.get_json()
    assert {m["id"] for m in changed.get_json()["inspectors"]} == {kept.id, spare.id}
    event = trail("visit", visit.id)[-1]
    assert event.after["inspector_ids"] == sorted([kept.id, spare.id])

    stranger = make_user(Role.inspector)  # not one of the plan's inspectors
    refused = patch(
        office, visit.id, {"inspector_ids": [kept.id, stranger.id], "reason": "材料尚未备齐"}
    )
    assert str(stranger.id) in str(assert_problem(refused, 422)["errors"]["inspector_ids"])
    too_few = patch(office, visit.id, {"inspector_ids": [kept.id], "reason": "材料尚未备齐"})
    assert "2" in str(assert_problem(too_few, 422)["errors"]["inspector_ids"])


def test_an_inspector_of_the_unit_itself_cannot_be_sent(office, world, make_user):
    publish_checklist()
    own_staff = make_user(Role.inspector, unit_id=world.unit_a.id)
    team = [world.users[Role.inspector], make_user(Role.inspector), own_staff]
    plan = make_plan([world.unit_a], team, starts_in_days=1, team_size=2)
    plans.draw_plan(plan, seed="fixed", reason=None, actor=admin())
    db.session.commit()
    visit = db.session.scalar(db.select(Visit).where(Visit.plan_id == plan.id))
    body = {"inspector_ids": [team[0].id, own_staff.id], "reason": "材料尚未备齐"}
    assert "回避" in str(assert_problem(patch(office, visit.id, body), 422)["errors"])


def test_a_started_visit_is_not_reassigned(office, world, make_user, client_for):
    publish_checklist()
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector], starts_in_days=-1)
    started = client_for(inspector).post(
        "/api/v1/inspections",
        json={
            "client_uuid": str(uuid.uuid4()),
            "visit_id": visit.id,
            "check_in": check_in(world.unit_a),
        },
    )
    assert started.status_code == 201
    assert_problem(
        patch(office, visit.id, {"inspector_ids": [inspector.id], "reason": "材料尚未备齐"}), 409
    )


def test_the_unit_does_not_learn_a_moved_secret_visit(office, planned, world, client_for):
    visit, _ = planned
    day = weekday_of_plan(visit)
    body = {
        "window_start": shanghai(day, 9).isoformat(),
        "window_end": shanghai(day, 10).isoformat(),
        "reason": "单位临时改期",
    }
    assert patch(office, visit.id, body).status_code == 200
    for role in (Role.unit_staff, Role.lead_unit_staff):
        reader = client_for(world.users[role])
        assert reader.get("/api/v1/visits").get_json()["items"] == []
        assert_problem(reader.get(f"/api/v1/visits/{visit.id}"), 404)
        assert_problem(reader.patch(f"/api/v1/visits/{visit.id}", json=body), 403)


# -- photo times against check-in and submission ----------------------------------------------


def photo(client, inspection_id: int, taken_at: datetime, seed: int = 1):
    form = {
        "client_id": str(uuid.uuid4()),
        "owner_type": "inspection",
        "owner_id": str(inspection_id),
        "taken_at": taken_at.isoformat(),
    }
    content = images.jpeg(64, 48, seed=seed)
    response = client.post("/api/v1/photos", **multipart(form, content, "image/jpeg"))
    assert response.status_code == 201, response.get_json()  # flags never block
    return response.get_json()["flags"]


@pytest.fixture
def checked_in(world, client_for):
    """An inspection of a whole-period visit that began yesterday, checked in 20 min ago."""
    publish_checklist()
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector], starts_in_days=-1)
    client = client_for(inspector)
    at = utcnow() - timedelta(minutes=20)
    started = client.post(
        "/api/v1/inspections",
        json={
            "client_uuid": str(uuid.uuid4()),
            "visit_id": visit.id,
            "check_in": check_in(world.unit_a, at=at.isoformat()),
        },
    )
    assert started.status_code == 201, started.get_json()
    return client, started.get_json()["id"], at


def test_a_photo_taken_two_hours_before_check_in_is_flagged_inside_the_period(checked_in):
    client, inspection_id, at = checked_in
    early = photo(client, inspection_id, at - timedelta(hours=2))
    assert early == ["outside_session", "exif_missing"]  # inside the window (the period)
    on_site = photo(client, inspection_id, at + timedelta(minutes=5), seed=2)
    assert on_site == ["exif_missing"]
    just_before = photo(client, inspection_id, at - timedelta(minutes=25), seed=3)
    assert just_before == ["exif_missing"]  # within the slack


def test_the_slack_is_configurable(app, checked_in, monkeypatch):
    client, inspection_id, at = checked_in
    monkeypatch.setitem(app.config, "PHOTO_TIME_SLACK_MINUTES", 180)
    assert photo(client, inspection_id, at - timedelta(hours=2)) == ["exif_missing"]
    monkeypatch.setitem(app.config, "PHOTO_TIME_SLACK_MINUTES", 0)
    assert "outside_session" in photo(client, inspection_id, at - timedelta(minutes=5), seed=2)


def test_an_ad_hoc_inspection_checks_photos_against_its_check_in(world, client_for):
    publish_checklist()
    client = client_for(world.users[Role.inspector])
    at = utcnow() - timedelta(minutes=10)
    started = client.post(
        "/api/v1/inspections",
        json={
            "client_uuid": str(uuid.uuid4()),
            "unit_id": world.unit_a.id,
            "check_in": check_in(world.unit_a, at=at.isoformat()),
        },
    )
    assert started.status_code == 201, started.get_json()
    inspection_id = started.get_json()["id"]
    assert photo(client, inspection_id, at - timedelta(hours=2)) == [
        "outside_session",
        "exif_missing",
    ]
    assert photo(client, inspection_id, at + timedelta(minutes=1), seed=2) == ["exif_missing"]
    # The flag is one a reviewer can filter by.
    office = client_for(world.users[Role.office_admin])
    flagged = office.get(
        f"/api/v1/photos?owner_type=inspection&owner_id={inspection_id}&flag=outside_session"
    ).get_json()
    assert len(flagged["items"]) == 1
