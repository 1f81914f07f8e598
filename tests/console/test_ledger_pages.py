"""导出台账 in the console: the button on the review queue and on the task list carries
the page's filters, and the file holds exactly the rows the page lists; a large export
goes to 我的导出, where its file appears once the worker has written it."""

from __future__ import annotations

import html
import io
import re

import pytest
from openpyxl import load_workbook

from accounts.models import Role
from core.db import db
from reports.downloads import run_export_jobs
from reports.xlsx import XLSX
from tests.conftest import IsolatedClient
from tests.console.conftest import ConsoleClient
from tests.test_ledgers import records  # noqa: F401 - the same inspections and tasks

BUTTON = re.compile(r'<a class="button" href="([^"]+)">导出台账</a>')


def ledger_ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == XLSX
    sheet = load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    return [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]


def listed(page: str, pattern: str) -> list[int]:
    return [int(i) for i in dict.fromkeys(re.findall(pattern, page))]


@pytest.mark.parametrize(
    "query",
    ["", "status=published", "status=all", "status=all&flag=far_checkin", "status=submitted"],
)
def test_the_queue_exports_what_it_lists(office_console, world, records, query):  # noqa: F811
    page = office_console.get(f"/console/inspections?per_page=100&{query}").get_data(as_text=True)
    (href,) = BUTTON.findall(page)
    href = html.unescape(href)
    assert href.startswith("/console/ledgers/inspections.xlsx")
    for part in filter(None, query.split("&")):
        assert part in href
    expected = listed(page, r'href="/console/inspections/(\d+)"')
    assert ledger_ids(office_console.client.get(href)) == expected


@pytest.mark.parametrize(
    "query", ["", "view=all", "view=open&overdue=1", "view=all&severity=severe", "view=closed"]
)
def test_the_task_list_exports_what_it_lists(office_console, world, records, query):  # noqa: F811
    page = office_console.get(f"/console/tasks?per_page=100&{query}").get_data(as_text=True)
    (href,) = BUTTON.findall(page)
    href = html.unescape(href)
    for part in filter(None, query.split("&")):
        assert part in href
    expected = listed(page, r'href="/console/tasks/(\d+)"')
    assert ledger_ids(office_console.client.get(href)) == expected


def test_a_lead_unit_exports_its_sectors_tasks_only(console, world, records):  # noqa: F811
    assert console.sign_in(world.users[Role.lead_unit_staff].username).status_code == 302
    ids = ledger_ids(console.client.get("/console/ledgers/tasks.xlsx?view=all"))
    page = console.get("/console/tasks?view=all&per_page=100").get_data(as_text=True)
    assert ids == listed(page, r'href="/console/tasks/(\d+)"')
    units = {
        row[1]
        for row in load_workbook(
            io.BytesIO(console.client.get("/console/ledgers/tasks.xlsx?view=all").get_data())
        )
        .worksheets[0]
        .iter_rows(min_row=2, values_only=True)
    }
    in_sector = {u.name for u in (world.unit_a, records[0][2])}
    assert units <= in_sector
    assert units


def test_a_large_export_waits_in_my_exports_until_the_worker_writes_it(
    make_app,
    world,
    records,  # noqa: F811
):
    app = make_app(LEDGER_SYNC_MAX_ROWS=0)
    app.test_client_class = IsolatedClient
    console = ConsoleClient(app.test_client())
    assert console.sign_in(world.users[Role.office_admin].username).status_code == 302
    response = console.client.get("/console/ledgers/tasks.xlsx?view=all")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/exports")
    page = console.get("/console/exports").get_data(as_text=True)
    assert "已转入后台生成" in page
    assert "排队中" in page
    with app.app_context():
        run_export_jobs()
        db.session.remove()
    page = console.get("/console/exports").get_data(as_text=True)
    (link,) = re.findall(r'href="(/console/exports/\d+/file)"', page)
    tasks_page = console.get("/console/tasks?view=all&per_page=100").get_data(as_text=True)
    assert ledger_ids(console.client.get(link)) == listed(
        tasks_page, r'href="/console/tasks/(\d+)"'
    )
