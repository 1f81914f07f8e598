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
