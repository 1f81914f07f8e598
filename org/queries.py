"""Reads of regions, sectors and units for pages and forms, each within what the reader
may see (`org.policy`). Changes go through `org.service`."""

from __future__ import annotations

from sqlalchemy import func, select

from accounts.models import User
from core.db import db
from org import policy
from org.models import Region, Sector, Unit
from org.service import list_regions, units_query


def sector_choices(user: User) -> list[Sector]:
    """Sectors that hold a unit `user` may see (a lead unit: its own)."""
    visible = select(Unit.sector_id).where(policy.unit_filter(user))
    return list(
        db.session.scalars(select(Sector).where(Sector.id.in_(visible)).order_by(Sector.id))
    )


def region_choices(user: User) -> list[Region]:
    """A town office: its region and everything below it. Anyone else: the regions that
    hold, or lie above, a unit they may see (a city-wide office: every region in use)."""
    stmt = list_regions()
    if user.office_region_id is not None:
        return list(
            db.session.scalars(
                stmt.where(Region.id.in_(policy.region_subtree(user.office_region_id)))
            )
        )
    held = select(Unit.region_id).where(policy.unit_filter(user)).distinct()
    up = select(Region.id, Region.parent_id).where(Region.id.in_(held)).cte(recursive=True)
    up = up.union_all(select(Region.id, Region.parent_id).where(Region.id == up.c.parent_id))
    return list(db.session.scalars(stmt.where(Region.id.in_(select(up.c.id)))))


def all_regions() -> list[Region]:
    """Every region, in `list_regions` order."""
    return list(db.session.scalars(list_regions()))


def assignable_regions(user: User) -> list[Region]:
    """The regions `user` may put a unit in (a scoped office: its subtree), by code."""
    stmt = select(Region).where(policy.region_filter(user)).order_by(Region.code)
    return list(db.session.scalars(stmt))


def visible_units(user: User) -> list[Unit]:
    """Every unit `user` may see, in `units_query` order."""
    return list(db.session.scalars(units_query(user, {})))


def active_units_by_sector(user: User) -> list[tuple[str, int]]:
    """(sector name, active units) for the units `user` may see, most units first."""
    rows = db.session.execute(
        select(Sector.name, func.count(Unit.id))
        .join(Unit, Unit.sector_id == Sector.id)
        .where(Unit.active.is_(True), policy.unit_filter(user))
        .group_by(Sector.id, Sector.name)
        .order_by(func.count(Unit.id).desc(), Sector.id)
    )
    return [(name, count) for name, count in rows]
