"""Who may see which photo: the one rule media finds photos by.

A photo is seen by whoever may see what it is attached to: each owner kind (media.kinds)
says so through its `view` (one owner) and `owners` (the owner ids an actor may see, for
lists). On top of that, an office bound to a region sees photos of its region's units only
(`org.policy.office_scope` on the photo's unit), whatever the owner kind says. A photo or an
owner the actor may not see answers exactly like a missing one.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from accounts.models import User
from core import errors
from core.db import db
from media.kinds import Attachment, all_kinds, kind_of
from media.models import Photo, PhotoStatus
from org import policy as org_policy

OWNER_MISSING = "未找到照片所属对象"


def scope_filter(actor: User) -> ColumnElement[bool]:
    """An office's region on the photo's unit; nothing for other roles (their owner kinds
    scope them)."""
    return org_policy.office_scope(actor, Photo.unit_id) if actor.is_office else true()


def photo_filter(actor: User) -> ColumnElement[bool]:
    """Stored photos `actor` may see, across owners, in SQL. An office sees every owner of
    its region (each kind's rule gives offices their scope), so its filter is the scope on
    the photo's unit; anyone else sees the owners each kind's `owners` query names (a kind
    without one lists nothing across owners)."""
    if actor.is_office:
        return and_(Photo.status == PhotoStatus.stored, scope_filter(actor))
    owners = [
        and_(Photo.owner_type == kind.name, Photo.owner_id.in_(kind.owners(actor)))
        for kind in all_kinds()
        if kind.owners is not None
    ]
    return and_(Photo.status == PhotoStatus.stored, or_(false(), *owners))


def can_list_across_owners(actor: User) -> bool:
    """Only offices browse photos without naming their owner (evidence flags, units)."""
    return actor.is_office


def _in_scope(attachment: Attachment, actor: User) -> Attachment:
    org_policy.visible_unit(attachment.unit_id, actor)
    return attachment


def visible_owner(owner_type: str, owner_id: int, actor: User) -> Attachment:
    """The owner's attachment when `actor` may see the owner (its kind's rule and the
    scope), else the same 404 for a foreign owner as for a missing one."""
    kind = kind_of(owner_type)
    try:
        return _in_scope(kind.view(owner_id, actor), actor)
    except errors.NotFound:
        raise errors.NotFound(OWNER_MISSING) from None


def attachable_owner(
    owner_type: str, owner_id: int, actor: User, item_code: str | None
) -> Attachment:
    """The owner's attachment when `actor` may add a photo to it now (its kind's rule, and
    the scope: a foreign owner answers like a missing one)."""
    kind = kind_of(owner_type)
    try:
        attachment = kind.attach(owner_id, actor, item_code)
        return _in_scope(attachment, actor)
    except errors.NotFound:
        raise errors.NotFound(OWNER_MISSING) from None


def visible_photo(photo_id: int, actor: User) -> Photo:
    """A stored photo `actor` may see (scope in SQL, then its owner's rule), else the same
    404 as a missing id."""
    photo = db.session.scalar(
        select(Photo).where(
            Photo.id == photo_id, Photo.status == PhotoStatus.stored, scope_filter(actor)
        )
    )
    if photo is None:
        raise errors.NotFound()
    try:
        kind_of(photo.owner_type).view(photo.owner_id, actor)
    except errors.NotFound:
        raise errors.NotFound() from None
    return photo


def own_upload(photo_id: int, actor: User) -> Photo:
    """A direct upload only its uploader confirms; anyone else's looks missing."""
    photo = db.session.scalar(
        select(Photo).where(Photo.id == photo_id, Photo.uploaded_by_id == actor.id)
    )
    if photo is None:
        raise errors.NotFound()
    return photo
