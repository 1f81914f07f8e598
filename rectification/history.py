"""A task's history: every change is an audit event (who, when, before → after, reason),
written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from accounts.models import User
from core import audit
from core.db import db
from rectification.models import RectificationTask

ENTITY = "rectification_task"


def record_change(task: RectificationTask, action: str, actor: User | None, before, reason=None):
    audit.record(
        ENTITY,
        task.id,
        action,
        actor_id=actor.id if actor else None,
        before=before,
        after=task.snapshot(),
        reason=reason,
    )


def task_trail(task: RectificationTask) -> list[dict[str, Any]]:
    events = audit.trail(ENTITY, task.id)
    actor_ids = {e.actor_id for e in events if e.actor_id}
    names = (
        dict(
            db.session.execute(
                select(User.id, User.display_name).where(User.id.in_(actor_ids))
            ).all()
        )
        if actor_ids
        else {}
    )
    return [
        {
            "at": e.at,
            "action": e.action,
            "actor_id": e.actor_id,
            "actor_name": names.get(e.actor_id) if e.actor_id else "系统",
            "before": e.before,
            "after": e.after,
            "reason": e.reason,
        }
        for e in events
    ]
