"""The deadline scanner: reminders before the deadline, the overdue notice, escalation.

Runs in the worker before each delivery batch. Each task's marker (`reminded_for`,
`overdue_notified_for`, `escalated_for`) holds the deadline it was done for, so an
extension starts the cycle afresh. Each task is committed on its own; two workers scanning
at once collide on the task's version column and the loser skips the task (its
notifications would have the same idempotency keys anyway).

Only OPEN tasks are chased: a responded task waits for the office, not the unit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm.exc import StaleDataError

from core import audit
from core.clock import utcnow
from core.db import db, lock_for_update
from rectification import notify
from rectification.models import RectificationTask, TaskStatus

log = logging.getLogger(__name__)
T = RectificationTask


def _each(stmt, handle: Callable[[RectificationTask], bool]) -> int:
    """`handle` each task `stmt` picks, one transaction each. A task is held (its row
    locked) and asked again before it is handled: an extension approved, a reply sent or
    another worker's scan since the list was read leaves it out, so a task whose deadline
    just moved never gets the old deadline's notice nor the new one's marker."""
    done = 0
    ids = stmt.with_only_columns(T.id)
    for task_id in list(db.session.scalars(ids.limit(500))):
        task = db.session.get(T, task_id)
        if not (task and lock_for_update(task) and db.session.scalar(ids.where(T.id == task_id))):
            db.session.rollback()
            continue
        try:
            if handle(task):
                done += 1
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            log.info("task %s changed while scanning; skipped", task_id)
    return done


def _not_done(marker):
    return or_(marker.is_(None), marker != T.due_on)


def scan_deadlines(now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    config = current_app.config
    before = timedelta(days=config["RECTIFICATION_REMIND_DAYS_BEFORE"])
    escalate_after = timedelta(days=config["RECTIFICATION_ESCALATE_AFTER_DAYS"])
    open_ = select(T).where(T.status == TaskStatus.open)

    def remind(task: RectificationTask) -> bool:
        task.reminded_for = task.due_on
        # A task opened inside the window already said its deadline: no second message.
        if task.created_at >= task.due_at - before:
            return False
        notify.reminder(task)
        return True

    def notice(task: RectificationTask) -> bool:
        task.overdue_notified_for = task.due_on
        task.reminded_for = task.due_on  # never remind after the fact
        notify.overdue(task)
        return True

    def escalate(task: RectificationTask) -> bool:
        snapshot = task.snapshot()
        task.escalated_for = task.due_on
        days = (now - task.due_at).days
        audit.record(
            "rectification_task",
            task.id,
            "escalate",
            actor_id=None,
            before=snapshot,
            after=task.snapshot() | {"escalated_for": task.due_on.isoformat()},
            reason=f"逾期{days}天，已上报牵头单位",
        )
        notify.escalated(task, days)
        return True

    return {
        "overdue": _each(open_.where(T.due_at <= now, _not_done(T.overdue_notified_for)), notice),
        "reminders": _each(
            open_.where(T.due_at > now, T.due_at <= now + before, _not_done(T.reminded_for)),
            remind,
        ),
        "escalations": _each(
            open_.where(T.due_at <= now - escalate_after, _not_done(T.escalated_for)), escalate
        ),
    }
