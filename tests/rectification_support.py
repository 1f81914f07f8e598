"""Test helpers for rectification: stand-ins for findings until the inspections domain
provides them, and a task opened the way publication opens one."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

from accounts.models import User
from core.db import db
from notifications.models import Channel, InboxMessage, Notification
from org.models import Unit
from rectification import service
from rectification.models import RectificationTask

_finding_ids = itertools.count(1000)


def finding(unit: Unit, **over) -> SimpleNamespace:
    """What rectification reads from a confirmed finding."""
    return SimpleNamespace(
        **{
            "id": next(_finding_ids),
            "inspection_id": 77,
            "plan_id": 5,
            "unit_id": unit.id,
            "item_code": "smoking.sign",
            "title": "入口未张贴禁烟标识",
            "description": "服务大厅入口未张贴禁烟标识",
            "severity": "major",
            "status": "confirmed",
            "fixed_on_spot": False,
            "deadline_days": None,
            "inspector_id": None,
            "photo_ids": [11, 12],
        }
        | over
    )


def open_task(unit: Unit, *, actor: User | None = None, **over) -> RectificationTask:
    (task,) = service.open_tasks_for_findings([finding(unit, **over)], actor=actor)
    db.session.commit()
    return task


def inbox_message(user: User, title: str = "测试消息") -> InboxMessage:
    note = Notification(
        key=f"test:{user.id}:{title}",
        channel=Channel.inbox,
        kind="test",
        recipient_id=user.id,
        subject_type="test",
        subject_id=1,
        title=title,
        body=title,
    )
    db.session.add(note)
    db.session.flush()
    message = InboxMessage(
        notification_id=note.id,
        user_id=user.id,
        kind="test",
        subject_type="test",
        subject_id=1,
        title=title,
        body=title,
    )
    db.session.add(message)
    db.session.commit()
    return message
