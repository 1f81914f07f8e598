"""Fresh objects and valid bodies for the route × role matrix (tests/test_policy_matrix.py).

A route that changes its object (publish, decide, delete) gets a new object for each
caller, so every allowed role meets the object in the state the route expects."""

from __future__ import annotations

import io
import itertools
import uuid
from datetime import timedelta

from accounts.models import Role, User
from checklists import service as checklists
from core.clock import local, utcnow
from core.db import db
from inspections import service as inspections
from inspections.models import FindingStatus, VisitKind
from rectification import service as rectification
from tests import media_kinds
from tests.images import jpeg
from tests.inspection_helpers import (
    ALL_PASS,
    check_in,
    make_plan,
    make_visit,
    publish_checklist,
    submitted,
)
from tests.rectification_support import after_photos, inbox_message, open_task

_seq = itertools.count(1)

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
    made = checklists.get_template(template(world, actor)["template_id"])
    return {"version_id": checklists.list_versions(made)[0].id}


def published_version(world, actor) -> dict:
    version = checklists.get_version(draft(world, actor)["version_id"])
    checklists.publish(version, actor=None)
    db.session.commit()
    return {"version_id": version.id}


# -- inspections --------------------------------------------------------------------------


def _visit(world, actor, *, unit=None):
    publish_checklist()
    db.session.commit()
    inspector = world.users[Role.inspector]
    return make_visit(
        unit or world.unit_a, [inspector], kind=VisitKind.announced, starts_in_days=-1
    )


def plan(world, actor) -> dict:
    publish_checklist()
    db.session.commit()
    made = make_plan([world.unit_a], [world.users[Role.inspector]], kind=VisitKind.announced)
    db.session.commit()
    return {"plan_id": made.id}


def drawn_plan(world, actor) -> dict:
    """Drawn, its period over: ready to publish."""
    publish_checklist()
    db.session.commit()
    inspector = world.users[Role.inspector]
    found = make_visit(
        world.unit_a, [inspector], kind=VisitKind.announced, starts_in_days=-10, days=3
    )
    return {"plan_id": found.plan_id}


def visit(world, actor) -> dict:
    return {"visit_id": _visit(world, actor).id}


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


def extension(world, actor) -> dict:
    found = open_task(world.unit_a, inspector_id=world.users[Role.inspector].id)
    made, _ = rectification.request_extension(
        found,
        {"client_id": uuid.uuid4(), "due_on": found.due_on + timedelta(days=7), "reason": "x"},
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


def message(world, actor: User) -> dict:
    return {"message_id": inbox_message(actor, title=f"矩阵消息{next(_seq)}").id}


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


def checklist_document() -> dict:
    return {"code": unique("imported_"), "name": "导入检查表", "all_sectors": True} | {
        "content": SMALL_CHECKLIST
    }
