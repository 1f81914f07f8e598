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
from media import service as media
from media.kinds import Attachment, AttachmentKind

KIND = "inspection"


def _visible(inspection_id: int, actor: User) -> Inspection:
    inspection = db.session.scalar(
        select(Inspection).where(Inspection.id == inspection_id, policy.inspection_filter(actor))
    )
    if inspection is None:
        raise errors.NotFound()
    return inspection


def attachment_of(inspection: Inspection) -> Attachment:
    visit = inspection.visit
    return Attachment(
        unit_id=inspection.unit_id,
        group=f"{KIND}:{inspection.id}",
        window=(visit.window_start, visit.window_end) if visit is not None else None,
    )


def _view(owner_id: int, actor: User) -> Attachment:
    return attachment_of(_visible(owner_id, actor))


def _attach(owner_id: int, actor: User, item_code: str | None) -> Attachment:
    inspection = _visible(owner_id, actor)
    if not policy.can_edit_inspection(actor, inspection):
        raise errors.Forbidden("只有本次检查的检查人员可以上传照片")
    if inspection.status == InspectionStatus.published:
        raise errors.Conflict("检查结果已公开，不能再添加照片")
    if item_code is not None:
        items = checklist.items_of(checklist.content_of(inspection))
        if item_code not in items:
            raise errors.InvalidInput(errors={"item_code": ["不是本次检查表的检查项"]})
    return attachment_of(inspection)


def arrived_photo_codes(inspection: Inspection) -> set[str]:
    """Item codes of this inspection with at least one stored photo (asked once per
    loaded inspection: photos arrive in requests of their own)."""
    cached = inspection.__dict__.get("_arrived_photo_codes")
    if cached is None:
        cached = media.item_codes_with_photos(KIND, inspection.id) if inspection.id else set()
        inspection.__dict__["_arrived_photo_codes"] = cached
    return cached


# Registered on the app by `inspections.init_app`.
ATTACHMENT = AttachmentKind(KIND, view=_view, attach=_attach)
