"""办公时间: a unit's service hours, as the weekly intervals it is open.

Stored on the unit as JSON, one key per weekday that has hours ("mon" … "sun"), each a list
of ["HH:MM", "HH:MM"] intervals in the city's clock (Asia/Shanghai), sorted and disjoint::

    {"mon": [["08:30", "12:00"], ["14:00", "17:30"]], …, "fri": [...]}

A day without a key is closed. A unit without hours of its own (None) keeps the usual
government office hours, `DEFAULT`. People write them as text in the import file and see
them as text in the console: "周一至周五 08:30-12:00、14:00-17:30；周六 09:00-12:00".
"""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime, time, timedelta
from typing import Any

from core import errors
from core.clock import DISPLAY_TZ

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")

_WORKDAY = [["08:30", "12:00"], ["14:00", "17:30"]]
DEFAULT: dict[str, list[list[str]]] = {day: _WORKDAY for day in DAYS[:5]}

Hours = dict[str, list[list[str]]]

_CLOCK = re.compile(r"([01]?[0-9]|2[0-4]):([0-5][0-9])", re.ASCII)


def _minutes(text: Any) -> int | None:
    match = _CLOCK.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return None
    value = int(match[1]) * 60 + int(match[2])
    return value if value <= 24 * 60 else None


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def normalise(hours: Any, field: str = "service_hours") -> Hours:
    """Checked hours, sorted, times written HH:MM; InvalidInput naming what is wrong."""
    problems: list[str] = []
    if not isinstance(hours, dict):
        raise errors.InvalidInput(errors={field: ["应为按星期（mon…sun）给出的时段"]})
    clean: Hours = {}
    for day, intervals in hours.items():
        if day not in DAYS:
            problems.append(f"未知的星期“{day}”，应为 {', '.join(DAYS)}")
            continue
        if not isinstance(intervals, list):
            problems.append(f"{_name(day)}的时段应为列表")
            continue
        spans = []
        for interval in intervals:
            pair = interval if isinstance(interval, list) and len(interval) == 2 else None
            start, end = (_minutes(pair[0]), _minutes(pair[1])) if pair else (None, None)
            if start is None or end is None:
                problems.append(f'{_name(day)}的时段 {interval!r} 应写作 ["HH:MM", "HH:MM"]')
            elif start >= end:
                problems.append(f"{_name(day)}的时段 {pair[0]}-{pair[1]} 结束不晚于开始")
            else:
                spans.append((start, end))
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                problems.append(f"{_name(day)}的时段有重叠")
                break
        if spans:
            clean[day] = [[_clock(s), _clock(e)] for s, e in spans]
    if not problems and not clean:
        problems.append("至少需要一个办公时段")
    if problems:
        raise errors.InvalidInput(errors={field: problems})
    return {day: clean[day] for day in DAYS if day in clean}


def _name(day: str) -> str:
    return DAY_NAMES[DAYS.index(day)]


def effective(hours: Hours | None) -> Hours:
    return DEFAULT if hours is None else hours


def sessions_on(hours: Hours | None, day: date) -> list[tuple[datetime, datetime]]:
    """The unit's service intervals on `day`, as aware datetimes in the city's clock."""
    midnight = datetime.combine(day, time(), tzinfo=DISPLAY_TZ)
    return [
        (midnight + timedelta(minutes=_minutes(a)), midnight + timedelta(minutes=_minutes(b)))
        for a, b in effective(hours).get(DAYS[day.weekday()], [])
    ]


def within(hours: Hours | None, start: datetime, end: datetime) -> bool:
    """Whether [start, end] lies in the service hours of one day: both ends inside the
    day's hours (a window may span the lunch break, not the night)."""
    local_start, local_end = start.astimezone(DISPLAY_TZ), end.astimezone(DISPLAY_TZ)
    if local_start >= local_end:
        return False
    sessions = sessions_on(hours, local_start.date())
    return any(a <= local_start < b for a, b in sessions) and any(
        a < local_end <= b for a, b in sessions
    )


# -- text ---------------------------------------------------------------------------------

_DAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_DAY_PART = r"(?:周|星期)([一二三四五六日天七])"
_RANGE = re.compile(rf"{_DAY_PART}\s*(?:[至到~～—–-]\s*{_DAY_PART})?")
_TIMES = re.compile(r"(\d{1,2})[:：](\d{2})\s*[-–—~～至到]\s*(\d{1,2})[:：](\d{2})")


def parse_text(text: str) -> Hours:
    """Hours from what people write: "周一至周五 08:30-12:00, 14:00-17:30；周六 9:00-12:00",
    "每天 00:00-24:00". Parts are separated by ；, ; or a new line; InvalidInput when a part
    cannot be read."""
    raw: Hours = {}
    for part in re.split(r"[;；\n]+", text.strip()):
        part = part.strip()
        if not part:
            continue
        times = _TIMES.findall(part)
        head = _TIMES.split(part)[0] if times else part
        days: list[int] = []
        if re.search(r"每天|每日|全天|全周", head):
            days = list(range(7))
        for first, last in _RANGE.findall(head):
            a, b = _DAY[first], _DAY[last or first]
            days.extend(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
        if not days or not times:
            raise errors.InvalidInput(
                errors={"service_hours": [f"无法识别“{part}”，请写作如“周一至周五 08:30-12:00”"]}
            )
        spans = [[f"{int(h1):02d}:{m1}", f"{int(h2):02d}:{m2}"] for h1, m1, h2, m2 in times]
        for day in days:
            raw.setdefault(DAYS[day], []).extend(spans)
    return normalise(raw)


def as_text(hours: Hours | None) -> str:
    """Hours as people read them, days with the same hours run together."""
    hours = effective(hours)
    parts: list[str] = []
    day = 0
    while day < 7:
        spans = hours.get(DAYS[day])
        if not spans:
            day += 1
            continue
        last = day
        while last + 1 < 7 and hours.get(DAYS[last + 1]) == spans:
            last += 1
        days = DAY_NAMES[day] if last == day else f"{DAY_NAMES[day]}至{DAY_NAMES[last]}"
        parts.append(f"{days} " + "、".join(f"{a}-{b}" for a, b in spans))
        day = last + 1
    return "；".join(parts)
