"""Who may see which rectification tasks, replies and extension requests, and who may act
on a task. The one rule for finding a rectification object: services, the API and the
console find them through the filters and getters here, nothing else.

An office (admin and viewer) sees the tasks of its region's units (every task when it is
city-wide); a lead unit sees its sector's; a unit sees its own; an inspector sees the tasks
of the findings they made (to verify them when the configuration lets inspectors verify).
Anything else looks missing: the same 404 as an id that does not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, false, select

from accounts.models import Role, User
from core import errors
from core.db import db
from org import policy as org_policy
from org.models import Region, Sector, Unit
from rectification.models import ExtensionRequest, RectificationTask, TaskReply

T = RectificationTask
TASK_MISSING = "未找到该整改任务"
EXTENSION_MISSING = "未找到该延期申请"
REPLY_MISSING = "未找到该整改回复"

# Who may send a 督办 on an overdue task: the lead unit of the task's sector and the office
# (within its scope). Viewers only read.
CHASERS = frozenset({Role.lead_unit_staff, Role.office_admin})


def task_filter(actor: User) -> ColumnElement[bool]:
    """A WHERE clause on `RectificationTask` (no join needed)."""
    if actor.is_office:
        return org_policy.office_scope(actor, T.unit_id)
    if actor.role == Role.lead_unit_staff and actor.sector_id is not None:
        return T.unit_id.in_(select(Unit.id).where(Unit.sector_id == actor.sector_id))
    if actor.role == Role.unit_staff and actor.unit_id is not None:
        return T.unit_id == actor.unit_id
    if actor.role == Role.inspector:
        return T.inspector_id == actor.id
    return false()


def visible_task_ids(actor: User):
    return select(T.id).where(task_filter(actor))


def extension_filter(actor: User) -> ColumnElement[bool]:
    return ExtensionRequest.task_id.in_(visible_task_ids(actor))


def reply_filter(actor: User) -> ColumnElement[bool]:
    return TaskReply.task_id.in_(visible_task_ids(actor))


def visible_task(task_id: int, actor: User) -> RectificationTask:
    """The task, or the same 404 as a missing id when `actor` may not see it."""
    task = db.session.scalar(select(T).where(T.id == task_id, task_filter(actor)))
    if task is None:
        raise errors.NotFound(TASK_MISSING)
    return task


def _of_task(model, object_id: int, visible, task: RectificationTask | None, missing: str):
    stmt = select(model).where(model.id == object_id, visible)
    if task is not None:
        stmt = stmt.where(model.task_id == task.id)
    found = db.session.scalar(stmt)
    if found is None:
        raise errors.NotFound(missing)
    return found


def visible_extension(
    extension_id: int, actor: User, *, task: RectificationTask | None = None
) -> ExtensionRequest:
    """The extension request (of `task`, when given), or the same 404 as a missing id."""
    return _of_task(
        ExtensionRequest, extension_id, extension_filter(actor), task, EXTENSION_MISSING
    )


def visible_reply(
    reply_id: int, actor: User, *, task: RectificationTask | None = None
) -> TaskReply:
    """The reply (of `task`, when given), or the same 404 as a missing id."""
    return _of_task(TaskReply, reply_id, reply_filter(actor), task, REPLY_MISSING)


def _sees(actor: User, task: RectificationTask) -> bool:
    """`task_filter` for one loaded task (no query unless the office is scoped)."""
    if actor.is_office:
        if actor.region_id is None:
            return True
        found = db.session.scalar(select(T.id).where(T.id == task.id, task_filter(actor)))
        return found is not None
    if actor.role == Role.lead_unit_staff:
        return actor.sector_id is not None and task.unit.sector_id == actor.sector_id
    if actor.role == Role.unit_staff:
        return actor.unit_id is not None and task.unit_id == actor.unit_id
    if actor.role == Role.inspector:
        return task.inspector_id == actor.id
    return False


def may_act(actor: User, task: RectificationTask, roles: Iterable[Role]) -> bool:
    """Whether `actor`'s role is among `roles` and the task is theirs to act on: the unit's
    own, the inspector's own finding, the lead unit's sector, the office's scope. The state
    machine (`rectification.states`) asks this for each action."""
    return actor.role in frozenset(roles) and _sees(actor, task)


def can_attach_after_photos(actor: User, task: RectificationTask) -> bool:
    """After-photos are the unit's own evidence: only its staff upload them."""
    return may_act(actor, task, (Role.unit_staff,))


def is_read_only(actor: User) -> bool:
    """The console shows this actor tasks without decision forms (lead units, viewers)."""
    return actor.role in (Role.lead_unit_staff, Role.viewer)


def opens_inspection_review(actor: User) -> bool:
    """Whether the task page links to the inspection's review page (the office's)."""
    return actor.is_office


def check_filters(actor: User, filters: dict[str, Any]) -> None:
    """Asking about a unit or sector you may not see looks like asking about nothing
    there: the same 404 as a missing unit or sector."""
    unit_id = filters.get("unit_id")
    if unit_id is not None:
        org_policy.visible_unit(unit_id, actor)
    sector_id = filters.get("sector_id")
    if (
        sector_id is not None
        and actor.role == Role.lead_unit_staff
        and actor.sector_id not in (None, sector_id)
    ):
        raise errors.NotFound("未找到该行业领域")


def sector_options(actor: User) -> list[Sector]:
    """The sectors a filter may offer: a lead unit its own, a scoped office those of its
    region's units, everyone else all."""
    stmt = select(Sector).order_by(Sector.id)
    if actor.role == Role.lead_unit_staff:
        stmt = stmt.where(Sector.id == actor.sector_id)
    elif actor.is_office and actor.region_id is not None:
        stmt = stmt.where(
            Sector.id.in_(select(Unit.sector_id).where(org_policy.unit_filter(actor)))
        )
    return list(db.session.scalars(stmt))


def region_options(actor: User) -> list[Region]:
    """The regions a filter may offer: a scoped office its subtree, everyone else all."""
    stmt = select(Region).order_by(Region.code)
    if actor.is_office and actor.region_id is not None:
        stmt = stmt.where(Region.id.in_(org_policy.region_subtree(actor.region_id)))
    return list(db.session.scalars(stmt))


def office_recipients_filter(unit: Unit) -> ColumnElement[bool]:
    """Office admins whose scope holds `unit`: the city-wide ones and those bound to a
    region on the path from the unit's region up to the root."""
    return (User.role == Role.office_admin) & (
        User.region_id.is_(None) | User.region_id.in_(_ancestors(unit.region_id))
    )


def _ancestors(region_id: int | None):
    """`region_id` and every region above it (a recursive CTE)."""
    if region_id is None:
        return select(Region.id).where(false())
    up = select(Region.id, Region.parent_id).where(Region.id == region_id)
    up = up.cte("region_ancestors", recursive=True)
    up = up.union_all(select(Region.id, Region.parent_id).where(Region.id == up.c.parent_id))
    return select(up.c.id)
