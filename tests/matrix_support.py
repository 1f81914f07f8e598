"""Fresh objects and valid bodies for the route × role matrix (tests/test_policy_matrix.py).

A route that changes its object (publish, decide, delete) gets a new object for each
caller, so every allowed role meets the object in the state the route expects."""

from __future__ import annotations

import io
import itertools
import uuid
from datetime import datetime, time, timedelta

from sqlalchemy import select

from accounts import service as accounts
from accounts.models import Role, User
from checklists import service as checklists
from checklists.models import ChecklistTemplate, ChecklistVersion
from core.clock import DISPLAY_TZ, local, utcnow
from core.db import db
from inspections import plans as plans_service
from inspections import service as inspections
from inspections.models import FindingStatus, Inspection, Plan, Visit, VisitKind, VisitWindows
from media import service as media
from media.storage import current_storage
from rectification import service as rectification
from rectification.deadlines import end_of_day
from rectification.models import RectificationTask, ReplyView
from tests import media_kinds
from tests.images import jpeg
from tests.inspection_helpers import (
    ALL_PASS,
    admin,
    check_in,
    make_visit,
    publish_checklist,
    submitted,
)
from tests.rectification_support import after_photos, inbox_message, open_task

_seq = itertools.count(1)
# Who may upload a photo of the test attachment kind; for anyone else the route is 403
# whatever the id, and the upload to refuse is the inspector's.
UPLOADERS = (Role.inspector, Role.office_admin, Role.unit_staff)

SMALL_CHECKLIST = {
    "name": "矩阵检查表",
    "sections": [
        {
            "code": "dress",
            "title": "仪容仪表",
            "items": [{"code": "dress.uniform", "kind": "pass_fail", "title": "着装"}],
        }
    ],
}
FAILING = ALL_PASS | {"dress.badge": {"result": "fail", "note": "未佩戴"}}


def today():
    return local(utcnow()).date()


# -- checklists ---------------------------------------------------------------------------


def template(world, actor) -> dict:
    made = checklists.create_template(
        {"code": f"matrix_{next(_seq)}", "name": "矩阵检查表", "all_sectors": True},
        actor=None,
        content=SMALL_CHECKLIST,
    )
    db.session.commit()
    return {"template_id": made.id}


def draft(world, actor) -> dict:
    made = db.session.get(ChecklistTemplate, template(world, actor)["template_id"])
    return {"version_id": checklists.list_versions(made)[0].id}


def published_version(world, actor) -> dict:
    version = db.session.get(ChecklistVersion, draft(world, actor)["version_id"])
    checklists.publish(version, actor=None)
    db.session.commit()
    return {"version_id": version.id}


def published_template(world, actor) -> dict:
    """A template of its own with a published version and no draft: one to draft from."""
    made = published_version(world, actor)
    return made | {"template_id": db.session.get(ChecklistVersion, made["version_id"]).template_id}


def second_draft(world, actor) -> dict:
    """A draft next to a published version: a draft the template can lose."""
    version = db.session.get(ChecklistVersion, published_version(world, actor)["version_id"])
    made = checklists.create_draft(version.template, actor=None)
    db.session.commit()
    return {"version_id": made.id}


# -- inspections --------------------------------------------------------------------------


def _visit(world, actor, *, unit=None):
    publish_checklist()
    db.session.commit()
    inspector = world.users[Role.inspector]
    return make_visit(
        unit or world.unit_a, [inspector], kind=VisitKind.announced, starts_in_days=-1
    )


def _planner(actor: User | None) -> User:
    """Whoever makes the caller's own plan: a scoped office makes a plan of its region (the
    server sets `region_id` from the account), everyone else meets a city plan."""
    if actor is not None and actor.role == Role.office_admin and actor.office_region_id:
        return actor
    return admin()  # the first city-wide office admin


def _plan_of(world, actor, *, starts_in_days: int = 0, days: int = 7) -> Plan:
    publish_checklist()
    start = today() + timedelta(days=starts_in_days)
    data = {
        "name": unique("矩阵计划"),
        "kind": VisitKind.announced,
        "period_start": start,
        "period_end": start + timedelta(days=days - 1),
        "pool": {"unit_ids": [world.unit_a.id]},
        "sampling": {"rate": 1.0},
        "inspector_ids": [world.users[Role.inspector].id],
        "team_size": 1,
        "exclusions": [],
        "checklist_template_id": db.session.scalar(
            select(ChecklistTemplate.id).where(ChecklistTemplate.code == "test")
        ),
        "visit_windows": VisitWindows.period,
    }
    saved = plans_service.save_plan(data, actor=_planner(actor))
    db.session.commit()
    return saved


def plan(world, actor) -> dict:
    return {"plan_id": _plan_of(world, actor).id}


def drawn_plan(world, actor) -> dict:
    """Drawn, its period over: ready to publish."""
    made = _plan_of(world, actor, starts_in_days=-10, days=3)
    plans_service.draw_plan(made, seed="fixed", reason=None, actor=_planner(actor))
    db.session.commit()
    return {"plan_id": made.id}


def published_plan(world, actor) -> dict:
    """一公开: drawn, its period over, published by the city office."""
    made = db.session.get(Plan, drawn_plan(world, None)["plan_id"])
    plans_service.publish_plan(made, actor=admin())
    db.session.commit()
    return {"plan_id": made.id}


def visit(world, actor) -> dict:
    return {"visit_id": _visit(world, actor).id}


def reassignable_visit(world, actor) -> dict:
    """A drawn visit of the caller's own plan (as `plan`), not started: one to move."""
    made = _plan_of(world, actor)
    plans_service.draw_plan(made, seed="fixed", reason=None, actor=_planner(actor))
    db.session.commit()
    return {"visit_id": db.session.scalar(select(Visit.id).where(Visit.plan_id == made.id))}


def reassignment(world) -> dict:
    """A body for PATCH /visits/<id>: 09:00-11:00 on the plan's first weekday after today
    (unit A keeps the default office hours, Monday to Friday)."""
    day = next(d for d in (today() + timedelta(days=n) for n in range(1, 7)) if d.weekday() < 5)
    start = datetime.combine(day, time(9), tzinfo=DISPLAY_TZ)
    return {
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(),
        "reason": "单位临时闭馆，改期",
    }


def started(world, actor) -> dict:
    found = _visit(world, actor)
    data = {"client_uuid": uuid.uuid4(), "visit_id": found.id, "check_in": check_in(found.unit)}
    made, _ = inspections.start_inspection(data, actor=world.users[Role.inspector])
    db.session.commit()
    return {"inspection_id": made.id}


def submitted_inspection(world, actor) -> dict:
    made = submitted(_visit(world, actor), world.users[Role.inspector], FAILING)
    return {"inspection_id": made.id, "finding_id": made.findings[0].id}


# -- rectification ------------------------------------------------------------------------


def task(world, actor) -> dict:
    return {"task_id": open_task(world.unit_a, inspector_id=world.users[Role.inspector].id).id}


def responded(world, actor) -> dict:
    found = open_task(world.unit_a, inspector_id=world.users[Role.inspector].id)
    staff = world.users[Role.unit_staff]
    rectification.respond(
        found,
        {
            "client_id": uuid.uuid4(),
            "description": "已整改",
            "photo_ids": after_photos(found, staff),
        },
        actor=staff,
    )
    db.session.commit()
    return {"task_id": found.id}


def opened_reply(world, actor) -> dict:
    """A responded task whose reply `actor` has opened (bulk acceptance takes only those)."""
    made = responded(world, actor)
    found = db.session.get(RectificationTask, made["task_id"])
    db.session.add(ReplyView(reply_id=found.replies[-1].id, user_id=actor.id))
    db.session.commit()
    return made


def extension(world, actor) -> dict:
    found = open_task(world.unit_a, inspector_id=world.users[Role.inspector].id)
    made, _ = rectification.request_extension(
        found,
        {
            "client_id": uuid.uuid4(),
            "due_on": found.due_on + timedelta(days=7),
            "reason": "材料尚未备齐",
        },
        actor=world.users[Role.unit_staff],
    )
    db.session.commit()
    return {"task_id": found.id, "extension_id": made.id}


def reviewed_inspection(world, actor) -> dict:
    """Submitted, every finding confirmed: ready to publish."""
    made = submitted(_visit(world, actor), world.users[Role.inspector], FAILING)
    for found in made.findings:
        found.status = FindingStatus.confirmed
    db.session.commit()
    return {"inspection_id": made.id}


def confirmed_finding(world, actor) -> dict:
    """A confirmed finding of unit A (one the office may mark for the circular)."""
    made = reviewed_inspection(world, actor)
    found = db.session.get(Inspection, made["inspection_id"]).findings[0]
    return made | {"finding_id": found.id}


def overdue_task(world, actor) -> dict:
    """An open task of unit A whose deadline passed five days ago: one to 督办."""
    found = db.session.get(RectificationTask, task(world, actor)["task_id"])
    found.due_on = today() - timedelta(days=5)
    found.due_at = end_of_day(found.due_on)
    db.session.commit()
    return {"task_id": found.id}


def message(world, actor: User) -> dict:
    return {"message_id": inbox_message(actor, title=f"矩阵消息{next(_seq)}").id}


# -- photos -------------------------------------------------------------------------------


def pending_upload(world, actor) -> dict:
    """A direct upload the caller announced for unit A, its bytes arrived in the store:
    ready to confirm (only its uploader may)."""
    content = jpeg(seed=next(_seq))
    data = {
        "client_id": str(uuid.uuid4()),
        "owner_type": media_kinds.KIND,
        "owner_id": world.unit_a.id,
        "content_type": "image/jpeg",
        "size": len(content),
    }
    uploader = actor if actor.role in UPLOADERS else world.users[Role.inspector]
    photo, _, _ = media.start_direct_upload(data, actor=uploader)
    current_storage().put(photo.key, io.BytesIO(content), content_type="image/jpeg")
    db.session.commit()
    return {"photo_id": photo.id}


# -- people -------------------------------------------------------------------------------


def person(world, actor) -> dict:
    """A new member of unit A's staff: someone of the caller's scope to manage."""
    n = next(_seq)
    made = accounts.create_user(
        {
            "username": f"matrix-person{n}",
            "display_name": f"矩阵人员{n}",
            "role": Role.unit_staff,
            "unit_id": world.unit_a.id,
        },
        actor=None,
    )
    db.session.commit()
    return {"user_id": made.id}


def bound_person(world, actor) -> dict:
    """A member of unit A's staff with a WeChat account bound: one to unbind."""
    made = db.session.get(User, person(world, actor)["user_id"])
    made.wechat_openid = f"matrix-openid-{uuid.uuid4().hex}"
    db.session.commit()
    return {"user_id": made.id}


def office_account(world, actor) -> dict:
    """A viewer bound to unit A's region: an office account whose region may be changed."""
    n = next(_seq)
    made = accounts.create_user(
        {
            "username": f"matrix-viewer{n}",
            "display_name": f"矩阵查看{n}",
            "role": Role.viewer,
            "region_id": world.region_a,
        },
        actor=None,
    )
    db.session.commit()
    return {"user_id": made.id}


# -- bodies -------------------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}{next(_seq)}{uuid.uuid4().hex[:6]}"


def photo_form(world, owner_id: int) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "owner_type": media_kinds.KIND,
        "owner_id": str(owner_id),
        "file": (io.BytesIO(jpeg(seed=next(_seq))), "photo.jpg"),
    }


def units_csv(world) -> dict:
    header = [
        "名称",
        "地址",
        "纬度",
        "经度",
        "行业领域",
        "所属区域",
        "牵头单位",
        "联系人",
        "联系电话",
    ]
    row = [unique("导入单位"), "流沙大道", 23.29, 116.16, world.sector_a.name]
    row += [world.unit_a.region.code, "", "", ""]
    text = "\n".join(",".join(str(c) for c in r) for r in (header, row))
    return {"file": (io.BytesIO(text.encode("utf-8-sig")), "units.csv")}


def unit_form(unit_id) -> dict:
    """The console's edit form of a unit as it stands, its address changed (any valid
    form for an id that is missing: the lookup's 404 comes first)."""
    from org.models import Unit

    db.session.expire_all()
    unit = db.session.get(Unit, unit_id)
    if unit is None:
        return {"version": "1", "name": "不存在的单位", "sector_id": "1", "region_id": "1"}
    return {
        "version": str(unit.version),
        "name": unit.name,
        "sector_id": str(unit.sector_id),
        "region_id": str(unit.region_id),
        "lead_unit_id": str(unit.lead_unit_id or ""),
        "address": "改过的地址",
        "latitude": str(unit.latitude if unit.latitude is not None else ""),
        "longitude": str(unit.longitude if unit.longitude is not None else ""),
        "coord_system": unit.coord_system.value,
        "contact_name": unit.contact_name,
        "contact_phone": unit.contact_phone,
        "active": "1" if unit.active else "",
    }


def checklist_document() -> dict:
    return {"code": unique("imported_"), "name": "导入检查表", "all_sectors": True} | {
        "content": SMALL_CHECKLIST
    }


# -- reports --------------------------------------------------------------------------------


def export_job(world, actor) -> dict:
    """A finished ledger export of `actor`'s, its file in storage: only they may poll it
    and download it; anyone else's looks missing."""
    from reports.models import ExportJob, ExportStatus
    from reports.xlsx import XLSX

    key = f"exports/{uuid.uuid4().hex}.xlsx"
    current_storage().put(key, io.BytesIO(b"PK\x03\x04 matrix"), content_type=XLSX)
    job = ExportJob(
        source="rectification",
        params={},
        actor_id=actor.id,
        status=ExportStatus.done,
        rows=0,
        filename="整改台账-matrix.xlsx",
        key=key,
        size=16,
        finished_at=utcnow(),
        expires_at=utcnow() + timedelta(hours=1),
    )
    db.session.add(job)
    db.session.commit()
    return {"export_id": job.id}
