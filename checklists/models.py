"""Checklist templates and their versions.

A template is what the office names and assigns to sectors; its content lives in numbered
versions. A version goes draft → published → retired; once published its content and
content hash never change (inspections pin the version id they were filled with).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Enum,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.db import db
from org.models import Sector


class VersionStatus(StrEnum):
    draft = "draft"  # 草稿：可修改
    published = "published"  # 已发布：不可修改，检查时使用
    retired = "retired"  # 已停用：旧检查记录仍按它显示


STATUS_LABELS = {
    VersionStatus.draft: "草稿",
    VersionStatus.published: "已发布",
    VersionStatus.retired: "已停用",
}


template_sector = Table(
    "checklist_template_sector",
    db.metadata,
    Column(
        "template_id",
        ForeignKey("checklist_template.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("sector_id", ForeignKey("sector.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_checklist_template_sector_sector_id", "sector_id"),
)


class ChecklistTemplate(db.Model):
    __tablename__ = "checklist_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(2000), default="")
    # True: applies to every sector unless a sector has a template of its own.
    all_sectors: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    revision: Mapped[int] = mapped_column(default=1)

    sectors: Mapped[list[Sector]] = relationship(
        secondary=template_sector, lazy="selectin", order_by=Sector.id
    )

    __mapper_args__ = {"version_id_col": revision}

    @property
    def sector_codes(self) -> list[str]:
        return [sector.code for sector in self.sectors]

    @property
    def sector_ids(self) -> list[int]:
        return [sector.id for sector in self.sectors]


class ChecklistVersion(db.Model):
    __tablename__ = "checklist_version"
    __table_args__ = (
        UniqueConstraint("template_id", "number"),
        Index("ix_checklist_version_status", "status", "template_id"),
        # At most one published and one draft version per template, even under races.
        Index(
            "uq_checklist_version_published",
            "template_id",
            unique=True,
            sqlite_where=text("status = 'published'"),
            postgresql_where=text("status = 'published'"),
        ),
        Index(
            "uq_checklist_version_draft",
            "template_id",
            unique=True,
            sqlite_where=text("status = 'draft'"),
            postgresql_where=text("status = 'draft'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_template.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(
        Enum(VersionStatus, native_enum=False, length=12), default=VersionStatus.draft
    )
    # {"name", "description", "scoring", "sections": [{"code", "title", ..., "items": [...]}]}
    # always normalised (checklists.content.normalise); see checklists/__init__.py.
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    # sha256 of the canonical JSON of `content`; follows drafts, frozen at publication.
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    retired_at: Mapped[datetime | None]
    revision: Mapped[int] = mapped_column(default=1)

    template: Mapped[ChecklistTemplate] = relationship()

    __mapper_args__ = {"version_id_col": revision}

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.draft

    @property
    def item_count(self) -> int:
        return sum(len(section["items"]) for section in self.content.get("sections", []))
