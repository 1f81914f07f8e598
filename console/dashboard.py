"""The dashboard's numbers, and a bar chart drawn as server-side SVG (no JS library).

Everything on it is the reader's scope: a town office's subtree, a lead unit's sector, the
whole city for a city-wide office. A figure that links to a list is counted with that
list's own query and filters, so the two agree by construction; a figure whose list the
reader may not open is not shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple

from flask import Flask, current_app, url_for

from accounts.models import Role, User
from api.pagination import count_of
from console.common import may_open
from core.clock import DISPLAY_TZ, local, utcnow
from org import queries as org_queries


@dataclass(frozen=True)
class Period:
    """The reporting period the dashboard shows, in the city's calendar."""

    key: str
    label: str
    first_day: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), tzinfo=DISPLAY_TZ).astimezone(UTC)


PERIODS = {"month": "本月", "quarter": "本季度", "year": "本年"}


def period_of(key: str, today: date | None = None) -> Period:
    today = today or local(utcnow()).date()
    if key == "month":
        first = today.replace(day=1)
    elif key == "year":
        first = today.replace(month=1, day=1)
    else:
        key, first = "quarter", today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    return Period(key, PERIODS[key], first)


# Panels (inspections this period, open tasks …) are callables (period, actor) → Panel, and
# figures for the row of numbers at the top are callables (period, actor) → [Figure]. Both
# lists are the app's, filled from init_app functions (console.panels) through
# `add_panels` and `add_figures`.
PANELS = "console_panels"
FIGURES = "console_figures"


class Figure(NamedTuple):
    """One number: style "" | "warn" | "flag"; `endpoint` and `args` the list it counts
    (None: a number with no list); `roles` narrows who sees it beyond that list's own
    `@requires` (a number that is always nought for someone is noise to them)."""

    label: str
    value: str | int
    style: str = ""
    endpoint: str | None = None
    args: dict[str, Any] = {}
    roles: frozenset[Role] | None = None

    @property
    def link(self) -> str | None:
        return url_for(self.endpoint, **self.args) if self.endpoint else None

    def shown_to(self, actor: User) -> bool:
        if self.roles is not None and actor.role not in self.roles:
            return False
        return self.endpoint is None or may_open(self.endpoint, actor)


def figure(
    label: str,
    value: str | int,
    style: str = "",
    endpoint: str | None = None,
    roles: Iterable[Role] | None = None,
    **args: Any,
) -> Figure:
    return Figure(label, value, style, endpoint, args, frozenset(roles) if roles else None)


def init_app(app: Flask) -> None:
    app.extensions[PANELS] = []
    app.extensions[FIGURES] = []


def add_panels(app: Flask, *makers: Callable[[Period, User], Panel]) -> None:
    app.extensions[PANELS].extend(makers)


def add_figures(app: Flask, *makers: Callable[[Period, User], list[Figure]]) -> None:
    app.extensions[FIGURES].extend(makers)


@dataclass
class Bar:
    label: str
    value: float
    note: str = ""


@dataclass
class Panel:
    title: str
    bars: list[Bar] = field(default_factory=list)
    unit: str = ""
    empty: str = "暂无数据"

    def chart(self, width: int = 340, row: int = 28) -> dict:
        """Geometry for the template's SVG: one horizontal bar a row, the label on its left
        and the value on its right, each column as wide as its longest text (14 px font:
        a Chinese character is about 14 px wide, a digit about 8).

        The SVG scales to its card, so the drawing is about as wide as the narrowest card
        (a phone's, a third of a laptop screen): text stays at 12 px or more on screen."""

        def text_width(text: str) -> int:
            return sum(14 if ord(ch) > 0x2E80 else 8 for ch in text)

        texts = [f"{_number(b.value)}{self.unit}{b.note}" for b in self.bars]
        top = max((b.value for b in self.bars), default=0) or 1
        label_w = min(150, max((text_width(b.label) for b in self.bars), default=40) + 12)
        value_w = max((text_width(t) for t in texts), default=40) + 10
        span = max(width - label_w - value_w, 50)
        return {
            "width": max(width, label_w + span + value_w),
            "height": row * len(self.bars) + 8,
            "rows": [
                {
                    "y": i * row + 4,
                    "label": b.label,
                    "text": text,
                    "w": round(span * b.value / top, 1),
                }
                for i, (b, text) in enumerate(zip(self.bars, texts, strict=True))
            ],
            "label_w": label_w,
            "row": row,
        }


def _number(value: float) -> str:
    return f"{value:.1f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"


def units_by_sector(period: Period, actor: User) -> Panel:
    rows = org_queries.active_units_by_sector(actor)
    return Panel("各行业领域窗口单位数", [Bar(name, count) for name, count in rows], "个")


def unit_figures(period: Period, actor: User) -> list[Figure]:
    from org import service as org

    active = count_of(org.units_query(actor, {"active": True}))
    return [figure("在册窗口单位", active, "", "console.units", active="1")]


def build(period: Period | None = None, *, actor: User) -> dict:
    period = period or period_of("quarter")
    panels = [make(period, actor) for make in current_app.extensions[PANELS]]
    panels.append(units_by_sector(period, actor))
    makers = [unit_figures, *current_app.extensions[FIGURES]]
    figures = [f for make in makers for f in make(period, actor) if f.shown_to(actor)]
    return {"panels": panels, "figures": figures, "period": period, "periods": PERIODS}
