"""Inspections as owners of photos (media's attachment kind "inspection").

Photos reach the server on their own (often after an offline submission): each upload
names the inspection and the item it documents. The inspection's team may attach until
the office publishes the result; whoever may see the inspection may see its photos.
"""

from __future__ import annotations

from sqlalchemy import select

from accounts.models import User
from core import errors
from core.db import db
from inspections import checklist, policy
from inspections.models import Inspection, InspectionStatus
from media.kinds import Attachment, AttachmentKind
from media.models import Photo, PhotoStatus

KIND = "inspection"


def _visible(inspection_id: int, actor: User) -> Inspection:
    return policy.visible_inspection(inspection_id, actor)


def attachment_of(inspection: Inspection) -> Attachment:
    visit = inspection.visit
    return Attachment(
        unit_id=inspection.unit_id,
        group=f"{KIND}:{inspection.id}",
        window=(visit.window_start, visit.window_end) if visit is not None else None,
        session=(inspection.started_at, inspection.submitted_at),
    )


def _view(owner_id: int, actor: User) -> Attachment:
    return attachment_of(_visible(owner_id, actor))


def _attach(owner_id: int, actor: User, item_code: str | None) -> Attachment:
    inspection = _visible(owner_id, actor)
    if not policy.can_edit_inspection(actor, inspection):
        raise errors.Forbidden("只有本次检查的检查人员可以上传照片")
    if inspection.status == InspectionStatus.published:
        raise errors.Conflict(
            "检查结果已公开，不能再添加照片", type="urn:problem:inspection-published"
        )
    if item_code is not None:
        items = checklist.items_of(checklist.content_of(inspection))
        if item_code not in items:
            raise errors.InvalidInput(errors={"item_code": ["不是本次检查表的检查项"]})
    return attachment_of(inspection)


def arrived_photo_codes(inspection: Inspection) -> set[str]:
    """Item codes whose photo has arrived: a stored photo of this inspection uploaded for
    the item, or one whose client id the inspection names for the item. A name alone (an
    offline submission's reference) is a promise, not a photo."""
    return arrived_photo_codes_of([inspection])[inspection.id]


def arrived_photo_codes_of(inspections: list[Inspection]) -> dict[int, set[str]]:
    """`arrived_photo_codes` for many inspections with one query (lists)."""
    stored: dict[int, list[tuple[str | None, str]]] = {i.id: [] for i in inspections}
    ids = [i.id for i in inspections if i.id is not None]  # None: not written yet
    if ids:
        for owner_id, item_code, client_id in db.session.execute(
            select(Photo.owner_id, Photo.item_code, Photo.client_id).where(
                Photo.owner_type == KIND,
                Photo.owner_id.in_(ids),
                Photo.status == PhotoStatus.stored,
            )
        ):
            stored[owner_id].append((item_code, client_id.lower()))
    return {i.id: _codes(i, stored[i.id]) for i in inspections}


def _codes(inspection: Inspection, stored: list[tuple[str | None, str]]) -> set[str]:
    codes = {code for code, _ in stored if code is not None}
    client_ids = {client_id for _, client_id in stored}
    for code, refs in (inspection.photos or {}).items():
        if any(str(ref).lower() in client_ids for ref in refs or ()):
            codes.add(code)
    return codes


# Registered on the app by `inspections.init_app`.
ATTACHMENT = AttachmentKind(KIND, view=_view, attach=_attach)
