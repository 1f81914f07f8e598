"""Deadlines: how many days a finding gets, counted in calendar or working days.

Working days follow the State Council's holiday schedule through `chinese-calendar`,
including the weekend days that become working days (调休). The library only knows the
years the State Council has announced (its data ends with the newest notice, published
each November or December). For a later date we fall back to Monday–Friday minus the
statutory holidays that have fixed Gregorian dates (元旦, 劳动节, 国庆), and log it once: a
deadline must never fail to be computed, and a missed lunar holiday or 调休 only moves it
a day or two — the office can grant an extension.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import chinese_calendar

from core.clock import DISPLAY_TZ

log = logging.getLogger(__name__)
_warned_years: set[int] = set()
# 《全国年节及纪念日放假办法》 (2025): the holidays on fixed Gregorian dates.
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


# How a deadline's days are counted, in words: every page that states a deadline in days
# says which (RECTIFICATION_DAY_MODE decides for new tasks; a task keeps its own mode).
DAY_UNITS = {"working": "工作日", "calendar": "自然日"}


def is_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning(
                "chinese-calendar has no holiday data for %s; counting Monday-Friday. "
                "Upgrade chinese-calendar once the State Council publishes the schedule.",
                day.year,
            )
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


def add_days(start: date, days: int, mode: str) -> date:
    """The local date `days` days after `start` (start itself not counted).

    Working days: the n-th working day after `start`. A deadline never lands on a day off.
    """
    if mode == "calendar":
        return start + timedelta(days=days)
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def end_of_day(day: date) -> datetime:
    """The instant a deadline passes: midnight after `day` in Asia/Shanghai."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=DISPLAY_TZ)


@dataclass(frozen=True)
class Deadline:
    days: int
    mode: str
    due_on: date
    due_at: datetime


def days_for(severity: str, finding_days: int | None, config) -> int:
    """The finding's own deadline when it has one — the checklist item's default, as the
    office confirmed or changed it in review (0: by the end of the day it opens) — else
    the severity's days from RECTIFICATION_DAYS_BY_SEVERITY, else RECTIFICATION_DEFAULT_DAYS.
    """
    if finding_days is not None and finding_days >= 0:
        return finding_days
    days = config["RECTIFICATION_DAYS_BY_SEVERITY"].get(severity)
    if days is None:
        log.warning("no deadline configured for severity %r; using the default", severity)
        return config["RECTIFICATION_DEFAULT_DAYS"]
    return days


def deadline_for(
    severity: str, finding_days: int | None, *, opened_at: datetime, config
) -> Deadline:
    days = days_for(severity, finding_days, config)
    mode = config["RECTIFICATION_DAY_MODE"]
    due_on = add_days(opened_at.astimezone(DISPLAY_TZ).date(), days, mode)
    return Deadline(days=days, mode=mode, due_on=due_on, due_at=end_of_day(due_on))
