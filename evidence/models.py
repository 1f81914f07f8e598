"""The seal of an inspection's evidence: a chain of links, one per sealing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import db


class SealReason(StrEnum):
    submit = "submit"  # the inspection as submitted, with the photos stored by then
    photo = "photo"  # a photo stored after the submission


class EvidenceSeal(db.Model):
    """One link of an inspection's seal. Link 1 seals the submission (`digest` is the
    SHA-256 of its canonical content); each later link adds one photo that arrived after
    it (`digest` seals that photo: see `format`). `seal` = SHA-256 over the previous link's seal
    and this digest; the newest link's seal is the inspection's seal (docs/evidence.md)."""

    __tablename__ = "evidence_seal"
    # (inspection_id, number) also serves every lookup by inspection: no index of its own.
    __table_args__ = (UniqueConstraint("inspection_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id", ondelete="CASCADE"))
    number: Mapped[int]
    reason: Mapped[SealReason] = mapped_column(Enum(SealReason, native_enum=False, length=10))
    # The photo a `photo` link adds; no foreign key: a photo row deleted later must show
    # as a broken seal, not quietly empty this column.
    photo_id: Mapped[int | None] = mapped_column(unique=True)
    # How `digest` is made (evidence.seal.link_digest): 1 for link 1, and for the photo
    # links written before revision 0030_seal_link_format (the photo's SHA-256); 2 for the
    # photo links since (the photo's id, item and SHA-256).
    format: Mapped[int] = mapped_column(default=1, server_default="1")
    digest: Mapped[str] = mapped_column(String(64))
    prev_seal: Mapped[str | None] = mapped_column(String(64))
    seal: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
