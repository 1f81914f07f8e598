"""Seal an inspection's evidence at submission, and extend the seal with later photos.

The seal is a chain of links (`EvidenceSeal`). Link 1: the SHA-256 of the submission's
canonical content (answers, the findings as submitted, the SHA-256 of every photo stored
by then). Each photo stored after the submission (the phone uploads after an offline
submit) adds a link whose digest seals the photo's id, item and SHA-256 (`photo_digest`):
seal n = SHA-256(seal n-1 ‖ digest n), both as lower-case hex.
The newest link's seal is the inspection's seal; its first 12 hex characters are the
short form printed on the console page and the report (docs/evidence.md).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import bindparam, insert, select

from core import canonical
from core.clock import utcnow
from core.db import Prepared, db
from evidence.models import EvidenceSeal, SealReason
from inspections.models import Finding, Inspection, InspectionStatus
from media.models import Photo, PhotoStatus

SHORT = 12  # hex characters of the short form
OWNER = "inspection"  # media's attachment kind of inspection photos
# The findings' columns sealed at submission; the office's review may change the last four
# later, and `flask evidence verify` undoes its recorded reviews before comparing.
FINDING_FIELDS = ("item_code", "title", "fixed_on_spot", "critical", "photos")
REVIEWED_FIELDS = ("status", "severity", "deadline_days", "description")


# The format of the photo links written now (EvidenceSeal.format): 2 seals the photo's id,
# item and SHA-256; 1 (links written before revision 0030_seal_link_format) its SHA-256.
PHOTO_LINK_FORMAT = 2


def photo_digest(photo: dict[str, Any], format: int = PHOTO_LINK_FORMAT) -> str | None:
    """The digest of a photo link of `format` (None for a format this code does not know):
    for format 2 the SHA-256 of the canonical `{v: 2, id, item_code, sha256}`, the facts
    link 1 seals of each photo stored by the submission."""
    if format == 1:
        return photo["sha256"]
    if format == 2:
        return canonical.sha256_hex(
            {"v": 2, "id": photo["id"], "item_code": photo["item_code"], "sha256": photo["sha256"]}
        )
    return None


def link_seal(prev_seal: str | None, digest: str) -> str:
    """seal n = SHA-256(seal n-1 ‖ digest) over the hex text; link 1 is its digest."""
    if prev_seal is None:
        return digest
    return hashlib.sha256((prev_seal + digest).encode("ascii")).hexdigest()


def submission_content(
    inspection: Inspection, findings: list[dict[str, Any]], photos: list[dict[str, Any]]
) -> dict[str, Any]:
    """What link 1 seals. `findings`: each finding's FINDING_FIELDS and REVIEWED_FIELDS as
    submitted; `photos`: id, item_code and sha256 of each photo stored by the submission."""
    return {
        "v": 1,
        "inspection": {
            "id": inspection.id,
            "client_uuid": inspection.client_uuid,
            "unit_id": inspection.unit_id,
            "inspector_id": inspection.inspector_id,
            "kind": inspection.kind,
            "checklist_version_id": inspection.checklist_version_id,
            "started_at": inspection.started_at,
            "checkin": [
                inspection.checkin_latitude,
                inspection.checkin_longitude,
                inspection.checkin_accuracy_m,
                inspection.checkin_coord_system,
            ],
            "submitted_at": inspection.submitted_at,
            "answers": inspection.answers or {},
            "photos": inspection.photos or {},
            "fixed_on_spot": sorted(inspection.fixed_on_spot or []),
            "score": inspection.score,
            "max_score": inspection.max_score,
            "grade": inspection.grade,
            "critical_failed": inspection.critical_failed,
        },
        "findings": sorted(
            ({key: f[key] for key in FINDING_FIELDS + REVIEWED_FIELDS} for f in findings),
            key=lambda f: f["item_code"],
        ),
        "photos": sorted(
            ({"id": p["id"], "item_code": p["item_code"], "sha256": p["sha256"]} for p in photos),
            key=lambda p: p["id"],
        ),
    }


_FINDING_COLUMNS = [getattr(Finding, key) for key in ("id", *FINDING_FIELDS, *REVIEWED_FIELDS)]
_PHOTO_COLUMNS = (Photo.id, Photo.key, Photo.item_code, Photo.sha256)


# Built once: `flask evidence verify` reads every sealed inspection's findings.
_STORED_FINDINGS = select(*_FINDING_COLUMNS).where(
    Finding.inspection_id == bindparam("inspection_id")
)


def stored_findings(inspection_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(_STORED_FINDINGS, {"inspection_id": inspection_id}).mappings()
    return [dict(row) for row in rows]


def stored_photos(inspection_id: int) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(*_PHOTO_COLUMNS)
        .where(
            Photo.owner_type == OWNER,
            Photo.owner_id == inspection_id,
            Photo.status == PhotoStatus.stored,
        )
        .order_by(Photo.id)
    )
    return [dict(row._mapping) for row in rows]


_LINK_COLUMNS = ("inspection_id", "number", "reason", "photo_id", "format", "digest",
                 "prev_seal", "seal", "created_at")  # fmt: skip
_INSERT = Prepared(insert(EvidenceSeal.__table__), _LINK_COLUMNS)


def seal_submission(
    inspection: Inspection, findings: list[dict[str, Any]], *, new: bool = False
) -> str:
    """Write link 1 for a just-submitted inspection (flushed, findings written); returns
    the seal. `findings`: the sealed fields of the findings just written, as written
    (`inspections.findings.sealed`); `flask evidence verify` recomputes the same digest
    from the stored rows. `new`: the inspection was created by this request, so no photo
    can name it yet. The submission updated the inspection's row first, so a photo upload
    racing it either committed before (and is read here) or waits and extends the seal."""
    photos = [] if new else stored_photos(inspection.id)
    digest = canonical.sha256_hex(submission_content(inspection, findings, photos))
    _write_link(inspection.id, 1, SealReason.submit, None, 1, digest, None)
    return digest


def extend_with_photo(photo: Photo) -> None:
    """A photo of an inspection was stored: after its submission, add a link for it.

    Locks the inspection's row (PostgreSQL) so that a submission and late photos of one
    inspection are sealed one after another, never from the same previous link."""
    if photo.owner_type != OWNER:
        return
    status = db.session.scalar(
        select(Inspection.status).where(Inspection.id == photo.owner_id).with_for_update()
    )
    if status is None or status == InspectionStatus.draft:
        return
    last = current_link(photo.owner_id)
    if last is None:  # submitted before sealing began: nothing to extend
        return
    facts = {"id": photo.id, "item_code": photo.item_code, "sha256": photo.sha256}
    _write_link(
        photo.owner_id,
        last.number + 1,
        SealReason.photo,
        photo.id,
        PHOTO_LINK_FORMAT,
        photo_digest(facts),
        last.seal,
    )


def _write_link(
    inspection_id: int,
    number: int,
    reason: SealReason,
    photo_id: int | None,
    format: int,
    digest: str,
    prev_seal: str | None,
) -> None:
    _INSERT.later(  # prepared, and sent with the next statement or the COMMIT
        db.session.connection(),
        {
            "inspection_id": inspection_id,
            "number": number,
            "reason": reason,
            "photo_id": photo_id,
            "format": format,
            "digest": digest,
            "prev_seal": prev_seal,
            "seal": link_seal(prev_seal, digest),
            "created_at": utcnow(),
        },
    )


def current_link(inspection_id: int) -> EvidenceSeal | None:
    return db.session.scalar(
        select(EvidenceSeal)
        .where(EvidenceSeal.inspection_id == inspection_id)
        .order_by(EvidenceSeal.number.desc())
        .limit(1)
    )


def seal_of(inspection: Inspection) -> dict[str, Any] | None:
    """The inspection's seal as people and the API see it; None before submission."""
    link = current_link(inspection.id) if inspection.id is not None else None
    if link is None:
        return None
    return {"value": link.seal, "short": link.seal[:SHORT], "links": link.number}


def seal_short(inspection: Inspection) -> str | None:
    """The seal's short form (first 12 hex characters) for pages and reports."""
    seal = seal_of(inspection)
    return seal["short"] if seal else None
