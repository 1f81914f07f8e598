"""Regions, sectors, lead units and units: office maintenance and scoped reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_, select

from accounts.models import User
from core import audit, errors
from core.db import db
from org import hours, policy
from org.models import REGION_LEVEL_LABELS, LeadUnit, Region, RegionLevel, Sector, Unit

# -- reference data -----------------------------------------------------------------------


def list_regions(*, parent_id: int | None = None, level: str | None = None) -> Select:
    stmt = select(Region).order_by(Region.code)
    if parent_id is not None:
        stmt = stmt.where(Region.parent_id == parent_id)
    if level:
        stmt = stmt.where(Region.level == level)
    return stmt


def list_sectors() -> list[Sector]:
    return list(db.session.scalars(select(Sector).order_by(Sector.id)))


def list_lead_units() -> list[LeadUnit]:
    return list(db.session.scalars(select(LeadUnit).order_by(LeadUnit.id)))


def get_or_404(model, ident: int):
    obj = db.session.get(model, ident)
    if obj is None:
        raise errors.NotFound()
    return obj


def _save(model, obj, data: dict[str, Any], *, unique: tuple[str, ...], actor: User):
    """Create or update a reference row, keeping `unique` fields unique, and audit it."""
    for field in unique:
        if field in data:
            stmt = select(model.id).where(getattr(model, field) == data[field])
            if obj is not None:
                stmt = stmt.where(model.id != obj.id)
            if db.session.scalar(stmt) is not None:
                raise errors.Conflict(
                    f"{data[field]} 已存在",
                    errors={field: ["已存在"]},
                    type="urn:problem:already-exists",
                )
    obj = obj or model()
    for key, value in data.items():
        setattr(obj, key, value)
    db.session.add(obj)
    db.session.flush()
    audit.record(model.__tablename__, obj.id, "save", actor_id=actor.id, after={"name": obj.name})
    return obj


def save_region(data: dict[str, Any], *, actor: User, region: Region | None = None) -> Region:
    policy.check_maintains_reference_data(actor)
    if region is None or "parent_id" in data or "level" in data:
        _check_place_in_tree(data, region)
    return _save(Region, region, data, unique=("code",), actor=actor)


_DEPTH = {level: depth for depth, level in enumerate(RegionLevel)}


def _check_place_in_tree(data: dict[str, Any], region: Region | None) -> None:
    """A region sits below one of a higher level, up to a city at the top: a district that
    lost its city, or a community hung under another community, would fall out of the
    offices' scopes and the rankings by area."""
    level = RegionLevel(data.get("level", region.level if region else None))
    parent_id = data.get("parent_id", region.parent_id if region else None)
    label = REGION_LEVEL_LABELS[level]
    if parent_id is None:
        if level != RegionLevel.city:
            raise errors.InvalidInput(errors={"parent_id": [f"{label}级区域需要上级区域"]})
    else:
        parent = db.session.get(Region, parent_id)
        if parent is None:
            raise errors.InvalidInput(errors={"parent_id": ["上级区域不存在"]})
        if region is not None and _is_descendant(parent, region):
            raise errors.InvalidInput(errors={"parent_id": ["不能把区域挂到自己或下级之下"]})
        if _DEPTH[parent.level] >= _DEPTH[level]:
            above = REGION_LEVEL_LABELS[parent.level]
            raise errors.InvalidInput(
                errors={"parent_id": [f"{label}级区域不能挂在{above}级区域“{parent.name}”之下"]}
            )
    if region is not None:
        children = select(Region.level).where(Region.parent_id == region.id).distinct()
        if any(_DEPTH[child] <= _DEPTH[level] for child in db.session.scalars(children)):
            raise errors.InvalidInput(
                errors={"level": [f"该区域的下级区域层级不低于{label}，请先调整下级区域"]}
            )


def _is_descendant(node: Region, ancestor: Region) -> bool:
    while node is not None:
        if node.id == ancestor.id:
            return True
        node = node.parent
    return False


def save_sector(data: dict[str, Any], *, actor: User, sector: Sector | None = None) -> Sector:
    policy.check_maintains_reference_data(actor)
    return _save(Sector, sector, data, unique=("code", "name"), actor=actor)


def save_lead_unit(
    data: dict[str, Any], *, actor: User, lead_unit: LeadUnit | None = None
) -> LeadUnit:
    policy.check_maintains_reference_data(actor)
    if "sector_id" in data and db.session.get(Sector, data["sector_id"]) is None:
        raise errors.InvalidInput(errors={"sector_id": ["行业领域不存在"]})
    if lead_unit is not None and data.get("sector_id", lead_unit.sector_id) != lead_unit.sector_id:
        # Its units are of its sector: moving it would leave them led from another.
        led = select(Unit.id).where(Unit.lead_unit_id == lead_unit.id).limit(1)
        if db.session.scalar(led) is not None:
            raise errors.InvalidInput(
                errors={"sector_id": ["该牵头单位下还有窗口单位，不能改到其他行业领域"]}
            )
    return _save(LeadUnit, lead_unit, data, unique=("name",), actor=actor)


# -- units --------------------------------------------------------------------------------


def units_query(actor: User, filters: dict[str, Any]) -> Select:
    stmt = select(Unit).where(policy.unit_filter(actor)).order_by(Unit.id)
    if filters.get("sector_id"):
        stmt = stmt.where(Unit.sector_id == filters["sector_id"])
    if filters.get("region_id"):
        # A region filter includes the region's whole subtree (a district and its streets).
        stmt = stmt.where(Unit.region_id.in_(region_subtree_ids(filters["region_id"])))
    if filters.get("lead_unit_id"):
        stmt = stmt.where(Unit.lead_unit_id == filters["lead_unit_id"])
    if filters.get("active") is not None:
        stmt = stmt.where(Unit.active.is_(filters["active"]))
    if filters.get("q"):
        # A search for text, not a pattern: "%" and "_" are the characters themselves.
        q = filters["q"]
        stmt = stmt.where(
            or_(Unit.name.contains(q, autoescape=True), Unit.address.contains(q, autoescape=True))
        )
    return stmt


def region_subtree_ids(region_id: int) -> list[int]:
    """The region and all below it, walked level by level (the tree is 4 levels deep)."""
    found = [region_id]
    frontier = [region_id]
    while frontier:
        frontier = list(db.session.scalars(select(Region.id).where(Region.parent_id.in_(frontier))))
        found.extend(frontier)
    return found


def get_unit(unit_id: int, *, actor: User) -> Unit:
    """A unit the actor may see; anything else is 404, never 403."""
    return policy.visible_unit(unit_id, actor)


def _check_unit_refs(data: dict[str, Any], actor: User, unit: Unit | None = None) -> None:
    if data.get("service_hours") is not None:
        data["service_hours"] = hours.normalise(data["service_hours"])
    problems: dict[str, list[str]] = {}
    if "sector_id" in data and db.session.get(Sector, data["sector_id"]) is None:
        problems["sector_id"] = ["行业领域不存在"]
    # A scoped office keeps its units inside its subtree: another region reads as missing.
    if "region_id" in data and not policy.region_in_scope(data["region_id"], actor):
        problems["region_id"] = ["所属区域不存在"]
    if data.get("lead_unit_id") is not None:
        lead = db.session.get(LeadUnit, data["lead_unit_id"])
        if lead is None:
            problems["lead_unit_id"] = ["牵头单位不存在"]
    # A lead unit supervises one sector: the unit's (as changed, or as it stands).
    lead_id = data.get("lead_unit_id", unit.lead_unit_id if unit else None)
    sector_id = data.get("sector_id", unit.sector_id if unit else None)
    if lead_id is not None and "lead_unit_id" not in problems and "sector_id" not in problems:
        lead = db.session.get(LeadUnit, lead_id)
        if lead is not None and lead.sector_id != sector_id:
            problems["lead_unit_id"] = ["牵头单位不负责该单位的行业领域"]
    # A spot is both coordinates or none: one alone silently turns off every distance check.
    latitude = data.get("latitude", unit.latitude if unit else None)
    longitude = data.get("longitude", unit.longitude if unit else None)
    if (latitude is None) != (longitude is None):
        missing = "latitude" if latitude is None else "longitude"
        problems[missing] = ["经度和纬度须同时填写（或同时留空）"]
    if problems:
        raise errors.InvalidInput(errors=problems)


def _check_unit_name(name: str, region_id: int, exclude_id: int | None = None) -> None:
    stmt = select(Unit.id).where(Unit.name == name, Unit.region_id == region_id)
    if exclude_id is not None:
        stmt = stmt.where(Unit.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise errors.Conflict(
            "同一区域内已有同名窗口单位",
            errors={"name": ["同一区域内已存在"]},
            type="urn:problem:unit-name-taken",
        )


def create_unit(data: dict[str, Any], *, actor: User) -> Unit:
    _check_unit_refs(data, actor)
    _check_unit_name(data["name"], data["region_id"])
    unit = Unit(**data)
    db.session.add(unit)
    db.session.flush()
    audit.record("unit", unit.id, "create", actor_id=actor.id, after={"name": unit.name})
    return unit


def update_unit(unit: Unit, data: dict[str, Any], *, actor: User) -> Unit:
    _check_unit_refs(data, actor, unit)
    if "name" in data or "region_id" in data:
        _check_unit_name(
            data.get("name", unit.name), data.get("region_id", unit.region_id), exclude_id=unit.id
        )
    before = {key: getattr(unit, key) for key in data}
    for key, value in data.items():
        setattr(unit, key, value)
    db.session.flush()
    audit.record("unit", unit.id, "update", actor_id=actor.id, before=before, after=data)
    return unit
