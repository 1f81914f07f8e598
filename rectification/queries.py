"""Reads of rectification tasks for lists, pages and the dashboard, each within what the
reader may see (`rectification.policy`, and the units of their scope). Changes go through
`rectification.service`."""

from __future__ import annotations

from sqlalchemy import case, func, select

from accounts.models import User
from core.clock import utcnow
from core.db import db
from media import queries as photo_queries
from org.models import Region, Sector, Unit
from org.policy import has_unit_scope, unit_filter
from rectification import photos as task_photos
from rectification.models import RectificationTask, TaskStatus, UnitTaskCount
from rectification.policy import task_filter
from rectification.service import tasks_query

T = RectificationTask
OPEN = (TaskStatus.open, TaskStatus.responded)  # not closed, as the status index reads it


def tasks_with_reused_after_photos(ids: list[int]) -> set[int]:
    """Of `ids`, the tasks whose unit sent an after-photo flagged as a near-duplicate."""
    return photo_queries.owners_with_near_duplicates(task_photos.KIND, ids)


def inspection_id_of_task(task_id: int) -> int | None:
    """The inspection a task came from (None for a task without one)."""
    return db.session.scalar(select(T.inspection_id).where(T.id == task_id))


def open_tasks_of_unit(actor: User, unit_id: int, limit: int) -> list[RectificationTask]:
    """The unit's tasks not yet closed that `actor` may see, overdue first, then by due
    date (at most `limit`)."""
    active = [TaskStatus.open, TaskStatus.responded]
    stmt = tasks_query(actor, {"unit_id": unit_id, "status": active})
    now = utcnow()
    stmt = stmt.order_by(None).order_by((T.due_at > now), T.due_at, T.id).limit(limit)
    return list(db.session.scalars(stmt).unique())


def _open_tasks_by(actor: User, column, name_column, join) -> list[tuple[str, int, int]]:
    """(group name, tasks not closed, overdue of them), most first, at most 20 groups. For
    a reader whose tasks are their units' (an office, a lead unit, a unit), the tasks
    not closed are summed from `UnitTaskCount` and only those not yet due are counted
    live (deadlines ahead are few whatever has piled up): overdue is the difference."""
    if not has_unit_scope(actor):
        return _open_tasks_by_live(actor, column, name_column, join)
    counts = UnitTaskCount
    active = db.session.execute(
        select(column, name_column, func.sum(counts.tasks))
        .select_from(counts)
        .join(Unit, Unit.id == counts.unit_id)
        .join(*join)
        .where(unit_filter(actor))
        .group_by(column, name_column)
    ).all()
    not_due = dict(
        db.session.execute(
            select(column, func.count(T.id))
            .select_from(T)
            .join(Unit, Unit.id == T.unit_id)
            .join(*join)
            .where(T.status.in_(OPEN), T.due_at > utcnow(), unit_filter(actor))
            .group_by(column)
        ).all()
    )
    rows = [(key, name, int(n or 0)) for key, name, n in active if n]
    rows.sort(key=lambda r: -r[2])  # (a stable sort: ties keep the statement's order)
    return [(name, n, n - not_due.get(key, 0)) for key, name, n in rows[:20]]


def _open_tasks_by_live(actor: User, column, name_column, join) -> list[tuple[str, int, int]]:
    """The same from the task rows (an inspector's scope; the tests' reference)."""
    now = utcnow()
    overdue = func.sum(case((T.due_at <= now, 1), else_=0))
    rows = db.session.execute(
        select(name_column, func.count(T.id), overdue)
        .select_from(T)
        .join(Unit, Unit.id == T.unit_id)
        .join(*join)
        .where(T.status.in_(OPEN), task_filter(actor), unit_filter(actor))
        .group_by(column, name_column)
        .order_by(func.count(T.id).desc())
        .limit(20)
    )
    return [(name, count, int(late or 0)) for name, count, late in rows]


def open_tasks_by_sector(actor: User) -> list[tuple[str, int, int]]:
    """(sector name, open tasks, overdue of them), most first, at most 20 sectors."""
    return _open_tasks_by(actor, Sector.id, Sector.name, (Sector, Sector.id == Unit.sector_id))


def open_tasks_by_region(actor: User) -> list[tuple[str, int, int]]:
    """(region name, open tasks, overdue of them), most first, at most 20 regions."""
    return _open_tasks_by(actor, Region.id, Region.name, (Region, Region.id == Unit.region_id))
