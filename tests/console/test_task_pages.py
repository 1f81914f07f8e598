"""Rectification in the console: tasks with overdue first, before/after side by side,
verification with a reason, extension decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.models import Role
from core.clock import utcnow
from core.db import db
from rectification.deadlines import end_of_day
from rectification.models import ExtensionStatus, RectificationTask, TaskStatus
from tests.console.support import responded_task
from tests.rectification_support import counting, open_task


def fresh(task) -> RectificationTask:
    db.session.expire_all()
    return db.session.get(RectificationTask, task.id)


def test_tasks_list_puts_overdue_first_and_counts_by_status(office_console, world):
    later = open_task(world.unit_a, title="台面堆放杂物")
    late = open_task(world.unit_b, title="监控摄像头不工作")
    late.due_on = (utcnow() - timedelta(days=3)).date()
    late.due_at = end_of_day(late.due_on)
    db.session.commit()
    responded_task(world)
    page = office_console.get("/console/tasks").get_data(as_text=True)
    assert page.index("监控摄像头不工作") < page.index("台面堆放杂物")
    assert "逾期 1" in page
    assert later.title in page
    page = office_console.get("/console/tasks?view=responded").get_data(as_text=True)
    assert "已张贴禁烟标识" not in page  # the list shows titles, not replies
    assert "台面堆放杂物" not in page
    page = office_console.get("/console/tasks?overdue=1").get_data(as_text=True)
    assert "监控摄像头不工作" in page
    assert "台面堆放杂物" not in page
    page = office_console.get(f"/console/tasks?sector_id={world.sector_a.id}").get_data(
        as_text=True
    )
    assert "监控摄像头不工作" not in page


def test_task_page_shows_before_and_after_and_the_trail(office_console, world):
    task = responded_task(world)
    page = office_console.get(f"/console/tasks/{task.id}").get_data(as_text=True)
    assert "检查时（整改前）" in page
    assert "整改后" in page
    assert "已张贴禁烟标识" in page
    assert page.count("/console/photos/") >= 3  # before, after, and the reply's photo
    assert "提交整改回复" in page  # the audit trail
    assert "复查通过（销号）" in page


def test_accept_closes_the_task(office_console, world):
    task = responded_task(world)
    response = office_console.post(
        f"/console/tasks/{task.id}/verify", {"decision": "accept", "version": task.version}
    )
    assert response.status_code == 303
    assert "复查通过，任务已销号" in office_console.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert fresh(task).status == TaskStatus.closed


def test_reject_needs_a_reason_and_sends_the_task_back(office_console, world):
    task = responded_task(world)
    response = office_console.post(
        f"/console/tasks/{task.id}/verify", {"decision": "reject", "version": task.version}
    )
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "退回整改需要说明理由" in page
    assert fresh(task).status == TaskStatus.responded
    office_console.post(
        f"/console/tasks/{task.id}/verify",
        {"decision": "reject", "version": task.version, "reason": "照片未显示入口标识"},
    )
    after = fresh(task)
    assert (after.status, after.round, after.rejections) == (TaskStatus.open, 2, 1)
    page = office_console.get(f"/console/tasks/{task.id}").get_data(as_text=True)
    assert "照片未显示入口标识" in page
    assert "复查通过（销号）" not in page  # nothing to verify until the unit replies again


def test_verifying_an_open_task_is_refused(office_console, world):
    task = open_task(world.unit_a)
    response = office_console.post(
        f"/console/tasks/{task.id}/verify", {"decision": "accept", "version": task.version}
    )
    assert "不能复查通过" in office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert fresh(task).status == TaskStatus.open


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"decision": "approve"}, ExtensionStatus.approved, "已批准延期"),
        ({"decision": "deny", "reason": "期限内可以完成"}, ExtensionStatus.denied, "已驳回延期"),
        ({"decision": "deny"}, ExtensionStatus.pending, "驳回延期需要说明理由"),
        ({"decision": "approve", "due_on": "2020-01-01"}, ExtensionStatus.pending, "应晚于"),
        ({"decision": "approve", "due_on": "明天"}, ExtensionStatus.pending, "（期限：应为日期"),
    ],
)
def test_extension_decisions(office_console, world, form, status, message):
    extension = world.extension_a
    task = fresh(world.task_a)
    url = f"/console/tasks/{task.id}/extensions/{extension.id}"
    response = office_console.post(url, {"version": task.version} | form)
    assert message in office_console.get(response.headers["Location"]).get_data(as_text=True)
    after = fresh(task)
    assert after.extensions[0].status == status
    if status == ExtensionStatus.approved:
        assert after.due_on == extension.requested_due_on


def test_foreign_extension_is_404(office_console, world):
    task = fresh(world.task_a)
    other = world.extension_b
    response = office_console.post(
        f"/console/tasks/{task.id}/extensions/{other.id}",
        {"decision": "approve", "version": task.version},
    )
    assert response.status_code == 404


def test_verify_without_csrf_is_refused(office_console, world):
    task = responded_task(world)
    response = office_console.post(
        f"/console/tasks/{task.id}/verify",
        {"decision": "accept", "version": task.version},
        with_csrf=False,
    )
    assert response.status_code == 400
    assert fresh(task).status == TaskStatus.responded


def test_task_list_takes_the_same_queries_for_5_and_50_rows(office_console, world):
    for n in range(50):
        open_task(world.unit_a if n % 2 else world.unit_b, title=f"问题{n}")

    def statements(per_page: int) -> int:
        with counting() as seen:
            response = office_console.get(f"/console/tasks?per_page={per_page}")
        assert response.status_code == 200
        assert response.get_data(as_text=True).count('href="/console/tasks/') == per_page
        return len(seen)

    assert statements(5) == statements(50)


def test_missing_task_is_404(office_console):
    assert office_console.get("/console/tasks/987654").status_code == 404


def test_viewer_sees_no_verification_form(console, world):
    task = responded_task(world)
    console.sign_in(world.users[Role.viewer].username)
    page = console.get(f"/console/tasks/{task.id}").get_data(as_text=True)
    assert "已张贴禁烟标识" in page
    assert "复查通过（销号）" not in page
