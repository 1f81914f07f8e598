"""Photo uploads (through the API or direct to the store), evidence checks, signed URLs.

Services flush, never commit. Bytes are checked and processed first; then the row is
claimed (an overlapping retry of the same client id waits and answers with the winner's
row, docs/api.md), and only the winner writes the original, under a fresh key, once. If its
request fails after that, what it wrote is removed; derivatives are best effort.
"""

from __future__ import annotations

import io
import logging
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import Select, and_, func, or_, select, update

from accounts.models import User
from core import claims, errors
from core.clock import utcnow
from core.db import db
from core.geo import CoordSystem, distance_m
from media import kinds, pipeline, policy
from media.kinds import Attachment
from media.models import Photo, PhotoHashBand, PhotoStatus
from media.storage import ObjectExists, PresignedPost, current_storage
from org.models import Unit

log = logging.getLogger(__name__)

EVIDENCE_FLAGS = (
    "outside_window",
    "outside_session",
    "far_from_unit",
    "near_duplicate",
    "exif_missing",
)
VARIANTS = ("original", "preview", "thumb")
INCOMING = "incoming/"  # where presigned uploads land; confirm copies out of it


def _config(name: str) -> Any:
    return current_app.config[name]


# -- reading ------------------------------------------------------------------------------


def get_photo(photo_id: int, *, actor: User) -> Photo:
    """A stored photo the actor may see (through its owner's rules), else NotFound."""
    return policy.visible_photo(photo_id, actor)


def list_photos(
    *,
    actor: User,
    owner_type: str | None = None,
    owner_id: int | None = None,
    item_code: str | None = None,
    flags: Iterable[str] = (),
    unit_id: int | None = None,
) -> Select:
    """Stored photos of one owner (anyone who may view it), or across owners (office,
    within its region)."""
    stmt = select(Photo)
    if owner_type is not None or owner_id is not None:
        if owner_type is None or owner_id is None:
            raise errors.InvalidInput(errors={"owner_id": ["owner_type 与 owner_id 需同时提供"]})
        policy.visible_owner(owner_type, owner_id, actor)
        stmt = stmt.where(
            Photo.status == PhotoStatus.stored,
            policy.scope_filter(actor),
            Photo.owner_type == owner_type,
            Photo.owner_id == owner_id,
        )
    elif policy.can_list_across_owners(actor):
        stmt = stmt.where(policy.photo_filter(actor))
    else:
        raise errors.InvalidInput(errors={"owner_id": ["请指定照片所属对象"]})
    if item_code is not None:
        stmt = stmt.where(Photo.item_code == item_code)
    if unit_id is not None:
        stmt = stmt.where(Photo.unit_id == unit_id)
    for flag in flags:
        stmt = stmt.where(getattr(Photo, f"flag_{flag}").is_(True))
    return stmt.order_by(Photo.id)


def photos_for(owner_type: str, owner_id: int, *, item_code: str | None = None) -> list[Photo]:
    """Stored photos of one owner, oldest first. No permission check: call `view` first."""
    stmt = select(Photo).where(
        Photo.status == PhotoStatus.stored,
        Photo.owner_type == owner_type,
        Photo.owner_id == owner_id,
    )
    if item_code is not None:
        stmt = stmt.where(Photo.item_code == item_code)
    return list(db.session.scalars(stmt.order_by(Photo.id)))


def photo_counts(owner_type: str, owner_ids: Iterable[int]) -> dict[int, int]:
    ids = list(owner_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Photo.owner_id, func.count())
        .where(
            Photo.status == PhotoStatus.stored,
            Photo.owner_type == owner_type,
            Photo.owner_id.in_(ids),
        )
        .group_by(Photo.owner_id)
    )
    return {owner_id: count for owner_id, count in rows}


def item_codes_with_photos(owner_type: str, owner_id: int) -> set[str]:
    rows = db.session.scalars(
        select(Photo.item_code)
        .where(
            Photo.status == PhotoStatus.stored,
            Photo.owner_type == owner_type,
            Photo.owner_id == owner_id,
            Photo.item_code.is_not(None),
        )
        .distinct()
    )
    return set(rows)


def signed_url(photo: Photo, variant: str = "original") -> str | None:
    """A short-lived URL for one variant; None when that derivative could not be made."""
    key, content_type = {
        "original": (photo.key, photo.content_type or "application/octet-stream"),
        "preview": (photo.preview_key, "image/jpeg"),
        "thumb": (photo.thumb_key, "image/jpeg"),
    }[variant]
    if key is None or photo.status != PhotoStatus.stored:
        return None
    return current_storage().signed_url(
        key, content_type=content_type, expires_in=_config("PHOTO_URL_TTL_SECONDS")
    )


def flags_of(photo: Photo) -> list[str]:
    return [flag for flag in EVIDENCE_FLAGS if getattr(photo, f"flag_{flag}")]


# -- upload through the API ---------------------------------------------------------------


def upload_photo(data: dict, file: BinaryIO, *, actor: User) -> tuple[Photo, bool]:
    """Store one photo sent through the API. Returns (photo, created); a retry with the
    same client id, even one overlapping the first, returns the first photo and False.

    The bytes are checked and processed first (no lock held), then the row is claimed;
    only the copy that wins the claim writes to storage."""
    existing = _retry_of(data, actor)
    if existing is not None:
        return _stored_retry(existing), False
    attachment = policy.attachable_owner(
        data["owner_type"], data["owner_id"], actor, data.get("item_code")
    )
    sha256, size = pipeline.sha256_and_size(file)
    _check_bytes(size, sha256, data.get("sha256"))
    processed = pipeline.process(file, max_pixels=_config("PHOTO_MAX_PIXELS"))
    photo = _new_photo(data, attachment, actor=actor, declared_type=data.get("declared_type"))
    _record(photo, processed, sha256=sha256, size=size)
    if not claims.claim(photo):
        return _stored_retry(_claimed_by_another(data, actor)), False
    with _removed_on_failure(photo):
        file.seek(0)
        current_storage().put(photo.key, file, content_type=processed.content_type)
        _index_hash(photo)
        _assess(photo, attachment)
        _store_derivatives(photo, processed)
        kinds.photo_stored(photo)
    return photo, True


# -- direct upload: presigned POST, then confirm ------------------------------------------


def start_direct_upload(data: dict, *, actor: User) -> tuple[Photo, PresignedPost | None, bool]:
    """Issue a presigned POST for one photo of `data["size"]` bytes. A retry re-issues it
    for the same photo (or, once confirmed, returns the stored photo and no upload)."""
    existing = _retry_of(data, actor)
    if existing is not None and existing.status == PhotoStatus.stored:
        return existing, None, False
    attachment = policy.attachable_owner(
        data["owner_type"], data["owner_id"], actor, data.get("item_code")
    )
    ttl = _config("PHOTO_UPLOAD_TTL_SECONDS")
    created = False
    if existing is None:
        photo = _new_photo(data, attachment, actor=actor, declared_type=data["content_type"])
        photo.status = PhotoStatus.pending
        photo.key = f"{INCOMING}{uuid.uuid4().hex}"
        photo.size = data["size"]  # announced; confirm refuses anything else
        photo.client_sha256 = data.get("sha256")
        photo.expires_at = utcnow() + timedelta(seconds=ttl)
        created = claims.claim(photo)
        if not created:
            existing = _claimed_by_another(data, actor)
            if existing.status == PhotoStatus.stored:
                return existing, None, False
    if not created:
        photo = existing
        photo.declared_type = data["content_type"]
        photo.client_sha256 = data.get("sha256")
        photo.size = data["size"]
        photo.expires_at = utcnow() + timedelta(seconds=ttl)
    db.session.flush()
    post = current_storage().presigned_post(
        photo.key,
        content_type=data["content_type"],
        max_bytes=_config("MAX_PHOTO_BYTES"),
        expires_in=ttl,
    )
    return photo, post, created


def accepts_direct_upload(key: str) -> bool:
    """Whether the folder backend's upload target may still write `key`: only while its
    photo waits, unconfirmed and unexpired. After confirm the photo lives under another
    key and nothing refers to this one."""
    photo = db.session.scalar(select(Photo).where(Photo.key == key))
    return (
        photo is not None
        and photo.status == PhotoStatus.pending
        and (photo.expires_at is None or photo.expires_at > utcnow())
    )


def confirm_upload(photo_id: int, *, actor: User) -> Photo:
    """Check what actually arrived in the store (moto and some stores do not enforce the
    presigned conditions), then process it like an API upload. Idempotent: overlapping
    confirms check the bytes each, but one claims the row and stores the photo; the
    others answer with what it stored."""
    photo = policy.own_upload(photo_id, actor)
    if photo.status == PhotoStatus.stored:
        return photo
    if photo.expires_at is not None and photo.expires_at < utcnow():
        raise errors.Conflict("上传已过期，请重新申请上传", type="urn:problem:upload-expired")
    attachment = policy.attachable_owner(photo.owner_type, photo.owner_id, actor, photo.item_code)
    storage = current_storage()
    incoming = photo.key
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as file:
        try:
            sha256, size, processed = _check_incoming(photo, file)
        except errors.DomainError:
            # An overlapping confirm may have stored it and removed the incoming object.
            stored = _stored_meanwhile(photo_id)
            if stored is not None:
                return stored
            raise
        # Claim: only the confirm that turns the row from pending to stored writes bytes.
        # The presigned POST stays usable until it expires, so the incoming object could
        # still be replaced: the evidence is the bytes just checked, stored write-once
        # under a key no client can write.
        key = _photo_key()
        won = db.session.execute(
            update(Photo)
            .where(Photo.id == photo_id, Photo.status == PhotoStatus.pending)
            .values(status=PhotoStatus.stored, key=key, expires_at=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not won:
            stored = _stored_meanwhile(photo_id)
            if stored is None:
                raise errors.Conflict(
                    "上传已过期，请重新申请上传", type="urn:problem:upload-expired"
                )
            return stored
        photo.status, photo.key, photo.expires_at = PhotoStatus.stored, key, None
        with _removed_on_failure(photo):
            file.seek(0)
            storage.put(photo.key, file, content_type=processed.content_type)
            _record(photo, processed, sha256=sha256, size=size)
            db.session.flush()
            _index_hash(photo)
            _assess(photo, attachment)
            _store_derivatives(photo, processed)
            kinds.photo_stored(photo)
    try:
        storage.delete(incoming)
    except errors.Unavailable:
        log.warning("photo %s: incoming object %s left behind", photo.id, incoming)
    return photo


def _check_incoming(photo: Photo, file: BinaryIO) -> tuple[str, int, pipeline.Processed]:
    """Read the incoming object into `file` and check it: the announced size, the size
    limit, the client's SHA-256, an image. What is refused is removed from the store (the
    upload stays pending: the client may POST again to the same target and confirm)."""
    storage = current_storage()
    size = storage.head(photo.key)
    if size is None:
        raise errors.Conflict(
            "存储中尚未收到该照片，请先上传再确认", type="urn:problem:upload-missing"
        )
    limit = _config("MAX_PHOTO_BYTES")
    try:
        if size > limit:
            raise _too_large(limit)
        _check_announced(photo, size)
        storage.get_to(photo.key, _Bounded(file, limit))
        sha256, size = pipeline.sha256_and_size(file)
        _check_announced(photo, size)  # the object may have changed after HEAD
        _check_bytes(size, sha256, photo.client_sha256)
        processed = pipeline.process(file, max_pixels=_config("PHOTO_MAX_PIXELS"))
    except (errors.PayloadTooLarge, errors.UnsupportedMedia, errors.InvalidInput):
        # What arrived is not acceptable evidence: remove it; the client may upload again.
        storage.delete(photo.key)
        raise
    return sha256, size, processed


def _check_announced(photo: Photo, size: int) -> None:
    if photo.size is not None and size != photo.size:
        raise errors.InvalidInput(
            f"收到的文件大小（{size} 字节）与申请直传时声明的（{photo.size} 字节）不一致，"
            "已删除，请重新上传",
            errors={"size": ["与收到的文件不一致"]},
            type="urn:problem:upload-size-mismatch",
        )


def _stored_meanwhile(photo_id: int) -> Photo | None:
    """The photo as committed, when an overlapping confirm has stored it. The no-op UPDATE
    waits for a confirm still running (its row lock; SQLite's write lock): that one
    removes the incoming object before its transaction ends."""
    db.session.execute(
        update(Photo)
        .where(Photo.id == photo_id)
        .values(status=Photo.status)
        .execution_options(synchronize_session=False)
    )
    photo = db.session.get(Photo, photo_id, populate_existing=True)
    return photo if photo is not None and photo.status == PhotoStatus.stored else None


class _Bounded:
    """A sink that refuses to grow past `limit` bytes (the object may change after HEAD)."""

    def __init__(self, sink: BinaryIO, limit: int):
        self.sink, self.limit, self.written = sink, limit, 0

    def write(self, chunk: bytes) -> int:
        self.written += len(chunk)
        if self.written > self.limit:
            raise _too_large(self.limit)
        return self.sink.write(chunk)


def _too_large(limit: int) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(f"照片超过 {limit // (1024 * 1024)} MB 上限")


def expire_uploads(now: datetime | None = None) -> tuple[int, int]:
    """Remove presigned uploads never confirmed in time and whatever bytes they left; then
    objects under incoming/ older than the upload TTL that no waiting upload refers to (a
    POST to a target after its photo was confirmed, or after it expired). Returns (rows,
    stray objects) removed."""
    now = now or utcnow()
    stale = list(
        db.session.scalars(
            select(Photo).where(Photo.status == PhotoStatus.pending, Photo.expires_at < now)
        )
    )
    storage = current_storage()
    for photo in stale:
        storage.delete(photo.key)
        db.session.delete(photo)
    db.session.flush()
    waiting = set(db.session.scalars(select(Photo.key).where(Photo.status == PhotoStatus.pending)))
    cutoff = now - timedelta(seconds=_config("PHOTO_UPLOAD_TTL_SECONDS"))
    strays = 0
    for key, modified in storage.keys(INCOMING):
        if modified < cutoff and key not in waiting:
            storage.delete(key)
            strays += 1
    return len(stale), strays


def rebuild_derivatives() -> tuple[int, int]:
    """Remake the previews and thumbnails that could not be stored (e.g. during a storage
    outage) from the originals. Returns (rebuilt, still missing)."""
    storage = current_storage()
    missing = db.session.scalars(
        select(Photo).where(
            Photo.status == PhotoStatus.stored,
            or_(Photo.preview_key.is_(None), Photo.thumb_key.is_(None)),
        )
    ).all()
    rebuilt = 0
    for photo in missing:
        try:
            with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as file:
                storage.get_to(photo.key, file)
                processed = pipeline.process(file, max_pixels=_config("PHOTO_MAX_PIXELS"))
        except (errors.Unavailable, errors.NotFound, errors.UnsupportedMedia) as exc:
            log.warning("photo %s: derivatives not rebuilt: %s", photo.id, exc)
            continue
        if photo.phash is None and processed.phash is not None:
            photo.phash = processed.phash
            _index_hash(photo)
        _store_derivatives(photo, processed)
        rebuilt += photo.preview_key is not None and photo.thumb_key is not None
    return rebuilt, len(missing) - rebuilt


# -- evidence -----------------------------------------------------------------------------


def reassess(owner_type: str, owner_id: int, attachment: Attachment) -> None:
    """Recompute the flags of an owner's photos (e.g. after its visit window moved). Each
    photo keeps the evidence group it was taken in (a task's round, say): a later group
    must not absorb earlier photos and hide a reuse."""
    for photo in photos_for(owner_type, owner_id):
        photo.unit_id = attachment.unit_id
        _assess(photo, attachment)
    db.session.flush()


def _index_hash(photo: Photo) -> None:
    db.session.execute(PhotoHashBand.__table__.delete().where(PhotoHashBand.photo_id == photo.id))
    if photo.phash is not None:
        db.session.add_all(
            PhotoHashBand(photo_id=photo.id, band=i, value=v)
            for i, v in enumerate(_bands(photo.phash))
        )


def _assess(photo: Photo, attachment: Attachment) -> None:
    photo.flag_exif_missing = photo.exif_taken_at is None and photo.exif_latitude is None

    slack = timedelta(seconds=_config("PHOTO_WINDOW_SLACK_SECONDS"))
    times = [t for t in (photo.exif_taken_at, photo.client_taken_at) if t is not None]
    photo.flag_outside_window = attachment.window is not None and any(
        not (attachment.window[0] - slack <= t <= attachment.window[1] + slack) for t in times
    )
    photo.flag_outside_session = _outside_session(times, attachment.session)

    unit = db.session.get(Unit, attachment.unit_id)
    # EXIF GPS is WGS-84; the phone's own reading is in the system it says it used.
    positions = [
        (lat, lon, system)
        for lat, lon, system in (
            (photo.exif_latitude, photo.exif_longitude, CoordSystem.wgs84),
            (
                photo.client_latitude,
                photo.client_longitude,
                photo.client_coord_system or CoordSystem.wgs84,
            ),
        )
        if lat is not None and lon is not None
    ]
    if unit is None or unit.latitude is None or unit.longitude is None or not positions:
        photo.distance_m, photo.flag_far_from_unit = None, False
    else:
        at_unit = (unit.latitude, unit.longitude, unit.coord_system)
        farthest = max(distance_m(here, at_unit) for here in positions)
        photo.distance_m = round(farthest, 1)
        photo.flag_far_from_unit = farthest > _config("PHOTO_MAX_DISTANCE_M")

    duplicate = _nearest_duplicate(photo)
    photo.near_duplicate_of_id = duplicate
    photo.flag_near_duplicate = duplicate is not None


def _outside_session(
    times: list[datetime], session: tuple[datetime, datetime | None] | None
) -> bool:
    """A photo time before the check-in or after the submission, beyond the slack. While
    the owner is open its session runs to now: a photo cannot be taken later than that."""
    if session is None or not times:
        return False
    slack = timedelta(minutes=_config("PHOTO_TIME_SLACK_MINUTES"))
    start, end = session
    end = end or utcnow()
    return any(not (start - slack <= t <= end + slack) for t in times)


def _bands(phash: str) -> list[int]:
    value = int(phash, 16)
    return [(value >> (8 * i)) & 0xFF for i in range(8)]


def _nearest_duplicate(photo: Photo) -> int | None:
    """The earliest stored photo of another group within the duplicate distance."""
    if photo.phash is None:
        return None
    threshold = _config("PHOTO_DUPLICATE_DISTANCE")
    bands = _bands(photo.phash)
    candidates = db.session.execute(
        select(Photo.id, Photo.phash)
        .join(PhotoHashBand, PhotoHashBand.photo_id == Photo.id)
        .where(
            or_(
                *(
                    and_(PhotoHashBand.band == i, PhotoHashBand.value == v)
                    for i, v in enumerate(bands)
                )
            ),
            Photo.id != photo.id,
            Photo.status == PhotoStatus.stored,
            Photo.evidence_group != photo.evidence_group,
        )
        .distinct()
        .order_by(Photo.id)
    )
    mine = int(photo.phash, 16)
    for other_id, other_hash in candidates:
        if (mine ^ int(other_hash, 16)).bit_count() <= threshold:
            return other_id
    return None


# -- helpers ------------------------------------------------------------------------------


def _stored_retry(existing: Photo) -> Photo:
    if existing.status != PhotoStatus.stored:
        raise errors.Conflict(
            "该上传编号已用于直传，请确认直传或换一个编号",
            type="urn:problem:upload-id-in-direct-use",
        )
    return existing


def _claimed_by_another(data: dict, actor: User) -> Photo:
    """The row an overlapping copy claimed first (committed by now)."""
    winner = _retry_of(data, actor)
    if winner is None:  # the unique key, not the client id: a new key makes it go in
        raise errors.Conflict("数据与已有记录冲突，请重试", type="urn:problem:integrity-conflict")
    return winner


@contextmanager
def _removed_on_failure(photo: Photo) -> Iterator[None]:
    """Bytes written for a row that then fails to be written are removed: the request
    rolls back, so nothing would refer to them."""
    try:
        yield
    except BaseException:
        for key in (photo.key, photo.preview_key, photo.thumb_key):
            if key is None:
                continue
            try:
                current_storage().delete(key)
            except errors.Unavailable:
                log.warning("photo %s: %s left behind after a failed upload", photo.id, key)
        raise


def _retry_of(data: dict, actor: User) -> Photo | None:
    existing = db.session.scalar(
        select(Photo).where(
            Photo.uploaded_by_id == actor.id, Photo.client_id == str(data["client_id"])
        )
    )
    if existing is not None and (
        existing.owner_type != data["owner_type"] or existing.owner_id != data["owner_id"]
    ):
        raise errors.Conflict("该上传编号已用于另一对象的照片", type="urn:problem:client-id-reused")
    return existing


def _check_bytes(size: int, sha256: str, claimed: str | None) -> None:
    limit = _config("MAX_PHOTO_BYTES")
    if size == 0:
        raise errors.UnsupportedMedia("文件为空")
    if size > limit:
        raise _too_large(limit)
    if claimed and claimed.lower() != sha256:
        raise errors.InvalidInput(
            "文件在传输中损坏（SHA-256 不一致），请重新上传",
            errors={"sha256": ["与收到的文件不一致"]},
        )


def _photo_key() -> str:
    return f"photos/{utcnow():%Y/%m}/{uuid.uuid4().hex}"


def _new_photo(data: dict, attachment: Attachment, *, actor: User, declared_type) -> Photo:
    now = utcnow()
    return Photo(
        client_id=str(data["client_id"]),
        status=PhotoStatus.stored,
        owner_type=data["owner_type"],
        owner_id=data["owner_id"],
        item_code=data.get("item_code"),
        evidence_group=attachment.group,
        unit_id=attachment.unit_id,
        key=_photo_key(),
        declared_type=(declared_type or None) and declared_type[:100],
        client_taken_at=data.get("taken_at"),
        client_latitude=data.get("latitude"),
        client_longitude=data.get("longitude"),
        client_coord_system=data.get("coord_system") or CoordSystem.wgs84,
        uploaded_by_id=actor.id,
        created_at=now,
    )


def _record(photo: Photo, processed: pipeline.Processed, *, sha256: str, size: int) -> None:
    photo.sha256, photo.size = sha256, size
    photo.content_type = processed.content_type
    photo.width, photo.height = processed.width, processed.height
    photo.phash = processed.phash
    photo.exif_taken_at = processed.exif_taken_at
    photo.exif_latitude, photo.exif_longitude = processed.exif_latitude, processed.exif_longitude
    photo.received_at = utcnow()


def _store_derivatives(photo: Photo, processed: pipeline.Processed) -> None:
    """Best effort: the original is already safe; a missing derivative is served as None."""
    storage = current_storage()
    for variant, content in (("preview", processed.preview), ("thumb", processed.thumb)):
        if content is None:
            continue
        key = f"{photo.key}.{variant}.jpg"
        try:
            storage.put(key, io.BytesIO(content), content_type="image/jpeg")
        except ObjectExists:
            pass  # an earlier attempt stored it and lost the answer; same original, same image
        except errors.Unavailable:
            log.warning("photo %s: %s not stored; the original is kept", photo.id, variant)
            continue
        setattr(photo, f"{variant}_key", key)
    db.session.flush()
