"""Builders for plans, visits and inspections, shared by the inspection tests and the
policy matrix (World.inspections)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from accounts.models import Role, User
from checklists import service as checklists
from checklists.models import ChecklistTemplate
from core.clock import local, utcnow
from core.db import db
from inspections import findings as findings_service
from inspections import plans
from inspections import service as inspections
from inspections.models import (
    Finding,
    FindingStatus,
    Inspection,
    Plan,
    Visit,
    VisitKind,
    VisitWindows,
)
from org.models import Unit

# A small checklist: each photo rule, a critical item, a fix-on-the-spot item, a text item.
CONTENT = {
    "name": "测试检查表",
    "sections": [
        {
            "code": "dress",
            "title": "仪容仪表",
            "items": [
                {
                    "code": "dress.uniform",
                    "kind": "pass_fail",
                    "title": "工作人员统一着装",
                    "points": 5,
                    "photo": "on_fail",
                    "severity": "general",
                    "fix_on_spot": True,
                },
                {
                    "code": "dress.badge",
                    "kind": "pass_fail",
                    "title": "佩戴工作牌",
                    "points": 5,
                    "photo": "never",
                    "severity": "general",
                },
            ],
        },
        {
            "code": "smoke",
            "title": "禁烟",
            "items": [
                {
                    "code": "smoke.none",
                    "kind": "pass_fail",
                    "title": "服务区域无人吸烟",
                    "points": 10,
                    "photo": "on_fail",
                    "severity": "major",
                },
                {
                    "code": "video.working",
                    "kind": "pass_fail",
                    "title": "监控设备正常运行",
                    "points": 10,
                    "photo": "always",
                    "severity": "severe",
                    "critical": True,
                },
                {
                    "code": "remark",
                    "kind": "text",
                    "title": "其他情况",
                    "required": False,
                },
            ],
        },
    ],
}

ALL_PASS = {
    "dress.uniform": {"result": "pass"},
    "dress.badge": {"result": "pass"},
    "smoke.none": {"result": "pass"},
    "video.working": {"result": "pass"},
}
PHOTOS = {"video.working": [str(uuid.UUID(int=1))]}


def publish_checklist(content: dict[str, Any] | None = None, code: str = "test"):
    """Publish the test checklist (once); plans made by `make_plan` name it."""
    template = db.session.scalar(db.select(ChecklistTemplate).where(ChecklistTemplate.code == code))
    if template is not None:
        return checklists.published_version_of(template)
    template = checklists.create_template(
        {"code": code, "name": "测试检查表", "all_sectors": True},
        actor=None,
        content=content or CONTENT,
    )
    return checklists.publish(checklists.list_versions(template)[0], actor=None)


def admin() -> User:
    """The first city-wide office admin: a scoped one (a test may make one first, and
    without an order PostgreSQL may return it) plans only in its region."""
    return db.session.scalar(
        db.select(User)
        .where(User.role == Role.office_admin, User.region_id.is_(None))
        .order_by(User.id)
        .limit(1)
    )


def make_plan(
    units: list[Unit],
    inspectors: list[User],
    *,
    kind: VisitKind = VisitKind.unannounced,
    starts_in_days: int = 0,
    days: int = 7,
    team_size: int | None = None,
    **over: Any,
) -> Plan:
    today = local(utcnow()).date() + timedelta(days=starts_in_days)
    template = db.session.scalar(
        db.select(ChecklistTemplate.id).where(ChecklistTemplate.code == "test")
    )
    data = {
        "name": "测试暗访计划" if kind == VisitKind.unannounced else "测试明察计划",
        "kind": kind,
        "period_start": today,
        "period_end": today + timedelta(days=days - 1),
        "pool": {"unit_ids": [u.id for u in units]},
        "sampling": {"rate": 1.0},
        "inspector_ids": [i.id for i in inspectors],
        "team_size": team_size or len(inspectors),
        "exclusions": [],
        "checklist_template_id": template,
        # Tests check in now: the whole period is the window unless a test draws windows.
        "visit_windows": VisitWindows.period,
    } | over
    return plans.save_plan(data, actor=admin())


def make_visit(unit: Unit, inspectors: list[User], **over: Any) -> Visit:
    """One plan, drawn, with one visit to `unit` by exactly `inspectors`."""
    plan = make_plan([unit], inspectors, **over)
    draw = plans.draw_plan(plan, seed="fixed", reason=None, actor=admin())
    db.session.commit()
    return db.session.scalar(db.select(Visit).where(Visit.draw_id == draw.id))


def check_in(unit: Unit, **over: Any) -> dict[str, Any]:
    """A reading at the unit's spot, in the unit's own system (wx.getLocation's `type`)."""
    return {
        "latitude": unit.latitude,
        "longitude": unit.longitude,
        "accuracy_m": 12.0,
        "type": str(unit.coord_system or "gcj02"),
    } | over


def submitted(visit: Visit, inspector: User, answers: dict | None = None, **extra) -> Inspection:
    """An inspection of `visit`, submitted through the service (as the API would)."""
    data = {
        "client_uuid": uuid.uuid4(),
        "visit_id": visit.id,
        "check_in": check_in(visit.unit),
        "answers": answers or ALL_PASS,
        "photos": PHOTOS,
    } | extra
    inspection = inspections.submit_offline(data, actor=inspector).inspection
    db.session.commit()
    return inspection


def published(inspection: Inspection) -> Inspection:
    """Confirmed and published; the photos the submission named never arrive here."""
    for finding in inspection.findings:
        finding.status = FindingStatus.confirmed
    findings_service.publish_inspection(
        inspection, actor=admin(), missing_photos_reason="测试数据：照片不在本测试范围"
    )
    db.session.commit()
    return inspection


class InspectionWorld:
    """What the policy matrix needs: a plan; an announced visit, an inspection with a
    confirmed finding at unit A; the same at unit B by another inspector (foreign)."""

    def __init__(self, world, make_user):
        publish_checklist()
        db.session.commit()
        inspector = world.users[Role.inspector]
        helper = make_user(Role.inspector)
        other = make_user(Role.inspector)
        other_helper = make_user(Role.inspector)
        failing = ALL_PASS | {"dress.badge": {"result": "fail", "note": "未佩戴"}}
        self.visit_a = make_visit(
            world.unit_a, [inspector, helper], kind=VisitKind.announced, starts_in_days=-1
        )
        self.plan = self.visit_a.plan
        self.inspection_a = published(submitted(self.visit_a, inspector, failing))
        self.finding_a: Finding = self.inspection_a.findings[0]
        self.visit_b = make_visit(
            world.unit_b, [other, other_helper], kind=VisitKind.announced, starts_in_days=-1
        )
        self.plan_b = self.visit_b.plan  # a city plan whose pool is unit B only
        self.inspection_b = published(submitted(self.visit_b, other, failing))
        self.finding_b: Finding = self.inspection_b.findings[0]
