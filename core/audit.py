"""The audit trail: every state change of an inspection, task or account is an event.

Services call `record(...)` inside the same transaction as the change, so an event exists
exactly when the change does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_entity", "entity_type", "entity_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)


_INSERT = insert(AuditEvent.__table__)


def record(
    entity_type: str,
    entity_id: int,
    action: str,
    *,
    actor_id: int | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Write one event now, in the caller's transaction. A plain INSERT rather than an
    object for the unit of work: events are never read back in the request that writes
    them, and the flush cost more than the rest of a submission's audit (bench/submit.py)."""
    db.session.execute(
        _INSERT,
        {
            "at": utcnow(),
            "entity_type": entity_type,
            "entity_id": entity_id,
            "action": action,
            "actor_id": actor_id,
            "before": before,
            "after": after,
            "reason": reason,
        },
    )


def trail(entity_type: str, entity_id: int) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.id)
    )
    return list(db.session.scalars(stmt))
