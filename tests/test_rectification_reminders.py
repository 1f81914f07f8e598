"""Reminders before the deadline, the overdue notice, escalation to the lead unit."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

from sqlalchemy import select

from accounts.models import Role, User
from core.audit import trail
from core.clock import utcnow
from core.db import db
from notifications.models import Notification
from rectification import reminders, service
from rectification.models import ExtensionRequest, RectificationTask
from rectification.reminders import scan_deadlines
from tests.rectification_support import after_photos, open_task


def _kinds() -> list[tuple[str, int]]:
    rows = db.session.scalars(
        select(Notification).where(Notification.kind != "tasks_opened").order_by(Notification.id)
    )
    return [(n.kind, n.recipient_id) for n in rows]


def test_remind_then_notice_then_escalate_each_once(app, world, make_user):
    staff = world.users[Role.unit_staff]
    lead = world.users[Role.lead_unit_staff]
    office = world.users[Role.office_admin]
    make_user(Role.lead_unit_staff, sector_id=world.sector_b.id)  # another sector: not told
    task = open_task(world.unit_a)
    task.created_at = task.due_at - timedelta(days=7)  # opened a week before its deadline
    db.session.commit()
    due = task.due_at

    assert scan_deadlines(due - timedelta(days=3)) == {
        "overdue": 0,
        "reminders": 0,
        "escalations": 0,
    }
    assert scan_deadlines(due - timedelta(days=1))["reminders"] == 1
    assert scan_deadlines(due - timedelta(hours=2))["reminders"] == 0  # once per deadline
    assert _kinds() == [("reminder", staff.id)]

    assert scan_deadlines(due + timedelta(minutes=1))["overdue"] == 1
    assert scan_deadlines(due + timedelta(days=1))["overdue"] == 0
    assert scan_deadlines(due + timedelta(days=2, hours=23))["escalations"] == 0
    assert scan_deadlines(due + timedelta(days=3, minutes=1))["escalations"] == 1
    assert scan_deadlines(due + timedelta(days=9))["escalations"] == 0
    assert _kinds() == [
        ("reminder", staff.id),
        ("overdue", staff.id),
        ("escalated", lead.id),
        ("escalated", office.id),
    ]
    (event,) = [e for e in trail("rectification_task", task.id) if e.action == "escalate"]
    assert event.actor_id is None
    assert "逾期3天" in event.reason


def test_an_extension_starts_the_cycle_again(app, world):
    staff, office = world.users[Role.unit_staff], world.users[Role.office_admin]
    task = open_task(world.unit_a)
    task.created_at = task.due_at - timedelta(days=7)
    db.session.commit()
    scan_deadlines(task.due_at - timedelta(days=1))
    extension, _ = service.request_extension(
        task,
        {
            "client_id": uuid.uuid4(),
            "due_on": task.due_on + timedelta(days=10),
            "reason": "材料尚未备齐",
        },
        actor=staff,
    )
    service.decide_extension(task, extension, approve=True, reason=None, due_on=None, actor=office)
    db.session.commit()
    assert scan_deadlines(task.due_at - timedelta(days=1))["reminders"] == 1
    assert [kind for kind, _ in _kinds()].count("reminder") == 2


def test_a_deadline_moved_while_the_scan_runs_gets_no_old_notice(app, world, monkeypatch):
    """The scan lists the overdue tasks, then handles them one by one: an extension
    approved in between (another request, committed) takes the task out of the overdue
    list — no notice, and no marker for the new deadline that would silence the real one."""
    staff, office = world.users[Role.unit_staff], world.users[Role.office_admin]
    task = open_task(world.unit_a)
    new_due = task.due_on + timedelta(days=30)
    extension, _ = service.request_extension(
        task, {"client_id": uuid.uuid4(), "due_on": new_due, "reason": "材料尚未备齐"}, actor=staff
    )
    db.session.commit()
    task_id, extension_id, office_id = task.id, extension.id, office.id
    overdue_at = task.due_at + timedelta(minutes=1)

    def approve_elsewhere():
        with app.app_context():  # its own session and connection, as another request
            service.decide_extension(
                db.session.get(RectificationTask, task_id),
                db.session.get(ExtensionRequest, extension_id),
                approve=True,
                reason=None,
                due_on=None,
                actor=db.session.get(User, office_id),
            )
            db.session.commit()

    real_lock = reminders.lock_for_update

    def lock_after_the_approval(obj):
        thread = threading.Thread(target=approve_elsewhere)
        thread.start()
        thread.join()
        return real_lock(obj)

    monkeypatch.setattr(reminders, "lock_for_update", lock_after_the_approval)
    assert scan_deadlines(overdue_at)["overdue"] == 0
    db.session.expire_all()
    stored = db.session.get(RectificationTask, task_id)
    assert stored.due_on == new_due
    assert stored.overdue_notified_for is None
    assert "overdue" not in [kind for kind, _ in _kinds()]


def test_replied_and_closed_tasks_are_not_chased(app, world):
    staff = world.users[Role.unit_staff]
    waiting = open_task(world.unit_a)
    service.respond(
        waiting,
        {
            "client_id": uuid.uuid4(),
            "description": "已改",
            "photo_ids": after_photos(waiting, staff),
        },
        actor=staff,
    )
    open_task(world.unit_a, fixed_on_spot=True)
    db.session.commit()
    assert scan_deadlines(utcnow() + timedelta(days=60)) == {
        "overdue": 0,
        "reminders": 0,
        "escalations": 0,
    }


def test_a_task_opened_inside_the_reminder_window_gets_no_second_message(app, world):
    task = open_task(world.unit_a, severity="severe")
    task.due_at = utcnow() + timedelta(days=1)
    db.session.commit()
    scan_deadlines(utcnow())
    assert _kinds() == []
