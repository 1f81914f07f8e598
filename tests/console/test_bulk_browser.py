"""Bulk work in real Chromium, at a laptop's 1280 px and a phone's 390 px (issue 15,
point 12): tick the findings of an inspection and dismiss them with one reason; open two
replies, then accept both from the task list.

Screenshots land in test-artifacts/bulk-*.png for a person to look at.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from core.audit import AuditEvent
from core.db import db
from inspections.models import Finding, FindingStatus
from rectification.models import RectificationTask, TaskStatus
from tests.console.browser import shot, sign_in, submit
from tests.console.support import inspection_to_review, responded_task

pytestmark = pytest.mark.browser

REASON = "复核照片后认定该项符合要求"


@pytest.fixture
def page(sized_page):
    return sized_page


def fits(page) -> bool:
    """Nothing scrolls sideways (the phone test of test_browser.py)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_office_dismisses_findings_and_accepts_replies_in_bulk(page, live_server, world, size):
    inspection = inspection_to_review(world)
    replies = [responded_task(world), responded_task(world)]
    sign_in(page, live_server, world.users[Role.office_admin].username)

    # Findings: tick all pending (the script's 全选), one reason, 不予认定所选.
    page.goto(f"{live_server}/console/inspections/{inspection.id}")
    bar = page.locator("#bulk-findings")
    assert bar.locator("[data-bulk-count]").inner_text().startswith("勾选下方问题")
    page.check("[data-bulk-all]")
    assert bar.locator("[data-bulk-count]").inner_text() == "已选 2 项"
    page.uncheck("[data-bulk-all]")
    for box in page.locator("input[name=finding]").all():
        box.check()  # one by one, as a person ticks them
    assert bar.locator("[data-bulk-count]").inner_text() == "已选 2 项"
    page.fill("#bulk-reason", REASON)
    shot(page, f"bulk-1-findings-ticked-{size}")
    assert fits(page)
    submit(page, page.locator("#bulk-dismiss"))
    assert "已不予认定所选 2 个问题" in page.locator(".flash").inner_text()
    assert page.locator(".finding.dismissed").count() == 2
    shot(page, f"bulk-2-findings-dismissed-{size}")

    # Replies: not opened yet, so their boxes are off; open each, then accept both.
    page.goto(f"{live_server}/console/tasks?view=responded")
    assert page.locator("input[name=task]:disabled").count() == 2
    shot(page, f"bulk-3-tasks-unopened-{size}")
    for task in replies:
        page.goto(f"{live_server}/console/tasks/{task.id}")
        page.wait_for_selector(".side-by-side")
    page.goto(f"{live_server}/console/tasks?view=responded")
    assert page.locator("[data-opened]").count() == 2
    for task in replies:
        page.check(f"input[name=task][value='{task.id}']")
    shot(page, f"bulk-4-tasks-ticked-{size}")
    assert fits(page)
    submit(page, page.locator("#bulk-accept-submit"))
    assert "已复查通过所选 2 个任务，均已销号" in page.locator(".flash").inner_text()
    shot(page, f"bulk-5-tasks-accepted-{size}")

    db.session.expire_all()
    findings = db.session.scalars(select(Finding).where(Finding.inspection_id == inspection.id))
    assert {(f.status, f.reason) for f in findings} == {(FindingStatus.dismissed, REASON)}
    ids = [t.id for t in replies]
    closed = [db.session.get(RectificationTask, i).status for i in ids]
    assert closed == [TaskStatus.closed] * 2
    accepted = select(func.count(AuditEvent.id)).where(
        AuditEvent.entity_type == "rectification_task",
        AuditEvent.entity_id.in_(ids),
        AuditEvent.action == "accept",
    )
    assert db.session.scalar(accepted) == 2
