"""Export jobs: every ledger export is a row (who, which ledger, which filters, how many
rows). Small ones are written in the request and the row only records them; large ones
are written by the worker, and the row is what the office polls until the file is ready.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import db


class ExportStatus(StrEnum):
    pending = "pending"  # waiting for the worker
    running = "running"  # a worker is writing it (until lease_until)
    done = "done"  # the file is stored under `key` until expires_at
    failed = "failed"
    expired = "expired"  # done once; the file has been swept


EXPORT_STATUS_LABELS = {
    ExportStatus.pending: "排队中",
    ExportStatus.running: "生成中",
    ExportStatus.done: "已完成",
    ExportStatus.failed: "失败",
    ExportStatus.expired: "已过期",
}


class ExportJob(db.Model):
    __tablename__ = "export_job"
    __table_args__ = (Index("ix_export_job_status_created", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The ledger source (reports.ledger.SOURCES): which list's filters `params` are.
    source: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    status: Mapped[ExportStatus] = mapped_column(
        Enum(ExportStatus, native_enum=False, length=12), default=ExportStatus.pending
    )
    # Rows counted when asked (what decided between the request and the worker), then
    # the rows written.
    rows: Mapped[int] = mapped_column(default=0)
    # Links in the sheet are absolute: the address the request came to (or PUBLIC_BASE_URL).
    base_url: Mapped[str] = mapped_column(String(200), default="")
    filename: Mapped[str] = mapped_column(String(120))
    key: Mapped[str | None] = mapped_column(String(200))  # in the storage backend
    size: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]


class CircularPick(db.Model):
    """典型问题: a confirmed finding the office picked for the circular (通报) from the
    inspection's review page. The circular of a period prints the picks whose inspection
    falls in it (published ones only); without any, the most severe finding of each unit.
    One row per finding: picking twice is picking once."""

    __tablename__ = "circular_pick"

    finding_id: Mapped[int] = mapped_column(
        ForeignKey("finding.id", ondelete="CASCADE"), primary_key=True
    )
    picked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    picked_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class MonthFigures:
    """The additive figures of inspections of one month (the city's calendar, by the day
    the visit started) in one status: what rankings and the dashboard sum instead of
    grouping the raw tables.

    Findings and tasks are those of the row's inspections (confirmed findings; tasks by
    their own unit). `repeat_findings` uses the default window (rankings.DEFAULT_REPEAT_MONTHS).
    Figures that depend on "now" (overdue tasks) are not here: they are counted live."""

    month: Mapped[date] = mapped_column(primary_key=True)  # its first day
    status: Mapped[str] = mapped_column(String(20), primary_key=True)  # the inspections'
    inspections: Mapped[int] = mapped_column(default=0)
    score_sum: Mapped[float] = mapped_column(default=0.0)  # effective scores, as stored
    scored: Mapped[int] = mapped_column(default=0)
    percent_sum: Mapped[float] = mapped_column(default=0.0)  # effective score / max × 100
    percent_scored: Mapped[int] = mapped_column(default=0)
    critical: Mapped[int] = mapped_column(default=0)  # 一票否决
    grade_excellent: Mapped[int] = mapped_column(default=0)  # 优秀
    grade_good: Mapped[int] = mapped_column(default=0)  # 良好
    grade_pass: Mapped[int] = mapped_column(default=0)  # 合格
    grade_fail: Mapped[int] = mapped_column(default=0)  # 不合格
    findings: Mapped[int] = mapped_column(default=0)
    repeat_findings: Mapped[int] = mapped_column(default=0)
    tasks: Mapped[int] = mapped_column(default=0)
    tasks_closed: Mapped[int] = mapped_column(default=0)
    tasks_on_time: Mapped[int] = mapped_column(default=0)  # closed by their deadline


# MonthFigures' figures, in the order the rollups write them.
FIGURE_COLUMNS = (
    "inspections",
    "score_sum",
    "scored",
    "percent_sum",
    "percent_scored",
    "critical",
    "grade_excellent",
    "grade_good",
    "grade_pass",
    "grade_fail",
    "findings",
    "repeat_findings",
    "tasks",
    "tasks_closed",
    "tasks_on_time",
)


class UnitMonth(MonthFigures, db.Model):
    """One unit's figures of one month and status. Kept by `reports.rollups` in the
    transaction that changes the rows it counts; `flask reports rebuild-rollups`
    recomputes it all."""

    __tablename__ = "unit_month"
    # Covering on PostgreSQL (every figure): a period's rows are read from the index alone.
    __table_args__ = (
        Index(
            "ix_unit_month_month",
            "month",
            "status",
            postgresql_include=["unit_id", *FIGURE_COLUMNS],
        ),
    )

    # (sort_order: the key's first column, before the mixin's month and status)
    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True, sort_order=-1
    )


class SectorMonth(MonthFigures, db.Model):
    """The sum of `UnitMonth` over the units a sector has now, per month and status: a
    few hundred rows a year for the whole city, where the unit rows are tens of
    thousands. Read for the readers whose scope is whole sectors (a city-wide office, a
    lead unit); kept with `UnitMonth`, in the same transaction, from its rows."""

    __tablename__ = "sector_month"

    sector_id: Mapped[int] = mapped_column(
        ForeignKey("sector.id", ondelete="CASCADE"), primary_key=True, sort_order=-1
    )


class UnitMonthItem(db.Model):
    """Confirmed findings of one unit's published inspections of one month, per checklist
    item: the rankings' most-failed items (kept with `UnitMonth`, by the same keys)."""

    __tablename__ = "unit_month_item"
    # Covering on PostgreSQL: a period's rows are read from the index alone.
    __table_args__ = (
        Index(
            "ix_unit_month_item_month",
            "month",
            postgresql_include=["unit_id", "item_code", "findings", "title"],
        ),
    )

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True
    )
    month: Mapped[date] = mapped_column(primary_key=True)
    item_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    findings: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200), default="")  # the greatest, as raw max()
