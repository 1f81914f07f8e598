"""Evidence photos as documents print them: the JPEG preview derivative read from storage
(never the original: originals can be 20 MB and carry EXIF positions), captioned so a
reader can match each print to the stored evidence by the SHA-256 of its original."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_

from core.clock import local
from core.db import db
from media.models import PHOTO_FLAG_LABELS, Photo, PhotoStatus
from media.storage import current_storage
from reports.documents import layout

log = logging.getLogger(__name__)

KIND = "inspection"  # photos attached to an inspection, per item (inspections.photos)
# The flags a printed caption names (the session flag is the console's, for review).
PRINTED_FLAGS = ("outside_window", "far_from_unit", "near_duplicate", "exif_missing")
HASH_PREFIX = 12


@dataclass(frozen=True)
class Print:
    photo: Photo
    jpeg: bytes | None  # None: the preview could not be read

    @property
    def taken_at(self) -> datetime | None:
        """When the photo was taken, as its EXIF or the phone says; None when neither does
        (the server's receipt is not when it was taken)."""
        return self.photo.exif_taken_at or self.photo.client_taken_at

    @property
    def flags(self) -> list[str]:
        return [PHOTO_FLAG_LABELS[f] for f in PRINTED_FLAGS if getattr(self.photo, f"flag_{f}")]

    def caption(self, number: int, unit: str, item: str) -> str:
        taken = self.taken_at
        if taken is not None:
            when = layout.cn_datetime(local(taken))
        else:
            received = self.photo.received_at
            when = "拍摄时间不详" + (
                f"（上传于{layout.cn_datetime(local(received))}）" if received else ""
            )
        digest = (self.photo.sha256 or "")[:HASH_PREFIX] or "—"
        text = f"图{number}　{unit}｜{item}｜{when}｜SHA-256 {digest}"
        if self.flags:
            text += "｜" + "、".join(self.flags)
        return text


def previews_of(
    keys: Iterable[tuple[int, str]], per_item: int = 2
) -> dict[tuple[int, str], list[Print]]:
    """The first `per_item` stored photos of each (inspection id, item code), with their
    preview bytes. One query for the rows; one storage read per photo printed."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    rows = db.session.scalars(
        select(Photo)
        .where(
            Photo.owner_type == KIND,
            Photo.status == PhotoStatus.stored,
            tuple_(Photo.owner_id, Photo.item_code).in_(keys),
        )
        .order_by(Photo.id)
    )
    found: dict[tuple[int, str], list[Print]] = {}
    for photo in rows:
        group = found.setdefault((photo.owner_id, photo.item_code), [])
        if len(group) < per_item:
            group.append(Print(photo, _read(photo.preview_key)))
    return found


def _read(key: str | None) -> bytes | None:
    if key is None:
        return None
    sink = io.BytesIO()
    try:
        current_storage().get_to(key, sink)
    except Exception:  # a missing preview leaves a note in the document, not a failed one
        log.warning("photo preview %s could not be read", key, exc_info=True)
        return None
    return sink.getvalue()
