"""改派: the office moves one visit to another window, or gives it another team, without
redrawing the plan. The draw stays as it was drawn (and still replays); the change is an
audit event on the visit, with its reason.

Services flush, never commit; the request edge commits once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from accounts.models import Role, User
from core import audit, errors, reasons
from core.clock import DISPLAY_TZ
from core.db import db, lock_for_update
from core.text import trim, visible_length
from inspections import plans, policy
from inspections.models import PlanStatus, Visit, VisitStatus
from org import hours


def reassign_visit(visit: Visit, data: dict[str, Any], *, actor: User) -> Visit:
    """Set `visit`'s window (window_start, window_end) and/or team (inspector_ids), with a
    reason. Only before anyone checked in, and only by an office that owns the plan.

    `visit` as the caller checked it against the client's version (If-Match, the console
    form's): locked with its plan (in that order, as a check-in locks them), a visit
    changed or removed meanwhile is refused rather than changed again (412)."""
    plan = visit.plan
    policy.check_can_edit_plan(actor, plan)
    seen = visit.version
    if not (lock_for_update(plan) and lock_for_update(visit)):
        raise errors.NotFound()
    if visit.version != seen:
        raise errors.PreconditionFailed()
    if plan.status == PlanStatus.published:
        raise errors.Conflict("计划已公开，不能再改派", type="urn:problem:reassign-plan-published")
    if visit.status != VisitStatus.planned:
        raise errors.Conflict("检查已开始，不能再改派", type="urn:problem:reassign-visit-started")
    reason = trim(data.get("reason") or "")
    problems: dict[str, list[str]] = {}
    if not reasons.given(reason):
        problems["reason"] = ["改派必须说明原因"]
    elif visible_length(reason) < reasons.MIN_LENGTH:
        problems["reason"] = [reasons.TOO_SHORT]
    start = data.get("window_start", visit.window_start)
    end = data.get("window_end", visit.window_end)
    team = None
    if "window_start" in data or "window_end" in data:
        problems |= _window_problems(visit, start, end)
    if "inspector_ids" in data:
        team = _team(visit, data["inspector_ids"], problems)
    if not ({"window_start", "window_end", "inspector_ids"} & data.keys()):
        problems["window_start"] = ["请给出新的检查时段或检查人员"]
    if problems:
        raise errors.InvalidInput(errors=problems)
    before = _summary(visit)
    visit.window_start, visit.window_end = start, end
    visit.visible_from = start - plans.lead_of(plan)
    if team is not None:
        visit.inspectors = team
    visit.version += 1
    db.session.flush()
    audit.record(
        "visit",
        visit.id,
        "reassign",
        actor_id=actor.id,
        before=before,
        after=_summary(visit),
        reason=reason,
    )
    return visit


def _window_problems(visit: Visit, start: datetime, end: datetime) -> dict[str, list[str]]:
    first, last = plans.window_of(visit.plan)
    if end <= start:
        return {"window_end": ["结束时间须晚于开始时间"]}
    if start < first or end > last:
        return {"window_start": ["检查时段须在计划期内"]}
    if not hours.within(visit.unit.service_hours, start, end):
        text = hours.as_text(visit.unit.service_hours)
        return {"window_start": [f"检查时段须在该单位同一天的办公时间内（{text}）"]}
    return {}


def _team(visit: Visit, ids: list[int], problems: dict[str, list[str]]) -> list[User]:
    """The new team, checked as the draw checks it: the plan's inspectors, in post, none
    of the unit's own staff or excluded from it (回避), as many as the plan's team size."""
    plan = visit.plan
    wanted = set(ids)
    found = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_(wanted), User.role == Role.inspector, User.active)
        )
    }
    reasons = []
    if len(wanted) != plan.team_size or len(ids) != len(wanted):
        reasons.append(f"每组须为 {plan.team_size} 名不同的检查人员")
    outside = sorted(wanted - set(plan.inspector_ids or []) | (wanted - found.keys()))
    if outside:
        reasons.append(f"不是本计划在岗的检查人员：{outside}")
    barred = {e["inspector_id"] for e in plan.exclusions or [] if e["unit_id"] == visit.unit_id}
    barred |= {i for i, u in found.items() if u.unit_id == visit.unit_id}
    if wanted & barred:
        reasons.append(f"须回避该单位：{sorted(wanted & barred)}")
    if reasons:
        problems["inspector_ids"] = reasons
    return [found[i] for i in sorted(wanted) if i in found]


def _summary(visit: Visit) -> dict[str, Any]:
    def local(at: datetime) -> str:
        return at.astimezone(DISPLAY_TZ).isoformat(timespec="minutes")

    return {
        "window": [local(visit.window_start), local(visit.window_end)],
        "inspector_ids": sorted(m.id for m in visit.inspectors),
    }
