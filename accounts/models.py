from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import db
from org.models import Region, Sector, Unit


class Role(StrEnum):
    office_admin = "office_admin"  # 督查办管理员
    inspector = "inspector"  # 督查员 / 暗访员
    unit_staff = "unit_staff"  # 窗口单位工作人员 (bound to one unit)
    lead_unit_staff = "lead_unit_staff"  # 牵头单位工作人员 (bound to one sector)
    viewer = "viewer"  # 只读查看


ROLE_LABELS = {
    Role.office_admin: "督查办管理员",
    Role.inspector: "督查员",
    Role.unit_staff: "窗口单位",
    Role.lead_unit_staff: "牵头单位",
    Role.viewer: "只读用户",
}


class User(db.Model):
    __tablename__ = "user"
    # "ADMIN" beside "admin" would be another account that reads as the administrator's:
    # usernames (ASCII, api.users) are unique whatever their case, in the database too.
    __table_args__ = (Index("uq_user_username_lower", func.lower("username"), unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str | None] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    # unit_staff: the unit they answer for; inspector: their home unit (回避).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    # lead_unit_staff: the sector they supervise.
    sector_id: Mapped[int | None] = mapped_column(ForeignKey("sector.id"), index=True)
    # office_admin / viewer: the region whose subtree they work in; None is city-wide.
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    phone: Mapped[str] = mapped_column(String(30), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    unit: Mapped[Unit | None] = relationship()
    sector: Mapped[Sector | None] = relationship()
    region: Mapped[Region | None] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_office(self) -> bool:
        return self.role in (Role.office_admin, Role.viewer)

    @property
    def office_region_id(self) -> int | None:
        """The region a district or town office is bound to; None for a city-wide office
        and for everyone who is not an office (their scope is a unit, a sector or a team)."""
        return self.region_id if self.is_office else None


class ApiToken(db.Model):
    """A bearer token. Only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(20))  # password | wechat
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class BindingCode(db.Model):
    """A one-time code the office gives a person to bind their WeChat account."""

    __tablename__ = "binding_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Set when a newer code for the same person replaces it, or the office unbinds them.
    revoked_at: Mapped[datetime | None]
