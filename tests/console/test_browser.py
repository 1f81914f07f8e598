"""The console in real Chromium, driven by Playwright, against a live server.

Runs when /usr/bin/chromium exists and skips with a clear message when it does not;
CI installs Chromium and sets REQUIRE_BROWSER=1, which turns the skip into a failure.
Screenshots land in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import pytest

from accounts.models import Role
from tests.conftest import PASSWORD
from tests.console.browser import ARTIFACTS, shot, sign_in, submit

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{request.node.name}-last.png", full_page=True)
    context.close()


def test_office_signs_in_and_browses(page, live_server, world):
    sign_in(page, live_server, world.users[Role.office_admin].username)
    assert page.locator("h1").inner_text() == "工作台"
    shot(page, "dashboard")
    page.click("nav >> text=窗口单位")
    assert page.locator(f"text={world.unit_a.name}").count() == 1
    shot(page, "units")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "units-phone")
    page.click("text=退出")
    page.wait_for_url(f"{live_server}/console/login")


def test_an_inspector_is_turned_away(page, live_server, world):
    page.goto(f"{live_server}/console/login")
    page.fill("input[name=username]", world.users[Role.inspector].username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert page.locator("text=控制台仅供督查办和牵头单位使用").count() == 1


def test_office_reads_the_default_checklist(page, live_server, world):
    from checklists import library
    from core.db import db

    library.install_default()
    db.session.commit()
    sign_in(page, live_server, world.users[Role.office_admin].username)
    page.click("nav >> text=检查表")
    page.click("text=第 1 版")
    assert "窗口服务明察暗访检查表" in page.locator("h1").inner_text()
    assert page.locator("h2").count() >= 10
    shot(page, "checklist-version")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "checklist-version-phone")


def test_office_reviews_evidence_and_verifies_rectification_on_demo_data(
    page, live_server, demo_city
):
    from sqlalchemy import select

    from core.db import db
    from inspections.models import Inspection, InspectionStatus
    from rectification.models import RectificationTask, TaskStatus

    sign_in(page, live_server, "admin")
    shot(page, "flow-1-dashboard")

    # The queue, then an inspection with findings waiting.
    page.click("nav >> text=证据审核")
    assert page.locator("table.queue tbody tr").count() >= 3
    shot(page, "flow-2-queue")
    page.locator("table.queue tr[data-pending]:not([data-pending='0']) a").first.click()
    page.wait_for_selector("[data-photo] img")
    inspection_id = int(page.url.rstrip("/").split("/")[-1])
    shot(page, "flow-3-inspection")

    # Enlarge a photo: the preview loads in the dialog; J moves on, Escape closes.
    page.locator("[data-photo] img").first.click()
    page.wait_for_selector("#lightbox[open]")
    page.wait_for_function("document.querySelector('#lightbox img').naturalWidth > 0")
    assert "/media/files/" in page.locator("#lightbox img").get_attribute("src")
    shot(page, "flow-4-photo-enlarged")
    first = page.locator("#lightbox [data-caption]").inner_text()
    if page.locator("[data-photo] img").count() > 1:
        page.keyboard.press("j")
        assert page.locator("#lightbox [data-caption]").inner_text() != first
    page.keyboard.press("Escape")
    assert page.locator("#lightbox[open]").count() == 0
    page.keyboard.press("n")
    assert page.locator("tr[data-finding].current").count() == 1

    # Confirm the first finding, dismiss any others with a reason, then publish.
    submit(page, page.locator("form.review button[value=confirm]").first)
    assert "已确认问题" in page.locator(".flash").inner_text()
    while page.locator("form.review[data-pending]").count():
        form = page.locator("form.review[data-pending]").first
        form.locator("input[name=reason]").fill("照片不足以认定，不予采纳")
        submit(page, form.locator("button[value=dismiss]"))
    shot(page, "flow-5-reviewed")
    submit(page, page.locator("#publish"))
    assert "检查结果已公开" in page.locator(".flash").inner_text()
    shot(page, "flow-6-published")

    # Rectification: accept one reply, reject another with a reason.
    page.click("nav >> text=整改复查")
    page.click(".tabs a[href*='view=responded']")
    shot(page, "flow-7-tasks")
    page.locator("table.tasks tbody a").first.click()
    page.wait_for_selector(".side-by-side")
    accepted = int(page.url.rstrip("/").split("/")[-1])
    shot(page, "flow-8-task-before-after")
    submit(page, page.locator("button[value=accept]"))
    assert "任务已销号" in page.locator(".flash").inner_text()
    page.click("nav >> text=整改复查")
    page.click(".tabs a[href*='view=responded']")
    page.locator("table.tasks tbody a").first.click()
    rejected = int(page.url.rstrip("/").split("/")[-1])
    page.fill(".verify input[name=reason]", "整改照片看不到禁烟标识，请补拍入口处")
    submit(page, page.locator("button[value=reject]"))
    assert "已退回整改" in page.locator(".flash").inner_text()
    shot(page, "flow-9-task-rejected")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "flow-9-task-rejected-phone")
    page.goto(f"{live_server}/console/inspections")
    shot(page, "flow-2-queue-phone")

    db.session.expire_all()
    assert db.session.get(Inspection, inspection_id).status == InspectionStatus.published
    assert db.session.get(RectificationTask, accepted).status == TaskStatus.closed
    task = db.session.get(RectificationTask, rejected)
    assert (task.status, task.round) == (TaskStatus.open, 2)
    assert db.session.scalar(
        select(RectificationTask.id).where(RectificationTask.inspection_id == inspection_id)
    )


@pytest.mark.parametrize("role", [Role.office_admin, Role.lead_unit_staff])
def test_no_page_in_the_navigation_scrolls_sideways_on_a_phone(page, live_server, world, role):
    """At 390 px every page a person's navigation offers fits the screen, tables included
    (a table that scrolls inside its frame hides columns): lists turn into cards. And the
    header says whose console it is."""
    world.task_a  # noqa: B018 - rows for the lists
    world.inspections  # noqa: B018
    sign_in(page, live_server, world.users[role].username)
    brand = "督查办" if role == Role.office_admin else "牵头单位"
    assert page.locator(".brand").inner_text().endswith(brand)
    links = page.locator("nav.nav a")
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert targets
    page.set_viewport_size({"width": 390, "height": 844})
    wide = []
    for target in targets:
        page.goto(f"{live_server}{target}")
        overflow = page.evaluate(
            """Math.max(document.documentElement.scrollWidth - window.innerWidth,
                ...Array.from(document.querySelectorAll('.table-wrap'),
                              (e) => e.scrollWidth - e.clientWidth))"""
        )
        if overflow > 0:
            wide.append((target, overflow))
            shot(page, f"too-wide{target.replace('/', '-')}")
    assert not wide
