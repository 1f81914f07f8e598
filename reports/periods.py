"""The period a report covers: a month, a quarter, a year, a custom span of days, or one plan.

An inspection belongs to the period of the day it was carried out (`started_at`, read on
the office's clock, Asia/Shanghai). A period knows the one before it, of the same kind and
length, so a ranking can show each unit's movement; a plan has no "previous".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_

from core import errors
from core.clock import DISPLAY_TZ, local, utcnow
from inspections.models import Inspection, Plan

KINDS = ("month", "quarter", "year", "custom", "plan")
KIND_LABELS = {
    "month": "月度",
    "quarter": "季度",
    "year": "年度",
    "custom": "自定义",
    "plan": "按计划",
}
QUARTER_NAMES = ("第一季度", "第二季度", "第三季度", "第四季度")
MAX_CUSTOM_DAYS = 3 * 366


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=DISPLAY_TZ).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    kind: str
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    plan: Plan | None = None

    @property
    def label(self) -> str:
        if self.plan is not None:
            return f"“{self.plan.name}”"
        if self.kind == "month":
            return f"{self.start.year}年{self.start.month}月"
        if self.kind == "quarter":
            return f"{self.start.year}年{QUARTER_NAMES[(self.start.month - 1) // 3]}"
        if self.kind == "year":
            return f"{self.start.year}年"
        return f"{_cn(self.start)}至{_cn(self.end)}"

    @property
    def slug(self) -> str:
        """ASCII, for file names."""
        if self.plan is not None:
            return f"plan-{self.plan.id}"
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "year":
            return f"{self.start.year}"
        return f"{self.start:%Y%m%d}-{self.end:%Y%m%d}"

    def clause(self) -> ColumnElement[bool]:
        """Inspections of this period (a plan: the plan's inspections, whenever done)."""
        if self.plan is not None:
            return Inspection.plan_id == self.plan.id
        return and_(
            Inspection.started_at >= _day_start(self.start),
            Inspection.started_at < _day_start(self.end + timedelta(days=1)),
        )

    def previous(self) -> Period | None:
        if self.plan is not None:
            return None
        if self.kind == "month":
            end = self.start - timedelta(days=1)
            return Period("month", end.replace(day=1), end)
        if self.kind == "quarter":
            end = self.start - timedelta(days=1)
            return Period("quarter", date(end.year, end.month - 2, 1), end)
        if self.kind == "year":
            return Period(
                "year", date(self.start.year - 1, 1, 1), date(self.start.year - 1, 12, 31)
            )
        length = self.end - self.start
        end = self.start - timedelta(days=1)
        return Period("custom", end - length, end)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "label": self.label,
            "plan_id": self.plan.id if self.plan is not None else None,
        }


def _cn(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _month_end(year: int, month: int) -> date:
    first_next = date(year + month // 12, month % 12 + 1, 1)
    return first_next - timedelta(days=1)


def period_of(args: dict, plan: Plan | None = None) -> Period:
    """The period the query arguments name (`period`, `year`, `month`, `quarter`,
    `date_from`, `date_to`; `plan` already looked up by the caller). Without a year: this
    year on the office's clock; without a month or quarter: the current one."""
    kind = args.get("period") or "month"
    if kind == "plan":
        if plan is None:
            raise errors.InvalidInput(errors={"plan_id": ["按计划统计时必填"]})
        return Period("plan", plan.period_start, plan.period_end, plan)
    today = local(utcnow()).date()
    year = args.get("year") or today.year
    if kind == "month":
        month = args.get("month") or (today.month if year == today.year else 12)
        return Period("month", date(year, month, 1), _month_end(year, month))
    if kind == "quarter":
        quarter = args.get("quarter") or ((today.month - 1) // 3 + 1 if year == today.year else 4)
        first = 3 * (quarter - 1) + 1
        return Period("quarter", date(year, first, 1), _month_end(year, first + 2))
    if kind == "year":
        return Period("year", date(year, 1, 1), date(year, 12, 31))
    start, end = args.get("date_from"), args.get("date_to")
    problems = {}
    if start is None:
        problems["date_from"] = ["自定义时段须填写起止日期"]
    if end is None:
        problems["date_to"] = ["自定义时段须填写起止日期"]
    if not problems and end < start:
        problems["date_to"] = ["结束日期不能早于开始日期"]
    if not problems and (end - start).days > MAX_CUSTOM_DAYS:
        problems["date_to"] = ["自定义时段最长三年"]
    if problems:
        raise errors.InvalidInput(errors=problems)
    return Period("custom", start, end)
