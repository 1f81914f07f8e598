"""窗口单位 in real Chromium, at a desktop's 1280 px and a phone's 390 px: the list and its
filter, one unit's record, the edit form, and an import whose bad row is reported.

Screenshots land in test-artifacts/units-*.png for a person to look at.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import Role
from core.clock import utcnow
from core.db import db
from org.models import Unit
from tests.console.browser import shot, sign_in, submit
from tests.console.support import FAILING
from tests.console.test_office_day_browser import ENUM_WORDS, IDENTIFIER
from tests.console.test_unit_pages import HEADER, _inspect
from tests.inspection_helpers import publish_checklist
from tests.rectification_support import open_task

pytestmark = pytest.mark.browser


@pytest.fixture
def page(sized_page):
    return sized_page


def english_in(page) -> set[str]:
    """Codes and raw enum values in what the page shows (not in its markup)."""
    text = page.evaluate("document.body.innerText")
    return set(IDENTIFIER.findall(text)) | set(ENUM_WORDS.findall(text))


def fits(page) -> bool:
    """Nothing scrolls sideways: the page, nor a table inside its frame."""
    overflow = page.evaluate(
        """Math.max(document.documentElement.scrollWidth - window.innerWidth,
            ...Array.from(document.querySelectorAll('.table-wrap'),
                          (e) => e.scrollWidth - e.clientWidth))"""
    )
    return overflow <= 0


def test_office_finds_reads_edits_and_imports_units(page, live_server, world, size):
    publish_checklist()
    _inspect(world, FAILING, datetime(2026, 2, 10, 2, tzinfo=UTC))
    _inspect(world, FAILING, datetime(2026, 3, 12, 2, tzinfo=UTC))
    _inspect(world, FAILING | {"smoke.none": {"result": "pass"}}, datetime(2026, 4, 2, tzinfo=UTC))
    late = open_task(world.unit_a, title="入口未张贴禁烟标识")
    late.due_at = utcnow() - timedelta(days=3)
    db.session.commit()
    sign_in(page, live_server, world.users[Role.office_admin].username)

    # The list, filtered by sector.
    page.goto(f"{live_server}/console/units")
    page.select_option("select[name=sector_id]", str(world.sector_a.id))
    submit(page, page.locator(".filters button"))
    assert page.locator(f"text={world.unit_a.name}").count() == 1
    assert page.locator(f"text={world.unit_b.name}").count() == 0
    assert fits(page)
    assert not english_in(page)
    shot(page, f"units-list-{size}")

    # The unit's record.
    submit(page, page.locator(f"a:text('{world.unit_a.name}')"))
    assert page.locator("h1").inner_text().startswith(world.unit_a.name)
    assert page.locator("svg.spark polyline").count() == 1
    assert page.locator("table.repeats tbody tr").count() == 2
    assert "1.1 工作人员统一着装" in page.locator("table.repeats").inner_text()
    assert page.locator("table.tasks .badge.flag").count() == 1
    assert fits(page)
    assert not english_in(page)
    shot(page, f"units-page-{size}")

    # Edit: a bad latitude is refused beside its field, then a good one saves.
    submit(page, page.locator("a:text('编辑')"))
    page.fill("input[name=latitude]", "95")
    page.fill("input[name=address]", "流沙大道 88 号")
    submit(page, page.locator("#unit-form button[type=submit]"))
    assert "应大于等于 -90" in page.locator("[data-field=latitude]").inner_text()
    assert page.input_value("input[name=address]") == "流沙大道 88 号"
    assert not english_in(page)
    shot(page, f"units-edit-refused-{size}")
    page.fill("input[name=latitude]", "23.29")
    submit(page, page.locator("#unit-form button[type=submit]"))
    assert "已保存窗口单位信息" in page.locator(".flash").inner_text()
    assert "流沙大道 88 号" in page.locator("#profile").inner_text()
    db.session.expire_all()
    assert db.session.get(Unit, world.unit_a.id).address == "流沙大道 88 号"

    # Import a file with one bad row: the row is reported, nothing is imported.
    before = db.session.query(Unit).count()
    region = world.unit_a.region.code
    rows = [
        HEADER,
        ["流沙税务办税厅", "", "", "", world.sector_a.name, region, "", "", ""],
        ["错行单位", "", "", "", "不存在的领域", region, "", "", ""],
    ]
    content = "\n".join(",".join(row) for row in rows).encode("utf-8-sig")
    page.goto(f"{live_server}/console/units/import")
    page.set_input_files(
        "input[name=file]", {"name": "单位.csv", "mimeType": "text/csv", "buffer": content}
    )
    submit(page, page.locator("#import-form button[type=submit]"))
    report = page.locator("table.rows").inner_text()
    assert "第 3 行" in report
    assert "行业领域“不存在的领域”不存在" in report
    assert "第 2 行" not in report
    assert fits(page)
    assert not english_in(page)
    shot(page, f"units-import-report-{size}")
    db.session.expire_all()
    assert db.session.query(Unit).count() == before
