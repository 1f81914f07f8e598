"""An office's day in real Chromium, at a laptop's 1366×768 and a phone's 390×844: the
refusal in sight at the form it refused, shortcuts that never type, photos paged by
button and swipe, a readable extension table, chart labels of 12 px or more, and no
English identifier in any page's visible text on the demo data.

Screenshots land in test-artifacts/office-day-*.png for a person to look at.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import Role, User
from core.clock import local, utcnow
from core.db import db
from inspections.models import Finding, FindingStatus
from rectification import service as rectification
from rectification.models import RectificationTask, TaskStatus
from tests.conftest import PASSWORD
from tests.console.browser import shot, sign_in, submit
from tests.console.support import inspection_to_review, responded_task

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}  # this file's pages


@pytest.fixture
def page(sized_page):
    return sized_page


def in_view(page, selector: str) -> bool:
    return page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
                      return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }""",
        selector,
    )


def test_shortcuts_never_type_and_a_refusal_shows_at_its_form(page, live_server, world, size):
    inspection = inspection_to_review(world)
    first, second = db.session.scalars(
        select(Finding).where(Finding.inspection_id == inspection.id).order_by(Finding.id)
    ).all()
    sign_in(page, live_server, world.users[Role.office_admin].username)
    page.goto(f"{live_server}/console/inspections/{inspection.id}")
    # N twice: the second finding's row is chosen; no key went into a field.
    page.keyboard.press("n")
    page.keyboard.press("n")
    assert page.locator("tr[data-finding].current").get_attribute("id") == f"finding-{second.id}"
    assert page.evaluate("document.activeElement.tagName") == "TR"
    values = page.eval_on_selector_all("input[name=reason]", "els => els.map(e => e.value)")
    assert values == ["", "", ""]  # each finding's reason and the bulk bar's
    page.keyboard.press("p")
    assert page.locator("tr[data-finding].current").get_attribute("id") == f"finding-{first.id}"

    # Dismiss the first with a raised severity, a deadline and "n" as the reason: refused.
    form = page.locator(f"form[action$='/findings/{first.id}/review']")
    form.locator("select[name=severity]").select_option("severe")
    form.locator("input[name=deadline_days]").fill("9")
    form.locator("input[name=reason]").fill("n")
    submit(page, form.locator("button[value=dismiss]"))
    form = page.locator(f"form[action$='/findings/{first.id}/review']")
    refusal = form.locator(".refusal")
    assert "至少 4 个字" in refusal.inner_text()
    assert "reason" not in refusal.inner_text()
    page.wait_for_timeout(300)  # the scroll to the refusal
    assert in_view(page, f"form[action$='/findings/{first.id}/review'] .refusal")
    assert form.locator("select[name=severity]").input_value() == "severe"
    assert form.locator("input[name=deadline_days]").input_value() == "9"
    assert form.locator("input[name=reason]").input_value() == "n"
    shot(page, f"office-day-refusal-at-form-{size}")

    # A sentence goes through; the badge says 不予认定.
    form.locator("input[name=reason]").fill("照片显示为室外吸烟区")
    submit(page, form.locator("button[value=dismiss]"))
    assert "已不予认定问题" in page.locator(".flash").first.inner_text()
    row = page.locator(f"#finding-{first.id} + tr.finding-row [data-status]")
    assert row.inner_text() == "不予认定"
    db.session.expire_all()
    assert db.session.get(Finding, first.id).status == FindingStatus.dismissed


def test_the_enlarged_photo_pages_by_button_and_swipe(page, live_server, world, size):
    inspection = inspection_to_review(world)
    sign_in(page, live_server, world.users[Role.office_admin].username)
    page.goto(f"{live_server}/console/inspections/{inspection.id}")
    page.locator("[data-photo] img").first.click()
    page.wait_for_selector("#lightbox[open]")
    caption = page.locator("#lightbox [data-caption]")
    assert "（1 / 2）" in caption.inner_text()
    assert "1.1 工作人员统一着装" in caption.inner_text()  # the item by number and title
    page.locator("#lightbox [data-next]").click()
    assert "（2 / 2）" in caption.inner_text()
    page.locator("#lightbox [data-prev]").click()
    assert "（1 / 2）" in caption.inner_text()
    # A swipe to the left: the next photo.
    page.evaluate(
        """() => {
          const box = document.getElementById('lightbox');
          const touch = (x) => new Touch({identifier: 1, target: box, clientX: x, clientY: 300});
          box.dispatchEvent(new TouchEvent('touchstart', {touches: [touch(300)],
                                                          changedTouches: [touch(300)]}));
          box.dispatchEvent(new TouchEvent('touchend', {touches: [],
                                                        changedTouches: [touch(150)]}));
        }"""
    )
    assert "（2 / 2）" in caption.inner_text()
    page.wait_for_function("document.querySelector('#lightbox img').naturalWidth > 0")
    shot(page, f"office-day-lightbox-{size}")
    page.keyboard.press("Escape")
    assert page.locator("#lightbox[open]").count() == 0


def test_a_rejection_sets_a_new_deadline_and_the_extension_table_reads_on_a_phone(
    page, live_server, world, size
):
    task = responded_task(world)
    new_due = local(utcnow()).date() + timedelta(days=20)
    sign_in(page, live_server, world.users[Role.office_admin].username)
    page.goto(f"{live_server}/console/tasks/{task.id}")
    page.fill(".verify input[name=reason]", "整改照片看不到禁烟标识，请补拍入口处")
    page.fill(".verify input[name=due_on]", str(new_due))
    submit(page, page.locator("button[value=reject]"))
    assert "已退回整改" in page.locator(".flash").first.inner_text()
    assert page.locator("h2:has-text('整改前后对比') small").inner_text() == "第 2 轮"
    assert page.locator("#awaiting-round").is_visible()
    assert str(new_due) in page.locator(".facts").inner_text()
    shot(page, f"office-day-task-rejected-{size}")

    db.session.expire_all()
    stored = db.session.get(RectificationTask, task.id)
    assert (stored.status, stored.due_on) == (TaskStatus.open, new_due)
    rectification.request_extension(
        stored,
        {
            "client_id": uuid.uuid4(),
            "due_on": new_due + timedelta(days=10),
            "reason": "需采购新的禁烟标识牌和监控设备，供应商下周到货后安装",
        },
        actor=world.users[Role.unit_staff],
    )
    db.session.commit()
    page.reload()
    reason = page.locator("table.extensions td.reason").first
    width = reason.bounding_box()["width"]
    assert width >= (300 if size == "phone" else 150), width
    # A refused denial (no reason) comes back at its row with the date kept.
    row = page.locator("table.extensions tbody tr").first
    row.locator("input[name=due_on]").fill(str(new_due + timedelta(days=7)))
    submit(page, row.locator("button[value=deny]"))
    row = page.locator("table.extensions tbody tr").first
    assert "驳回延期需要说明理由" in row.locator(".refusal").inner_text()
    assert row.locator("input[name=due_on]").input_value() == str(new_due + timedelta(days=7))
    shot(page, f"office-day-extension-{size}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_chart_labels_are_12px_or_more_and_the_header_names_the_role_once(
    page, live_server, world, size
):
    world.inspections  # noqa: B018 - rows for the charts
    world.task_a  # noqa: B018
    admin = world.users[Role.office_admin]
    # A wrong password keeps the username.
    page.goto(f"{live_server}/console/login")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert page.locator("input[name=username]").input_value() == admin.username
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    page.goto(f"{live_server}/console/?period=year")
    sizes = page.eval_on_selector_all(
        "svg.chart text",
        "els => els.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)",
    )
    assert sizes
    assert min(sizes) >= 12, min(sizes)
    who = page.locator(".who span").first.inner_text()
    assert who.count("（") <= admin.display_name.count("（")
    assert "督查办管理员" in who or "管理员" in who
    shot(page, f"office-day-dashboard-{size}")


# -- no English identifier on any page --------------------------------------------------------

# Dotted or snake_case codes (dress.uniform, office_admin), and the enums' raw values.
IDENTIFIER = re.compile(r"(?<![A-Za-z0-9])[a-z][a-z0-9]*(?:[._][a-z0-9]+)+(?![A-Za-z0-9])")
ENUM_WORDS = re.compile(
    r"(?<![A-Za-z])(pending|submitted|published|confirmed|dismissed|responded|closed|draft|"
    r"announced|unannounced|general|major|severe|pass_fail|single_choice|working|calendar)"
    r"(?![A-Za-z])"
)


def test_no_english_identifier_in_any_pages_visible_text_on_demo_data(
    browser, live_server, demo_city
):
    from tests.console.test_demo_console import console_urls

    urls = console_urls()
    usernames = set(db.session.scalars(select(User.username)))
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, live_server, "admin")
    found = {}
    extra = [
        "/console/?period=month",
        "/console/inspections?status=all",
        "/console/inspections?status=published",
        "/console/tasks?view=all",
    ]
    for url in urls + extra:
        page.goto(f"{live_server}{url}")
        text = page.evaluate("document.body.innerText")
        words = {w for w in IDENTIFIER.findall(text) if w not in usernames}
        words |= set(ENUM_WORDS.findall(text))
        if words:
            found[url] = sorted(words)
    context.close()
    assert not found
