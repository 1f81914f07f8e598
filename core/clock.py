"""Time in one place: UTC for storage and the wire, Asia/Shanghai for people."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

DISPLAY_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local(value: datetime) -> datetime:
    """The moment as a clock in the office would show it."""
    return value.astimezone(DISPLAY_TZ)


def day_start(day: date) -> datetime:
    """The instant a local calendar day begins (midnight in Asia/Shanghai), in UTC."""
    return datetime.combine(day, time(), tzinfo=DISPLAY_TZ).astimezone(UTC)


# The years the application works in, on the city's clock. Every date and time that enters
# from outside (a plan's period, a check-in, a photo's time, a date filter, a camera's
# EXIF clock) must lie in them: far wider than any real use, and narrow enough that every
# conversion made from it (a day's first instant in UTC, the month or period before or
# after it) stays inside what `datetime` can hold. Near year 1 or 9999 those conversions
# overflow.
FIRST_YEAR, LAST_YEAR = 2000, 2099
FIRST_DAY, LAST_DAY = date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)
# What a person is told when a date or time is outside them.
OUT_OF_RANGE_DAY = f"日期超出允许范围（{FIRST_YEAR}—{LAST_YEAR} 年）"
OUT_OF_RANGE_TIME = f"时间超出允许范围（北京时间 {FIRST_YEAR}—{LAST_YEAR} 年）"
_FIRST_INSTANT = datetime(FIRST_YEAR, 1, 1, tzinfo=DISPLAY_TZ)
_END_INSTANT = datetime(LAST_YEAR + 1, 1, 1, tzinfo=DISPLAY_TZ)


def day_in_range(day: date) -> bool:
    """The day lies in FIRST_YEAR..LAST_YEAR."""
    return FIRST_DAY <= day <= LAST_DAY


def instant_in_range(moment: datetime) -> bool:
    """The aware moment lies in FIRST_YEAR..LAST_YEAR on the city's clock, whatever offset
    it was written with. Comparing aware datetimes converts nothing, so it cannot overflow
    (`astimezone` near the calendar's ends does)."""
    return _FIRST_INSTANT <= moment < _END_INSTANT
