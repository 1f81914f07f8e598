"""The outbox and the in-app inbox.

A `Notification` is written in the same transaction as the change that causes it, so a
message exists exactly when its cause does. The worker delivers it later, at least once;
its `key` is unique, so enqueuing the same event twice (two scanners, a retried request)
stores one row, and the inbox refuses a second copy of the same notification.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import db


class Channel(StrEnum):
    inbox = "inbox"  # in-app: the mini program and console read it; needs nothing outside
    wechat = "wechat"  # WeChat subscribe message


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its next attempt
    sending = "sending"  # claimed by a worker until lease_until
    sent = "sent"
    refused = "refused"  # the person refused or used up their subscription (43101)
    dead = "dead"  # gave up: a permanent error or too many attempts


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)  # the idempotency key
    channel: Mapped[Channel] = mapped_column(Enum(Channel, native_enum=False, length=10))
    kind: Mapped[str] = mapped_column(String(40))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    # The WeChat subscribe-message request minus touser and the token, built at enqueue time.
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=10), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class InboxMessage(db.Model):
    """站内消息: what the mini program shows in its message list."""

    __tablename__ = "inbox_message"
    __table_args__ = (Index("ix_inbox_message_user", "user_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: a redelivered notification cannot make a second message. The message
    # outlives its outbox row, which is purged after OUTBOX_RETENTION_DAYS.
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification.id", ondelete="SET NULL"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int]
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
