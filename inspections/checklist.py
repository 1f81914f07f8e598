"""What inspections need from checklists, in one place.

Checklist versions are immutable once published, so an inspection pins the version it
was started with and is scored by that version's rules, whatever happens to the template.

Which version a new inspection uses is cached per process for `CHECKLIST_CACHE_SECONDS`
(default 5): loading it is the dearest read of a submission, and a version published a
few seconds ago reaching the phones a few seconds later changes nothing (the phone may
well have downloaded its form hours before). Tests set it to 0.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app

from checklists import scoring
from checklists import service as checklists
from checklists.models import ChecklistTemplate
from core import errors
from core.db import db
from org.models import Unit

_chosen: dict[tuple, tuple[float, int, dict[str, Any]]] = {}


def version_for(template_id: int | None, unit: Unit) -> tuple[int, dict[str, Any]]:
    """(version id, content) of the published version an inspection of `unit` uses: the
    plan's template when it names one, else the unit's sector template, else the
    default library."""
    ttl = current_app.config["CHECKLIST_CACHE_SECONDS"]
    key = (db.engine.url, template_id, unit.sector_id)  # a URL is hashable; str() is dear
    hit = _chosen.get(key)
    if ttl > 0 and hit is not None and hit[0] > time.monotonic():
        _remember(hit[1], hit[2])
        return hit[1], hit[2]
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
        raise errors.Conflict(
            "没有已发布的检查表，请先发布检查表", type="urn:problem:no-published-checklist"
        )
    if ttl > 0:
        _chosen[key] = (time.monotonic() + ttl, version.id, version.content)
    _remember(version.id, version.content)
    return version.id, version.content


# The contents of published versions this session has read, by version id, in the
# session's own `info` (so a request's scoring and its answer share one read, and the
# next request starts afresh): a version's content never changes once published.
_CONTENTS = "checklist_contents"


def _remember(version_id: int, content: dict[str, Any]) -> None:
    db.session.info.setdefault(_CONTENTS, {})[version_id] = content


def content_of(inspection) -> dict[str, Any]:
    """The content of the version an inspection pinned (published, so it never changes)."""
    contents = db.session.info.setdefault(_CONTENTS, {})
    content = contents.get(inspection.checklist_version_id)
    if content is None:
        content = inspection.checklist_version.content
        contents[inspection.checklist_version_id] = content
    return content


def items_of(content: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        item["code"]: item for section in content.get("sections") or () for item in section["items"]
    }


validate_answers = scoring.validate_answers
is_failed = scoring.is_failed
score = scoring.score
required_photo_codes = scoring.required_photo_codes
