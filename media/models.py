"""A photo, its evidence facts and flags, and the bands of its perceptual hash."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.db import db
from core.geo import CoordSystem


class PhotoStatus(StrEnum):
    pending = "pending"  # a presigned upload was issued; the bytes are not confirmed yet
    stored = "stored"  # the original is in storage, checked and processed


# What a reviewer reads for each evidence flag (`Photo.flag_<name>`); one place for the
# console, the documents and tests/test_labels.py, which checks every flag column has one.
PHOTO_FLAG_LABELS = {
    "outside_window": "拍摄时间不在检查时段",
    "outside_session": "拍摄时间不在签到至提交之间",
    "far_from_unit": "拍摄地点远离单位",
    "near_duplicate": "与其他照片近似",
    "exif_missing": "缺少EXIF信息",
}


class Photo(db.Model):
    __tablename__ = "photo"
    __table_args__ = (
        # A retry of the same upload (same client id from the same person) is the same photo.
        UniqueConstraint("uploaded_by_id", "client_id"),
        Index("ix_photo_owner", "owner_type", "owner_id"),
        Index("ix_photo_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[PhotoStatus] = mapped_column(Enum(PhotoStatus, native_enum=False, length=10))

    # What it is attached to (see media.kinds), and the unit that owner concerns.
    owner_type: Mapped[str] = mapped_column(String(40))
    owner_id: Mapped[int]
    item_code: Mapped[str | None] = mapped_column(String(64))
    evidence_group: Mapped[str] = mapped_column(String(80))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)

    # The bytes: keys are made by the server; the original is never modified.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    preview_key: Mapped[str | None] = mapped_column(String(200))
    thumb_key: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(40))  # found by reading the image
    declared_type: Mapped[str | None] = mapped_column(String(100))  # what the client said
    width: Mapped[int | None]
    height: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    client_sha256: Mapped[str | None] = mapped_column(String(64))
    phash: Mapped[str | None] = mapped_column(String(16))

    # When and where: from the file's EXIF, and from the app (compressed photos lose EXIF).
    exif_taken_at: Mapped[datetime | None]
    exif_latitude: Mapped[float | None]
    exif_longitude: Mapped[float | None]
    client_taken_at: Mapped[datetime | None]
    client_latitude: Mapped[float | None]
    client_longitude: Mapped[float | None]
    # The datum of the app's reading, as wx.getLocation's `type` names it (EXIF is WGS-84).
    client_coord_system: Mapped[CoordSystem] = mapped_column(
        Enum(CoordSystem, native_enum=False, length=8),
        default=CoordSystem.wgs84,
        server_default="wgs84",
    )

    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime | None]  # when the server had the whole original
    expires_at: Mapped[datetime | None]  # pending uploads only

    # Evidence flags: they inform reviewers, they never block.
    flag_outside_window: Mapped[bool] = mapped_column(default=False)
    flag_far_from_unit: Mapped[bool] = mapped_column(default=False)
    flag_near_duplicate: Mapped[bool] = mapped_column(default=False)
    flag_exif_missing: Mapped[bool] = mapped_column(default=False)
    # Taken before the check-in or after the submission (± PHOTO_TIME_SLACK_MINUTES).
    flag_outside_session: Mapped[bool] = mapped_column(default=False, server_default=false())
    distance_m: Mapped[float | None]  # from the unit, when both positions are known
    near_duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("photo.id", ondelete="SET NULL")
    )


class PhotoHashBand(db.Model):
    """One byte of a photo's 64-bit perceptual hash. Two hashes within distance 7 share at
    least one of their eight bytes (pigeonhole), so near-duplicate candidates are found by an
    indexed lookup instead of comparing against every photo ever stored."""

    __tablename__ = "photo_hash_band"
    __table_args__ = (Index("ix_photo_hash_band_lookup", "band", "value"),)

    photo_id: Mapped[int] = mapped_column(
        ForeignKey("photo.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class MediaVerifyCursor(db.Model):
    """Where the worker's rolling re-verification of originals stands (one row): the last
    photo id checked and when that slice was claimed. Workers claim a slice by moving the
    cursor with a conditional UPDATE, so two workers never check the same slice."""

    __tablename__ = "media_verify_cursor"

    id: Mapped[int] = mapped_column(primary_key=True)  # always 1
    last_photo_id: Mapped[int] = mapped_column(default=0)
    claimed_at: Mapped[datetime]
