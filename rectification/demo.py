"""Demo rectification tasks for `flask demo`: one of each situation the office will meet."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

from accounts.models import Role, User
from core.db import db
from org.models import Unit
from rectification import service
from rectification.deadlines import end_of_day

PROBLEMS = [
    ("smoking.sign", "general", "服务大厅入口未张贴禁烟标识", False),
    ("dress.badge", "general", "2号窗口工作人员未佩戴工作牌", False),
    ("monitoring.cameras", "major", "大厅出口监控摄像头不工作", False),
    ("hygiene.counter", "general", "3号窗口台面堆放杂物", True),
]


def load_demo_tasks() -> None:
    units = list(db.session.scalars(select(Unit).order_by(Unit.id).limit(len(PROBLEMS))))
    office = db.session.scalar(select(User).where(User.role == Role.office_admin))
    inspector = db.session.scalar(select(User).where(User.role == Role.inspector))
    for n, (unit, (code, severity, text, on_spot)) in enumerate(zip(units, PROBLEMS, strict=False)):
        finding = SimpleNamespace(
            id=None,
            unit_id=unit.id,
            item_code=code,
            severity=severity,
            description=text,
            title=text,
            fixed_on_spot=on_spot,
            inspection=SimpleNamespace(
                plan_id=None, inspector_id=inspector.id if inspector else None
            ),
        )
        task = service._open_task(finding, actor=office)
        if n == 2:  # an overdue one, for the office's overdue filter
            task.due_on = task.created_at.date() - timedelta(days=2)
            task.due_at = end_of_day(task.due_on)
    db.session.flush()
