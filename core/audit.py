"""The audit trail: every state change of an inspection, task or account is an event.

Services call `record(...)` inside the same transaction as the change, so an event exists
exactly when the change does.

The events of one subject (entity_type, entity_id) form a hash chain: each carries its
position `seq`, the hash of the event before it and its own hash over its canonical
content (docs/evidence.md), so an event edited or deleted behind the app's back breaks
the chain (`flask evidence verify`). Writers of one chain are serialised: on PostgreSQL
by a transaction-scoped advisory lock on the subject, on SQLite by its single writer; the
unique (entity_type, entity_id, seq) refuses a fork whatever happens.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import canonical
from core.clock import utcnow
from core.db import Prepared, db


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity", "entity_type", "entity_id", "id"),
        UniqueConstraint("entity_type", "entity_id", "seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    # The subject's hash chain (None on events written before chains began).
    seq: Mapped[int | None]
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainStart(db.Model):
    """Where the hash chains began (revision 0017_evidence_seal): only events with an id
    below `first_event_id` were written before, and only they may be unchained. One row,
    written by revision 0029_audit_chain_start; with none (the row deleted, or a test's
    wiped tables), no event may be unchained. Several rows: the smallest counts."""

    __tablename__ = "audit_chain_start"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_event_id: Mapped[int]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


def chain_start() -> int | None:
    """The id of the first chained event; None when nothing was recorded (then no event
    may be unchained)."""
    return db.session.scalar(select(func.min(AuditChainStart.first_event_id)))


_COLUMNS = ["at", "actor_id", "entity_type", "entity_id", "action", "before", "after", "reason",
            "seq", "prev_hash", "hash"]  # fmt: skip
_INSERT = Prepared(insert(AuditEvent.__table__), _COLUMNS)
_TAKE_WRITE_LOCK = update(AuditEvent.__table__).where(false()).values(id=AuditEvent.id)
_TAILS = "audit_chain_tails"  # session.info: {(entity_type, entity_id): (seq, hash)}


def event_hash(values: dict[str, Any], prev_hash: str | None) -> str:
    """The hash of one event: SHA-256 of the canonical text of what it says, its place in
    its chain and the hash of the event before it (docs/evidence.md)."""
    return canonical.sha256_hex(
        {
            "v": 1,
            "entity_type": values["entity_type"],
            "entity_id": values["entity_id"],
            "seq": values["seq"],
            "prev": prev_hash,
            "at": values["at"],
            "actor_id": values["actor_id"],
            "action": values["action"],
            "before": values["before"],
            "after": values["after"],
            "reason": values["reason"],
        }
    )


def _lock_key(entity_type: str, entity_id: int) -> int:
    digest = hashlib.sha256(f"audit:{entity_type}:{entity_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _tail(entity_type: str, entity_id: int) -> tuple[int, str | None]:
    """(seq, hash) of the subject's newest chained event, (0, None) for none. The first
    call in a transaction takes the chain's lock (PostgreSQL) and reads; later calls in
    the same transaction use what this one wrote, which nobody else can change now."""
    tails = db.session.info.setdefault(_TAILS, {})
    key = (entity_type, entity_id)
    if key not in tails:
        dialect = db.engine.dialect.name
        if dialect == "postgresql":
            db.session.execute(select(func.pg_advisory_xact_lock(_lock_key(*key))))
        elif dialect == "sqlite":
            # pysqlite reads outside a transaction until the first write: write nothing
            # first, so that the read below is inside the single writer's transaction.
            db.session.execute(_TAKE_WRITE_LOCK)
        newest = db.session.execute(
            select(AuditEvent.seq, AuditEvent.hash)
            .where(
                AuditEvent.entity_type == entity_type,
                AuditEvent.entity_id == entity_id,
                AuditEvent.seq.is_not(None),
            )
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).first()
        tails[key] = (newest.seq, newest.hash) if newest is not None else (0, None)
    return tails[key]


def chain_starts(entity_type: str, entity_id: int) -> None:
    """`entity_id` was inserted by this transaction: its chain is empty, and no other
    transaction can write to it before this one commits, so its first event needs neither
    the chain's lock nor the read of its tail (a submission's two statements)."""
    db.session.info.setdefault(_TAILS, {})[(entity_type, entity_id)] = (0, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_tails(session: Session, transaction) -> None:
    """A tail read in a transaction holds only while its lock does (a savepoint's end
    forgets too: what it wrote may be gone)."""
    if transaction.parent is None or transaction.nested:  # not a flush's own subtransaction
        session.info.pop(_TAILS, None)


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
    """Write one event in the caller's transaction. A plain INSERT rather than an
    object for the unit of work: events are never read back in the request that writes
    them, and the flush cost more than the rest of a submission's audit (bench/submit.py).

    `before` and `after` are stored in their canonical form (plain JSON), the form the
    hash is taken over."""
    seq, prev_hash = _tail(entity_type, entity_id)
    values = {
        "at": utcnow(),
        "entity_type": entity_type,
        "entity_id": entity_id,
        "action": action,
        "actor_id": actor_id,
        "before": canonical.plain(before),
        "after": canonical.plain(after),
        "reason": reason,
        "seq": seq + 1,
        "prev_hash": prev_hash,
    }
    values["hash"] = event_hash(values, prev_hash)
    # (on the session's connection, prepared: it needs none of the ORM's execution; on
    # PostgreSQL sent with the connection's next statement or its COMMIT)
    _INSERT.later(db.session.connection(), values)
    db.session.info.setdefault(_TAILS, {})[(entity_type, entity_id)] = (
        values["seq"],
        values["hash"],
    )


def trail(entity_type: str, entity_id: int) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.id)
    )
    return list(db.session.scalars(stmt))
