"""Object rules for checklists: drafts are the office's own; published and retired
versions may be read by everyone signed in (units may know the standard they are held to,
and inspectors need old versions to render old inspections)."""

from __future__ import annotations

from accounts.models import Role, User
from checklists.models import ChecklistVersion, VersionStatus

AUTHORS = (Role.office_admin, Role.viewer)


def can_view_status(user: User, status: VersionStatus) -> bool:
    return user.role in AUTHORS or status != VersionStatus.draft


def can_view_version(user: User, version: ChecklistVersion) -> bool:
    return can_view_status(user, version.status)
