"""The checklist builder's kind settings and 放弃草稿 in real Chromium, at a desktop's
1280 px and a phone's 390 px (where the sections fold, one open at a time). Screenshots
land in test-artifacts/builder-settings-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from checklists import library
from checklists.models import ChecklistVersion
from core.db import db
from tests.console.browser import no_sideways_scroll, shot, sign_in, submit

pytestmark = pytest.mark.browser


@pytest.fixture
def page(sized_page):
    return sized_page


def test_office_sets_a_choice_items_options_then_discards_the_draft(page, live_server, world, size):
    published = library.install_default()
    db.session.commit()
    sections = published.content["sections"]
    first, second = sections[0], sections[1]
    item = second["items"][0]
    sign_in(page, live_server, world.users[Role.office_admin].username)
    page.goto(f"{live_server}/console/checklists")
    submit(page, page.locator(f"[data-new-draft={published.template.code}]"))
    assert "/edit" in page.url
    folds = page.locator("details.draft-section")
    assert folds.count() == len(sections)
    opened = page.locator("details.draft-section[open]")
    if size == "phone":  # one section at a time; opening another folds the first
        assert opened.count() == 1
        assert opened.first.get_attribute("id") == f"section-{first['code']}"
        page.locator(f"#section-{second['code']} > summary").click()
        # The toggle event comes after the click: wait for the fold (no timing assumed).
        expect(page.locator("details.draft-section[open]")).to_have_count(1)
        assert page.locator(f"#section-{second['code']}").get_attribute("open") is not None
    else:
        assert opened.count() == len(sections)
    assert no_sideways_scroll(page) <= 0
    shot(page, f"builder-settings-1-folded-{size}")

    # The item becomes a single choice: its options box appears with the kind.
    page.locator(f"tr[data-item='{item['code']}'] a", has_text="编辑").click()
    assert page.locator("#settings-choice").is_hidden()
    page.select_option("select[name=kind]", "single_choice")
    assert page.locator("#settings-choice").is_visible()
    assert page.locator("#settings-score").is_hidden()
    page.fill("input[name=option-0-label]", "设置规范")
    submit(page, page.locator("button[value=save]"))
    # One option is refused beside the options, as typed.
    assert "单选至少需要两个选项" in page.locator(".refusal").inner_text()
    assert page.locator("input[name=option-0-label]").input_value() == "设置规范"
    page.fill("input[name=option-1-label]", "缺少或不规范")
    page.check("input[name=option-1-fail]")
    assert no_sideways_scroll(page) <= 0
    shot(page, f"builder-settings-2-options-{size}")
    submit(page, page.locator("button[value=save]"))
    assert "检查项已保存" in page.locator(".flash").inner_text()
    row = page.locator(f"tr[data-item='{item['code']}']")
    assert row.is_visible()  # the page returns to the item's section, open
    assert "单选" in row.inner_text()

    db.session.expire_all()
    draft = db.session.scalars(
        db.select(ChecklistVersion).where(
            ChecklistVersion.template_id == published.template_id, ChecklistVersion.number == 2
        )
    ).one()
    draft_id, published_id = draft.id, published.id
    saved = next(i for i in draft.content["sections"][1]["items"] if i["code"] == item["code"])
    assert saved["options"] == [
        {"value": "o1", "label": "设置规范", "fail": False},
        {"value": "o2", "label": "缺少或不规范", "fail": True},
    ]

    # Preview: the inspector sees the two options.
    page.click("#preview")
    shown = page.locator(f"fieldset[data-item='{item['code']}']").inner_text()
    assert "设置规范" in shown
    assert "缺少或不规范" in shown
    page.click("text=返回编辑草稿")

    # 放弃草稿: ticked, then gone; the published version stays.
    page.locator("#discard input[name=confirm]").check()
    shot(page, f"builder-settings-3-discard-{size}")
    submit(page, page.locator("#discard-draft"))
    assert page.url.endswith("/console/checklists")
    assert "已放弃第 2 版草稿" in page.locator(".flash").inner_text()
    shot(page, f"builder-settings-4-discarded-{size}")
    db.session.expire_all()
    assert db.session.get(ChecklistVersion, draft_id) is None
    assert db.session.get(ChecklistVersion, published_id) is not None
