"""Rectification tasks (整改任务), the unit's replies round by round, and extension requests.

A task is the unit's work for ONE confirmed finding. Its status is one of three stored
states; "overdue" is never stored: it is derived from `due_at` and the status, so it cannot
drift from the clock. Every change goes through `rectification.states` and leaves an audit
event.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import db
from org.models import Unit


class TaskStatus(StrEnum):
    open = "open"  # 待整改: the unit owes a reply
    responded = "responded"  # 已回复待复查: waiting for verification
    closed = "closed"  # 已销号


STATUS_LABELS = {
    TaskStatus.open: "待整改",
    TaskStatus.responded: "待复查",
    TaskStatus.closed: "已销号",
}


class ExtensionStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    denied = "denied"
    # The task closed while the request waited: nothing left to extend, nobody decided it.
    lapsed = "lapsed"


EXTENSION_STATUS_LABELS = {
    ExtensionStatus.pending: "待审批",
    ExtensionStatus.approved: "已批准",
    ExtensionStatus.denied: "已驳回",  # 驳回 is for requests; a finding is 不予认定
    ExtensionStatus.lapsed: "已失效",
}


class Verdict(StrEnum):
    accepted = "accepted"
    rejected = "rejected"


VERDICT_LABELS = {Verdict.accepted: "通过", Verdict.rejected: "退回"}


def _enum(cls, length: int = 20):
    return Enum(cls, native_enum=False, length=length)


class RectificationTask(db.Model):
    __tablename__ = "rectification_task"
    __table_args__ = (
        Index("ix_rectification_task_unit_status", "unit_id", "status"),
        Index("ix_rectification_task_status_due", "status", "due_at"),
        # Lists by due date: every task (the API), and the tasks not yet closed (the
        # console's 待办 views), which stay few while closed ones pile up.
        Index("ix_rectification_task_due", "due_at", "id"),
        Index(
            "ix_rectification_task_active_due",
            "due_at",
            "id",
            postgresql_where=text("status IN ('open', 'responded')"),
            sqlite_where=text("status IN ('open', 'responded')"),
        ),
        # The dashboard's figures of a period's tasks not yet closed, by the day issued:
        # the period's, not every open task that has piled up.
        Index(
            "ix_rectification_task_active_created",
            "created_at",
            postgresql_where=text("status IN ('open', 'responded')"),
            sqlite_where=text("status IN ('open', 'responded')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The finding this task answers: one task per finding (docs/rectification.md says why).
    # The task outlives its finding's rows if those are ever removed: it is the ledger.
    finding_id: Mapped[int | None] = mapped_column(
        ForeignKey("finding.id", ondelete="SET NULL"), unique=True
    )
    inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection.id", ondelete="SET NULL"), index=True
    )
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan.id", ondelete="SET NULL"), index=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    # Who found it: may verify the fix when RECTIFICATION_VERIFIER allows inspectors.
    inspector_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    item_code: Mapped[str] = mapped_column(String(40), default="")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(20))  # general | major | severe

    status: Mapped[TaskStatus] = mapped_column(_enum(TaskStatus), default=TaskStatus.open)
    fixed_on_spot: Mapped[bool] = mapped_column(default=False)
    # The deadline as people read it (a local date) and the instant it passes (end of that
    # day in Asia/Shanghai, in UTC): overdue ⇔ not closed and now ≥ due_at.
    due_on: Mapped[date]
    due_at: Mapped[datetime]
    deadline_days: Mapped[int]
    day_mode: Mapped[str] = mapped_column(String(10))  # calendar | working
    round: Mapped[int] = mapped_column(default=1)  # the reply round now expected or under review
    rejections: Mapped[int] = mapped_column(default=0)
    extension_pending: Mapped[bool] = mapped_column(default=False)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    responded_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # What the deadline scanner has already done, per deadline (an extension starts afresh).
    reminded_for: Mapped[date | None]
    overdue_notified_for: Mapped[date | None]
    escalated_for: Mapped[date | None]
    version: Mapped[int] = mapped_column(default=1)

    unit: Mapped[Unit] = relationship(lazy="joined", innerjoin=True)
    replies: Mapped[list[TaskReply]] = relationship(
        back_populates="task", order_by="TaskReply.id", cascade="all, delete-orphan"
    )
    extensions: Mapped[list[ExtensionRequest]] = relationship(
        back_populates="task", order_by="ExtensionRequest.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.status != TaskStatus.closed and (now or utcnow()) >= self.due_at

    @property
    def overdue(self) -> bool:
        return self.is_overdue()

    @property
    def closed_late(self) -> bool:
        return self.closed_at is not None and self.closed_at > self.due_at

    def snapshot(self) -> dict[str, Any]:
        """What the audit trail keeps before and after a change."""
        return {
            "status": self.status.value,
            "round": self.round,
            "due_on": self.due_on.isoformat(),
            "extension_pending": self.extension_pending,
        }


class TaskReply(db.Model):
    """整改回复: one per round. A rejected round stays as history; the next reply opens another."""

    __tablename__ = "rectification_reply"
    __table_args__ = (UniqueConstraint("task_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("rectification_task.id", ondelete="CASCADE"))
    client_id: Mapped[str] = mapped_column(String(36), unique=True)  # the phone's retry key
    round: Mapped[int]
    description: Mapped[str] = mapped_column(Text)
    # After-photos: ids of media photos attached to this task, in the order the unit chose.
    # (A task closed on the spot lists the inspection's photos of the item instead.)
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    verdict: Mapped[Verdict | None] = mapped_column(_enum(Verdict))
    verdict_reason: Mapped[str | None] = mapped_column(Text)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    verified_at: Mapped[datetime | None]

    task: Mapped[RectificationTask] = relationship(back_populates="replies")


class ReplyView(db.Model):
    """Who has opened which reply in the console: the office accepts several replies from
    the task list at once only after opening each one (one row per person and reply; the
    first opening counts). A view changes nothing, so it is not an audit event."""

    __tablename__ = "rectification_reply_view"
    __table_args__ = (UniqueConstraint("reply_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("rectification_reply.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    viewed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExtensionRequest(db.Model):
    """延期申请: the unit asks for a later deadline; the office approves or denies. A request
    still pending when its task closes lapses (`lapsed`, with the reason)."""

    __tablename__ = "rectification_extension"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("rectification_task.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(36), unique=True)
    requested_due_on: Mapped[date]
    previous_due_on: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[ExtensionStatus] = mapped_column(
        _enum(ExtensionStatus), default=ExtensionStatus.pending
    )
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    granted_due_on: Mapped[date | None]

    task: Mapped[RectificationTask] = relationship(back_populates="extensions")


class Chase(db.Model):
    """督办: a lead unit or the office presses the unit on an overdue task. Kept as a row
    (who, when, which deadline, what was said) beside the task's audit event; the phone's
    client id makes a resent chase answer with the first one."""

    __tablename__ = "rectification_chase"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("rectification_task.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(String(36), unique=True)
    message: Mapped[str] = mapped_column(String(200), default="")
    due_on: Mapped[date]  # the deadline that had passed
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnitTaskCount(db.Model):
    """How many of a unit's tasks are open and how many responded (not yet closed): the
    dashboard's panels of tasks not closed sum these per sector and region, however many
    tasks have piled up, and count live only those not yet due (their deadlines are
    ahead: few whatever the history). Kept by `reports.rollups` in the transaction that
    changes a task; `flask reports rebuild-rollups` recomputes it."""

    __tablename__ = "unit_task_count"

    unit_id: Mapped[int] = mapped_column(
        ForeignKey("unit.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    tasks: Mapped[int] = mapped_column(default=0)
