"""What inspections need from checklists and photos, in one place.

Checklist versions are immutable once published, so an inspection pins the version it
was started with and is scored by that version's rules, whatever happens to the template.
"""

from __future__ import annotations

from typing import Any

from checklists import scoring
from checklists import service as checklists
from checklists.models import ChecklistTemplate, ChecklistVersion
from core import errors
from core.db import db
from org.models import Unit


def version_for(template_id: int | None, unit: Unit) -> ChecklistVersion:
    """The published version an inspection of `unit` uses: the plan's template when it
    names one, else the unit's sector template, else the default library."""
    version = None
    if template_id is not None:
        template = db.session.get(ChecklistTemplate, template_id)
        version = checklists.published_version_of(template) if template else None
    if version is None:
        try:
            version = checklists.published_version_for_unit(unit)
        except errors.NotFound:
            version = checklists.default_template_version()
    if version is None:
        raise errors.Conflict("没有已发布的检查表，请先发布检查表")
    return version


def content_of(inspection) -> dict[str, Any]:
    """The content of the version an inspection pinned (published, so it never changes)."""
    return inspection.checklist_version.content


def items_of(content: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        item["code"]: item for section in content.get("sections") or () for item in section["items"]
    }


validate_answers = scoring.validate_answers
is_failed = scoring.is_failed
score = scoring.score
required_photo_codes = scoring.required_photo_codes
