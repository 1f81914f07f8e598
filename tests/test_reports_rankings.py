"""考核排名 over the API: figures checked against the stored rows, published inspections
only, the reader's scope, repeat findings, movement against the previous period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from accounts.models import Role
from core.clock import local, utcnow
from core.db import db
from inspections.models import Finding, FindingStatus, Inspection, visit_inspector
from rectification.models import RectificationTask, TaskStatus
from reports import rankings
from tests.conftest import assert_problem
from tests.inspection_helpers import ALL_PASS
from tests.report_support import (
    BADGE,
    CRITICAL,
    SMOKE,
    Scene,
    previous_month_day,
    this_month_day,
)

URL = "/api/v1/reports/rankings"


@pytest.fixture
def city(world, make_unit, make_user, client_for):
    """Sector A: units a1 (region A) and a2 (region A); sector B: unit b (region B).
    This month: a1 twice (all pass; smoke), a2 once (critical), b once unpublished."""
    scene = Scene(client_for, world.users[Role.inspector], world.users[Role.office_admin])
    a1 = world.unit_a
    a2 = make_unit(sector_id=world.sector_a.id, region_id=world.region_a, name="第二窗口单位")
    b = world.unit_b
    made = {
        "a1_pass": scene.inspect(a1, ALL_PASS, at=this_month_day(2)),
        "a1_smoke": scene.inspect(a1, SMOKE, at=this_month_day(3)),
        "a2_critical": scene.inspect(a2, CRITICAL, at=this_month_day(4)),
        "b_unpublished": scene.inspect(b, SMOKE, at=this_month_day(5), publish=False),
    }
    return scene, {"a1": a1, "a2": a2, "b": b}, made


def _month_query() -> str:
    today = local(utcnow())
    return f"?period=month&year={today.year}&month={today.month}"


def _stored_percent(unit_id: int) -> float:
    """The average reviewed score of the unit's published inspections, from the rows."""
    rows = db.session.scalars(
        select(Inspection).where(Inspection.unit_id == unit_id, Inspection.status == "published")
    ).all()
    return round(sum(100 * i.effective_score / i.max_score for i in rows) / len(rows), 2)


def test_units_are_ranked_from_their_published_inspections(city, office):
    _, units, _ = city
    body = office.get(URL + _month_query()).get_json()
    by_id = {r["id"]: r for r in body["units"]}
    # b's inspection is not published: b is not named at all
    assert set(by_id) == {units["a1"].id, units["a2"].id}
    assert units["b"].name not in str(body)

    a1, a2 = by_id[units["a1"].id], by_id[units["a2"].id]
    assert a1["inspections"] == 2
    assert a2["inspections"] == 1
    assert a1["avg_score"] == _stored_percent(units["a1"].id)
    assert a2["avg_score"] == _stored_percent(units["a2"].id)
    assert a2["critical_failed"] == 1
    assert a1["critical_failed"] == 0
    assert a2["grades"]["不合格"] == 1
    assert sum(a1["grades"].values()) == 2
    confirmed = db.session.scalar(
        select(func.count(Finding.id)).where(
            Finding.unit_id == units["a1"].id, Finding.status == FindingStatus.confirmed
        )
    )
    assert a1["findings"] == confirmed == 1
    assert a1["findings_per_inspection"] == 0.5
    # publication opened one task per confirmed finding
    tasks = db.session.scalar(
        select(func.count(RectificationTask.id)).where(RectificationTask.unit_id == units["a1"].id)
    )
    assert a1["tasks"] == tasks == 1
    # the critical failure ranks a2 below a1, in the city, its sector and its region
    assert (a1["rank"], a2["rank"]) == (1, 2)
    assert (a1["rank_in_sector"], a2["rank_in_sector"]) == (1, 2)
    assert body["red_list"][0]["id"] == units["a1"].id
    assert body["black_list"][0]["id"] == units["a2"].id
    assert body["summary"]["inspections"] == 3
    assert body["summary"]["units"] == 2
    (sector,) = body["sectors"]
    assert sector["inspections"] == 3
    assert sector["units"] == 2
    items = {i["item_code"]: i["findings"] for i in body["most_failed_items"]}
    assert items == {"smoke.none": 1, "video.working": 1}
    workload = {w["id"]: w["inspections"] for w in body["inspector_workload"]}
    assert workload == {city[0].inspector.id: 3}


def test_workload_counts_each_inspection_once_per_person_of_its_team(city, office, make_user):
    scene, _, made = city
    partner = make_user(Role.inspector, display_name="第二检查员")
    # a1's first visit had a team of two: the starter and the partner
    db.session.execute(
        insert(visit_inspector).values(visit_id=made["a1_pass"].visit_id, user_id=partner.id)
    )
    db.session.commit()
    body = office.get(URL + _month_query()).get_json()
    workload = [(w["id"], w["name"], w["inspections"]) for w in body["inspector_workload"]]
    # the starter, also in every team, counts each of the three published inspections once
    assert workload == [
        (scene.inspector.id, scene.inspector.display_name, 3),
        (partner.id, "第二检查员", 1),
    ]


def test_weights_change_the_composite_as_documented(city, office):
    _, units, _ = city
    plain = office.get(URL + _month_query()).get_json()
    only_score = office.get(
        URL
        + _month_query()
        + "&weight_score=1&weight_rectification=0&weight_critical=0"
        + "&weight_repeat=0&weight_overdue=0"
    ).get_json()
    for row in only_score["units"]:
        assert row["composite"] == row["avg_score"]
    a2 = next(r for r in plain["units"] if r["id"] == units["a2"].id)
    # defaults: 0.7 × score + 0.3 × 100 (no task due yet) − 0.2 × 100 × 1 critical / 1
    assert a2["composite"] == round(0.7 * a2["avg_score"] + 30 - 20, 2)


def test_overdue_and_on_time_tasks_are_counted(city, office):
    _, units, _ = city
    task = db.session.scalar(
        select(RectificationTask).where(RectificationTask.unit_id == units["a1"].id)
    )
    task.due_at = utcnow() - timedelta(days=1)
    db.session.commit()
    row = next(
        r for r in office.get(URL + _month_query()).get_json()["units"] if r["id"] == units["a1"].id
    )
    assert row["overdue_tasks"] == 1
    assert row["on_time_rate"] == 0.0
    task.status, task.closed_at = TaskStatus.closed, task.due_at - timedelta(hours=1)
    db.session.commit()
    row = next(
        r for r in office.get(URL + _month_query()).get_json()["units"] if r["id"] == units["a1"].id
    )
    assert row["overdue_tasks"] == 0
    assert row["on_time_rate"] == 1.0


def test_the_same_item_failed_again_within_the_window_is_a_repeat(city, office):
    scene, units, _ = city
    scene.inspect(units["a1"], SMOKE, at=previous_month_day(20))
    row = next(
        r for r in office.get(URL + _month_query()).get_json()["units"] if r["id"] == units["a1"].id
    )
    assert row["repeat_findings"] == 1
    # a different item is not a repeat
    scene.inspect(units["a2"], BADGE, at=previous_month_day(20))
    a2 = next(
        r for r in office.get(URL + _month_query()).get_json()["units"] if r["id"] == units["a2"].id
    )
    assert a2["repeat_findings"] == 0


def test_a_repeat_older_than_the_window_does_not_count(city, office):
    scene, units, _ = city
    scene.inspect(units["a1"], SMOKE, at=this_month_day(3) - timedelta(days=100))
    query = _month_query()
    rows = {r["id"]: r for r in office.get(URL + query + "&repeat_months=3").get_json()["units"]}
    assert rows[units["a1"].id]["repeat_findings"] == 0
    rows = {r["id"]: r for r in office.get(URL + query + "&repeat_months=4").get_json()["units"]}
    assert rows[units["a1"].id]["repeat_findings"] == 1


def test_movement_against_the_previous_month(city, office):
    scene, units, _ = city
    # last month a2 was best and a1 worst
    scene.inspect(units["a2"], ALL_PASS, at=previous_month_day(5))
    scene.inspect(units["a1"], CRITICAL, at=previous_month_day(6))
    body = office.get(URL + _month_query()).get_json()
    rows = {r["id"]: r for r in body["units"]}
    assert rows[units["a1"].id]["previous_rank"] == 2
    assert rows[units["a1"].id]["movement"] == 1  # up one place
    assert rows[units["a2"].id]["movement"] == -1
    assert body["previous_period"]["kind"] == "month"


def test_previous_rank_is_the_rank_in_the_previous_months_ranking(city, office):
    scene, units, _ = city
    # last month a1 and a2 tied for first (the same answers), b was last
    scene.inspect(units["a1"], ALL_PASS, at=previous_month_day(5))
    scene.inspect(units["a2"], ALL_PASS, at=previous_month_day(6))
    scene.inspect(units["b"], CRITICAL, at=previous_month_day(7))
    scene.inspect(units["b"], ALL_PASS, at=this_month_day(6))
    before = local(previous_month_day())
    earlier = office.get(f"{URL}?period=month&year={before.year}&month={before.month}")
    earlier_ranks = {r["id"]: r["rank"] for r in earlier.get_json()["units"]}
    assert earlier_ranks == {units["a1"].id: 1, units["a2"].id: 1, units["b"].id: 3}
    rows = office.get(URL + _month_query()).get_json()["units"]
    assert {r["id"]: r["previous_rank"] for r in rows} == earlier_ranks
    assert {r["id"]: r["movement"] for r in rows} == {
        r["id"]: earlier_ranks[r["id"]] - r["rank"] for r in rows
    }


def test_units_read_by_scope_or_by_id_are_the_same(city, world, make_unit, client_for, monkeypatch):
    """Many units are read by the reader's scope, a few by id: either way the same rows."""
    scene, units, _ = city
    scene.inspect(make_unit(sector_id=world.sector_a.id, region_id=world.region_b), ALL_PASS)
    readers = [
        client_for(world.users[Role.office_admin]),
        client_for(world.users[Role.lead_unit_staff]),
        client_for(world.scoped_offices[Role.office_admin]),
    ]
    by_id = [reader.get(URL + _month_query()).get_json() for reader in readers]
    monkeypatch.setattr(rankings, "_FEW_UNITS", 0)
    by_scope = [reader.get(URL + _month_query()).get_json() for reader in readers]
    assert by_scope == by_id
    assert [len(body["units"]) for body in by_id] == [3, 3, 2]
    # a unit outside the reader's units (none is, today) is still named, by id
    regional = world.scoped_offices[Role.office_admin]
    named = rankings._units(regional, {units["a1"].id: None, units["b"].id: None})
    assert sorted(row[0] for row in named) == sorted([units["a1"].id, units["b"].id])


def test_a_plan_period_counts_that_plans_inspections(city, office):
    _, units, made = city
    plan_id = made["a1_smoke"].plan_id
    body = office.get(f"{URL}?period=plan&plan_id={plan_id}").get_json()
    assert [r["id"] for r in body["units"]] == [units["a1"].id]
    assert body["summary"]["inspections"] == 1
    assert body["previous_period"] is None


def test_scope_lead_unit_and_region(city, world, make_unit, make_user, client_for):
    scene, units, _ = city
    # a unit of sector A in region B: the lead unit sees it, the office of region A not
    a3 = make_unit(sector_id=world.sector_a.id, region_id=world.region_b)
    scene.inspect(a3, ALL_PASS, at=this_month_day(6))
    lead = client_for(world.users[Role.lead_unit_staff])
    body = lead.get(URL + _month_query()).get_json()
    assert {r["id"] for r in body["units"]} == {units["a1"].id, units["a2"].id, a3.id}
    assert body["inspector_workload"] is None  # who inspected is the office's to know
    regional = client_for(world.scoped_offices[Role.office_admin])
    body = regional.get(URL + _month_query()).get_json()
    assert {r["id"] for r in body["units"]} == {units["a1"].id, units["a2"].id}
    assert_problem(client_for(world.users[Role.unit_staff]).get(URL), 403)
    assert_problem(client_for(world.users[Role.inspector]).get(URL), 403)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?period=custom&date_from=2026-01-10", "date_to"),
        ("?period=custom&date_from=2026-01-10&date_to=2026-01-01", "date_to"),
        ("?period=plan", "plan_id"),
        ("?period=month&plan_id=1", "plan_id"),
        ("?period=week", "period"),
        ("?month=13", "month"),
        ("?weight_score=-1", "weight_score"),
    ],
)
def test_bad_periods_are_refused_naming_the_field(office, query, field):
    body = assert_problem(office.get(URL + query), 422)
    assert field in str(body["errors"])


def test_a_plan_out_of_scope_is_missing(city, world, client_for, make_unit):
    scene, _, _ = city
    other = scene.inspect(world.unit_b, ALL_PASS, at=this_month_day(2))
    regional = client_for(world.scoped_offices[Role.viewer])
    assert_problem(regional.get(f"{URL}?period=plan&plan_id={other.plan_id}"), 404)
    assert_problem(regional.get(f"{URL}?period=plan&plan_id=987654"), 404)
