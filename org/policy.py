"""Object rules for the organisation: which units a person may see."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from accounts.models import Role, User
from org.models import Unit


def unit_filter(user: User) -> ColumnElement[bool]:
    """A WHERE clause limiting `Unit` rows to those `user` may see."""
    if user.role in (Role.office_admin, Role.viewer, Role.inspector):
        return true()
    if user.role == Role.lead_unit_staff and user.sector_id is not None:
        return Unit.sector_id == user.sector_id
    if user.role == Role.unit_staff and user.unit_id is not None:
        return Unit.id == user.unit_id
    return false()


def can_view_unit(user: User, unit: Unit) -> bool:
    if user.role in (Role.office_admin, Role.viewer, Role.inspector):
        return True
    if user.role == Role.lead_unit_staff:
        return unit.sector_id == user.sector_id
    if user.role == Role.unit_staff:
        return unit.id == user.unit_id
    return False
