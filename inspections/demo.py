"""Demo data: a finished and published campaign, one under way and one announced.

Runs as a `demo_hooks` entry after the city and the default checklist exist. Everything
goes through the real services, so the demo shows what the product would have stored.
"""

from __future__ import annotations

import logging
import random
import uuid
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from accounts.models import Role, User
from core import errors
from core.clock import DISPLAY_TZ, local, utcnow
from core.db import db
from inspections import checklist, findings, plans, service
from inspections.models import FindingStatus, Visit, VisitKind
from org.models import Unit

log = logging.getLogger(__name__)


def passing_answer(item: dict[str, Any]) -> dict[str, Any]:
    """An answer that meets the item, whatever its kind."""
    kind = item["kind"]
    if kind == "pass_fail":
        return {"result": "pass"}
    if kind == "score":
        return {"value": item["max"]}
    if kind == "single_choice":
        return {"value": next(o["value"] for o in item["options"] if not o.get("fail"))}
    if kind == "multi_choice":
        return {"value": [o["value"] for o in item["options"] if not o.get("fail")][:1]}
    if kind == "number":
        value = max(v for v in (item.get("pass_min"), item.get("min"), 1) if v is not None)
        answer: dict[str, Any] = {"value": value}
        if item.get("total_label"):
            answer["total"] = value
        return answer
    if kind == "text":
        return {"value": "无"}
    return {"note": "已拍照"}


# What an inspector writes under a failed item: what was seen, not the item's title again.
# By the item's group (the code's first part); anything else takes a general note.
DEMO_NOTES = {
    "dress": ["2号窗口工作人员未穿工作服", "1名工作人员未佩戴工作牌，台签也未摆放"],
    "smoking": ["大厅东侧楼梯间有烟味，地上有烟头", "禁烟标识被宣传展板遮挡"],
    "hygiene": ["3号窗口台面堆放快递和水杯", "自助机上贴有手写便条", "卫生间地面积水，无人清理"],
    "video": ["西侧出入口摄像头无画面", "只能回放最近3天的录像"],
    "access": ["无障碍坡道被电动车占用", "优先窗口无标识，群众不知道在哪里"],
    "conduct": ["群众咨询时工作人员未抬头回应", "需补材料未一次性告知，群众二次往返"],
    "discipline": ["10:20 有两个窗口无人且未摆暂停服务牌", "工作人员上班时间看手机视频"],
    "publicity": ["办事指南仍为去年版本，收费标准未更新", "入口未公开监督投诉电话"],
    "feedback": ["评价器黑屏无法使用", "意见簿最近一次查看是三个月前"],
    "culture": ["文明引导标识破损未更换", "志愿服务站无人值守"],
}
GENERAL_NOTES = ["现场核实存在该问题，已当场向窗口负责人指出", "抽查两个窗口均未落实"]


def failing_answer(item: dict[str, Any], rng: random.Random | None = None) -> dict[str, Any] | None:
    """An answer that fails the item, for the kinds where that is simple."""
    if item["kind"] == "pass_fail":
        notes = DEMO_NOTES.get(item["code"].split(".")[0], GENERAL_NOTES)
        rng = rng or random.Random(item["code"])  # noqa: S311 - demo notes, not secrets
        return {"result": "fail", "note": rng.choice(notes)}
    return None


def demo_answers(content: dict[str, Any], rng: random.Random, fail_rate: float):
    answers, photos = {}, {}
    for code, item in checklist.items_of(content).items():
        failed = failing_answer(item, rng) if rng.random() < fail_rate else None
        answers[code] = failed or passing_answer(item)
    for code in checklist.required_photo_codes(content, answers):
        photos[code] = [str(uuid.uuid4())]
    return answers, photos


def load_demo() -> None:
    admin = db.session.scalar(select(User).where(User.role == Role.office_admin).limit(1))
    inspectors = list(
        db.session.scalars(select(User).where(User.role == Role.inspector).order_by(User.id))
    )
    if admin is None or len(inspectors) < 2 or not db.session.scalar(select(Unit.id).limit(1)):
        return
    today = local(utcnow()).date()
    rules = {
        "pool": {},
        "inspector_ids": [i.id for i in inspectors],
        "team_size": 2,
        "exclusions": [],
    }
    past = plans.save_plan(
        {
            "name": f"{today.year}年窗口服务质量暗访（上月）",
            "kind": VisitKind.unannounced,
            "period_start": today - timedelta(days=35),
            "period_end": today - timedelta(days=8),
            "sampling": {"rate": 0.5},
        }
        | rules,
        actor=admin,
    )
    plans.draw_plan(past, seed="演示-往期", reason=None, actor=admin)
    _inspect_all(past.id, admin)
    plans.publish_plan(past, actor=admin)

    current = plans.save_plan(
        {
            "name": f"{today.year}年窗口服务质量暗访（本周）",
            "kind": VisitKind.unannounced,
            "period_start": today,
            "period_end": today + timedelta(days=6),
            "sampling": {"size": 1},
        }
        | rules,
        actor=admin,
    )
    plans.draw_plan(current, seed="演示-本期", reason=None, actor=admin)
    announced = plans.save_plan(
        {
            "name": "政务服务中心明察（下周）",
            "kind": VisitKind.announced,
            "period_start": today + timedelta(days=7),
            "period_end": today + timedelta(days=9),
            "sampling": {"rate": 1.0},
            "pool": {"sector_ids": _sector_of_first_unit()},
        }
        | {k: v for k, v in rules.items() if k != "pool"},
        actor=admin,
    )
    plans.draw_plan(announced, seed="演示-公开检查", reason=None, actor=admin)


def _sector_of_first_unit() -> list[int]:
    return [db.session.scalar(select(Unit.sector_id).order_by(Unit.id).limit(1))]


def _daytime(visit: Visit) -> tuple[datetime, datetime]:
    """The part of the visit's session inside an inspector's working day (09:00-17:00 in
    the city): a unit open round the clock (a 24-hour hotline) is still visited by day."""
    day = local(visit.window_start).date()
    start = max(visit.window_start, datetime.combine(day, time(9), tzinfo=DISPLAY_TZ))
    end = min(visit.window_end, datetime.combine(day, time(17), tzinfo=DISPLAY_TZ))
    return (start, end) if start < end else (visit.window_start, visit.window_end)


def _inspect_all(plan_id: int, admin: User) -> None:
    rng = random.Random(plan_id)  # noqa: S311 - demo data, reproducible on purpose
    visits = list(db.session.scalars(select(Visit).where(Visit.plan_id == plan_id)))
    for n, visit in enumerate(visits):
        try:
            _, content = checklist.version_for(visit.plan.checklist_template_id, visit.unit)
        except errors.Conflict:
            log.info("no published checklist: demo inspections skipped")
            return
        answers, photos = demo_answers(content, rng, fail_rate=0.08)
        # On site inside the visit's drawn session, some early in it and some later.
        start, end = _daytime(visit)
        at = start + (end - start) * (0.2 + 0.15 * (n % 4))
        inspection = service.submit_offline(
            {
                "client_uuid": uuid.uuid4(),
                "visit_id": visit.id,
                "check_in": {
                    "latitude": (visit.unit.latitude or 23.3) + rng.uniform(-0.002, 0.002),
                    "longitude": (visit.unit.longitude or 116.17) + rng.uniform(-0.002, 0.002),
                    "accuracy_m": rng.choice([8.0, 15.0, 30.0]),
                    "type": visit.unit.coord_system,  # read as the unit's numbers were
                    "at": at,
                },
                "answers": answers,
                "photos": photos,
            },
            actor=visit.inspectors[0],
        ).inspection
        if n % 3 == 2:
            continue  # left for the office to review
        for finding in inspection.findings:
            findings.review_finding(
                finding,
                {
                    "status": FindingStatus.confirmed if rng.random() < 0.85 else "dismissed",
                    "reason": "复核照片后认定",
                },
                actor=admin,
            )
        # The demo campaign has no photo files; the office says so, as it would have to.
        findings.publish_inspection(
            inspection, actor=admin, missing_photos_reason="演示数据：照片未随演示数据生成"
        )
