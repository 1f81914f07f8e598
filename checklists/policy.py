"""Object rules for checklists: drafts are the office's own; published and retired
versions may be read by everyone signed in (units may know the standard they are held to,
and inspectors need old versions to render old inspections).

Checklists are city-wide: a district or town office reads them like any office, but only a
city-wide office admin authors them (creates, edits, publishes, retires) — one standard
for the whole city. Lookups go through `visible_template` / `visible_version`.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select, true

from accounts.models import Role, User
from checklists.models import ChecklistTemplate, ChecklistVersion, VersionStatus
from core import errors
from core.db import db

AUTHORS = (Role.office_admin, Role.viewer)
TEMPLATE_MISSING = "未找到该检查表"
VERSION_MISSING = "未找到该检查表版本"


def can_view_status(user: User, status: VersionStatus) -> bool:
    return user.role in AUTHORS or status != VersionStatus.draft


def can_view_version(user: User, version: ChecklistVersion) -> bool:
    return can_view_status(user, version.status)


def template_filter(user: User) -> ColumnElement[bool]:
    """Every template: which versions one may read is `version_filter`'s business."""
    return true()


def version_filter(user: User) -> ColumnElement[bool]:
    if user.role in AUTHORS:
        return true()
    return ChecklistVersion.status != VersionStatus.draft


def visible_template(template_id: int, actor: User) -> ChecklistTemplate:
    template = db.session.scalar(
        select(ChecklistTemplate).where(ChecklistTemplate.id == template_id, template_filter(actor))
    )
    if template is None:
        raise errors.NotFound(TEMPLATE_MISSING)
    return template


def visible_version(version_id: int, actor: User) -> ChecklistVersion:
    version = db.session.scalar(
        select(ChecklistVersion).where(ChecklistVersion.id == version_id, version_filter(actor))
    )
    if version is None:
        raise errors.NotFound(VERSION_MISSING)
    return version


def can_author(actor: User | None) -> bool:
    """Whether `actor` passes `check_author` (the console offers its buttons by this)."""
    return actor is None or (actor.role == Role.office_admin and actor.office_region_id is None)


def check_author(actor: User | None) -> None:
    """Authoring is the city-wide office's: a district or town office admin is refused.
    `None` is the system (the default library, the CLI)."""
    if actor is not None and actor.office_region_id is not None:
        raise errors.Forbidden("检查表由市级督查办统一制定，区县、镇街账号只能查看")
