"""Writing to the outbox, and reading the inbox.

`enqueue()` runs inside the caller's transaction: the message is committed with the change
that caused it or not at all. One notification row per recipient and channel; its key is
the idempotency key, so the same event enqueued twice stores one row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update

from accounts.models import User
from core import errors
from core.clock import utcnow
from core.db import db
from notifications import wechat_fields
from notifications.models import Channel, InboxMessage, Notification


@dataclass(frozen=True)
class Message:
    kind: str  # tasks_opened, reminder, overdue, escalated, rejected, …
    subject_type: str  # rectification_task
    subject_id: int
    discriminator: str  # what makes this event unique for its subject (round, deadline)
    title: str  # ≤ 100 chars, the inbox headline
    body: str
    wechat_fields: dict[str, str]  # logical name → value; mapped to the template's keys


def enqueue(message: Message, recipients: Iterable[User]) -> list[Notification]:
    """Queue `message` for each recipient on the in-app inbox, and on WeChat for those who
    bound WeChat when a template is configured. Returns the rows created now."""
    config = current_app.config
    rows = []
    for user in recipients:
        channels = [Channel.inbox]
        if user.wechat_openid and config["WECHAT_TASK_TEMPLATE_ID"]:
            channels.append(Channel.wechat)
        for channel in channels:
            key = (
                f"{message.kind}:{message.subject_type}:{message.subject_id}:"
                f"{message.discriminator}:{user.id}:{channel.value}"
            )
            rows.append(
                Notification(
                    key=key,
                    channel=channel,
                    kind=message.kind,
                    recipient_id=user.id,
                    subject_type=message.subject_type,
                    subject_id=message.subject_id,
                    title=message.title[:100],
                    body=message.body,
                    payload=_wechat_payload(message, config) if channel == Channel.wechat else None,
                )
            )
    if not rows:
        return []
    existing = set(
        db.session.scalars(
            select(Notification.key).where(Notification.key.in_(r.key for r in rows))
        )
    )
    fresh = [row for row in rows if row.key not in existing]
    db.session.add_all(fresh)
    db.session.flush()
    return fresh


def _wechat_payload(message: Message, config) -> dict[str, Any]:
    keys = config["WECHAT_TASK_TEMPLATE_FIELDS"]
    data = {
        keys[name]: {"value": wechat_fields.fit(keys[name], value)}
        for name, value in message.wechat_fields.items()
        if name in keys
    }
    return {
        "template_id": config["WECHAT_TASK_TEMPLATE_ID"],
        "page": f"{config['WECHAT_TASK_PAGE']}?id={message.subject_id}",
        "data": data,
        "miniprogram_state": config["WECHAT_MINIPROGRAM_STATE"],
        "lang": "zh_CN",
    }


# -- the inbox ---------------------------------------------------------------------------

SUBJECTS = "inbox_subjects"


def register_subject(app: Flask, subject_type: str, visible_ids: Callable[[User], Select]) -> None:
    """Tell the inbox who may see the subjects of `subject_type` messages: `visible_ids(actor)`
    selects the ids the actor may see (the owning domain's filter). The inbox shows a
    message only while its subject is visible to its reader, so an office whose region
    changes, or a message sent to too many, never shows another region's objects."""
    subjects = app.extensions.setdefault(SUBJECTS, {})
    if subject_type in subjects:
        raise RuntimeError(f"inbox subject {subject_type!r} is registered twice")
    subjects[subject_type] = visible_ids


def message_filter(user: User) -> ColumnElement[bool]:
    """The inbox messages `user` may read: their own, about subjects they may see."""
    subjects = current_app.extensions.get(SUBJECTS, {})
    if not subjects:
        return InboxMessage.user_id == user.id
    known = InboxMessage.subject_type.not_in(list(subjects))
    visible = [
        and_(InboxMessage.subject_type == name, InboxMessage.subject_id.in_(ids(user)))
        for name, ids in subjects.items()
    ]
    return and_(InboxMessage.user_id == user.id, or_(known, *visible))


def visible_message(message_id: int, actor: User) -> InboxMessage:
    message = db.session.scalar(
        select(InboxMessage).where(InboxMessage.id == message_id, message_filter(actor))
    )
    if message is None:
        raise errors.NotFound("未找到该消息")
    return message


def inbox_query(user: User, *, unread: bool | None = None) -> Select:
    stmt = select(InboxMessage).where(message_filter(user)).order_by(InboxMessage.id.desc())
    if unread is True:
        stmt = stmt.where(InboxMessage.read_at.is_(None))
    elif unread is False:
        stmt = stmt.where(InboxMessage.read_at.is_not(None))
    return stmt


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(InboxMessage.id)).where(
            message_filter(user), InboxMessage.read_at.is_(None)
        )
    )


def mark_read(message_id: int, *, actor: User) -> InboxMessage:
    message = visible_message(message_id, actor)
    if message.read_at is None:  # reading twice keeps the first time
        message.read_at = utcnow()
        db.session.flush()
    return message


def mark_all_read(*, actor: User) -> int:
    result = db.session.execute(
        update(InboxMessage)
        .where(message_filter(actor), InboxMessage.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount
