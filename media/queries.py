"""Reads of photos for lists and pages: counts and evidence flags per owner, in one
query whatever the number of owners. Changes go through `media.service`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, case, func, or_, select

from core.db import db
from media.models import Photo, PhotoStatus
from media.service import EVIDENCE_FLAGS


def photo_stats(owner_type: str, ids: list[int]) -> dict[int, dict[str, int]]:
    """Per owner: stored photos, and how many carry each evidence flag (one query)."""
    if not ids:
        return {}
    flags = [
        func.sum(case((getattr(Photo, f"flag_{flag}").is_(True), 1), else_=0))
        for flag in EVIDENCE_FLAGS
    ]
    rows = db.session.execute(
        select(Photo.owner_id, func.count(Photo.id), *flags)
        .where(
            Photo.owner_type == owner_type,
            Photo.owner_id.in_(ids),
            Photo.status == PhotoStatus.stored,
        )
        .group_by(Photo.owner_id)
    )
    return {
        row[0]: {"photos": row[1]}
        | {flag: int(n or 0) for flag, n in zip(EVIDENCE_FLAGS, row[2:], strict=True)}
        for row in rows
    }


def owners_with_flag(owner_type: str, flag: str) -> Select:
    """The ids of owners holding a stored photo that carries evidence flag `flag`."""
    return select(Photo.owner_id).where(
        Photo.owner_type == owner_type,
        Photo.status == PhotoStatus.stored,
        getattr(Photo, f"flag_{flag}").is_(True),
    )


def flagged_photo_count(owner_type: str, owner_id: Any, correlate: Any) -> Any:
    """Per owner row of `correlate` (whose id is `owner_id`): its stored photos carrying
    any evidence flag, as a correlated scalar subquery."""
    any_flag = or_(*(getattr(Photo, f"flag_{flag}").is_(True) for flag in EVIDENCE_FLAGS))
    return (
        select(func.count(Photo.id))
        .where(
            Photo.owner_type == owner_type,
            Photo.owner_id == owner_id,
            Photo.status == PhotoStatus.stored,
            any_flag,
        )
        .correlate(correlate)
        .scalar_subquery()
    )


def owners_with_near_duplicates(owner_type: str, ids: list[int]) -> set[int]:
    """Of `ids`, the owners holding a stored photo flagged as a near-duplicate (one query)."""
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(Photo.owner_id)
            .where(
                Photo.owner_type == owner_type,
                Photo.owner_id.in_(ids),
                Photo.status == PhotoStatus.stored,
                Photo.flag_near_duplicate.is_(True),
            )
            .distinct()
        )
    )
