"""Every console page on the demo data (`flask demo`): the office reads each, the other
roles are refused each, and the demo gives the office real work to do."""

from __future__ import annotations

import re

import pytest
from flask import current_app
from sqlalchemy import select

from accounts.models import Role, User
from api.auth import policy_of, route_methods
from checklists import service as checklists
from checklists.models import ChecklistVersion, VersionStatus
from core.db import db
from inspections.models import Inspection, InspectionStatus, Plan
from media import service as media
from media.models import Photo
from org.models import Sector, Unit
from rectification.models import RectificationTask, TaskStatus


@pytest.fixture
def demo(demo_city):
    """The demo city (`flask demo`'s rows and photos)."""


def ids() -> dict[str, int]:
    """An id for each URL parameter of the console's pages, from the demo data."""

    def first(stmt) -> int:
        value = db.session.scalar(stmt.limit(1))
        assert value is not None, stmt
        return value

    draft = db.session.scalar(
        select(ChecklistVersion).where(ChecklistVersion.status == VersionStatus.draft).limit(1)
    )
    if draft is None:
        template = db.session.scalar(select(ChecklistVersion).limit(1)).template
        draft = checklists.create_draft(template, actor=None)
        db.session.commit()
    return {
        "inspection_id": first(
            select(Inspection.id).where(Inspection.status == InspectionStatus.submitted)
        ),
        "task_id": first(
            select(RectificationTask.id).where(RectificationTask.status == TaskStatus.responded)
        ),
        "plan_id": first(select(Plan.id)),
        "photo_id": first(select(Photo.id)),
        # A draft of the default library: every checklist page, the builder's too, opens it.
        "version_id": draft.id,
        "section_code": draft.content["sections"][0]["code"],
        "item_code": draft.content["sections"][0]["items"][0]["code"],
        "unit_id": first(select(Unit.id)),
        "user_id": first(select(User.id)),
    }


def console_urls() -> list[str]:
    values = ids()
    urls = []
    for rule, method, _ in route_methods(current_app):
        if method != "GET" or not rule.startswith("/console") or "/static" in rule:
            continue
        if rule == "/console/login" or rule.endswith((".docx", ".xlsx", "/file")):  # downloads
            continue
        names = re.findall(r"<(?:[^:>]+:)?([^>]+)>", rule)
        missing = [n for n in names if n not in values]
        assert not missing, f"add an id for {missing} of {rule} to ids()"
        urls.append(re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule))
    return sorted(urls)


def username(role: Role) -> str:
    return db.session.scalar(select(User.username).where(User.role == role).limit(1))


def test_every_page_renders_for_the_office_on_demo_data(demo, console):
    assert console.sign_in(username(Role.office_admin)).status_code == 302
    urls = console_urls()
    assert len(urls) >= 12
    for url in urls:
        response = console.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        assert "</html>" in page, url
    for query in ("period=month", "period=year", "period=junk"):
        assert console.get(f"/console/?{query}").status_code == 200


def test_lead_medical_reads_its_sector_in_the_console(demo, console):
    """The demo's lead unit signs in, opens every page its role may, is refused the rest,
    and sees the medical units only."""
    assert console.sign_in("lead_medical").status_code == 302
    for url in console_urls():
        endpoint, _ = current_app.url_map.bind("localhost").match(url)
        allowed = Role.lead_unit_staff in policy_of(current_app, endpoint, "GET")
        assert console.get(url).status_code in ((200, 404) if allowed else (403,)), url
    page = console.get("/console/units").get_data(as_text=True)
    medical = db.session.scalars(
        select(Unit.name).join(Sector).where(Sector.code == "medical")
    ).all()
    others = db.session.scalars(select(Unit.name).join(Sector).where(Sector.code != "medical"))
    assert medical
    assert all(name in page for name in medical)
    assert not any(name in page for name in others)


@pytest.mark.parametrize("role", [Role.inspector, Role.unit_staff])
def test_other_roles_are_refused_every_page(demo, console, role):
    assert console.sign_in(username(role)).status_code == 403
    for url in console_urls():
        response = console.get(url)
        assert response.status_code == 302, url
        assert "/console/login" in response.headers["Location"]


def test_demo_gives_the_office_photos_flags_and_replies_to_review(demo):
    photos = db.session.scalars(select(Photo)).all()
    for flag in media.EVIDENCE_FLAGS:
        assert any(getattr(p, f"flag_{flag}") for p in photos), flag
    queued = db.session.scalars(
        select(Inspection).where(Inspection.status == InspectionStatus.submitted)
    ).all()
    with_photos = {p.owner_id for p in photos if p.owner_type == "inspection"}
    assert queued
    assert all(i.id in with_photos for i in queued)
    statuses = db.session.scalars(select(RectificationTask.status)).all()
    assert statuses.count(TaskStatus.responded) >= 2
    assert db.session.scalar(
        select(RectificationTask.id).where(RectificationTask.extension_pending.is_(True)).limit(1)
    )
