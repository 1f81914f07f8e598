"""Test helpers for rectification: a confirmed finding of a published inspection (made
directly, without the plan/visit/checklist machinery the inspection tests cover), a task
opened from it the way publication opens one, and photos attached where the API puts them."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import event

from accounts import service as accounts
from accounts.models import Role, User
from core.clock import local, utcnow
from core.db import db
from inspections.models import Finding, FindingStatus, Inspection, InspectionStatus, VisitKind
from media.models import Photo, PhotoStatus
from notifications.models import Channel, InboxMessage, Notification
from org.models import Unit
from rectification import service
from rectification.deadlines import end_of_day
from rectification.models import ExtensionRequest, RectificationTask
from rectification.photos import INSPECTION_KIND, KIND

_seq = itertools.count(1)


def _an_inspector() -> User:
    """Someone else's inspection: a fresh inspector, so nobody sees the task by accident."""
    n = next(_seq)
    return accounts.create_user(
        {"username": f"rect-inspector{n}", "display_name": f"督查员{n}", "role": Role.inspector},
        actor=None,
    )


def finding(
    unit: Unit,
    *,
    inspector_id: int | None = None,
    plan_id: int | None = None,
    status: str = "confirmed",
    before_photos: int = 1,
    inspection: Inspection | None = None,
    **over,
) -> Finding:
    """A finding of a published inspection of `unit` (a new one unless `inspection` is
    given), with `before_photos` photos."""
    n = next(_seq)
    inspection = inspection or Inspection(
        client_uuid=uuid.uuid4(),
        unit_id=unit.id,
        plan_id=plan_id,
        kind=VisitKind.announced,
        inspector_id=inspector_id or _an_inspector().id,
        started_at=utcnow(),
        status=InspectionStatus.published,
        submitted_at=utcnow(),
        published_at=utcnow(),
    )
    item = Finding(
        **{
            "unit_id": unit.id,
            "item_code": f"smoke.sign{n}",
            "title": "入口未张贴禁烟标识",
            "description": "服务大厅入口未张贴禁烟标识",
            "severity": "major",
            "status": FindingStatus(status),
            "fixed_on_spot": False,
            "deadline_days": None,
        }
        | over
    )
    inspection.findings.append(item)
    db.session.add(inspection)
    db.session.flush()
    for _ in range(before_photos):
        photo(INSPECTION_KIND, inspection.id, unit.id, inspection.inspector_id, item.item_code)
    return item


def open_task(unit: Unit, *, actor: User | None = None, **over) -> RectificationTask:
    (task,) = service.open_tasks_for_findings([finding(unit, **over)], actor=actor)
    db.session.commit()
    return task


def photo(owner_type: str, owner_id: int, unit_id: int, uploader_id: int, item_code=None) -> Photo:
    row = Photo(
        client_id=str(uuid.uuid4()),
        status=PhotoStatus.stored,
        owner_type=owner_type,
        owner_id=owner_id,
        item_code=item_code,
        evidence_group=f"{owner_type}:{owner_id}",
        unit_id=unit_id,
        key=f"photos/test/{uuid.uuid4().hex}",
        content_type="image/jpeg",
        uploaded_by_id=uploader_id,
        received_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    return row


def after_photos(task: RectificationTask, uploader: User, count: int = 1) -> list[int]:
    """Ids of stored photos the unit uploaded for `task` (as POST /photos would attach)."""
    ids = [photo(KIND, task.id, task.unit_id, uploader.id).id for _ in range(count)]
    db.session.commit()
    return ids


def inbox_message(user: User, title: str = "测试消息") -> InboxMessage:
    note = Notification(
        key=f"test:{user.id}:{title}",
        channel=Channel.inbox,
        kind="reminder",  # one of the kinds the API documents
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


@contextmanager
def counting() -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def local_today() -> date:
    """Today on the city's clock (Asia/Shanghai), as the deadline rules count days."""
    return local(utcnow()).date()


def overdue_task(unit: Unit, days: int = 7, **over) -> RectificationTask:
    """An open task of `unit` whose deadline passed `days` local days ago."""
    task = open_task(unit, **over)
    task.due_on = local_today() - timedelta(days=days)
    task.due_at = end_of_day(task.due_on)
    db.session.commit()
    return task


def pending_extension(task: RectificationTask, staff: User, asked: date) -> ExtensionRequest:
    """A request for `asked` the unit filed while that day was still ahead (stored as is:
    the office decides later)."""
    extension, _ = service.request_extension(
        task,
        {
            "client_id": uuid.uuid4(),
            "due_on": max(task.due_on, local_today()) + timedelta(days=5),
            "reason": "需要采购设备",
        },
        actor=staff,
    )
    extension.requested_due_on = asked
    db.session.commit()
    return extension


def replied_while_extension_waits(unit: Unit, staff: User, **over):
    """(task, extension): the unit asked for more time, then replied before the office
    decided: the reply awaits verification and the request is still pending."""
    task = open_task(unit, **over)
    extension = pending_extension(task, staff, task.due_on + timedelta(days=7))
    service.respond(
        task,
        {
            "client_id": uuid.uuid4(),
            "description": "已整改完毕",
            "photo_ids": after_photos(task, staff),
        },
        actor=staff,
    )
    db.session.commit()
    return task, extension
