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
import unicodedata
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

_WEEKDAY = "一二三四五六日天七"
_DAY_NUMBER = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_TO = r"\s*[至到~～—–-]\s*"
# What people write, one token at a time. Digits are ASCII after NFKC (full-width digits and
# colons become ASCII; other scripts' digits stay and are not read as times).
_TOKEN = re.compile(
    rf"""
    (?P<days>(?:周|星期|礼拜)(?P<first>[{_WEEKDAY}])(?:{_TO}(?:周|星期|礼拜)?(?P<last>[{_WEEKDAY}]))?)
    | (?P<every>每天|每日|天天|全天|全周|全年无休)
    | (?P<workdays>工作日)
    | (?P<weekend>周末|双休日)
    | (?P<closed>休息|闭馆|不办公|不对外办公|关闭)
    | (?P<half>上午|中午|下午|晚上)
    | (?P<times>(?P<h1>[0-9]{{1,2}}):(?P<m1>[0-9]{{2}}){_TO}(?P<h2>[0-9]{{1,2}}):(?P<m2>[0-9]{{2}}))
    | (?P<note>[(\[][^()\[\]0-9:]*[)\]])
    | (?P<gap>[\s,、/和及与:。]+)
    """,
    re.VERBOSE | re.ASCII,
)
_SEPARATORS = re.compile(r"[;\n]+")
_NOTE_WORDS = re.compile(r"周|星期|礼拜|每天|每日|天天|工作日|双休日")


def parse_text(text: str) -> Hours:
    """Hours from what people write: "周一至周五 08:30-12:00, 14:00-17:30；周六 9:00-12:00",
    "工作日 上午8:30-12:00 下午2:00-5:30", "每天 00:00-24:00", "周日休息".

    Days come before their times, and one part may name several groups of days in turn
    ("周一至周五 08:30-17:30，周六 09:00-12:00"). Parts may also be separated by ；, ; or a
    new line. 下午 or 晚上 before a time under 12 means the afternoon or evening. A note in
    brackets without days or times, such as "（法定节假日除外）", is passed over. Anything
    else is refused, naming the text that could not be read: hours are evidence that a
    visit was in a unit's opening time, so nothing written is silently dropped."""
    raw: Hours = {}
    closed: set[str] = set()
    for part in _SEPARATORS.split(unicodedata.normalize("NFKC", text).strip()):
        part = part.strip()
        if part:
            _read_part(part, raw, closed)
    both = [day for day in DAYS if day in closed and day in raw]
    if both:
        raise _unreadable(f"{'、'.join(map(_name, both))}既写了时段又写了休息")
    return normalise(raw)


def _read_part(part: str, raw: Hours, closed: set[str]) -> None:
    """Groups of days, each followed by its times, from one part into `raw`."""
    days: list[int] = []  # the group being read
    named = ""  # its days as written, for messages
    spans: list[list[str]] = []  # its times
    afternoon = False
    at = 0
    while at < len(part):
        token = _TOKEN.match(part, at)
        if token is None:
            rest = part[at:]
            raise _unreadable(f"无法识别“{rest if len(rest) <= 20 else rest[:20] + '…'}”")
        at, kind, written = token.end(), token.lastgroup, token[token.lastgroup]
        if kind in ("days", "every", "workdays", "weekend"):
            if spans:  # the last group's times are done: a new group begins
                _add(raw, days, spans, named)
                days, named, spans = [], "", []
            days.extend(_days_of(token, kind))
            named += written
            afternoon = False
        elif kind == "closed":
            if not days or spans:
                raise _unreadable(f"“{written}”前应写明哪几天")
            closed.update(DAYS[day] for day in days)
            days, named = [], ""
        elif kind == "half":
            afternoon = written in ("下午", "晚上")
        elif kind == "times":
            if not days:
                raise _unreadable(f"时段“{written}”前应写明哪几天")
            spans.append(_span(token))
            if afternoon:
                spans[-1] = [_afternoon(clock) for clock in spans[-1]]
        elif kind == "note" and _NOTE_WORDS.search(written):
            raise _unreadable(f"括号里的“{written}”请写在括号外")
    _add(raw, days, spans, named)


def _add(raw: Hours, days: list[int], spans: list[list[str]], named: str) -> None:
    if days and not spans:
        raise _unreadable(f"“{named}”后面没有时段")
    for day in days:
        raw.setdefault(DAYS[day], []).extend(spans)


def _days_of(token: re.Match, kind: str) -> list[int]:
    if kind == "every":
        return list(range(7))
    if kind == "workdays":
        return list(range(5))
    if kind == "weekend":
        return [5, 6]
    a, b = _DAY_NUMBER[token["first"]], _DAY_NUMBER[token["last"] or token["first"]]
    return list(range(a, b + 1)) if a <= b else [*range(a, 7), *range(0, b + 1)]


def _span(token: re.Match) -> list[str]:
    start, end = f"{token['h1']}:{token['m1']}", f"{token['h2']}:{token['m2']}"
    if _minutes(start) is None or _minutes(end) is None:
        raise _unreadable(f"时间“{token['times']}”不是有效的时刻")
    return [_clock(_minutes(start)), _clock(_minutes(end))]


def _afternoon(clock: str) -> str:
    """下午 2:00 is 14:00; 下午 14:00 stays."""
    minutes = _minutes(clock)
    return _clock(minutes + 12 * 60) if minutes < 12 * 60 else clock


def _unreadable(why: str) -> errors.InvalidInput:
    return errors.InvalidInput(
        errors={"service_hours": [f"{why}，请写作如“周一至周五 08:30-12:00”"]}
    )


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
