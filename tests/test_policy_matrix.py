"""Every route × every role × {own, foreign, missing}, with valid bodies.

EXPECT below is the policy written out by hand, one row per route and method: which
actors get a 2xx on their own object (everyone else gets 403), and for which of them
another unit's or region's object answers 404, exactly like a missing id. Each call
carries a body that passes validation (BODIES), so a 404 comes from the object lookup,
never from a 422 that validation gives first. A route the app has and EXPECT lacks, or a
body route without a body, fails the test.

Actors: the five roles on unit A's side, plus an office admin and a viewer bound to unit
A's region ("@region"); for them unit B's region is foreign. Cells the issue demands but
the code does not do yet are listed in GAPS: they run with the others and must still
answer wrongly, so a gap that closes fails loudly until its line is deleted.

One test per actor (and database): one World, every route in a loop, every wrong answer
reported at once. A World costs more than the calls, so this is what keeps the file fast.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from accounts import service as accounts
from accounts.models import Role
from api import create_app
from api.auth import PUBLIC, policy_of, route_methods
from core.db import db
from inspections.models import Finding
from rectification.models import RectificationTask
from tests import inspection_helpers as helpers
from tests import matrix_support as fresh
from tests.conftest import ApiClient, IsolatedClient, World, assert_problem
from tests.console.conftest import ConsoleClient

# -- who ----------------------------------------------------------------------------------

O, V, I, U, L = "office", "viewer", "inspector", "unit", "lead"  # noqa: E741
SO, SV = "office@region", "viewer@region"
ACTORS = (O, V, I, U, L, SO, SV)
ROLE_OF = {
    O: Role.office_admin,
    V: Role.viewer,
    I: Role.inspector,
    U: Role.unit_staff,
    L: Role.lead_unit_staff,
}

ALL = frozenset(ACTORS)
READERS = frozenset({O, V, SO, SV})
ADMINS = frozenset({O, SO})
CITY = frozenset({O})  # only a city-wide office admin: people, checklists, reference data
CHASERS = frozenset({O, SO, L})  # 督办 an overdue task
REGIONAL = frozenset({SO, SV})
UNIT_SIDE = frozenset({U, L})
# Whose view of unit B's objects is "missing": unit staff and lead units (B is another
# unit in another sector) and the offices bound to A's region; for inspections also the
# inspector, who did not make B's.
NOT_B_UNIT = UNIT_SIDE | REGIONAL
NOT_B_INSPECTION = NOT_B_UNIT | {I}
CONSOLE = READERS | {L}  # issue 13: lead units sign in to the console, read-only

MISSING_ID = 987654


def _user(world: World, actor: str):
    if actor in (SO, SV):
        return world.scoped_offices[Role.office_admin if actor == SO else Role.viewer]
    return world.users[ROLE_OF[actor]]


# -- what each route answers ---------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """ok: actors whose call on their own object succeeds (all others: 403).
    foreign: actors in `ok` for whom B's object answers 404; the other `ok` actors get a
    2xx on it too (checked for reads only: a write would change B's object).
    fresh: a new own object per call, for routes that change their object.
    """

    ok: frozenset[str]
    foreign: frozenset[str] = frozenset()
    fresh: Callable | None = None
    query: str = ""


def row(ok, foreign=(), fresh=None, query=""):
    return Row(frozenset(ok), frozenset(foreign), fresh, query)


A = "/api/v1"
C = "/console"
EXPECT: dict[tuple[str, str], Row] = {
    # sign-in and users: offices read the people of their scope; only a city-wide office
    # admin manages them (docs/offices.md), so a scoped admin gets 403
    ("POST", f"{A}/auth/logout"): row(ALL),
    ("GET", f"{A}/auth/me"): row(ALL),
    ("GET", f"{A}/users"): row(READERS),
    ("POST", f"{A}/users"): row(CITY),
    ("GET", f"{A}/users/<int:user_id>"): row(READERS, REGIONAL),
    ("PATCH", f"{A}/users/<int:user_id>"): row(CITY, fresh=fresh.person),
    ("POST", f"{A}/users/<int:user_id>/binding-codes"): row(CITY, fresh=fresh.person),
    ("DELETE", f"{A}/users/<int:user_id>/wechat"): row(CITY, fresh=fresh.bound_person),
    # organisation: reference data everyone reads and the city-wide admin keeps (a town
    # office re-parenting a region would take over its units); units follow the scope
    ("GET", f"{A}/regions"): row(ALL),
    ("POST", f"{A}/regions"): row(CITY),
    ("GET", f"{A}/regions/<int:region_id>"): row(ALL),
    ("PATCH", f"{A}/regions/<int:region_id>"): row(CITY),
    ("GET", f"{A}/sectors"): row(ALL),
    ("POST", f"{A}/sectors"): row(CITY),
    ("GET", f"{A}/sectors/<int:sector_id>"): row(ALL),
    ("PATCH", f"{A}/sectors/<int:sector_id>"): row(CITY),
    ("GET", f"{A}/lead-units"): row(ALL),
    ("POST", f"{A}/lead-units"): row(CITY),
    ("GET", f"{A}/lead-units/<int:lead_unit_id>"): row(ALL),
    ("PATCH", f"{A}/lead-units/<int:lead_unit_id>"): row(CITY),
    ("GET", f"{A}/units"): row(ALL),
    ("POST", f"{A}/units"): row(ADMINS),
    ("GET", f"{A}/units/<int:unit_id>"): row(ALL, NOT_B_UNIT),
    ("PATCH", f"{A}/units/<int:unit_id>"): row(ADMINS, REGIONAL),
    ("POST", f"{A}/units/import"): row(ADMINS),
    ("GET", f"{A}/units/<int:unit_id>/checklist"): row(ALL, NOT_B_UNIT),
    # checklists: one city-wide library, authored by the city-wide office admin only
    # (docs/checklists.md); a scoped office reads it
    ("GET", f"{A}/checklist-templates"): row(READERS),
    ("POST", f"{A}/checklist-templates"): row(CITY),
    ("POST", f"{A}/checklist-templates/import"): row(CITY),
    ("POST", f"{A}/checklist-templates/import-file"): row(CITY),
    ("GET", f"{A}/checklist-templates/<int:template_id>"): row(READERS),
    ("PATCH", f"{A}/checklist-templates/<int:template_id>"): row(CITY, fresh=fresh.template),
    ("DELETE", f"{A}/checklist-templates/<int:template_id>"): row(CITY, fresh=fresh.template),
    ("GET", f"{A}/checklist-templates/<int:template_id>/versions"): row(READERS),
    ("POST", f"{A}/checklist-templates/<int:template_id>/versions"): row(
        CITY, fresh=fresh.published_version
    ),
    ("GET", f"{A}/checklist-versions/<int:version_id>"): row(ALL),
    ("DELETE", f"{A}/checklist-versions/<int:version_id>"): row(CITY, fresh=fresh.second_draft),
    ("PUT", f"{A}/checklist-versions/<int:version_id>/content"): row(CITY, fresh=fresh.draft),
    ("POST", f"{A}/checklist-versions/<int:version_id>/publish"): row(CITY, fresh=fresh.draft),
    ("POST", f"{A}/checklist-versions/<int:version_id>/retire"): row(
        CITY, fresh=fresh.published_version
    ),
    ("GET", f"{A}/checklist-versions/<int:version_id>/export"): row(READERS),
    ("POST", f"{A}/checklist-versions/<int:version_id>/sections"): row(CITY, fresh=fresh.draft),
    ("PATCH", f"{A}/checklist-versions/<int:version_id>/sections/<section_code>"): row(
        CITY, fresh=fresh.draft
    ),
    ("DELETE", f"{A}/checklist-versions/<int:version_id>/sections/<section_code>"): row(
        CITY, fresh=fresh.draft
    ),
    ("POST", f"{A}/checklist-versions/<int:version_id>/sections/<section_code>/items"): row(
        CITY, fresh=fresh.draft
    ),
    ("PATCH", f"{A}/checklist-versions/<int:version_id>/items/<item_code>"): row(
        CITY, fresh=fresh.draft
    ),
    ("DELETE", f"{A}/checklist-versions/<int:version_id>/items/<item_code>"): row(
        CITY, fresh=fresh.draft
    ),
    ("GET", f"{A}/checklist-versions/<int:version_id>/form"): row(ALL),
    # photos (of the test attachment kind: owned by a unit)
    ("GET", f"{A}/photos"): row(ALL, query="owner_type=test_unit&owner_id={unit_a}"),
    ("POST", f"{A}/photos"): row({I, O, U, SO}),
    ("POST", f"{A}/photo-uploads"): row({I, O, U, SO}),
    ("GET", f"{A}/photos/<int:photo_id>"): row(ALL, NOT_B_UNIT),
    # confirm: the caller's own pending upload; anyone else's upload looks missing
    ("POST", f"{A}/photos/<int:photo_id>/confirm"): row(
        {I, O, U, SO}, {O, U, SO}, fresh=fresh.pending_upload
    ),
    # plans: A's plan is a city plan over unit A; B's is a city plan over unit B. An
    # office bound to A's region reads the city plan's part in its region; the plan it
    # edits, draws and publishes is its own (fresh: a plan of its region, docs/inspections.md),
    # and B's plan is missing to it.
    ("GET", f"{A}/plans"): row(READERS),
    ("POST", f"{A}/plans"): row(ADMINS),
    ("GET", f"{A}/plans/<int:plan_id>"): row(READERS, REGIONAL),
    ("PATCH", f"{A}/plans/<int:plan_id>"): row(ADMINS, {SO}, fresh=fresh.plan),
    ("GET", f"{A}/plans/<int:plan_id>/draws"): row(READERS, REGIONAL),
    ("POST", f"{A}/plans/<int:plan_id>/draws"): row(ADMINS, {SO}, fresh=fresh.plan),
    ("POST", f"{A}/plans/<int:plan_id>/publish"): row(ADMINS, {SO}, fresh=fresh.drawn_plan),
    # 一公开 is public to everyone signed in; B's plan is not published, so it is missing
    ("GET", f"{A}/plans/<int:plan_id>/disclosure"): row(ALL, ALL, fresh=fresh.published_plan),
    # visits and inspections
    ("GET", f"{A}/visits"): row(ALL),
    ("GET", f"{A}/visits/<int:visit_id>"): row(ALL, NOT_B_INSPECTION),
    # 改派: the office that owns the plan moves one visit (fresh: a visit of its own plan)
    ("PATCH", f"{A}/visits/<int:visit_id>"): row(ADMINS, {SO}, fresh=fresh.reassignable_visit),
    ("GET", f"{A}/inspections"): row(ALL),
    ("POST", f"{A}/inspections"): row({I}, fresh=fresh.visit),
    ("POST", f"{A}/inspections/submissions"): row({I}, fresh=fresh.visit),
    ("GET", f"{A}/inspections/<int:inspection_id>"): row(ALL, NOT_B_INSPECTION),
    ("PATCH", f"{A}/inspections/<int:inspection_id>/answers"): row({I}, fresh=fresh.started),
    ("POST", f"{A}/inspections/<int:inspection_id>/submit"): row({I}, fresh=fresh.started),
    ("POST", f"{A}/inspections/<int:inspection_id>/publish"): row(
        ADMINS, REGIONAL, fresh=fresh.reviewed_inspection
    ),
    ("GET", f"{A}/findings"): row(ALL),
    ("GET", f"{A}/findings/<int:finding_id>"): row(ALL, NOT_B_INSPECTION),
    ("PATCH", f"{A}/findings/<int:finding_id>"): row(
        ADMINS, REGIONAL, fresh=fresh.submitted_inspection
    ),
    # rectification
    ("GET", f"{A}/rectification/tasks"): row(ALL),
    ("GET", f"{A}/rectification/tasks/counts"): row(ALL),
    ("GET", f"{A}/rectification/tasks/<int:task_id>"): row(ALL, NOT_B_UNIT),
    ("GET", f"{A}/rectification/tasks/<int:task_id>/audit"): row(ALL, NOT_B_UNIT),
    ("GET", f"{A}/rectification/tasks/<int:task_id>/replies"): row(ALL, NOT_B_UNIT),
    ("POST", f"{A}/rectification/tasks/<int:task_id>/replies"): row({U}, {U}, fresh=fresh.task),
    # verification by the office (RECTIFICATION_VERIFIER's default): not the inspector
    ("POST", f"{A}/rectification/tasks/<int:task_id>/verification"): row(
        ADMINS, {SO}, fresh=fresh.responded
    ),
    ("POST", f"{A}/rectification/tasks/<int:task_id>/extensions"): row({U}, {U}, fresh=fresh.task),
    ("POST", f"{A}/rectification/tasks/<int:task_id>/extensions/<int:extension_id>/decision"): (
        row(ADMINS, REGIONAL, fresh=fresh.extension)
    ),
    # 督办: lead units for their sector, office admins within their scope, on overdue tasks
    ("POST", f"{A}/rectification/tasks/<int:task_id>/chases"): row(
        CHASERS, {L, SO}, fresh=fresh.overdue_task
    ),
    # reports (published inspections only, within the reader's scope): rankings for the
    # offices and lead units, the circular for the offices; an inspection's report for the
    # offices, the lead unit of its sector and the unit itself
    ("GET", f"{A}/reports/rankings"): row(READERS | {L}),
    ("GET", f"{A}/reports/circular"): row(READERS),
    ("GET", f"{A}/inspections/<int:inspection_id>/report"): row(READERS | UNIT_SIDE, NOT_B_UNIT),
    # inbox: each person's own messages; unit B's staff's message is foreign to everyone
    ("GET", f"{A}/inbox"): row(ALL),
    ("POST", f"{A}/inbox/<int:message_id>/read"): row(ALL, ALL, fresh=fresh.message),
    ("POST", f"{A}/inbox/read-all"): row(ALL),
    # reports: a ledger is the list it comes from, so whoever reads the list exports it
    # (scoped as the list is, tests/test_ledgers.py); an export job is its maker's alone
    ("GET", f"{A}/reports/ledgers/inspections.xlsx"): row(ALL),
    ("GET", f"{A}/reports/ledgers/rectification.xlsx"): row(ALL),
    ("GET", f"{A}/reports/exports/<int:export_id>"): row(ALL, ALL, fresh=fresh.export_job),
    ("GET", f"{A}/reports/exports/<int:export_id>/file"): row(ALL, ALL, fresh=fresh.export_job),
    # the console: offices, and (issue 13) lead units read-only for their sector
    ("POST", f"{C}/logout"): row(CONSOLE),
    ("GET", f"{C}/"): row(CONSOLE),
    ("GET", f"{C}/units"): row(CONSOLE),
    ("GET", f"{C}/units/<int:unit_id>"): row(CONSOLE, REGIONAL | {L}),
    # a unit's edit and the import: office admins, a scoped one within its region (as the API)
    ("GET", f"{C}/units/<int:unit_id>/edit"): row(ADMINS, REGIONAL),
    ("POST", f"{C}/units/<int:unit_id>/save"): row(ADMINS, REGIONAL),
    ("GET", f"{C}/units/import"): row(ADMINS),
    ("POST", f"{C}/units/import"): row(ADMINS),
    ("GET", f"{C}/users"): row(READERS),
    ("POST", f"{C}/users/<int:user_id>/region"): row(CITY, fresh=fresh.office_account),
    ("POST", f"{C}/users/<int:user_id>/wechat"): row(CITY, fresh=fresh.bound_person),
    ("GET", f"{C}/checklists"): row(READERS),
    ("GET", f"{C}/checklists/versions/<int:version_id>"): row(READERS),
    ("GET", f"{C}/checklists/versions/<int:version_id>/preview"): row(READERS),
    # the checklist builder: the API's authors (a city-wide office admin), on a draft
    ("POST", f"{C}/checklists/<int:template_id>/drafts"): row(CITY, fresh=fresh.published_template),
    ("GET", f"{C}/checklists/versions/<int:version_id>/edit"): row(CITY, fresh=fresh.draft),
    ("POST", f"{C}/checklists/versions/<int:version_id>/publish"): row(CITY, fresh=fresh.draft),
    ("POST", f"{C}/checklists/versions/<int:version_id>/discard"): row(
        CITY, fresh=fresh.second_draft
    ),
    ("GET", f"{C}/checklists/versions/<int:version_id>/new-section"): row(CITY, fresh=fresh.draft),
    ("POST", f"{C}/checklists/versions/<int:version_id>/sections"): row(CITY, fresh=fresh.draft),
    ("GET", f"{C}/checklists/versions/<int:version_id>/sections/<section_code>"): row(
        CITY, fresh=fresh.draft
    ),
    ("POST", f"{C}/checklists/versions/<int:version_id>/sections/<section_code>"): row(
        CITY, fresh=fresh.draft
    ),
    ("GET", f"{C}/checklists/versions/<int:version_id>/sections/<section_code>/new-item"): row(
        CITY, fresh=fresh.draft
    ),
    ("POST", f"{C}/checklists/versions/<int:version_id>/sections/<section_code>/items"): row(
        CITY, fresh=fresh.draft
    ),
    ("GET", f"{C}/checklists/versions/<int:version_id>/items/<item_code>"): row(
        CITY, fresh=fresh.draft
    ),
    ("POST", f"{C}/checklists/versions/<int:version_id>/items/<item_code>"): row(
        CITY, fresh=fresh.draft
    ),
    ("GET", f"{C}/plans"): row(READERS),
    ("GET", f"{C}/plans/new"): row(ADMINS),
    ("POST", f"{C}/plans"): row(ADMINS),
    ("GET", f"{C}/plans/<int:plan_id>"): row(READERS, REGIONAL),
    ("POST", f"{C}/plans/<int:plan_id>/draw"): row(ADMINS, {SO}, fresh=fresh.plan),
    ("POST", f"{C}/plans/<int:plan_id>/publish"): row(ADMINS, {SO}, fresh=fresh.drawn_plan),
    # the review queue is the offices'; lead units read published results instead
    ("GET", f"{C}/inspections"): row(READERS),
    ("GET", f"{C}/results"): row(CONSOLE),
    ("GET", f"{C}/inspections/<int:inspection_id>"): row(CONSOLE, REGIONAL | {L}),
    ("POST", f"{C}/findings/<int:finding_id>/review"): row(
        ADMINS, REGIONAL, fresh=fresh.submitted_inspection
    ),
    ("POST", f"{C}/inspections/<int:inspection_id>/publish"): row(
        ADMINS, REGIONAL, fresh=fresh.reviewed_inspection
    ),
    # bulk work (issue 15): as the single forms, each object in the reader's scope
    ("POST", f"{C}/inspections/<int:inspection_id>/findings/review"): row(
        ADMINS, REGIONAL, fresh=fresh.submitted_inspection
    ),
    ("GET", f"{C}/photos/<int:photo_id>"): row(CONSOLE, REGIONAL | {L}),
    # reports: rankings for the console's readers, the circular for offices, an
    # inspection's report within the reader's scope
    ("GET", f"{C}/rankings"): row(CONSOLE),
    ("GET", f"{C}/rankings/circular.docx"): row(READERS),
    ("POST", f"{C}/findings/<int:finding_id>/circular"): row(
        ADMINS, REGIONAL, fresh=fresh.confirmed_finding
    ),
    ("GET", f"{C}/inspections/<int:inspection_id>/report.docx"): row(CONSOLE, REGIONAL | {L}),
    ("GET", f"{C}/tasks"): row(CONSOLE),
    ("GET", f"{C}/tasks/<int:task_id>"): row(CONSOLE, REGIONAL | {L}),
    ("POST", f"{C}/tasks/<int:task_id>/verify"): row(ADMINS, REGIONAL, fresh=fresh.responded),
    ("POST", f"{C}/tasks/accept"): row(ADMINS, fresh=fresh.opened_reply),
    ("POST", f"{C}/tasks/<int:task_id>/extensions/<int:extension_id>"): row(
        ADMINS, REGIONAL, fresh=fresh.extension
    ),
    ("POST", f"{C}/tasks/<int:task_id>/chases"): row(CHASERS, {L, SO}, fresh=fresh.overdue_task),
    # 导出台账 from the pages that list what it holds; 我的导出 is each person's own
    ("GET", f"{C}/ledgers/inspections.xlsx"): row(READERS),
    ("GET", f"{C}/ledgers/tasks.xlsx"): row(CONSOLE),
    ("GET", f"{C}/exports"): row(CONSOLE),
    ("GET", f"{C}/exports/<int:export_id>/file"): row(CONSOLE, CONSOLE, fresh=fresh.export_job),
}

# Open routes: sign-in, the docs, files behind signed tokens. Covered by their own tests;
# here only "they do not ask for sign-in".
OPEN = re.compile(r"^/(static/|console/static/|console/login|healthz|api/v1/(docs|openapi))")


# -- where the objects are -----------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    own: Callable[[World], object]
    foreign: Callable[[World], object] | None = None
    missing: object = MISSING_ID


def _office_export(world: World) -> int:
    """One export of the office admin's per world: walks that read every route twice (the
    secrecy tests) see the same URL both times."""
    if not hasattr(world, "office_export_id"):
        world.office_export_id = fresh.export_job(world, world.users[Role.office_admin])[
            "export_id"
        ]
    return world.office_export_id


PARAMS: dict[str, Param] = {
    "region_id": Param(own=lambda w: w.region_a),
    "sector_id": Param(own=lambda w: w.sector_a.id),
    "lead_unit_id": Param(own=lambda w: w.lead_unit_a.id),
    "unit_id": Param(own=lambda w: w.unit_a.id, foreign=lambda w: w.unit_b.id),
    "user_id": Param(
        own=lambda w: w.users[Role.unit_staff].id, foreign=lambda w: w.unit_staff_b.id
    ),
    "task_id": Param(own=lambda w: w.task_a.id, foreign=lambda w: w.task_b.id),
    "extension_id": Param(own=lambda w: w.extension_a.id, foreign=lambda w: w.extension_b.id),
    "message_id": Param(own=lambda w: w.inbox_message_a.id, foreign=lambda w: w.inbox_message_b.id),
    "plan_id": Param(
        own=lambda w: w.inspections.plan.id, foreign=lambda w: w.inspections.plan_b.id
    ),
    "visit_id": Param(
        own=lambda w: w.inspections.visit_a.id, foreign=lambda w: w.inspections.visit_b.id
    ),
    "inspection_id": Param(
        own=lambda w: w.inspections.inspection_a.id,
        foreign=lambda w: w.inspections.inspection_b.id,
    ),
    "finding_id": Param(
        own=lambda w: w.inspections.finding_a.id, foreign=lambda w: w.inspections.finding_b.id
    ),
    "photo_id": Param(own=lambda w: w.photo_a.id, foreign=lambda w: w.photo_b.id),
    "template_id": Param(own=lambda w: w.checklist.template_id),
    "version_id": Param(own=lambda w: w.checklist.id),
    "section_code": Param(own=lambda w: "dress", missing="no-such-section"),
    "item_code": Param(own=lambda w: "dress.uniform", missing="no-such-item"),
    "export_id": Param(
        own=lambda w: _office_export(w),
        foreign=lambda w: fresh.export_job(w, w.unit_staff_b)["export_id"],
    ),
    # open routes (not in the matrix; other walks over every route fill them in)
    "token": Param(own=lambda w: "not-a-signed-token", missing="not-a-signed-token"),
    "filename": Param(own=lambda w: "swagger-ui.css", missing="no-such-file.css"),
}


@dataclass
class Call:
    """What a body factory may use: the world, the caller and the own object's ids."""

    world: World
    actor: str
    values: dict[str, object]
    office: ApiClient

    @property
    def user(self):
        return _user(self.world, self.actor)


def _today_plus(days: int) -> str:
    return (fresh.today() + __import__("datetime").timedelta(days=days)).isoformat()


def _plan_body(c: Call) -> dict:
    return {
        "name": fresh.unique("矩阵计划"),
        "kind": "announced",
        "period_start": _today_plus(1),
        "period_end": _today_plus(7),
        "pool": {"unit_ids": [c.world.unit_a.id]},
        "sampling": {"rate": 1.0},
        "inspector_ids": [c.world.users[Role.inspector].id],
        "team_size": 1,
    }


def _console_plan(c: Call) -> dict:
    return {
        "name": fresh.unique("矩阵计划"),
        "kind": "announced",
        "period_start": _today_plus(1),
        "period_end": _today_plus(7),
        "region_ids": str(c.world.region_a),
        "sampling_mode": "rate",
        "sampling_value": "100",
        "inspector_ids": str(c.world.users[Role.inspector].id),
        "team_size": "1",
    }


def _version_of(kind, key: str) -> Callable[[Call], dict]:
    def body(c: Call) -> dict:
        found = db.session.get(kind, c.values[key])
        return {"version": str(found.version)}

    return body


def _inspection_start(c: Call) -> dict:
    visit = c.values["visit_id"]
    return {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit,
        "check_in": helpers.check_in(c.world.unit_a),
    }


def _after_photos(c: Call) -> list[int]:
    task = db.session.get(RectificationTask, c.values["task_id"])
    # a missing task still gets a valid list, so the 404 is the lookup's, not a 422
    return fresh.after_photos(task, c.user) if task else [c.world.photo_a.id]


def _checklist_import(c: Call) -> dict:
    exported = c.office.get(f"{A}/checklist-versions/{c.world.checklist.id}/export").get_json()
    return exported | {"code": fresh.unique("copy_")}


def _console_version(model_path: str, key: str) -> Callable[[Call], dict]:
    module, _, name = model_path.rpartition(".")

    def body(c: Call) -> dict:
        kind = getattr(__import__(module, fromlist=[name]), name)
        db.session.expire_all()
        found = db.session.get(kind, c.values[key])
        return {"version": str(found.version if found else 1)}

    return body


def _draft_revision(c: Call) -> dict:
    """The console's If-Match: the draft's revision as the page showed it."""
    from checklists.models import ChecklistVersion

    db.session.expire_all()
    found = db.session.get(ChecklistVersion, c.values["version_id"])
    return {"version": str(found.revision if found else 1)}


_CONSOLE_ITEM = {"kind": "pass_fail", "severity": "general", "photo": "never", "points": "1"}


def _findings_of(c: Call) -> list[int]:
    stmt = select(Finding.id).where(Finding.inspection_id == c.values["inspection_id"])
    return list(db.session.scalars(stmt))


def _bulk_versions(model_path: str, name: str, ids: list[int]) -> dict:
    """A bulk form: the ticked ids under `name`, and each object's `version-<id>`."""
    module, _, kind = model_path.rpartition(".")
    model = getattr(__import__(module, fromlist=[kind]), kind)
    db.session.expire_all()
    found = [db.session.get(model, i) for i in ids]
    versions = {f"version-{f.id}": str(f.version) for f in found if f is not None}
    return {name: [str(i) for i in ids]} | versions


# Bodies that pass validation, per route with a body. JSON unless the route is multipart
# (then a dict with files) or a console form.
BODIES: dict[tuple[str, str], Callable[[Call], dict]] = {
    ("POST", f"{A}/users"): lambda c: {
        "username": fresh.unique("matrix"),
        "display_name": "矩阵人员",
        "role": "inspector",
        "password": "correct horse battery",
    },
    ("PATCH", f"{A}/users/<int:user_id>"): lambda c: {"display_name": "改名的人员"},
    ("POST", f"{A}/regions"): lambda c: {
        "code": f"44{uuid.uuid4().int % 10**7:07d}",
        "name": fresh.unique("矩阵社区"),
        "level": "community",
        "parent_id": c.world.region_a,
    },
    ("PATCH", f"{A}/regions/<int:region_id>"): lambda c: {"name": fresh.unique("改名街道")},
    ("POST", f"{A}/sectors"): lambda c: {"code": fresh.unique("s_"), "name": fresh.unique("领域")},
    ("PATCH", f"{A}/sectors/<int:sector_id>"): lambda c: {"name": fresh.unique("改名领域")},
    ("POST", f"{A}/lead-units"): lambda c: {
        "name": fresh.unique("牵头"),
        "sector_id": c.world.sector_a.id,
    },
    ("PATCH", f"{A}/lead-units/<int:lead_unit_id>"): lambda c: {"name": fresh.unique("改名牵头")},
    ("POST", f"{A}/units"): lambda c: {
        "name": fresh.unique("矩阵单位"),
        "sector_id": c.world.sector_a.id,
        "region_id": c.world.region_a,
        "address": "测试路",
        "latitude": 23.3,
        "longitude": 116.17,
    },
    ("PATCH", f"{A}/units/<int:unit_id>"): lambda c: {"address": "改过的地址"},
    ("POST", f"{A}/units/import"): lambda c: fresh.units_csv(c.world),
    ("POST", f"{A}/checklist-templates"): lambda c: {
        "code": fresh.unique("t_"),
        "name": "矩阵检查表",
        "all_sectors": True,
    },
    ("POST", f"{A}/checklist-templates/import"): _checklist_import,
    ("POST", f"{A}/checklist-templates/import-file"): lambda c: {
        "file": (
            __import__("io").BytesIO(
                __import__("json").dumps(_checklist_import(c), ensure_ascii=False).encode()
            ),
            "checklist.json",
        )
    },
    ("PATCH", f"{A}/checklist-templates/<int:template_id>"): lambda c: {"name": "改名检查表"},
    ("POST", f"{A}/checklist-templates/<int:template_id>/versions"): lambda c: {},
    ("PUT", f"{A}/checklist-versions/<int:version_id>/content"): lambda c: fresh.SMALL_CHECKLIST,
    ("POST", f"{A}/checklist-versions/<int:version_id>/sections"): lambda c: {
        "code": "extra",
        "title": "新增部分",
    },
    ("PATCH", f"{A}/checklist-versions/<int:version_id>/sections/<section_code>"): lambda c: {
        "title": "改名部分"
    },
    ("POST", f"{A}/checklist-versions/<int:version_id>/sections/<section_code>/items"): lambda c: {
        "code": "dress.extra",
        "kind": "pass_fail",
        "title": "新增一项",
    },
    ("PATCH", f"{A}/checklist-versions/<int:version_id>/items/<item_code>"): lambda c: {
        "title": "改名一项"
    },
    ("POST", f"{A}/photos"): lambda c: fresh.photo_form(c.world, c.world.unit_a.id),
    ("POST", f"{A}/photo-uploads"): lambda c: {
        "client_id": str(uuid.uuid4()),
        "owner_type": "test_unit",
        "owner_id": c.world.unit_a.id,
        "content_type": "image/jpeg",
        "size": 1000,
    },
    ("POST", f"{A}/plans"): _plan_body,
    ("PATCH", f"{A}/plans/<int:plan_id>"): lambda c: {"name": fresh.unique("改名计划")},
    ("POST", f"{A}/plans/<int:plan_id>/draws"): lambda c: {"seed": "matrix"},
    ("PATCH", f"{A}/visits/<int:visit_id>"): lambda c: fresh.reassignment(c.world),
    ("POST", f"{A}/inspections"): _inspection_start,
    ("POST", f"{A}/inspections/submissions"): lambda c: (
        _inspection_start(c) | {"answers": helpers.ALL_PASS, "photos": helpers.PHOTOS}
    ),
    ("PATCH", f"{A}/inspections/<int:inspection_id>/answers"): lambda c: {
        "answers": {"dress.uniform": {"result": "pass"}}
    },
    ("POST", f"{A}/inspections/<int:inspection_id>/submit"): lambda c: {
        "answers": helpers.ALL_PASS,
        "photos": helpers.PHOTOS,
    },
    ("POST", f"{A}/inspections/<int:inspection_id>/publish"): lambda c: {
        "missing_photos_reason": "矩阵测试：照片不在本测试范围"
    },
    ("PATCH", f"{A}/findings/<int:finding_id>"): lambda c: {"status": "confirmed"},
    ("POST", f"{A}/rectification/tasks/<int:task_id>/replies"): lambda c: {
        "client_id": str(uuid.uuid4()),
        "description": "已整改",
        "photo_ids": _after_photos(c),
    },
    ("POST", f"{A}/rectification/tasks/<int:task_id>/verification"): lambda c: {
        "decision": "accept"
    },
    ("POST", f"{A}/rectification/tasks/<int:task_id>/extensions"): lambda c: {
        "client_id": str(uuid.uuid4()),
        "due_on": _today_plus(60),
        "reason": "需要采购",
    },
    ("POST", f"{A}/rectification/tasks/<int:task_id>/extensions/<int:extension_id>/decision"): (
        lambda c: {"decision": "deny", "reason": "不予延期"}
    ),
    ("POST", f"{A}/rectification/tasks/<int:task_id>/chases"): lambda c: {
        "client_id": str(uuid.uuid4()),
        "message": "请尽快整改",
    },
    # console forms (the client adds the CSRF token)
    ("POST", f"{C}/plans"): _console_plan,
    ("POST", f"{C}/plans/<int:plan_id>/draw"): _console_version(
        "inspections.models.Plan", "plan_id"
    ),
    ("POST", f"{C}/plans/<int:plan_id>/publish"): _console_version(
        "inspections.models.Plan", "plan_id"
    ),
    ("POST", f"{C}/findings/<int:finding_id>/review"): lambda c: (
        _console_version("inspections.models.Finding", "finding_id")(c) | {"decision": "confirm"}
    ),
    ("POST", f"{C}/inspections/<int:inspection_id>/publish"): lambda c: (
        _console_version("inspections.models.Inspection", "inspection_id")(c)
        | {"missing_photos_reason": "矩阵测试"}
    ),
    ("POST", f"{C}/tasks/<int:task_id>/verify"): lambda c: (
        _console_version("rectification.models.RectificationTask", "task_id")(c)
        | {"decision": "accept"}
    ),
    ("POST", f"{C}/inspections/<int:inspection_id>/findings/review"): lambda c: (
        _bulk_versions("inspections.models.Finding", "finding", _findings_of(c))
        | {"decision": "confirm", "client_id": str(uuid.uuid4())}
    ),
    ("POST", f"{C}/findings/<int:finding_id>/circular"): lambda c: {"picked": "1"},
    ("POST", f"{C}/tasks/accept"): lambda c: (
        _bulk_versions("rectification.models.RectificationTask", "task", [c.values["task_id"]])
        | {"client_id": str(uuid.uuid4())}
    ),
    ("POST", f"{C}/tasks/<int:task_id>/extensions/<int:extension_id>"): lambda c: (
        _console_version("rectification.models.RectificationTask", "task_id")(c)
        | {"decision": "deny", "reason": "不予延期"}
    ),
    ("POST", f"{C}/tasks/<int:task_id>/chases"): lambda c: {
        "client_id": str(uuid.uuid4()),
        "message": "请尽快整改",
    },
    ("POST", f"{C}/users/<int:user_id>/region"): lambda c: (
        _console_version("accounts.models.User", "user_id")(c) | {"region_id": c.world.region_b}
    ),
    ("POST", f"{C}/users/<int:user_id>/wechat"): _console_version(
        "accounts.models.User", "user_id"
    ),
    ("POST", f"{C}/checklists/versions/<int:version_id>/publish"): _draft_revision,
    ("POST", f"{C}/checklists/versions/<int:version_id>/discard"): lambda c: (
        _draft_revision(c) | {"confirm": "1"}
    ),
    ("POST", f"{C}/checklists/versions/<int:version_id>/sections"): lambda c: (
        _draft_revision(c) | {"title": "新增部分"}
    ),
    ("POST", f"{C}/checklists/versions/<int:version_id>/sections/<section_code>"): lambda c: (
        _draft_revision(c) | {"title": "改名部分"}
    ),
    ("POST", f"{C}/checklists/versions/<int:version_id>/sections/<section_code>/items"): lambda c: (
        _draft_revision(c) | _CONSOLE_ITEM | {"title": "新增一项"}
    ),
    ("POST", f"{C}/checklists/versions/<int:version_id>/items/<item_code>"): lambda c: (
        _draft_revision(c) | _CONSOLE_ITEM | {"title": "改名一项"}
    ),
    ("POST", f"{C}/units/<int:unit_id>/save"): lambda c: fresh.unit_form(c.values["unit_id"]),
    ("POST", f"{C}/units/import"): lambda c: fresh.units_csv(c.world),
}
# Body routes that take no fields at all: they answer without one.
NO_BODY = {
    ("POST", f"{A}/auth/logout"),
    ("DELETE", f"{A}/users/<int:user_id>/wechat"),
    ("POST", f"{A}/users/<int:user_id>/binding-codes"),
    ("DELETE", f"{A}/checklist-templates/<int:template_id>"),
    ("DELETE", f"{A}/checklist-versions/<int:version_id>"),
    ("POST", f"{A}/checklist-versions/<int:version_id>/publish"),
    ("POST", f"{A}/checklist-versions/<int:version_id>/retire"),
    ("DELETE", f"{A}/checklist-versions/<int:version_id>/sections/<section_code>"),
    ("DELETE", f"{A}/checklist-versions/<int:version_id>/items/<item_code>"),
    ("POST", f"{A}/plans/<int:plan_id>/publish"),
    ("POST", f"{A}/photos/<int:photo_id>/confirm"),
    ("POST", f"{A}/inbox/<int:message_id>/read"),
    ("POST", f"{A}/inbox/read-all"),
    ("POST", f"{C}/logout"),
    ("POST", f"{C}/checklists/<int:template_id>/drafts"),
}
MULTIPART = {
    ("POST", f"{A}/units/import"),
    ("POST", f"{A}/checklist-templates/import-file"),
    ("POST", f"{A}/photos"),
}

# Cells the issue asks for that the code does not do yet: (method, rule, actor) → why.
# Delete a line when the change that closes it merges; a closed gap fails the actor's test.
GAPS: dict[tuple[str, str, str], str] = {}


# -- the app's routes ----------------------------------------------------------------------

_app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
ROUTES = [(rule, method, endpoint) for rule, method, endpoint in route_methods(_app)]
PUBLIC_ROUTES = {(m, r) for r, m, e in ROUTES if policy_of(_app, e, m) == PUBLIC}
CHECKED = sorted({(m, r) for r, m, _ in ROUTES} - PUBLIC_ROUTES)
BODY_METHODS = {"POST", "PUT", "PATCH"}
PATTERN = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


def _params(rule: str) -> list[str]:
    return PATTERN.findall(rule)


def _url(rule: str, values: dict[str, object]) -> str:
    return PATTERN.sub(lambda m: str(values[m.group(1)]), rule)


def test_every_route_has_a_row_and_every_body_route_a_body():
    missing_rows = [f"{m} {r}" for m, r in CHECKED if (m, r) not in EXPECT]
    assert not missing_rows, f"write the expected statuses in EXPECT: {missing_rows}"
    stale = [f"{m} {r}" for m, r in EXPECT if (m, r) not in CHECKED]
    assert not stale, f"EXPECT names routes the app does not have: {stale}"
    no_body = [
        f"{m} {r}"
        for m, r in CHECKED
        if m in BODY_METHODS and (m, r) not in BODIES and (m, r) not in NO_BODY
    ]
    assert not no_body, f"give these routes a valid body in BODIES: {no_body}"
    unknown = {p for _, r in CHECKED for p in _params(r)} - set(PARAMS)
    assert not unknown, f"register these URL parameters in PARAMS: {sorted(unknown)}"


def test_every_body_route_in_the_openapi_document_has_a_body(client):
    spec = client.get(f"{A}/openapi.json").get_json()
    with_body = {
        (method.upper(), re.sub(r"\{([^}]+)\}", r"<\1>", path))
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if "requestBody" in op
    }
    known = {(m, re.sub(r"<(?:int:)?", "<", r)) for m, r in BODIES}
    public = {(m, re.sub(r"<(?:int:)?", "<", r)) for m, r in PUBLIC_ROUTES}
    assert not with_body - known - public, sorted(with_body - known - public)


@pytest.mark.parametrize(("method", "rule"), sorted(PUBLIC_ROUTES))
def test_open_routes_do_not_ask_for_sign_in(method, rule, client):
    url = _url(rule, {"filename": "swagger-ui.css", "token": "not-a-signed-token"})
    assert client.open(url, method=method, buffered=True).status_code != 401


@pytest.mark.parametrize(("method", "rule"), CHECKED)
def test_signed_out_callers_are_asked_to_sign_in(method, rule, client):
    """Without a token: 401 and the challenge (RFC 9110 §15.5.2), with no error code (RFC
    6750 §3.1); with a token the API does not know: `error="invalid_token"`."""
    url = _url(rule, {p: PARAMS[p].missing for p in _params(rule)})
    response = client.open(url, method=method, buffered=True)
    if rule.startswith(C):
        assert response.status_code in (302, 400), response.status_code  # 400: no CSRF token
        return
    assert_problem(response, 401)
    assert response.headers.get("WWW-Authenticate") == "Bearer"
    bad = client.open(
        url, method=method, buffered=True, headers={"Authorization": "Bearer not-a-token"}
    )
    assert_problem(bad, 401)
    assert bad.headers.get("WWW-Authenticate") == 'Bearer error="invalid_token"'


# -- calling -------------------------------------------------------------------------------


AS_READ = "as read"  # Caller.if_match: the ETag the office reads just before the call


class Caller:
    """One actor's clients: the API with a bearer token, the console with a session.

    `if_match`: what an API write sends as If-Match: the resource's current ETag
    (AS_READ), a given value, or nothing (None)."""

    def __init__(self, app, world: World, actor: str, client_for, if_match=AS_READ):
        self.if_match = if_match
        self.app, self.world, self.actor = app, world, actor
        self.user = _user(world, actor)
        self.api = client_for(self.user)
        self.office = client_for(world.users[Role.office_admin])
        self._console: ConsoleClient | None = None

    def console(self, *, new: bool = False) -> ConsoleClient:
        if self._console is None or new:
            raw, _ = accounts.issue_token(self.user, "password")
            db.session.commit()
            self.app.test_client_class = IsolatedClient
            console = ConsoleClient(self.app.test_client())
            # Signed in without the login form, which turns some roles away: the pages'
            # own checks are what this file tests.
            with console.client.session_transaction() as session:
                session["token"] = raw
            console.get("/console/login")  # a CSRF token for the session
            if new:
                return console
            self._console = console
        return self._console

    def call(self, method: str, rule: str, values: dict, query: str = ""):
        key = (method, rule)
        ends_session = rule.endswith("/logout")
        body = BODIES.get(key)
        data = body(Call(self.world, self.actor, values, self.office)) if body else None
        url = _url(rule, values) + (
            "?" + query.format(unit_a=self.world.unit_a.id) if query else ""
        )
        if rule.startswith(C):
            console = self.console(new=ends_session)
            if method == "GET":
                return console.client.get(url)
            return console.post(url, data)
        client = self.api
        if ends_session:
            client = self.api.__class__.__new__(self.api.__class__)
            client.__dict__.update(self.api.__dict__)
            raw, _ = accounts.issue_token(self.user, "password")
            db.session.commit()
            client.token = raw
        headers = {}
        resource = re.match(r"^/api/v1/[a-z-]+/\d+", url)
        if method != "GET" and self.if_match is not AS_READ:
            if self.if_match is not None:
                headers["If-Match"] = self.if_match
        elif method != "GET" and resource:
            etag = self.office.get(resource.group(0)).headers.get("ETag")
            if etag:
                headers["If-Match"] = etag
        kwargs: dict = {"headers": headers}
        if key in MULTIPART:
            kwargs |= {"data": data, "content_type": "multipart/form-data"}
        elif data is not None:
            kwargs["json"] = data
        return client.open(url, method=method, buffered=True, **kwargs)


def _ok(rule: str, method: str, status: int) -> bool:
    if rule.startswith(C):
        return status == (200 if method == "GET" else 303) or (
            rule.endswith("/logout") and status == 302
        )
    return 200 <= status < 300


def _cells(world: World, actor: str, method: str, rule: str):
    """(what, values, expected) for one actor and route: own, then foreign, then missing."""
    expect = EXPECT[(method, rule)]
    names = _params(rule)
    own = {n: PARAMS[n].own(world) for n in names}
    if expect.fresh is not None or "message_id" in names:
        maker = expect.fresh or fresh.message

        def own_values():
            made = maker(world, _user(world, actor))
            return own | {k: v for k, v in made.items() if k in names or not names}

    else:

        def own_values():
            return own

    if actor not in expect.ok:
        yield "own", own_values, 403
        return
    yield "own", own_values, "2xx"
    for name in names:
        param = PARAMS[name]
        if param.foreign is None:
            continue
        if actor in expect.foreign:
            yield f"foreign {name}", lambda n=name, p=param: own | {n: p.foreign(world)}, 404
        elif method == "GET":
            yield f"foreign {name}", lambda n=name, p=param: own | {n: p.foreign(world)}, "2xx"
    # A route of two objects (a task's extension): one foreign id next to an own one is
    # refused for not matching; B's pair together is what only the scope refuses.
    pair = [n for n in names if PARAMS[n].foreign is not None]
    if len(pair) > 1 and actor in expect.foreign:
        yield "foreign all", lambda: own | {n: PARAMS[n].foreign(world) for n in pair}, 404
    if names:
        yield "missing", lambda: {n: PARAMS[n].missing for n in names}, 404


def _check(caller: Caller, method: str, rule: str) -> list[str]:
    failures = []
    expect = EXPECT[(method, rule)]
    for what, values, wanted in _cells(caller.world, caller.actor, method, rule):
        try:
            response = caller.call(method, rule, values(), expect.query)
        except Exception as exc:  # one broken cell must not hide the others
            db.session.rollback()
            failures.append(f"{caller.actor} {method} {rule} [{what}]: raised {exc!r}"[:300])
            continue
        got = response.status_code
        good = _ok(rule, method, got) if wanted == "2xx" else got == wanted
        if not good:
            detail = response.get_data(as_text=True)[:200].replace("\n", " ")
            failures.append(
                f"{caller.actor} {method} {rule} [{what}]: {got}, want {wanted}: {detail}"
            )
    return failures


@pytest.mark.parametrize("actor", ACTORS)
def test_every_route_answers_each_actor_as_the_policy_says(actor, app, world, client_for):
    """All routes for one actor in one world; every wrong answer is listed at once. A route
    listed in GAPS for this actor must still answer wrongly: a gap that closed fails too,
    until its line is deleted."""
    caller = Caller(app, world, actor, client_for)
    failures, closed = [], []
    for method, rule in CHECKED:
        found = _check(caller, method, rule)
        if (method, rule, actor) in GAPS:
            if not found:
                closed.append(f"{actor} {method} {rule}: passes now, delete its line in GAPS")
        else:
            failures += found
    if failures or closed:
        pytest.fail("\n".join(failures + closed), pytrace=False)


def test_every_gap_names_a_route_and_an_actor():
    stale = [g for g in GAPS if (g[0], g[1]) not in EXPECT or g[2] not in ACTORS]
    assert not stale, stale
