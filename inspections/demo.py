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
# By item code: each note describes a failure of that very item (the demo is what offices
# evaluate, and a note about another violation reads as a wrong record). Every pass/fail
# item of the shipped checklist (checklists/library/window_service.json) has its own notes;
# no note serves two items (tests/test_inspections_demo.py).
DEMO_NOTES = {
    "dress.uniform": ["2号窗口工作人员未穿工作服，着便装上岗", "1名工作人员穿工作服但未按规定系扣"],
    "dress.badge": ["1名工作人员未佩戴工作牌，台签也未摆放", "3号窗口台签空白，未显示工作人员姓名"],
    "dress.appearance": ["3号窗口工作人员趴在桌上办理业务，坐姿不端", "1名工作人员穿拖鞋上岗"],
    "smoking.staff": [
        "1名窗口工作人员在服务区后侧档案柜旁吸烟",
        "工作人员在大厅休息区吸烟，桌上有烟灰缸",
    ],
    "smoking.public": ["大厅东侧楼梯间有烟味，地上有烟头", "等候区垃圾桶内有未熄灭的烟头"],
    "smoking.signs": ["禁烟标识被宣传展板遮挡", "大厅入口和卫生间均未张贴禁烟标识"],
    "smoking.discourage": [
        "等候区有群众吸烟，保安和工作人员在场但未劝阻",
        "群众在大厅门内吸烟约5分钟，无人上前劝阻",
    ],
    "hygiene.counter": ["3号窗口台面堆放快递和水杯", "1号窗口台面有茶渍和散乱的复印件"],
    "hygiene.no_posters": ["自助机上贴有手写便条", "窗口玻璃上贴满过期通知和手写电话号码"],
    "hygiene.no_snacks": ["窗口台面摆放瓜子和饮料", "服务区工位上放有外卖餐盒"],
    "hygiene.surroundings": ["门口电动车乱停放，占用人行通道", "大门两侧垃圾堆放未清理"],
    "video.entrances": ["西侧出入口未安装摄像头", "后门出入口无视频监控覆盖"],
    "video.playback": ["录像主机硬盘故障，无法回放录像", "只能回放当天录像，此前录像未留存"],
    "access.barrier_free": ["无障碍坡道被电动车占用", "无障碍卫生间上锁，工作人员找不到钥匙"],
    "access.green_channel": ["优先窗口无标识，群众不知道在哪里", "未设绿色通道或优先窗口"],
    "access.waiting": ["饮水机无水，等候座椅有两张损坏", "等候区座椅不足，多名群众站立等候"],
    "access.signage": [
        "导向标识与实际窗口布局不符，群众走错区域",
        "二楼窗口无指引标识，群众需反复询问",
    ],
    "access.help_service": ["导办台无人值守，老年人操作自助机无人协助", "未提供帮办代办服务"],
    "conduct.no_quarrel": [
        "工作人员对反复询问的老年群众大声训斥",
        "群众材料不全，工作人员态度生硬并与其争吵",
    ],
    "conduct.mandarin": [
        "窗口工作人员全程使用方言，外地群众听不懂",
        "工作人员对外地群众不使用普通话",
    ],
    "conduct.first_question": [
        "群众咨询非本窗口业务，工作人员只说不归这里管，未指引",
        "首问窗口未告知群众应到哪个窗口办理",
    ],
    "conduct.one_time_notice": [
        "需补材料未一次性告知，群众二次往返",
        "工作人员只口头说缺材料，未出具一次性告知单",
    ],
    "conduct.time_limit": [
        "即办件材料齐全，仍让群众三天后再来取件",
        "抽查承诺件2件，均超出承诺时限未办结",
    ],
    "discipline.pause_sign": [
        "10:20 有两个窗口无人且未摆暂停服务牌",
        "2号窗口工作人员离岗约15分钟，未摆暂停服务牌",
    ],
    "discipline.punctuality": [
        "公布8:30开始服务，8:45窗口仍未开放",
        "下午未到公布时间提前停止叫号",
    ],
    "discipline.integrity": [
        "群众反映加急办理须私下另付费用，现场核实属实",
        "工作人员收受办事群众所送购物卡",
    ],
    "publicity.guides": [
        "窗口未公开办事指南，群众无法查询所需材料",
        "办事指南缺收费标准和办理时限",
    ],
    "publicity.guides_current": [
        "办事指南仍为去年版本，收费标准未更新",
        "已取消的证明材料仍列在办事指南中",
    ],
    "publicity.staff_board": [
        "入口岗位公示栏缺3名在岗人员的信息",
        "入口未公开工作人员姓名和岗位职责",
    ],
    "publicity.phone": ["入口未公开监督投诉电话", "公示的投诉电话拨打后为空号"],
    "publicity.commitments": ["大厅未展示服务承诺", "服务承诺和行业规范被堆放物品挡住"],
    "feedback.rating": ["评价器黑屏无法使用", "评价二维码扫码后显示页面不存在"],
    "feedback.prompt": ["办结后工作人员未提醒群众评价", "抽查3笔业务，均未提醒群众评价"],
    "feedback.suggestion_box": ["意见簿最近一次查看是三个月前", "大厅未设意见箱或意见簿"],
    "feedback.ledger": ["差评未建台账", "抽查2条差评，均无整改和回访记录"],
    "feedback.cannot_do": ["大厅未设“办不成事”反映窗口", "“办不成事”反映窗口无人值守，牌子被移走"],
    "culture.core_values": ["大厅未展示社会主义核心价值观宣传内容", "公益广告屏长期黑屏"],
    "culture.civility": ["大厅未设文明引导标识", "排队区无文明排队引导标识"],
    "culture.volunteer": ["未设志愿服务站，现场也无志愿者", "志愿服务站长期无人，无志愿者排班"],
}


def general_note(item: dict[str, Any]) -> str:
    """For an item of another checklist (an office's own): its requirement, unmet."""
    return f"现场核实：未做到“{item['title']}”"


def failing_answer(item: dict[str, Any], rng: random.Random | None = None) -> dict[str, Any] | None:
    """An answer that fails the item, for the kinds where that is simple."""
    if item["kind"] == "pass_fail":
        notes = DEMO_NOTES.get(item["code"]) or [general_note(item)]
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
