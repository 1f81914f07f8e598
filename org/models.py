from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import db
from core.geo import CoordSystem


class RegionLevel(StrEnum):
    city = "city"  # 市
    district = "district"  # 县(区)
    township = "township"  # 乡镇(街道)
    community = "community"  # 村(社区)


REGION_LEVEL_LABELS = {
    RegionLevel.city: "市",
    RegionLevel.district: "县(区)",
    RegionLevel.township: "乡镇(街道)",
    RegionLevel.community: "村(社区)",
}


class Region(db.Model):
    __tablename__ = "region"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    level: Mapped[RegionLevel] = mapped_column(Enum(RegionLevel, native_enum=False, length=12))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    # The ETag: PATCH needs If-Match (re-parenting moves every unit below), and two
    # overlapping changes cannot both pass on one version. server_default: rows older
    # than the column, and bulk SQL.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    parent: Mapped[Region | None] = relationship(remote_side=[id])

    __mapper_args__ = {"version_id_col": version}


class Sector(db.Model):
    """行业领域: 政务服务、医疗、通信、邮政、金融、水电气、12345热线 …"""

    __tablename__ = "sector"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")  # the ETag

    __mapper_args__ = {"version_id_col": version}


class LeadUnit(db.Model):
    """牵头单位: supervises the units of one sector (e.g. 市卫健局 for 医疗)."""

    __tablename__ = "lead_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    sector_id: Mapped[int] = mapped_column(ForeignKey("sector.id"), index=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")  # the ETag

    sector: Mapped[Sector] = relationship()

    __mapper_args__ = {"version_id_col": version}


class Unit(db.Model):
    """窗口单位: a service hall, hospital counter, bank branch, telecom or post office …"""

    __tablename__ = "unit"
    __table_args__ = (
        UniqueConstraint("name", "region_id"),
        CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="latitude"),
        CheckConstraint("longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="longitude"),
        Index("ix_unit_sector_region", "sector_id", "region_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    # The datum of latitude/longitude: offices copy them from Tencent/Amap pickers (GCJ-02).
    coord_system: Mapped[CoordSystem] = mapped_column(
        Enum(CoordSystem, native_enum=False, length=8),
        default=CoordSystem.gcj02,
        server_default="gcj02",  # also what bulk SQL and rows older than the column get
    )
    sector_id: Mapped[int] = mapped_column(ForeignKey("sector.id"))
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), index=True)
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("lead_unit.id"), index=True)
    contact_name: Mapped[str] = mapped_column(String(40), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    # 办公时间 (org/hours.py): {"mon": [["08:30", "12:00"], …], …}; None keeps the default.
    service_hours: Mapped[dict[str, list[list[str]]] | None] = mapped_column(
        JSON(none_as_null=True)
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    sector: Mapped[Sector] = relationship(lazy="joined")
    region: Mapped[Region] = relationship(lazy="joined")
    lead_unit: Mapped[LeadUnit | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
