"""Plans in the console: create one with the form, run its double-random draw, see it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import Role
from core.clock import local, utcnow
from core.db import db
from inspections.models import Draw, Plan, PlanStatus, Visit, VisitWindows


def plan_form(world, make_user, **over) -> dict:
    today = local(utcnow()).date()
    second = make_user(Role.inspector)
    return {
        "name": "窗口服务质量暗访（测试）",
        "kind": "unannounced",
        "period_start": str(today + timedelta(days=1)),
        "period_end": str(today + timedelta(days=7)),
        "sector_ids": [world.sector_a.id, world.sector_b.id],
        "sampling_mode": "rate",
        "sampling_value": "100",
        "inspector_ids": [world.users[Role.inspector].id, second.id],
        "team_size": "2",
    } | over


def test_create_draw_and_see_the_result(office_console, world, make_user):
    assert "新建督查计划" in office_console.get("/console/plans/new").get_data(as_text=True)
    response = office_console.post("/console/plans", plan_form(world, make_user))
    assert response.status_code == 303
    plan = db.session.scalar(select(Plan))
    assert (plan.name, plan.status, plan.sampling) == (
        "窗口服务质量暗访（测试）",
        PlanStatus.draft,
        {"rate": 1.0},
    )
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "尚未抽取" in page
    response = office_console.post(
        f"/console/plans/{plan.id}/draw", {"seed": "console-test", "version": plan.version}
    )
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "第 1 次抽取完成：2 个窗口单位" in page
    assert "console-test" in page
    assert "结果一致" in page  # the stored draw replays
    draw = db.session.scalar(select(Draw))
    assert draw.algorithm == "dr-v2"
    assert draw.team_seed in page  # the office sees the team seed and its commitment
    assert draw.team_seed_sha256 in page
    assert world.unit_a.name in page
    assert world.unit_b.name in page
    assert len(db.session.scalars(select(Visit)).all()) == 2
    listing = office_console.get("/console/plans").get_data(as_text=True)
    assert "2 个单位，已提交 0" in listing


def test_a_redraw_needs_a_reason(office_console, world, make_user):
    office_console.post("/console/plans", plan_form(world, make_user))
    plan = db.session.scalar(select(Plan))
    office_console.post(f"/console/plans/{plan.id}/draw", {"version": plan.version})
    db.session.expire_all()
    plan = db.session.get(Plan, plan.id)
    response = office_console.post(f"/console/plans/{plan.id}/draw", {"version": plan.version})
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "重新抽取必须说明原因" in page


def test_invalid_plan_form_shows_each_problem(office_console, world, make_user):
    form = plan_form(
        world,
        make_user,
        name="x",
        period_start="2026-13-01",
        sampling_value="百分之三十",
        inspector_ids=[],
    )
    response = office_console.post("/console/plans", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # The API's messages (PlanSchema), beside each field.
    for message in (
        "长度应在 2 到 100 之间",
        "应为日期 YYYY-MM-DD",
        "应为数字",
        "长度应在 1 到 1000 之间",
    ):
        assert message in page, message
    assert db.session.scalar(select(Plan)) is None


def test_the_service_refusal_is_shown_on_the_form(office_console, world, make_user):
    today = local(utcnow()).date()
    form = plan_form(world, make_user, period_end=str(today - timedelta(days=5)), team_size="3")
    response = office_console.post("/console/plans", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "结束日期不能早于开始日期" in page
    assert "检查人员少于每组人数 3" in page


def test_viewer_cannot_create_plans(console, world):
    console.sign_in(world.users[Role.viewer].username)
    assert console.get("/console/plans").status_code == 200
    assert console.get("/console/plans/new").status_code == 403
    assert console.post("/console/plans", {"name": "x"}).status_code == 403


def test_the_plan_page_shows_each_visits_drawn_day_and_session(office_console, world, make_user):
    world.unit_a.service_hours = {"sat": [["09:00", "11:30"]]}
    db.session.commit()
    response = office_console.post("/console/plans", plan_form(world, make_user))
    plan = db.session.scalar(select(Plan))
    assert plan.visit_windows == VisitWindows.drawn
    office_console.post(f"/console/plans/{plan.id}/draw", {"version": plan.version})
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    visit = db.session.scalar(select(Visit).where(Visit.unit_id == world.unit_a.id))
    day = local(visit.window_start).strftime("%m-%d")
    assert f"{day} 周六 09:00-11:30" in page  # the unit's only session, on a Saturday

    unit_page = office_console.get(f"/console/units/{world.unit_a.id}").get_data(as_text=True)
    assert "周六 09:00-11:30" in unit_page
    default = office_console.get(f"/console/units/{world.unit_b.id}").get_data(as_text=True)
    assert "周一至周五 08:30-12:00、14:00-17:30（默认）" in default


def test_a_plan_may_keep_the_whole_period_as_the_window(office_console, world, make_user):
    form = plan_form(world, make_user, whole_period="1")
    assert office_console.post("/console/plans", form).status_code == 303
    assert db.session.scalar(select(Plan)).visit_windows == VisitWindows.period


def _api_body(form: dict) -> dict:
    """The same plan as a JSON client sends it."""
    return {
        "name": form["name"],
        "kind": form["kind"],
        "period_start": form["period_start"],
        "period_end": form["period_end"],
        "pool": {"sector_ids": form["sector_ids"]},
        "sampling": {"rate": int(form["sampling_value"]) / 100},
        "inspector_ids": form["inspector_ids"],
        "team_size": int(form["team_size"]),
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "长" * 101}, "name"),
        ({"team_size": "11"}, "team_size"),
        ({"sampling_value": "150"}, "sampling"),
        ({"period_end": "2020-01-01"}, "period_end"),  # the service's refusal
    ],
)
def test_the_form_refuses_what_the_api_refuses_with_the_same_words(
    office_console, client_for, world, make_user, change, field
):
    form = plan_form(world, make_user) | change
    api = client_for(world.users[Role.office_admin]).post("/api/v1/plans", json=_api_body(form))
    assert api.status_code == 422
    errors = api.get_json()["errors"]
    errors = errors.get("json", errors)
    messages = errors[field]
    if isinstance(messages, dict):
        messages = [m for ms in messages.values() for m in ms]
    assert messages
    page = office_console.post("/console/plans", form)
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    for message in messages:
        assert f'<span class="field-error">{message}</span>' in text
    assert db.session.scalar(select(Plan)) is None
