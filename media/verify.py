"""Re-verify stored originals: read each one back and compare its SHA-256 and size with
what the database recorded when it arrived (DESIGN §7: originals are provably the same
later). `flask media verify` checks everything; the worker checks a rolling slice of
MEDIA_VERIFY_BATCH photos every MEDIA_VERIFY_SECONDS, resuming after the last one checked.

Every problem (a missing object, another size, another hash) is logged as an error and
written to the audit trail as a `verify_failed` event of the photo.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core import audit, errors
from core.clock import utcnow
from core.db import db
from media.models import MediaVerifyCursor, Photo, PhotoStatus
from media.storage import current_storage

log = logging.getLogger(__name__)
PAGE = 200


@dataclass(frozen=True)
class Mismatch:
    photo_id: int
    key: str
    problem: str  # missing | size | sha256
    expected: str | None = None
    found: str | None = None

    def line(self) -> str:
        detail = f" (expected {self.expected}, found {self.found})" if self.expected else ""
        return f"photo {self.photo_id} {self.key}: {self.problem}{detail}"


class _Digest:
    """A sink for `Storage.get_to` that hashes and counts instead of keeping the bytes."""

    def __init__(self):
        self.sha256, self.size = hashlib.sha256(), 0

    def write(self, chunk: bytes) -> int:
        self.sha256.update(chunk)
        self.size += len(chunk)
        return len(chunk)


def check_photo(photo: Photo) -> Mismatch | None:
    """Read the original back; None when it is what the database says. Unavailable (the
    store is down) propagates: that is not a finding about this photo."""
    digest = _Digest()
    try:
        current_storage().get_to(photo.key, digest)
    except errors.NotFound:
        return Mismatch(photo.id, photo.key, "missing")
    if photo.size is not None and digest.size != photo.size:
        return Mismatch(photo.id, photo.key, "size", str(photo.size), str(digest.size))
    if digest.sha256.hexdigest() != photo.sha256:
        return Mismatch(photo.id, photo.key, "sha256", photo.sha256, digest.sha256.hexdigest())
    return None


def verify_photos(photos: Iterable[Photo]) -> tuple[int, list[Mismatch]]:
    """Check each photo; record every mismatch (log and audit). Returns (checked, found).
    Flushes, never commits."""
    checked, found = 0, []
    for photo in photos:
        checked += 1
        mismatch = check_photo(photo)
        if mismatch is None:
            continue
        found.append(mismatch)
        log.error("stored original does not match the database: %s", mismatch.line())
        audit.record(
            "photo",
            photo.id,
            "verify_failed",
            actor_id=None,
            after={"key": photo.key, "problem": mismatch.problem,
                   "expected": mismatch.expected, "found": mismatch.found},
        )  # fmt: skip
    db.session.flush()
    return checked, found


def stored_photos(after_id: int = 0, limit: int | None = None) -> Iterator[Photo]:
    """Stored photos by id, page by page (a city's archive is not loaded at once)."""
    remaining = limit
    while remaining is None or remaining > 0:
        page = PAGE if remaining is None else min(PAGE, remaining)
        photos = list(
            db.session.scalars(
                select(Photo)
                .where(Photo.status == PhotoStatus.stored, Photo.id > after_id)
                .order_by(Photo.id)
                .limit(page)
            )
        )
        yield from photos
        if len(photos) < page:
            return
        after_id = photos[-1].id
        if remaining is not None:
            remaining -= len(photos)


def verify_media() -> dict:
    """The worker's job: when MEDIA_VERIFY_SECONDS have passed since the last slice was
    claimed, claim the next MEDIA_VERIFY_BATCH stored photos (wrapping to the start at the
    end) and check them. Commits the claim, then the findings."""
    config = current_app.config
    now = utcnow()
    cursor = db.session.get(MediaVerifyCursor, 1, populate_existing=True)
    if cursor is None:
        try:
            db.session.add(MediaVerifyCursor(id=1, last_photo_id=0, claimed_at=now))
            db.session.commit()
        except IntegrityError:  # another worker made it first; it runs this round
            db.session.rollback()
            return {"skipped": "claimed elsewhere"}
        cursor = db.session.get(MediaVerifyCursor, 1)
    elif cursor.claimed_at > now - timedelta(seconds=config["MEDIA_VERIFY_SECONDS"]):
        db.session.rollback()
        return {"skipped": "not due"}
    start, claimed = cursor.last_photo_id, cursor.claimed_at
    ids = _next_ids(start, config["MEDIA_VERIFY_BATCH"])
    if not ids and start:
        start, ids = 0, _next_ids(0, config["MEDIA_VERIFY_BATCH"])  # from the top again
    moved = db.session.execute(
        update(MediaVerifyCursor)
        .where(
            MediaVerifyCursor.id == 1,
            MediaVerifyCursor.last_photo_id == cursor.last_photo_id,
            MediaVerifyCursor.claimed_at == claimed,
        )
        .values(last_photo_id=ids[-1] if ids else start, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if moved.rowcount != 1:
        return {"skipped": "claimed elsewhere"}
    photos = [db.session.get(Photo, photo_id) for photo_id in ids]
    checked, found = verify_photos(p for p in photos if p is not None)
    db.session.commit()
    report = {"checked": checked, "mismatches": len(found)}
    return report | ({"first_id": ids[0], "last_id": ids[-1]} if ids else {})


def _next_ids(after_id: int, batch: int) -> list[int]:
    return list(
        db.session.scalars(
            select(Photo.id)
            .where(Photo.status == PhotoStatus.stored, Photo.id > after_id)
            .order_by(Photo.id)
            .limit(batch)
        )
    )
