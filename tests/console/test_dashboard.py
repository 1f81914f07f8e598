"""The dashboard's figures and panels count what is stored."""

from __future__ import annotations

import re
from datetime import date, timedelta

from core.clock import utcnow
from core.db import db
from rectification.deadlines import end_of_day
from tests.console.support import inspection_to_review, responded_task
from tests.rectification_support import open_task


def figure(page: str, label: str) -> str:
    match = re.search(
        r'<span class="value">([^<]+)</span><span class="label">' + re.escape(label), page
    )
    assert match, label
    return match.group(1)


def test_figures_and_panels(office_console, world):
    inspection_to_review(world)
    late = open_task(world.unit_b)
    late.due_on = (utcnow() - timedelta(days=2)).date()
    late.due_at = end_of_day(late.due_on)
    db.session.commit()
    responded_task(world)
    page = office_console.get("/console/?period=year").get_data(as_text=True)
    assert figure(page, "本年检查") == "3"  # the review, and the inspections behind 2 tasks
    assert figure(page, "待审核") == "1"
    assert figure(page, "待整改任务") == "1"
    assert figure(page, "待复查") == "1"
    assert figure(page, "逾期未销号") == "1"
    assert "各行业领域未销号整改任务" in page
    assert f"{world.sector_b.name}</text>" in page
    assert "1项（逾期 1）" in page
    assert "本年各行业领域平均得分" in page


def test_periods_start_where_the_calendar_says():
    from console.dashboard import period_of

    today = date(2026, 11, 23)
    assert period_of("month", today).first_day == date(2026, 11, 1)
    assert period_of("quarter", today).first_day == date(2026, 10, 1)
    assert period_of("year", today).first_day == date(2026, 1, 1)
    assert period_of("nonsense", today).key == "quarter"
