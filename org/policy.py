"""Object rules for the organisation: which units a person may see, and the region scope
of district and town offices that every other domain builds its filters on.

An office account (admin or viewer) may be bound to a region: it then works in that
region's subtree only. Without a region it is city-wide. Units see themselves, lead units
their sector, inspectors every unit (they are sent anywhere).
"""

from __future__ import annotations

import functools

from sqlalchemy import ColumnElement, Select, false, select, true

from accounts.models import Role, User
from core import errors
from core.db import db
from org.models import Region, Unit


@functools.lru_cache(maxsize=1024)
def region_subtree(region_id: int) -> Select:
    """The ids of `region_id` and of every region below it (a recursive CTE: one query on
    SQLite and PostgreSQL alike, however deep the tree).

    One object per region: a statement may name the subtree twice (visits and units of one
    office's scope), and SQLAlchemy renders one CTE for one object but refuses two distinct
    CTEs of the same name."""
    tree = select(Region.id).where(Region.id == region_id).cte("region_subtree", recursive=True)
    tree = tree.union_all(select(Region.id).where(Region.parent_id == tree.c.id))
    return select(tree.c.id)


def units_of_region(region_id: int) -> Select:
    """The ids of the units in `region_id`'s subtree."""
    return select(Unit.id).where(Unit.region_id.in_(region_subtree(region_id)))


def office_scope(user: User, unit_column) -> ColumnElement[bool]:
    """For an office account: rows whose `unit_column` is a unit of its region's subtree, or
    every row when it is city-wide. Other roles get nothing here: each domain's policy says
    what they see."""
    if not user.is_office:
        return false()
    if user.region_id is None:
        return true()
    return unit_column.in_(units_of_region(user.region_id))


def has_unit_scope(actor: User) -> bool:
    """Whether what `actor` may see is a set of units (and, for a unit's side, their
    published inspections): an office, a lead unit, a unit. An inspector's is the visits
    they made, which figures kept per unit (rollups, task counts) cannot tell."""
    return actor.is_office or actor.role in (Role.lead_unit_staff, Role.unit_staff)


def unit_filter(user: User) -> ColumnElement[bool]:
    """A WHERE clause limiting `Unit` rows to those `user` may see."""
    if user.is_office:
        return office_scope(user, Unit.id)
    if user.role == Role.inspector:
        return true()
    if user.role == Role.lead_unit_staff and user.sector_id is not None:
        return Unit.sector_id == user.sector_id
    if user.role == Role.unit_staff and user.unit_id is not None:
        return Unit.id == user.unit_id
    return false()


def visible_unit(unit_id: int, actor: User) -> Unit:
    """The unit, or the same 404 as a missing id when `actor` may not see it."""
    unit = db.session.scalar(select(Unit).where(Unit.id == unit_id, unit_filter(actor)))
    if unit is None:
        raise errors.NotFound("未找到该窗口单位")
    return unit


def can_view_unit(user: User, unit: Unit) -> bool:
    if user.is_office and user.region_id is not None:
        in_scope = select(Unit.id).where(Unit.id == unit.id, unit_filter(user))
        return db.session.scalar(in_scope) is not None
    if user.is_office or user.role == Role.inspector:
        return True
    if user.role == Role.lead_unit_staff:
        return user.sector_id is not None and unit.sector_id == user.sector_id
    if user.role == Role.unit_staff:
        return user.unit_id is not None and unit.id == user.unit_id
    return False


# -- acting: where a scoped office may put units, and the city's reference data ----------


def region_filter(user: User | None) -> ColumnElement[bool]:
    """A WHERE clause on `Region`: the regions an office may put units in (a scoped office:
    its subtree; everyone else who may maintain units, and the command line: every region)."""
    if user is None or user.office_region_id is None:
        return true()
    return Region.id.in_(region_subtree(user.office_region_id))


def region_in_scope(region_id: int, actor: User | None) -> bool:
    """Whether `region_id` exists and `actor` may put a unit there; another region's id
    is as unknown as a missing one."""
    found = select(Region.id).where(Region.id == region_id, region_filter(actor))
    return db.session.scalar(found) is not None


def check_maintains_reference_data(actor: User | None) -> None:
    """The region tree, sectors and lead units hold for the whole city: only a city-wide
    office keeps them (`None`: the command line and the demo). A town office that could
    re-parent a region under its own would take over that region's units."""
    if actor is not None and actor.office_region_id is not None:
        raise errors.Forbidden(
            "区域、行业领域和牵头单位由市督查办统一维护，请联系市督查办",
            type="urn:problem:city-office-only",
        )
