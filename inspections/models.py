"""Plans, draws, visits, inspections and findings."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    func,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User
from checklists.models import ChecklistVersion
from core.clock import utcnow
from core.db import db
from core.geo import CoordSystem
from inspections import draw as dr
from org.models import Unit


def _enum(cls: type[StrEnum], length: int = 20) -> Enum:
    return Enum(cls, native_enum=False, length=length)


# What a reviewer reads for each check-in flag (Inspection.checkin_far, .checkin_imprecise).
CHECKIN_FLAG_LABELS = {"far": "远离单位", "imprecise": "定位精度不足"}


class VisitKind(StrEnum):
    announced = "announced"  # 明察
    unannounced = "unannounced"  # 暗访


# The Chinese for each enum lives beside it (one mapping per enum); the API's `*_label`
# fields, the console and the documents all read these, and tests/test_labels.py checks
# that every member has one.
VISIT_KIND_LABELS = {VisitKind.announced: "明察", VisitKind.unannounced: "暗访"}


class VisitWindows(StrEnum):
    """How a plan's draw sets each visit's window."""

    drawn = "drawn"  # a day of the period and one of the unit's service sessions that day
    period = "period"  # the whole period (the inspectors choose when)


VISIT_WINDOWS_LABELS = {VisitWindows.drawn: "抽取日期与时段", VisitWindows.period: "整个计划期"}


class PlanStatus(StrEnum):
    draft = "draft"  # being prepared; no visits yet
    drawn = "drawn"  # visits drawn; may be redrawn until one starts
    published = "published"  # the draw and results are public (一公开)


PLAN_STATUS_LABELS = {
    PlanStatus.draft: "草稿（未抽取）",
    PlanStatus.drawn: "已抽取",
    PlanStatus.published: "已公开",
}


class VisitStatus(StrEnum):
    planned = "planned"
    in_progress = "in_progress"  # an inspector checked in
    submitted = "submitted"


VISIT_STATUS_LABELS = {
    VisitStatus.planned: "未开始",
    VisitStatus.in_progress: "检查中",
    VisitStatus.submitted: "已提交",
}


class InspectionStatus(StrEnum):
    draft = "draft"  # started on site, answers arriving
    submitted = "submitted"  # scored; findings await office review
    published = "published"  # result released to the unit


INSPECTION_STATUS_LABELS = {
    InspectionStatus.draft: "检查中",
    InspectionStatus.submitted: "待审核",
    InspectionStatus.published: "已公开",
}


class FindingStatus(StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    dismissed = "dismissed"


# A finding the office does not uphold is 不予认定 (the API's messages say so too);
# 驳回 is for a unit's request (延期).
FINDING_STATUS_LABELS = {
    FindingStatus.pending: "待审核",
    FindingStatus.confirmed: "已确认",
    FindingStatus.dismissed: "不予认定",
}


class Plan(db.Model):
    """督查计划: a campaign over a period, with the rules of its double-random draw."""

    __tablename__ = "plan"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period"),
        CheckConstraint("team_size BETWEEN 1 AND 10", name="team_size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[VisitKind] = mapped_column(_enum(VisitKind))
    status: Mapped[PlanStatus] = mapped_column(_enum(PlanStatus), default=PlanStatus.draft)
    period_start: Mapped[date]
    period_end: Mapped[date]
    checklist_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("checklist_template.id", ondelete="SET NULL")
    )
    # Target pool: units matching any listed sector AND any listed region, plus listed units.
    pool: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Per stratum (sector × region): {"size": n} or {"rate": 0.2}, with optional overrides
    # [{"sector_id", "region_id", "size"}].
    sampling: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    inspector_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    team_size: Mapped[int] = mapped_column(default=2)
    # 回避: [{"inspector_id", "unit_id"}] on top of each inspector's own unit.
    exclusions: Mapped[list[dict[str, int]]] = mapped_column(JSON, default=list)
    # Inspectors see their visits this many hours before the window opens (None: config).
    lead_time_hours: Mapped[int | None]
    # 暗访: name the inspectors to units, lead units and the public disclosure (default no).
    disclose_inspectors: Mapped[bool] = mapped_column(default=False, server_default=false())
    visit_windows: Mapped[VisitWindows] = mapped_column(
        _enum(VisitWindows, length=8), default=VisitWindows.drawn, server_default="drawn"
    )
    # The region of the office that owns the plan (a district or town office draws only
    # from its own subtree); None is a city plan.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}


class Draw(db.Model):
    """One double-random draw of a plan: its seeds and inputs, so it can be replayed. The
    public `seed` picks the units; under "dr-v2" the secret `team_seed` forms the teams
    (null for "dr-v1" draws, whose seed did both)."""

    __tablename__ = "draw"
    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    seed: Mapped[str] = mapped_column(String(64))
    # Never in the disclosure of a plan that does not name its inspectors (`plans.disclosure`).
    team_seed: Mapped[str | None] = mapped_column(String(64))
    algorithm: Mapped[str] = mapped_column(String(20))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    current: Mapped[bool] = mapped_column(default=True)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)

    @property
    def team_seed_sha256(self) -> str | None:
        """The team seed's commitment (`draw.commitment`), safe to publish."""
        return dr.commitment(self.team_seed) if self.team_seed else None


visit_inspector = Table(
    "visit_inspector",
    db.metadata,
    Column("visit_id", ForeignKey("visit.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id"), primary_key=True, index=True),
)


class Visit(db.Model):
    """One unit to inspect within a window, by a team of inspectors."""

    __tablename__ = "visit"
    __table_args__ = (
        UniqueConstraint("draw_id", "unit_id"),
        Index("ix_visit_unit_status", "unit_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draw.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    kind: Mapped[VisitKind] = mapped_column(_enum(VisitKind))
    status: Mapped[VisitStatus] = mapped_column(_enum(VisitStatus), default=VisitStatus.planned)
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    # When the assigned inspectors may first see it (window_start minus the lead time).
    visible_from: Mapped[datetime]
    # Bumped by the office's reassignment (window or team): the ETag its If-Match checks.
    # Check-in and submission leave it alone; a reassignment is refused once a visit
    # has started, and a version_id_col would turn two team members' check-ins into a
    # stale-data error.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    unit: Mapped[Unit] = relationship(lazy="joined", innerjoin=True)
    plan: Mapped[Plan] = relationship(lazy="joined", innerjoin=True)
    inspectors: Mapped[list[User]] = relationship(
        secondary=visit_inspector, lazy="selectin", order_by=User.id
    )


class Inspection(db.Model):
    """检查记录: one inspection of one unit, planned (from a visit) or ad hoc."""

    __tablename__ = "inspection"
    __table_args__ = (
        Index("ix_inspection_status_submitted", "status", "submitted_at"),
        Index("ix_inspection_unit_submitted", "unit_id", "submitted_at"),
        Index("ix_inspection_started_at", "started_at", "id"),
        # The published list, newest first (docs/console.md, "Lists at a province's size").
        Index(
            "ix_inspection_published",
            "published_at",
            "id",
            postgresql_where=text("status = 'published'"),
            sqlite_where=text("status = 'published'"),
        ),
        # A period's published inspections from the index alone (PostgreSQL): the
        # rankings' inspector workload and overdue tasks (docs/reports-documents.md).
        Index(
            "ix_inspection_published_started",
            "started_at",
            postgresql_include=["id", "inspector_id", "visit_id"],
            postgresql_where=text("status = 'published'"),
            sqlite_where=text("status = 'published'"),
        ),
        # The queue's 签到位置偏远 filter: about one inspection in a hundred.
        Index(
            "ix_inspection_far_checkin",
            "status",
            "submitted_at",
            postgresql_where=text("checkin_far IS true"),
            sqlite_where=text("checkin_far IS 1"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The phone's id for this inspection: every retry of a create or offline submit
    # carries it, and the unique constraint makes concurrent retries one row.
    client_uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    visit_id: Mapped[int | None] = mapped_column(
        ForeignKey("visit.id", ondelete="SET NULL"), unique=True
    )
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan.id", ondelete="SET NULL"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    kind: Mapped[VisitKind] = mapped_column(_enum(VisitKind))
    ad_hoc: Mapped[bool] = mapped_column(default=False)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    checklist_version_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_version.id"))
    status: Mapped[InspectionStatus] = mapped_column(
        _enum(InspectionStatus), default=InspectionStatus.draft
    )
    # Check-in on site.
    started_at: Mapped[datetime]
    checkin_latitude: Mapped[float | None]
    checkin_longitude: Mapped[float | None]
    checkin_accuracy_m: Mapped[float | None]
    checkin_distance_m: Mapped[float | None]
    checkin_far: Mapped[bool] = mapped_column(default=False)
    # The datum of checkin_latitude/longitude, as wx.getLocation's `type` names it.
    checkin_coord_system: Mapped[CoordSystem] = mapped_column(
        _enum(CoordSystem, length=8), default=CoordSystem.wgs84, server_default="wgs84"
    )
    # The reading's accuracy was coarser than the check-in radius: whether the inspector
    # was at the unit cannot be told, so it is flagged as imprecise rather than as far.
    checkin_imprecise: Mapped[bool] = mapped_column(default=False, server_default=false())
    # {item_code: {"result"|"value": …, "note": …}} and {item_code: [photo refs]}.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    photos: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    # Item codes the unit put right while the inspectors watched (立行立改).
    fixed_on_spot: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Set on submit.
    submitted_at: Mapped[datetime | None]
    submission_hash: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None]
    max_score: Mapped[float | None]
    grade: Mapped[str | None] = mapped_column(String(20))
    critical_failed: Mapped[bool] = mapped_column(default=False)
    # The problems (问题): findings not dismissed (不予认定). Set on submit (all pending)
    # and kept by the office's review (inspections.findings.review_finding), so once the
    # result is published it is the confirmed findings: the count every reader is shown.
    findings_count: Mapped[int] = mapped_column(default=0)
    # Set by the office's review of the findings (None until the first review): the
    # figures with the dismissed findings' items counted as passed. The figures above
    # stay as submitted; rankings use these when present (inspections.queries).
    reviewed_score: Mapped[float | None]
    reviewed_grade: Mapped[str | None] = mapped_column(String(20))
    reviewed_critical_failed: Mapped[bool | None]
    published_at: Mapped[datetime | None]
    # Why the office published although required photos had not arrived (else None).
    missing_photos_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    unit: Mapped[Unit] = relationship(lazy="joined", innerjoin=True)
    inspector: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    visit: Mapped[Visit | None] = relationship()
    plan: Mapped[Plan | None] = relationship(lazy="joined")
    checklist_version: Mapped[ChecklistVersion | None] = relationship()
    findings: Mapped[list[Finding]] = relationship(
        back_populates="inspection", order_by="Finding.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    @hybrid_property
    def effective_score(self) -> float | None:
        """The score rankings and averages count: after the office's review when there is
        one, else at submission. In SQL, the same as COALESCE."""
        return self.score if self.reviewed_score is None else self.reviewed_score

    @effective_score.inplace.expression
    @classmethod
    def _effective_score_sql(cls):
        return func.coalesce(cls.reviewed_score, cls.score)

    @hybrid_property
    def effective_grade(self) -> str | None:
        return self.grade if self.reviewed_grade is None else self.reviewed_grade

    @effective_grade.inplace.expression
    @classmethod
    def _effective_grade_sql(cls):
        return func.coalesce(cls.reviewed_grade, cls.grade)


class Finding(db.Model):
    """问题: a failed item of a submitted inspection, reviewed by the office.

    Confirmed findings are what rectification (整改) works on; see inspections/__init__.py.
    """

    __tablename__ = "finding"
    __table_args__ = (
        UniqueConstraint("inspection_id", "item_code"),
        Index("ix_finding_unit_status", "unit_id", "status"),
        # The repeat test (reports.rankings): the same item at the same unit before.
        Index("ix_finding_unit_item", "unit_id", "item_code", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    item_code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200), default="")
    severity: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[FindingStatus] = mapped_column(
        _enum(FindingStatus), default=FindingStatus.pending
    )
    fixed_on_spot: Mapped[bool] = mapped_column(default=False)
    deadline_days: Mapped[int | None]
    critical: Mapped[bool] = mapped_column(default=False)
    photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    inspection: Mapped[Inspection] = relationship(back_populates="findings")

    __mapper_args__ = {"version_id_col": version}
