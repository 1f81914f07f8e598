"""The dashboard's numbers, and a bar chart drawn as server-side SVG (no JS library)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from core.db import db
from org.models import Sector, Unit

# Other packages add panels (inspections this period, open tasks …): callables → Panel.
PANELS: list[Callable[[], Panel]] = []


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

    def chart(self, width: int = 520, row: int = 26) -> dict:
        """Geometry for the template's SVG: one horizontal bar a row."""
        top = max((b.value for b in self.bars), default=0) or 1
        label_w = 150
        return {
            "width": width,
            "height": row * len(self.bars) + 8,
            "rows": [
                {
                    "y": i * row + 4,
                    "label": b.label,
                    "value": b.value,
                    "note": b.note,
                    "w": round((width - label_w - 60) * b.value / top, 1),
                }
                for i, b in enumerate(self.bars)
            ],
            "label_w": label_w,
            "row": row,
        }


def units_by_sector() -> Panel:
    rows = db.session.execute(
        select(Sector.name, func.count(Unit.id))
        .join(Unit, Unit.sector_id == Sector.id)
        .where(Unit.active.is_(True))
        .group_by(Sector.id, Sector.name)
        .order_by(Sector.id)
    )
    return Panel("各行业领域窗口单位数", [Bar(name, count) for name, count in rows], "个")


def build() -> dict:
    panels = [make() for make in PANELS] + [units_by_sector()]
    total_units = db.session.scalar(select(func.count(Unit.id)).where(Unit.active.is_(True)))
    return {"panels": panels, "total_units": total_units}
