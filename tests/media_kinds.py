"""A test-only attachment kind: photos owned by a unit, until inspections register theirs.

`test_unit` owner ids are unit ids; anyone who may see the unit may see its photos; office
admins, inspectors and the unit's own staff may attach. `WINDOWS[unit_id]` sets the visit
window the evidence check uses.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from accounts.models import Role, User
from core import errors
from core.db import db
from media.kinds import Attachment, AttachmentKind, register_kind
from org.models import Unit
from org.policy import can_view_unit, unit_filter

KIND = "test_unit"
WINDOWS: dict[int, tuple[datetime, datetime]] = {}


def _view(owner_id: int, actor: User) -> Attachment:
    unit = db.session.get(Unit, owner_id)
    if unit is None or not can_view_unit(actor, unit):
        raise errors.NotFound()
    return Attachment(unit_id=unit.id, group=f"{KIND}:{unit.id}", window=WINDOWS.get(unit.id))


def _attach(owner_id: int, actor: User, item_code: str | None) -> Attachment:
    attachment = _view(owner_id, actor)
    if actor.role == Role.unit_staff and actor.unit_id != owner_id:
        raise errors.NotFound()
    if actor.role not in (Role.office_admin, Role.inspector, Role.unit_staff):
        raise errors.Forbidden()
    return attachment


def _owners(actor: User):
    return select(Unit.id).where(unit_filter(actor))


def init_app(app) -> None:
    """Opt in per app (the test session's apps do, in conftest)."""
    register_kind(app, AttachmentKind(KIND, view=_view, attach=_attach, owners=_owners))
