"""Who may see which rectification tasks.

The office (admin and viewer) sees every task; a lead unit sees its sector's; a unit sees
its own; an inspector sees the tasks of the findings they made (to verify them when the
configuration lets inspectors verify). Anything else looks missing (404).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from accounts.models import Role, User
from org.models import Unit
from rectification.models import RectificationTask


def task_filter(user: User) -> ColumnElement[bool]:
    """A WHERE clause on a query that joins `Unit` to `RectificationTask`."""
    if user.role in (Role.office_admin, Role.viewer):
        return true()
    if user.role == Role.lead_unit_staff and user.sector_id is not None:
        return Unit.sector_id == user.sector_id
    if user.role == Role.unit_staff and user.unit_id is not None:
        return RectificationTask.unit_id == user.unit_id
    if user.role == Role.inspector:
        return RectificationTask.inspector_id == user.id
    return false()


def needs_unit(user: User) -> bool:
    """Whether `task_filter(user)` refers to `Unit` (the query must join it)."""
    return user.role == Role.lead_unit_staff


def can_view_task(user: User, task: RectificationTask) -> bool:
    if user.role in (Role.office_admin, Role.viewer):
        return True
    if user.role == Role.lead_unit_staff:
        return user.sector_id is not None and task.unit.sector_id == user.sector_id
    if user.role == Role.unit_staff:
        return user.unit_id is not None and task.unit_id == user.unit_id
    if user.role == Role.inspector:
        return task.inspector_id == user.id
    return False
