"""Console forms load through the API's own marshmallow schemas: the same limits and the
same messages as the API (shown under the field's Chinese label), where the console used
to re-check by hand with limits of its own (a deadline of 1–365 days where the API takes
0–365, a reason or a chase note cut short in silence where the API refuses it)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from accounts.models import Role, User
from core.db import db
from inspections.models import Finding, FindingStatus
from rectification.models import Chase, RectificationTask, TaskStatus
from tests.console.support import inspection_to_review, responded_task
from tests.test_scope_rectification import overdue


def _finding(inspection, code: str = "dress.uniform") -> Finding:
    db.session.expire_all()
    stmt = select(Finding).where(Finding.inspection_id == inspection.id, Finding.item_code == code)
    return db.session.scalars(stmt).one()


def _said(console, response) -> str:
    assert response.status_code == 303
    return console.get(response.headers["Location"]).get_data(as_text=True)


def _review(console, finding: Finding, **form):
    data = {"version": finding.version, "decision": "confirm"} | form
    return console.post(f"/console/findings/{finding.id}/review", data)


def test_a_finding_takes_the_apis_deadline_range(office_console, world):
    inspection = inspection_to_review(world)
    finding = _finding(inspection)
    page = _said(
        office_console,
        _review(office_console, finding, deadline_days="400", reason="复核后调整期限"),
    )
    assert "（整改期限：应大于等于 0 且小于等于 365）" in page
    assert _finding(inspection).status == FindingStatus.pending
    # 0 (by the end of the day it becomes a task) is the API's too; the console refused it.
    _review(office_console, finding, deadline_days="0", reason="立即整改，当天完成")
    after = _finding(inspection)
    assert (after.status, after.deadline_days) == (FindingStatus.confirmed, 0)


def test_an_overlong_reason_is_refused_not_cut_short(office_console, world):
    inspection = inspection_to_review(world)
    finding = _finding(inspection)
    response = _review(office_console, finding, decision="dismiss", reason="照片不清楚" * 101)
    assert "（理由：长度不能超过 500）" in _said(office_console, response)
    after = _finding(inspection)
    assert (after.status, after.reason) == (FindingStatus.pending, finding.reason)


def test_an_unknown_severity_is_refused_not_ignored(office_console, world):
    inspection = inspection_to_review(world)
    finding = _finding(inspection)
    response = _review(office_console, finding, severity="worst", reason="复核后调整等级")
    assert "（严重程度：" in _said(office_console, response)
    assert _finding(inspection).status == FindingStatus.pending


def test_a_rejection_reason_over_the_apis_limit_is_refused(office_console, world):
    task = responded_task(world)
    form = {"decision": "reject", "version": task.version, "reason": "未整改到位" * 101}
    response = office_console.post(f"/console/tasks/{task.id}/verify", form)
    assert "（理由：长度不能超过 500）" in _said(office_console, response)
    db.session.expire_all()
    assert db.session.get(RectificationTask, task.id).status == TaskStatus.responded


def test_a_chase_note_over_200_characters_is_refused(office_console, world):
    task = overdue(world.task_a)
    url = f"/console/tasks/{task.id}/chases"
    form = {"client_id": str(uuid.uuid4()), "message": "请尽快整改" * 41}
    assert "（督办意见：长度不能超过 200）" in _said(office_console, office_console.post(url, form))
    assert not db.session.scalars(select(Chase).where(Chase.task_id == task.id)).all()
    form = {"client_id": str(uuid.uuid4()), "message": "请尽快整改"}
    assert "已督办" in _said(office_console, office_console.post(url, form))


def test_a_region_that_is_not_a_number_is_refused_in_the_apis_words(office_console, world):
    person = world.users[Role.viewer]
    db.session.expire_all()
    version = db.session.get(User, person.id).version
    response = office_console.post(
        f"/console/users/{person.id}/region", {"region_id": "abc", "version": version}
    )
    assert "（工作区域：应为整数）" in _said(office_console, response)


def test_a_draw_seed_is_the_apis_seed(office_console, world, make_user):
    """The console's own check let any letter through (汉字 too) and cut a long seed to
    64 characters; the API's DrawArgs takes A-Z, a-z, 0-9, - and _ up to 64, and says so."""
    from inspections.models import Draw, Plan
    from tests.console.test_plan_pages import plan_form

    office_console.post("/console/plans", plan_form(world, make_user))
    plan = db.session.scalar(select(Plan))
    for seed in ("演示种子", "a" * 65):
        form = {"seed": seed, "version": plan.version}
        response = office_console.post(f"/console/plans/{plan.id}/draw", form)
        said = _said(office_console, response)
        assert "（随机种子：只能包含字母、数字、- 和 _，至多 64 个）" in said
    assert not db.session.scalars(select(Draw).where(Draw.plan_id == plan.id)).all()


def test_a_unit_form_id_that_is_not_a_number_is_refused_in_the_apis_words(office_console, world):
    from org.models import Unit
    from tests.console.test_unit_pages import _form, text

    unit = world.unit_a
    office_console.get(f"/console/units/{unit.id}/edit")
    bad = _form(unit, lead_unit_id="abc", region_id="0")
    assert office_console.post(f"/console/units/{unit.id}/save", bad).status_code == 303
    page = text(office_console.get(f"/console/units/{unit.id}/edit"))
    assert 'data-field="lead_unit_id">应为整数' in page  # was 请输入有效的整数
    assert 'data-field="region_id">应大于等于 1 且小于等于 2147483647' in page
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).version == 1
