"""Demo rectification for `flask demo`, after the inspections demo has published its
campaign (publication opened one task per confirmed finding). This moves a few tasks of
the units whose staff can sign in into each situation the office meets: overdue long
enough to escalate, waiting for verification, sent back once, asking for more time."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from accounts.models import Role, User
from core.clock import utcnow
from core.db import db
from rectification import service
from rectification.deadlines import end_of_day
from rectification.models import RectificationTask, TaskReply, TaskStatus


def load_demo_tasks() -> None:
    office = db.session.scalar(select(User).where(User.role == Role.office_admin).limit(1))
    staff = list(
        db.session.scalars(
            select(User).where(User.role == Role.unit_staff, User.unit_id.is_not(None))
        )
    )
    for person in staff:
        tasks = list(
            db.session.scalars(
                select(RectificationTask)
                .where(
                    RectificationTask.unit_id == person.unit_id,
                    RectificationTask.status == TaskStatus.open,
                )
                .order_by(RectificationTask.id)
            )
        )
        _spread(tasks, person, office)
    db.session.flush()


def _reply(task: RectificationTask, person: User, text: str) -> None:
    # Demo replies carry no photos (the demo has no image files); the API requires them.
    db.session.add(
        TaskReply(
            task_id=task.id,
            client_id=str(uuid.uuid4()),
            round=task.round,
            description=text,
            photo_ids=[],
            author_id=person.id,
        )
    )
    task.status = TaskStatus.responded
    task.responded_at = utcnow()
    db.session.flush()


def _spread(tasks: list[RectificationTask], person: User, office: User | None) -> None:
    if len(tasks) >= 1:  # overdue for five days: the next worker run escalates it
        overdue = tasks[0]
        overdue.due_on = (utcnow() - timedelta(days=6)).date()
        overdue.due_at = end_of_day(overdue.due_on)
    if len(tasks) >= 2:
        _reply(tasks[1], person, "已按要求整改完毕，请复查。")
    if len(tasks) >= 3:
        service.request_extension(
            tasks[2],
            {
                "client_id": uuid.uuid4(),
                "due_on": tasks[2].due_on + timedelta(days=10),
                "reason": "需采购新设备，到货约需两周",
            },
            actor=person,
        )
    if len(tasks) >= 4 and office is not None:
        _reply(tasks[3], person, "已整改。")
        service.verify(tasks[3], accept=False, reason="整改照片未体现整改后的现场", actor=office)
