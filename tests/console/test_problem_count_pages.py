"""问题数 on the console's pages and in its 导出台账: the problems (findings not dismissed),
as every list counts them; the office also reads how many it dismissed, a lead unit never
(tests/problem_support.py has the scene; tests/test_problem_counts.py the API and documents)."""

from __future__ import annotations

import re

import pytest

from core.db import db
from tests.inspection_helpers import publish_checklist
from tests.problem_support import (
    THREE,
    assert_ledger_counts_problems,
    ledger_rows,
    make_scene,
    publish,
    reader,
    review,
    submit,
)


@pytest.fixture
def scene(world, client_for, office):
    return make_scene(world, client_for, office)


def test_the_consoles_ledger_counts_the_same(scene, office_console):
    rows = ledger_rows(
        office_console.client.get("/console/ledgers/inspections.xlsx?status=published")
    )
    assert_ledger_counts_problems(rows, scene, "office")


def sign_in(console, world, name: str):
    response = console.sign_in(reader(world, name).username)
    assert response.status_code == 302
    return console


@pytest.mark.parametrize("name", ["office", "lead"])
def test_console_pages_count_the_problems(world, scene, console, name):
    three, _none_left = scene
    sign_in(console, world, name)
    page = console.get(f"/console/inspections/{three}").get_data(as_text=True)
    count = re.search(r'<span id="problem-count">([^<]*)</span>', page).group(1)
    assert count == ("2 个问题（另有 1 个不予认定）" if name == "office" else "2 个问题")
    if name == "lead":
        # (the checklist's answers still read as the inspector gave them: left as designed)
        assert "不予认定" not in page
    unit_page = console.get(f"/console/units/{world.unit_a.id}").get_data(as_text=True)
    counts = re.findall(r'<td data-label="问题数">(\d+)</td>', unit_page)
    assert sorted(counts) == ["0", "2"]
    results = console.get("/console/results").get_data(as_text=True)
    assert sorted(re.findall(r'<td data-label="问题">(\d+)</td>', results)) == ["0", "2"]


def test_the_review_queue_counts_the_problems(world, client_for, office, office_console):
    publish_checklist()
    db.session.commit()
    result = submit(client_for, world, THREE)
    review(office, result, "dress.badge", "dismissed")
    page = office_console.get("/console/inspections").get_data(as_text=True)
    cell = re.search(r'<td data-label="问题">(.*?)</td>', page, re.S).group(1)
    assert cell.startswith("2<br>")
    assert "2 待审核" in cell
    review(office, result, "dress.uniform", "confirmed")
    review(office, result, "smoke.none", "confirmed")
    publish(office, result["id"])
    page = office_console.get("/console/inspections?status=published").get_data(as_text=True)
    assert re.findall(r'<td data-label="问题">(.*?)</td>', page, re.S) == ["2"]
