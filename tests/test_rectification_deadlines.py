"""Deadlines: calendar or working days, Chinese public holidays and 调休, and dates the
holiday library does not cover yet."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest

from rectification.deadlines import add_days, days_for, deadline_for, is_working_day

CONFIG = {
    "RECTIFICATION_DAYS_BY_SEVERITY": {"severe": 3, "major": 7, "general": 15},
    "RECTIFICATION_DEFAULT_DAYS": 10,
    "RECTIFICATION_DAY_MODE": "working",
}


@pytest.mark.parametrize(
    ("start", "days", "mode", "due"),
    [
        (date(2026, 9, 28), 3, "calendar", date(2026, 10, 1)),  # calendar days ignore holidays
        (date(2026, 9, 30), 1, "working", date(2026, 10, 8)),  # 国庆 1–7 October 2026
        (date(2026, 10, 9), 1, "working", date(2026, 10, 10)),  # Saturday made a working day
        (date(2026, 9, 18), 1, "working", date(2026, 9, 20)),  # Sunday made a working day
        (date(2026, 2, 13), 3, "working", date(2026, 2, 25)),  # 春节
        (date(2026, 11, 20), 5, "working", date(2026, 11, 27)),  # an ordinary week
    ],
)
def test_add_days(start, days, mode, due):
    assert add_days(start, days, mode) == due


def test_beyond_the_holiday_data_counts_weekdays_without_fixed_holidays(caplog):
    with caplog.at_level(logging.WARNING):
        assert add_days(date(2030, 1, 4), 1, "working") == date(2030, 1, 7)  # Fri → Mon
        assert not is_working_day(date(2030, 10, 2))  # 国庆 is on fixed dates
        assert not is_working_day(date(2031, 1, 1))  # 元旦
        assert is_working_day(date(2030, 10, 8))
    assert "no holiday data for 2030" in caplog.text


@pytest.mark.parametrize(
    ("severity", "finding_days", "days"),
    [
        ("severe", None, 3),  # no item default: the severity's days
        ("general", None, 15),
        ("severe", 10, 10),  # the item's default as the office confirmed it wins
        ("general", 0, 0),  # 当日整改: by the end of the day it opens
        ("unheard-of", None, 10),  # RECTIFICATION_DEFAULT_DAYS
    ],
)
def test_days_come_from_the_finding_or_its_severity(severity, finding_days, days):
    assert days_for(severity, finding_days, CONFIG) == days


def test_the_deadline_passes_at_midnight_in_shanghai():
    # 20:00 UTC on Friday 20 Nov is Saturday 04:00 in Shanghai: count from Saturday.
    deadline = deadline_for(
        "severe", None, opened_at=datetime(2026, 11, 20, 20, 0, tzinfo=UTC), config=CONFIG
    )
    assert deadline.due_on == date(2026, 11, 25)
    assert deadline.due_at == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
