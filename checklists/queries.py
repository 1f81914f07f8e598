"""Reads of checklists for lists and forms (versions without their content).
Changes go through `checklists.service` and `checklists.drafts`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from checklists.models import ChecklistTemplate, ChecklistVersion
from core.db import db


def version_rows(template_ids: list[int]) -> dict[int, list[Any]]:
    """Per template: its versions' id, number, status and publication time, newest
    number first, without their content (one query for a page of templates)."""
    rows = db.session.execute(
        select(
            ChecklistVersion.id,
            ChecklistVersion.template_id,
            ChecklistVersion.number,
            ChecklistVersion.status,
            ChecklistVersion.published_at,
        )
        .where(ChecklistVersion.template_id.in_(template_ids))
        .order_by(ChecklistVersion.number.desc())
    ).all()
    versions: dict[int, list[Any]] = {}
    for row in rows:
        versions.setdefault(row.template_id, []).append(row)
    return versions


def template_names() -> list[Any]:
    """(id, name) of every template, oldest first (what a plan form offers)."""
    stmt = select(ChecklistTemplate.id, ChecklistTemplate.name).order_by(ChecklistTemplate.id)
    return list(db.session.execute(stmt).all())
