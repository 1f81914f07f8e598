"""The checklist builder in real Chromium, at a desktop's 1280 px and a phone's 390 px:
draft from the published default library, add an item, move it up, preview it as the
inspector's form, publish. Screenshots land in test-artifacts/builder-*.png."""

from __future__ import annotations

import pytest

from accounts.models import Role
from checklists import library
from checklists.models import ChecklistVersion, VersionStatus
from core.db import db
from tests.console.browser import no_sideways_scroll, shot, sign_in, submit

pytestmark = pytest.mark.browser


@pytest.fixture
def page(sized_page):
    return sized_page


def test_office_drafts_edits_previews_and_publishes(page, live_server, world, size):
    published = library.install_default()
    db.session.commit()
    first = published.content["sections"][0]
    sign_in(page, live_server, world.users[Role.office_admin].username)

    # 检查表 → 新建草稿版本: the editor opens on a copy of the published version.
    page.goto(f"{live_server}/console/checklists")
    submit(page, page.locator(f"[data-new-draft={published.template.code}]"))
    assert "/edit" in page.url
    assert "已新建第 2 版草稿" in page.locator(".flash").inner_text()
    assert page.locator("tr[data-item]").count() == published.item_count
    assert no_sideways_scroll(page) <= 0
    shot(page, f"builder-1-draft-{size}")

    # Add an item at the end of the first section, refused once for its points.
    page.locator(f"#section-{first['code']} a.add").click()
    page.fill("textarea[name=title]", "窗口设置老年人、残疾人优先通道标识")
    page.fill("textarea[name=guidance]", "查看窗口台面或入口是否有优先标识")
    page.select_option("select[name=severity]", "major")
    page.fill("input[name=points]", "abc")
    submit(page, page.locator("button[value=save]"))
    # Refused beside the field, with everything typed still there.
    assert page.locator("[data-error=points]").inner_text() == "应为数字"
    assert page.locator("textarea[name=title]").input_value().startswith("窗口设置老年人")
    shot(page, f"builder-2-refused-{size}")
    page.fill("input[name=points]", "2")
    page.check("input[name=fix_on_spot]")
    submit(page, page.locator("button[value=save]"))
    assert "已新增检查项" in page.locator(".flash").inner_text()
    rows = page.locator(f"#section-{first['code']} tr[data-item]")
    count = rows.count()
    new_code = rows.nth(count - 1).get_attribute("data-item")
    assert count == len(first["items"]) + 1

    # Move it up one place.
    submit(page, page.locator(f"tr[data-item='{new_code}'] button[value=up]"))
    rows = page.locator(f"#section-{first['code']} tr[data-item]")
    assert rows.nth(count - 2).get_attribute("data-item") == new_code
    shot(page, f"builder-3-moved-{size}")

    # Preview: the inspector's form, the new item in place with its rules.
    page.click("#preview")
    item = page.locator(f"fieldset[data-item='{new_code}']")
    assert "窗口设置老年人、残疾人优先通道标识" in item.inner_text()
    assert "可立行立改" in item.inner_text()
    assert no_sideways_scroll(page) <= 0
    shot(page, f"builder-4-preview-{size}")

    # Publish.
    page.click("text=返回编辑草稿")
    submit(page, page.locator("#publish"))
    assert "第 2 版已发布" in page.locator(".flash").inner_text()
    shot(page, f"builder-5-published-{size}")

    db.session.expire_all()
    draft = db.session.scalars(
        db.select(ChecklistVersion).where(
            ChecklistVersion.template_id == published.template_id, ChecklistVersion.number == 2
        )
    ).one()
    assert draft.status == VersionStatus.published
    codes = [i["code"] for i in draft.content["sections"][0]["items"]]
    assert codes[-2] == new_code
    added = draft.content["sections"][0]["items"][-2]
    assert (added["points"], added["severity"], added["fix_on_spot"]) == (2, "major", True)
    assert db.session.get(ChecklistVersion, published.id).status == VersionStatus.retired
