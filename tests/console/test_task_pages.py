"""Rectification in the console: tasks with overdue first, before/after side by side,
verification with a reason, extension decisions."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from accounts.models import Role
from api import pagination
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


def test_counts_past_the_bound_read_n_plus_and_the_pages_go_on(office_console, world, monkeypatch):
    """Totals stop at the bound (api.pagination.COUNT_BOUND, 1 000; here 3): the tabs and
    the pager say "3+", and following 下一页 lists every task once, overdue first."""
    monkeypatch.setattr(pagination, "COUNT_BOUND", 3)
    tasks = [open_task(world.unit_a, title=f"问题{n}") for n in range(7)]
    for n, task in enumerate(tasks):  # two overdue, then five due later, in this order
        task.due_at = utcnow() + timedelta(days=n - 2, hours=1)
        task.due_on = task.due_at.date()
    db.session.commit()
    page = office_console.get("/console/tasks?per_page=2").get_data(as_text=True)
    assert re.search(r'<span class="count">3\+</span>', page)  # 待办 and 待整改
    assert "逾期 2<" in page  # below the bound: exact
    assert "共 3+ 条" in page
    seen, url = [], "/console/tasks?per_page=2"
    while url:
        page = office_console.get(url).get_data(as_text=True)
        seen += re.findall(r"问题\d", page)
        found = re.search(r'<a href="([^"]+)" rel="next">', page)
        url = html.unescape(found.group(1)) if found else None
    assert seen == [task.title for task in tasks]
    assert "共 7 条" in page  # the last page counts to its end: exact again


def test_task_counts_in_the_api_name_what_was_capped(world, client_for, monkeypatch):
    monkeypatch.setattr(pagination, "COUNT_BOUND", 2)
    for n in range(3):
        open_task(world.unit_a, title=f"问题{n}")
    office = client_for(world.users[Role.office_admin])
    counts = office.get("/api/v1/rectification/tasks/counts").get_json()
    assert counts["by_status"] == {"open": 2, "responded": 0, "closed": 0}
    assert sorted(counts["capped"]) == ["open", "total"]
    listed = office.get("/api/v1/rectification/tasks?per_page=1").get_json()
    assert (listed["total"], listed["total_exact"]) == (2, False)


def test_the_all_view_pages_in_the_overdue_first_order(office_console, world):
    """全部 walks overdue tasks, then the rest, each by due date (two index walks): the
    pages hold exactly the rows of the list's statement (its CASE order), none twice."""
    from console.tasks import list_query

    tasks = [open_task(world.unit_a, title=f"问题{n}") for n in range(9)]
    for n, task in enumerate(tasks):  # due dates interleave: late, closed, later, …
        task.due_at = utcnow() + timedelta(days=4 - n, hours=1)
        task.due_on = task.due_at.date()
        if n % 3 == 1:
            task.status = TaskStatus.closed
    db.session.commit()
    expected = [
        t.title
        for t in db.session.scalars(list_query(world.users[Role.office_admin], {"view": "all"}))
    ]
    assert expected[:2] == ["问题8", "问题6"]  # overdue (open, past due) first, by due date
    seen, page = [], 1
    while True:
        body = office_console.get(f"/console/tasks?view=all&per_page=2&page={page}")
        found = re.findall(r"问题\d", body.get_data(as_text=True))
        seen += found
        if len(found) < 2:
            break
        page += 1
    assert seen == expected
    assert len(set(seen)) == 9

    def statements(per_page: int) -> int:
        with counting() as issued:
            office_console.get(f"/console/tasks?view=all&per_page={per_page}")
        return len(issued)

    assert statements(2) == statements(50)  # the two walks are read whatever the page holds
