"""A task's history: every change is an audit event (who, when, before → after, reason),
written in the same transaction as the change."""

from __future__ import annotations

from typing import Any

from accounts import queries as user_queries
from accounts.models import User
from core import audit
from rectification.models import RectificationTask
from rectification.states import ACTION_LABELS

ENTITY = "rectification_task"

# What each audit event of a task reads as in its history: the state machine's actions
# (worded as `states.ACTION_LABELS`, which the API's refusals quote) and the events the
# system or the opening of a task record.
EVENT_LABELS = {
    "open": "下发整改任务",
    "closed_on_spot": "立行立改，当场销号",
    **ACTION_LABELS,
    "remind": "到期提醒",
    "overdue": "逾期通知",
    "escalate": "逾期上报牵头单位",
}


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
    names = user_queries.display_names(e.actor_id for e in events)
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
