"""The rest of an office's day in real Chromium, at a laptop's 1366×768 and a phone's
390×844 (issue 15, points 4, 5, 6, 10 and 11): every dashboard figure equals the total of
the list it opens in each period, refusals name fields in Chinese, items read as number and
title, the demo's visits and photos are by day, and the queue and task list find things.

Screenshots land in test-artifacts/office-day-<n>-*.png for a person to look at.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import Role
from core.clock import local, utcnow
from core.db import db
from inspections.models import Finding, FindingStatus, Inspection
from media.models import Photo
from tests.console.browser import shot, sign_in, submit
from tests.console.support import (
    assert_by_score_unscored_last,
    inspection_to_review,
    replies_old_and_reused,
)
from tests.console.test_office_day import _age_some_rows

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}  # this file's pages

TOTAL = re.compile(r"共 (\d+) 条")
CODES = ("dress.uniform", "smoke.none", "video.working")


@pytest.fixture
def page(sized_page):
    return sized_page


def list_total(page) -> int:
    found = TOTAL.findall(page.evaluate("document.body.innerText"))
    assert len(found) == 1, (page.url, found)
    return int(found[0])


def filter_by(page, **fields: str) -> None:
    """Fill the list's filter form as a person would and send it."""
    form = page.locator("form.filters")
    for name, value in fields.items():
        field = form.locator(f"[name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    submit(page, form.locator("button[type=submit]"))


def queue_rows(page) -> list[int]:
    hrefs = page.eval_on_selector_all(
        "table.queue tbody tr td:first-child a", "els => els.map(a => a.getAttribute('href'))"
    )
    return [int(h.rsplit("/", 1)[1]) for h in hrefs]


# -- point 4: a figure is the total of the list it opens ---------------------------------------


def test_4_every_dashboard_figure_equals_its_lists_total_in_every_period(
    page, live_server, demo_city, size
):
    _age_some_rows()  # rows a year and a half old: the periods really differ
    sign_in(page, live_server, "admin")
    checked: dict[str, dict[str, int]] = {}
    for period in ("month", "quarter", "year"):
        page.goto(f"{live_server}/console/")
        submit(page, page.locator(f"nav.tabs a[href$='period={period}']"))
        assert (
            page.locator("nav.tabs a[aria-current=page]")
            .get_attribute("href")
            .endswith(f"period={period}")
        )
        if period == "year":
            shot(page, f"office-day-4-dashboard-year-{size}")
        figures = page.eval_on_selector_all(
            "a.figure",
            """els => els.map(a => ({label: a.querySelector('.label').innerText.trim(),
                                     value: a.querySelector('.value').innerText.trim()}))""",
        )
        labels = {f["label"] for f in figures}
        assert {"待审核", "待整改任务", "待复查", "逾期未销号", "延期待审批"} <= labels, labels
        assert any(label.endswith("检查") for label in labels), labels
        for index, figure in enumerate(figures):
            if index:
                page.go_back()
                page.wait_for_url(f"**period={period}")
            link = page.locator("a.figure").nth(index)
            assert link.locator(".label").inner_text().strip() == figure["label"]
            submit(page, link)
            assert list_total(page) == int(figure["value"]), (period, figure, page.url)
            if figure["label"] != "在册窗口单位":
                assert "date_from=" in page.url, figure  # the list opens on the period
            if period == "month" and index == 0:
                shot(page, f"office-day-4-figure-list-{size}")
        checked[period] = {f["label"]: int(f["value"]) for f in figures}
    # The periods differ: the year counts the aged rows' siblings, not the aged rows.
    year = next(label for label in checked["year"] if label.endswith("检查"))
    page.goto(f"{live_server}/console/inspections?status=all")
    assert checked["year"][year] < list_total(page)


# -- point 5: refusals name fields in Chinese ---------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "deadline", "reason", "expected", "internal"),
    [
        ("dismiss", None, "", "（理由：必填字段）", "reason"),
        ("confirm", "abc", None, "（整改期限：应为整数）", "deadline_days"),
    ],
)
def test_5_a_refused_forms_message_names_fields_by_chinese_label(
    page, live_server, world, size, decision, deadline, reason, expected, internal
):
    inspection = inspection_to_review(world)
    finding = db.session.scalar(
        select(Finding).where(
            Finding.inspection_id == inspection.id, Finding.item_code == "dress.uniform"
        )
    )
    sign_in(page, live_server, world.users[Role.office_admin].username)
    page.goto(f"{live_server}/console/inspections/{inspection.id}")
    form = page.locator(f"form[action$='/findings/{finding.id}/review']")
    if deadline is not None:
        form.locator("input[name=deadline_days]").fill(deadline)
    if reason is not None:
        form.locator("input[name=reason]").fill(reason)
    # The browser's own checks would stop the form; the server's refusal is what is tested.
    form.evaluate("f => f.setAttribute('novalidate', '')")
    submit(page, form.locator(f"button[value={decision}]"))
    refusal = page.locator(f"form[action$='/findings/{finding.id}/review'] .refusal")
    text = refusal.inner_text()
    assert expected in text, text
    assert internal not in text
    assert not re.search(r"[A-Za-z_]{3,}", text), text  # no English word in the message
    shot(page, f"office-day-5-refusal-{internal}-{size}")
    db.session.expire_all()
    assert db.session.get(Finding, finding.id).status == FindingStatus.pending


# -- point 6: items by number and title ---------------------------------------------------------


def test_6_findings_and_missing_photos_read_as_number_and_title(page, live_server, world, size):
    inspection = inspection_to_review(world)  # names a 监控设备 photo that never arrived
    sign_in(page, live_server, world.users[Role.office_admin].username)
    page.goto(f"{live_server}/console/inspections/{inspection.id}")
    missing = page.locator("#missing-photos").inner_text()
    assert "缺少照片：2.2 监控设备正常运行" in missing, missing
    numbers = page.locator("tr[data-finding] .item-no").all_inner_texts()
    assert numbers, "no item numbers beside the findings"
    assert all(re.fullmatch(r"\d+\.\d+", n.strip()) for n in numbers), numbers
    rows = " ".join(page.locator("tr[data-finding]").all_inner_texts())
    assert "1.1 工作人员统一着装" in rows, rows
    text = page.evaluate("document.body.innerText")
    for code in CODES:
        assert code not in text, code
    shot(page, f"office-day-6-item-numbers-{size}")


# -- point 10: the demo's visits and photos are by day ------------------------------------------

TIME = re.compile(r"(\d{2}):(\d{2})")


def test_10_demo_check_ins_and_photo_times_are_in_daytime(page, live_server, demo_city, size):
    with_photos = db.session.scalars(
        select(Inspection.id)
        .where(
            Inspection.started_at.is_not(None),
            Inspection.id.in_(
                select(Photo.owner_id).where(
                    Photo.owner_type == "inspection", Photo.exif_taken_at.is_not(None)
                )
            ),
        )
        .order_by(Inspection.id)
    ).all()
    assert len(with_photos) >= 2
    sign_in(page, live_server, "admin")
    seen_photos = 0
    for number, inspection_id in enumerate(with_photos[:4]):
        page.goto(f"{live_server}/console/inspections/{inspection_id}")
        checkin = page.locator("dt:has-text('签到') + dd").inner_text()
        hour, _ = map(int, TIME.search(checkin).groups())
        assert 8 <= hour < 18, (inspection_id, checkin)
        times = page.locator("[data-photo] .muted").all_inner_texts()
        hours = [int(TIME.search(t).group(1)) for t in times if TIME.search(t)]
        assert hours, inspection_id
        # Daytime: the demo's one photo taken two hours before check-in may be early morning.
        assert all(6 <= h < 19 for h in hours), (inspection_id, times)
        seen_photos += len(hours)
        if number == 0:
            shot(page, f"office-day-10-demo-times-{size}")
    assert seen_photos >= 2


# -- point 11: the queue and the task list find things ------------------------------------------


def test_11_the_queue_searches_by_unit_and_date_and_sorts(page, live_server, world, size):
    flagged = inspection_to_review(world)  # a photo 5 km away: one flag
    others = world.inspections  # more inspections, at A and B, without flags
    assert others
    today = local(utcnow()).date()
    sign_in(page, live_server, world.users[Role.office_admin].username)
    page.goto(f"{live_server}/console/inspections?status=all")
    everything = list_total(page)
    assert everything >= 3

    filter_by(page, q=world.unit_b.name)
    named = list_total(page)
    assert 1 <= named < everything
    units = page.locator("table.queue tbody tr td:first-child strong").all_inner_texts()
    assert set(units) == {world.unit_b.name}, units
    shot(page, f"office-day-11-queue-by-unit-{size}")
    filter_by(page, q="不存在的单位")
    assert list_total(page) == 0

    filter_by(page, q="", date_from=str(today + timedelta(days=1)))
    assert list_total(page) == 0
    filter_by(page, date_from=str(today - timedelta(days=30)), date_to=str(today))
    in_range = list_total(page)
    assert 1 <= in_range <= everything
    days = page.locator("td[data-label=检查日期]").all_inner_texts()
    assert days
    for day in days:  # the visit's day is shown and lies in the range
        shown = re.match(r"\d{4}-\d{2}-\d{2}", day.strip()).group(0)
        assert str(today - timedelta(days=30)) <= shown <= str(today), day
    filter_by(page, date_from="", date_to="")

    filter_by(page, sort="flags")
    assert queue_rows(page)[0] == flagged.id
    filter_by(page, sort="score")
    assert_by_score_unscored_last(queue_rows(page))
    filter_by(page, sort="date")
    started = [db.session.get(Inspection, i).started_at for i in queue_rows(page)]
    assert started == sorted(started, reverse=True)
    shot(page, f"office-day-11-queue-by-date-{size}")


def test_11_tasks_filter_by_unit_sort_oldest_reply_first_and_mark_reused_photos(
    page, live_server, world, size
):
    earlier, later = replies_old_and_reused(world)
    sign_in(page, live_server, world.users[Role.office_admin].username)

    page.goto(f"{live_server}/console/tasks?view=responded")
    filter_by(page, sort="reply")
    hrefs = page.eval_on_selector_all(
        "a[href^='/console/tasks/']", "els => els.map(a => a.getAttribute('href'))"
    )
    order = [int(h.rsplit("/", 1)[1]) for h in hrefs if h.rsplit("/", 1)[1].isdigit()]
    assert order.index(earlier.id) < order.index(later.id)
    row = page.locator(f"tr:has(a[href='/console/tasks/{later.id}'])")
    assert row.locator("[data-reused]").inner_text() == "整改照片与已有照片近似"
    assert row.locator("[data-reused]").is_visible()
    other = page.locator(f"tr:has(a[href='/console/tasks/{earlier.id}'])")
    assert other.locator("[data-reused]").count() == 0
    shot(page, f"office-day-11-tasks-by-reply-{size}")

    page.goto(f"{live_server}/console/tasks?view=all")
    filter_by(page, q=world.unit_b.name)
    assert list_total(page) == 1
    filter_by(page, q=world.unit_a.name)
    assert list_total(page) == 2
    filter_by(page, q="不存在的单位")
    assert list_total(page) == 0
