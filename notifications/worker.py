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

from flask import current_app
from sqlalchemy import and_, or_, select, update

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


def claim(*, batch: int, lease: timedelta, now: datetime) -> list[Notification]:
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
    if db.session.get_bind().dialect.name == "postgresql":
        ids = list(db.session.scalars(pick.with_for_update(skip_locked=True)))
        if ids:
            db.session.execute(update(N).where(N.id.in_(ids)).values(**claimed))
    else:
        db.session.execute(
            update(N).where(N.id.in_(pick.scalar_subquery()), due).values(**claimed),
            execution_options={"synchronize_session": False},
        )
    db.session.commit()
    return list(
        db.session.scalars(
            select(N)
            .where(N.claimed_by == token, N.status == DeliveryStatus.sending)
            .order_by(N.id)
        )
    )


def _finish(row: Notification, status: DeliveryStatus, *, error: str | None = None) -> None:
    row.status = status
    row.lease_until = None
    row.last_error = error[:300] if error else None
    if status == DeliveryStatus.sent:
        row.sent_at = utcnow()


def _retry_later(row: Notification, error: str, *, now: datetime) -> str:
    config = current_app.config
    if row.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        log.error("notification %s gave up after %s attempts: %s", row.id, row.attempts, error)
        _finish(row, DeliveryStatus.dead, error=error)
        return "dead"
    delay = timedelta(seconds=config["OUTBOX_BACKOFF_SECONDS"] * 2 ** (row.attempts - 1))
    row.status = DeliveryStatus.pending
    row.lease_until = None
    row.next_attempt_at = now + min(delay, MAX_BACKOFF)
    row.last_error = error[:300]
    return "retry"


def _deliver_inbox(row: Notification) -> str:
    exists = db.session.scalar(
        select(InboxMessage.id).where(InboxMessage.notification_id == row.id)
    )
    if exists is None:
        db.session.add(
            InboxMessage(
                notification_id=row.id,
                user_id=row.recipient_id,
                kind=row.kind,
                subject_type=row.subject_type,
                subject_id=row.subject_id,
                title=row.title,
                body=row.body,
            )
        )
    _finish(row, DeliveryStatus.sent)
    return "sent"


def _deliver_wechat(row: Notification, *, now: datetime) -> str:
    user = db.session.get(User, row.recipient_id)
    openid = user.wechat_openid if user and user.active else None
    if not openid:
        _finish(row, DeliveryStatus.dead, error="recipient has no bound WeChat account")
        return "dead"
    payload = dict(row.payload or {})
    separator = "&" if "?" in payload.get("page", "") else "?"
    payload["page"] = f"{payload.get('page', '')}{separator}n={row.id}"
    client = current_app.extensions["wechat"]
    try:
        client.send_subscribe_message(openid, payload)
    except WeChatError as exc:
        if exc.errcode == USER_REFUSED:
            _finish(row, DeliveryStatus.refused, error=exc.message)
            return "refused"
        if exc.errcode in RETRYABLE_WECHAT:
            return _retry_later(row, exc.message, now=now)
        log.error("notification %s refused by WeChat: %s", row.id, exc.message)
        _finish(row, DeliveryStatus.dead, error=exc.message)
        return "dead"
    except errors.Unavailable as exc:
        return _retry_later(row, exc.message, now=now)
    _finish(row, DeliveryStatus.sent)
    return "sent"


def deliver(row: Notification, *, now: datetime) -> str:
    """Deliver one claimed row and commit its outcome. Returns the outcome's name."""
    try:
        if row.channel == Channel.inbox:
            outcome = _deliver_inbox(row)
        else:
            outcome = _deliver_wechat(row, now=now)
    except Exception as exc:  # one bad message must not stop the batch
        db.session.rollback()
        log.exception("notification %s failed", row.id)
        row = db.session.get(Notification, row.id)
        outcome = _retry_later(row, f"{type(exc).__name__}: {exc}", now=now)
    db.session.commit()
    return outcome


def run_batch(*, now: datetime | None = None) -> BatchResult:
    config = current_app.config
    now = now or utcnow()
    result = BatchResult()
    rows = claim(
        batch=config["OUTBOX_BATCH_SIZE"],
        lease=timedelta(seconds=config["OUTBOX_LEASE_SECONDS"]),
        now=now,
    )
    result.claimed = len(rows)
    for row in rows:
        result.count(deliver(row, now=now))
    return result
