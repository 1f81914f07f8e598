"""通报典型问题 in real Chromium at 1280 px and 390 px (issue 14, point 3): the office
marks a confirmed finding on the review page and finds it on the rankings page beside
下载通报. Screenshots land in test-artifacts/circular-pick-*.png for a person to look at.
"""

from __future__ import annotations

import pytest

from accounts.models import Role
from tests.console.browser import shot, sign_in, submit
from tests.report_support import CRITICAL, SMOKE, Scene, this_month_day

pytestmark = pytest.mark.browser


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_office_marks_a_typical_problem(
    sized_page, live_server, world, size, make_unit, client_for
):
    page = sized_page
    scene = Scene(client_for, world.users[Role.inspector], world.users[Role.office_admin])
    scene.inspect(world.unit_a, SMOKE, at=this_month_day(3))
    a2 = make_unit(sector_id=world.sector_a.id, region_id=world.region_a, name="第二窗口单位")
    video = scene.inspect(a2, CRITICAL, at=this_month_day(4)).findings[0]
    sign_in(page, live_server, world.users[Role.office_admin].username)

    page.goto(f"{live_server}/console/rankings")
    assert "未选：通报按各单位最严重的问题列出" in page.locator("#circular-picks").inner_text()

    page.goto(f"{live_server}/console/inspections/{video.inspection_id}#finding-{video.id}")
    form = page.locator("[data-circular-pick]")
    assert form.locator("button").inner_text() == "列为通报典型问题"
    submit(page, form.locator("button"))
    assert "已列为通报典型问题" in page.locator(".flash").inner_text()
    form = page.locator("[data-circular-pick]")
    assert form.locator("[data-picked]").inner_text() == "通报典型问题"
    assert form.locator("button").inner_text() == "取消通报典型问题"
    form.scroll_into_view_if_needed()
    shot(page, f"circular-pick-1-review-{size}")
    assert fits(page)

    page.goto(f"{live_server}/console/rankings")
    picks = page.locator("#circular-picks")
    assert "已选 1 个" in picks.inner_text()
    assert (
        picks.locator(f"[data-picked-finding='{video.id}']")
        .inner_text()
        .startswith("第二窗口单位：")
    )
    shot(page, f"circular-pick-2-rankings-{size}")
    assert fits(page)

    # the ranking of one plan is chosen in the picker, and 下载通报 follows it
    form = page.locator("form.filters")
    form.locator("select[name=period]").select_option("plan")
    form.locator("select[name=plan_id]").select_option(str(video.inspection.plan_id))
    submit(page, form.locator("button[type=submit]"))
    assert f"plan_id={video.inspection.plan_id}" in page.url
    assert "“测试暗访计划”" in page.locator("h1").inner_text()
    assert page.locator("table.rankings tbody tr[data-unit]").count() == 1
    download = page.locator("a", has_text="下载通报").get_attribute("href")
    assert f"plan_id={video.inspection.plan_id}" in download
    shot(page, f"circular-pick-3-plan-ranking-{size}")
    assert fits(page)
