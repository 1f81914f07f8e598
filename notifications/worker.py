"""Deliver the outbox: claim a batch, deliver each message, record the outcome.

Several workers may run at once. A claim marks rows `sending` with a lease:
- PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED` picks rows no other worker is claiming;
- SQLite has no SKIP LOCKED; a single `UPDATE … WHERE id IN (due rows)` is atomic because
  SQLite runs one writer at a time, and the claim token tells each worker its rows.
A worker that dies mid-batch leaves rows `sending`; when their lease passes, another claim
takes them again. Each delivery is committed on its own right after it succeeds, so a crash
re-sends at most the one message that was in flight (at-least-once). The inbox channel is
exactly-once: its row is unique per notification and written in the commit that marks it
sent. WeChat pages carry the notification id (`&n=`) so the mini program can drop a repeat.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from accounts.models import User
from core import errors
from core.clock import utcnow
from core.db import db
from notifications.models import Channel, DeliveryStatus, InboxMessage, Notification
from wechat.client import BUSY, USER_REFUSED, WeChatError

log = logging.getLogger(__name__)

RETRYABLE_WECHAT = {BUSY, 45009, 45047}  # busy, frequency limits
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class BatchResult:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


@dataclass(frozen=True)
class Claimed:
    """A claimed message, read once: delivering it needs no ORM object to refresh after
    each commit, and its outcome is written only while the claim is still ours."""

    id: int
    token: str
    channel: Channel
    kind: str
    recipient_id: int
    subject_type: str
    subject_id: int
    title: str
    body: str
    payload: dict[str, Any] | None
    attempts: int


def claim(*, batch: int, lease: timedelta, now: datetime) -> list[Claimed]:
    """Take up to `batch` due rows for this worker and commit the claim."""
    N = Notification
    due = or_(
        and_(N.status == DeliveryStatus.pending, N.next_attempt_at <= now),
        and_(N.status == DeliveryStatus.sending, N.lease_until < now),  # a dead worker's rows
    )
    token = uuid.uuid4().hex
    claimed = {
        "status": DeliveryStatus.sending,
        "lease_until": now + lease,
        "claimed_by": token,
        "attempts": N.attempts + 1,
    }
    pick = select(N.id).where(due).order_by(N.next_attempt_at, N.id).limit(batch)
    if _dialect() == "postgresql":
        ids = list(db.session.scalars(pick.with_for_update(skip_locked=True)))
        if ids:
            db.session.execute(update(N).where(N.id.in_(ids)).values(**claimed))
    else:
        db.session.execute(
            update(N).where(N.id.in_(pick.scalar_subquery()), due).values(**claimed),
            execution_options={"synchronize_session": False},
        )
    db.session.commit()
    rows = db.session.execute(
        select(
            N.id,
            N.channel,
            N.kind,
            N.recipient_id,
            N.subject_type,
            N.subject_id,
            N.title,
            N.body,
            N.payload,
            N.attempts,
        )
        .where(N.claimed_by == token, N.status == DeliveryStatus.sending)
        .order_by(N.id)
    ).all()
    db.session.commit()
    return [Claimed(row.id, token, *row[1:]) for row in rows]


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _record(item: Claimed, status: DeliveryStatus, *, error: str | None = None, **more) -> None:
    """Write the outcome, unless the claim was lost (lease passed, another worker has it)."""
    values = {"status": status, "lease_until": None, "last_error": error[:300] if error else None}
    if status == DeliveryStatus.sent:
        values["sent_at"] = utcnow()
    db.session.execute(
        update(Notification)
        .where(Notification.id == item.id, Notification.claimed_by == item.token)
        .values(**values, **more)
    )


def _retry_later(item: Claimed, error: str, *, now: datetime) -> str:
    config = current_app.config
    if item.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        log.error("notification %s gave up after %s attempts: %s", item.id, item.attempts, error)
        _record(item, DeliveryStatus.dead, error=error)
        return "dead"
    delay = timedelta(seconds=config["OUTBOX_BACKOFF_SECONDS"] * 2 ** (item.attempts - 1))
    _record(
        item, DeliveryStatus.pending, error=error, next_attempt_at=now + min(delay, MAX_BACKOFF)
    )
    return "retry"


def _deliver_inbox(item: Claimed) -> str:
    """One inbox row per notification: a second delivery inserts nothing."""
    insert = pg_insert if _dialect() == "postgresql" else sqlite_insert
    db.session.execute(
        insert(InboxMessage)
        .values(
            notification_id=item.id,
            user_id=item.recipient_id,
            kind=item.kind,
            subject_type=item.subject_type,
            subject_id=item.subject_id,
            title=item.title,
            body=item.body,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["notification_id"])
    )
    _record(item, DeliveryStatus.sent)
    return "sent"


def _deliver_wechat(item: Claimed, *, now: datetime) -> str:
    user = db.session.get(User, item.recipient_id)
    openid = user.wechat_openid if user and user.active else None
    if not openid:
        _record(item, DeliveryStatus.dead, error="recipient has no bound WeChat account")
        return "dead"
    payload = dict(item.payload or {})
    separator = "&" if "?" in payload.get("page", "") else "?"
    payload["page"] = f"{payload.get('page', '')}{separator}n={item.id}"
    client = current_app.extensions["wechat"]
    try:
        client.send_subscribe_message(openid, payload)
    except WeChatError as exc:
        if exc.errcode == USER_REFUSED:
            _record(item, DeliveryStatus.refused, error=exc.message)
            return "refused"
        if exc.errcode in RETRYABLE_WECHAT:
            return _retry_later(item, exc.message, now=now)
        log.error("notification %s refused by WeChat: %s", item.id, exc.message)
        _record(item, DeliveryStatus.dead, error=exc.message)
        return "dead"
    except errors.Unavailable as exc:
        return _retry_later(item, exc.message, now=now)
    _record(item, DeliveryStatus.sent)
    return "sent"


def deliver(item: Claimed, *, now: datetime) -> str:
    """Deliver one claimed message and commit its outcome. Returns the outcome's name."""
    try:
        if item.channel == Channel.inbox:
            outcome = _deliver_inbox(item)
        else:
            outcome = _deliver_wechat(item, now=now)
    except Exception as exc:  # one bad message must not stop the batch
        db.session.rollback()
        log.exception("notification %s failed", item.id)
        outcome = _retry_later(item, f"{type(exc).__name__}: {exc}", now=now)
    db.session.commit()
    return outcome


def run_batch(*, now: datetime | None = None) -> BatchResult:
    config = current_app.config
    now = now or utcnow()
    result = BatchResult()
    items = claim(
        batch=config["OUTBOX_BATCH_SIZE"],
        lease=timedelta(seconds=config["OUTBOX_LEASE_SECONDS"]),
        now=now,
    )
    result.claimed = len(items)
    for item in items:
        result.count(deliver(item, now=now))
    return result


FINISHED = (DeliveryStatus.sent, DeliveryStatus.refused, DeliveryStatus.dead)


def purge_finished(*, now: datetime | None = None) -> int:
    """Delete outbox rows finished more than OUTBOX_RETENTION_DAYS ago (the inbox keeps its
    messages); the outbox stays small however long the system runs."""
    days = current_app.config["OUTBOX_RETENTION_DAYS"]
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = db.session.execute(
        Notification.__table__.delete().where(
            Notification.status.in_(FINISHED), Notification.created_at < cutoff
        )
    )
    db.session.commit()
    return result.rowcount
