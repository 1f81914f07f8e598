"""Plans (督查计划), their double-random draws and the visits they make.

Services flush, never commit; the request edge commits once.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, delete, exists, select

from accounts.models import Role, User
from checklists.models import ChecklistTemplate
from core import audit, errors, reasons
from core.clock import DISPLAY_TZ, OUT_OF_RANGE_DAY, day_in_range, utcnow
from core.db import db, lock_for_update
from inspections import draw as dr
from inspections import policy
from inspections.models import (
    Draw,
    Inspection,
    InspectionStatus,
    Plan,
    PlanStatus,
    Visit,
    VisitStatus,
    VisitWindows,
)
from org.models import Region, Sector, Unit

# -- plans --------------------------------------------------------------------------------


def list_plans(*, actor: User, status: str | None = None, kind: str | None = None) -> Select:
    stmt = (
        select(Plan)
        .where(policy.plan_filter(actor))
        .order_by(Plan.period_start.desc(), Plan.id.desc())
    )
    if status:
        stmt = stmt.where(Plan.status == status)
    if kind:
        stmt = stmt.where(Plan.kind == kind)
    return stmt


def get_plan(plan_id: int, *, actor: User) -> Plan:
    """The plan, or the same 404 as a missing id when `actor` may not see it."""
    return policy.visible_plan(plan_id, actor)


_PLAN_FIELDS = ("id", "name", "kind", "status", "period_start", "period_end")
_PLAN_FIELDS += ("checklist_template_id", "sampling", "inspector_ids", "team_size")
_PLAN_FIELDS += ("lead_time_hours", "disclose_inspectors", "region_id", "created_at")
_PLAN_FIELDS += ("visit_windows",)
_PLAN_FIELDS += ("published_at", "version")


def plan_as_seen_by(plan: Plan, *, actor: User) -> Plan | dict[str, Any]:
    """The plan as `actor` may read it: whole for an office that owns it; a city plan seen
    by a town office names only that office's units in its pool and exclusions (regions
    and sectors are reference data everyone reads), as `list_draws` does for its draws."""
    if policy.owns_plan(actor, plan):
        return plan
    pool = dict(plan.pool or {})
    named = set(pool.get("unit_ids") or []) | {e["unit_id"] for e in plan.exclusions or []}
    mine = policy.visible_unit_ids(actor, named)
    if "unit_ids" in pool:
        pool["unit_ids"] = [u for u in pool["unit_ids"] if u in mine]
    return {key: getattr(plan, key) for key in _PLAN_FIELDS} | {
        "pool": pool,
        "exclusions": [e for e in plan.exclusions or [] if e["unit_id"] in mine],
    }


# A plan covers at most a year (a leap year's 366 days): plans are monthly, quarterly or
# yearly campaigns; a longer period would draw visits years ahead.
MAX_PERIOD_DAYS = 366


def _check_plan(plan: Plan) -> None:
    problems: dict[str, list[str]] = {}
    for key in ("period_start", "period_end"):  # the API's fields say so first
        if not day_in_range(getattr(plan, key)):
            problems[key] = [OUT_OF_RANGE_DAY]
    length = (plan.period_end - plan.period_start).days + 1
    if not problems and length < 1:
        problems["period_end"] = ["结束日期不能早于开始日期"]
    elif not problems and length > MAX_PERIOD_DAYS:
        problems["period_end"] = [f"计划期最长 {MAX_PERIOD_DAYS} 天"]
    pool = plan.pool or {}
    # A district or town plan names only its own regions and units: another region's id
    # is answered as a missing one.
    within = {
        Sector: True,
        Region: policy.pool_region_filter(plan),
        Unit: policy.pool_unit_filter(plan),
    }
    for key, model in (("sector_ids", Sector), ("region_ids", Region), ("unit_ids", Unit)):
        ids = set(pool.get(key) or [])
        if ids:
            found = set(
                db.session.scalars(select(model.id).where(model.id.in_(ids), within[model]))
            )
            if ids - found:
                problems[f"pool.{key}"] = [f"不存在：{sorted(ids - found)}"]
    if plan.checklist_template_id is not None and (
        db.session.get(ChecklistTemplate, plan.checklist_template_id) is None
    ):
        problems["checklist_template_id"] = ["检查表不存在"]
    ids = set(plan.inspector_ids or [])
    found = set(
        db.session.scalars(
            select(User.id).where(User.id.in_(ids), User.role == Role.inspector, User.active)
        )
    )
    if ids - found:
        problems["inspector_ids"] = [f"不是在岗的检查人员：{sorted(ids - found)}"]
    if len(ids) < plan.team_size:
        problems.setdefault("inspector_ids", []).append(f"检查人员少于每组人数 {plan.team_size}")
    for exclusion in plan.exclusions or []:
        if exclusion["inspector_id"] not in ids:
            problems.setdefault("exclusions", []).append(
                f"检查人员 {exclusion['inspector_id']} 不在本计划的检查人员中"
            )
    if problems:
        raise errors.InvalidInput(errors=problems)


def save_plan(data: dict[str, Any], *, actor: User, plan: Plan | None = None) -> Plan:
    """Create a plan (it belongs to the region of `actor`'s office), or change one that
    `actor` owns."""
    creating = plan is None
    if creating and not policy.can_create_plan(actor):
        raise errors.Forbidden()
    if not creating:
        policy.check_can_edit_plan(actor, plan)
    if plan is not None and plan.status != PlanStatus.draft:
        locked = {"kind", "pool", "sampling", "inspector_ids", "team_size", "exclusions"}
        locked |= {"period_start", "period_end", "lead_time_hours", "visit_windows"}
        if locked & data.keys():
            raise errors.Conflict(
                "计划已抽取检查对象，抽取规则与时间不可再改；如需调整请重新抽取前先撤回",
                type="urn:problem:plan-drawn",
            )
    plan = plan or Plan(created_by_id=actor.id, region_id=policy.plan_region_for(actor))
    before = None if creating else _plan_summary(plan)
    for key, value in data.items():
        setattr(plan, key, value)
    _check_plan(plan)
    db.session.add(plan)
    db.session.flush()
    audit.record(
        "plan",
        plan.id,
        "create" if creating else "update",
        actor_id=actor.id,
        before=before,
        after=_plan_summary(plan),
    )
    return plan


def _plan_summary(plan: Plan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "kind": str(plan.kind),
        "period": [plan.period_start.isoformat(), plan.period_end.isoformat()],
        "status": str(plan.status),
        "disclose_inspectors": bool(plan.disclose_inspectors),
    }


# -- draws --------------------------------------------------------------------------------


def _descendants(region_ids: set[int]) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for region_id, parent_id in db.session.execute(select(Region.id, Region.parent_id)):
        children.setdefault(parent_id, []).append(region_id)
    found, todo = set(), list(region_ids)
    while todo:
        region_id = todo.pop()
        if region_id not in found:
            found.add(region_id)
            todo.extend(children.get(region_id, []))
    return found


def resolve_pool(plan: Plan) -> tuple[list[dr.PoolUnit], list[dr.PoolInspector]]:
    """The units and inspectors a draw of `plan` chooses from, as of now."""
    pool = plan.pool or {}
    stmt = select(Unit.id, Unit.sector_id, Unit.region_id).where(Unit.active)
    sector_ids, region_ids = pool.get("sector_ids") or [], pool.get("region_ids") or []
    unit_ids = pool.get("unit_ids") or []
    if sector_ids or region_ids or unit_ids:
        criteria = Unit.id.in_(unit_ids)
        if sector_ids or region_ids:
            matches = Unit.id.is_not(None)
            if sector_ids:
                matches = matches & Unit.sector_id.in_(sector_ids)
            if region_ids:
                matches = matches & Unit.region_id.in_(_descendants(set(region_ids)))
            criteria = criteria | matches
        stmt = stmt.where(criteria)
    stmt = stmt.where(policy.pool_unit_filter(plan))
    units = [dr.PoolUnit(*row) for row in db.session.execute(stmt)]
    inspectors = [
        dr.PoolInspector(*row)
        for row in db.session.execute(
            select(User.id, User.unit_id).where(
                User.id.in_(plan.inspector_ids or []), User.role == Role.inspector, User.active
            )
        )
    ]
    return units, inspectors


def current_draw(plan: Plan) -> Draw | None:
    return db.session.scalar(select(Draw).where(Draw.plan_id == plan.id, Draw.current))


def list_draws(plan: Plan, *, actor: User) -> list[Draw] | list[dict[str, Any]]:
    """The plan's draws. An office that does not own the plan (a city plan seen by a town
    office) gets its region's part: the units drawn and pooled there, nothing else."""
    draws = list(db.session.scalars(select(Draw).where(Draw.plan_id == plan.id).order_by(Draw.id)))
    if policy.owns_plan(actor, plan):
        return draws
    drawn = {row["unit_id"] for d in draws for row in d.result}
    pooled = {u["id"] for d in draws for u in (d.inputs or {}).get("units", [])}
    mine = policy.visible_unit_ids(actor, drawn | pooled)
    return [_part_of(d, mine) for d in draws]


_DRAW_FIELDS = ("id", "plan_id", "number", "seed", "algorithm", "current", "drawn_at")
_DRAW_FIELDS += ("drawn_by_id", "reason", "team_seed_sha256")


def _part_of(d: Draw, units: set[int]) -> dict[str, Any]:
    """Without the team seed: with it and the disclosed inputs, the teams of the units
    outside the office's region could be computed."""
    inputs = dict(d.inputs or {})
    inputs["units"] = [u for u in inputs.get("units", []) if u["id"] in units]
    inputs["exclusions"] = [e for e in inputs.get("exclusions", []) if e["unit_id"] in units]
    if inputs.get("schedule"):  # the pooled units' service hours, keyed by unit id
        hours = inputs["schedule"].get("unit_hours") or {}
        inputs["schedule"] = inputs["schedule"] | {
            "unit_hours": {key: h for key, h in hours.items() if int(key) in units}
        }
    return {key: getattr(d, key) for key in _DRAW_FIELDS} | {
        "team_seed": None,
        "inputs": inputs,
        "result": [row for row in d.result if row["unit_id"] in units],
    }


def visit_counts(plan_ids: list[int], *, actor: User) -> dict[int, dict[str, int]]:
    """Per plan, how many of the visits `actor` may see are in each status."""
    counts: dict[int, dict[str, int]] = {}
    if plan_ids:
        rows = db.session.execute(
            select(Visit.plan_id, Visit.status, db.func.count(Visit.id))
            .where(Visit.plan_id.in_(plan_ids), policy.visit_filter(actor, utcnow()))
            .group_by(Visit.plan_id, Visit.status)
        )
        for plan_id, status, count in rows:
            counts.setdefault(plan_id, {})[VisitStatus(status).value] = count
    return counts


def window_of(plan: Plan) -> tuple[datetime, datetime]:
    """The plan's period as UTC instants: its first day 00:00 to the day after its last,
    in the city's clock."""

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=DISPLAY_TZ).astimezone(UTC)

    return midnight(plan.period_start), midnight(plan.period_end + timedelta(days=1))


def draw_plan(plan: Plan, *, seed: str | None, reason: str | None, actor: User) -> Draw:
    """Draw (or redraw) the plan's visits. A redraw replaces the visits of the previous
    draw, and is refused once any of them has started. Draws of one plan, and the
    check-ins at its visits, take turns on the plan's row."""
    policy.check_can_edit_plan(actor, plan)
    lock_for_update(plan)
    if plan.status == PlanStatus.published:
        raise errors.Conflict("计划已公开，不能重新抽取", type="urn:problem:plan-published")
    previous = current_draw(plan)
    if previous is not None:
        started = db.session.scalar(
            select(
                exists().where(Visit.draw_id == previous.id, Visit.status != VisitStatus.planned)
            )
        )
        if started:
            raise errors.Conflict(
                "已有检查开始，不能重新抽取", type="urn:problem:inspections-started"
            )
        reasons.check(reason, "重新抽取必须说明原因")
    units, inspectors = resolve_pool(plan)
    if not units:
        raise errors.InvalidInput(errors={"pool": ["检查对象范围内没有在用的窗口单位"]})
    seed = seed or secrets.token_hex(16)
    # Never given by the office, never published unless the plan names its inspectors: the
    # teams are not computable from the disclosure (docs/inspections.md, "The draw").
    team_seed = secrets.token_hex(16)
    inputs = dr.inputs_of(
        units,
        inspectors,
        sampling=plan.sampling or {},
        team_size=plan.team_size,
        exclusions=plan.exclusions or [],
    )
    if plan.visit_windows == VisitWindows.drawn:
        inputs["schedule"] = dr.schedule_inputs(
            (plan.period_start, plan.period_end), _own_hours([u.id for u in units])
        )
    try:
        result = dr.replay(inputs, seed, team_seed=team_seed, algorithm=dr.ALGORITHM)
    except dr.DrawError as exc:
        raise errors.InvalidInput(str(exc), errors={exc.field: [str(exc)]}) from None
    if previous is not None:
        previous.current = False
        db.session.execute(delete(Visit).where(Visit.draw_id == previous.id))
    number = 1 + (
        db.session.scalar(select(db.func.max(Draw.number)).where(Draw.plan_id == plan.id)) or 0
    )
    new = Draw(
        plan_id=plan.id,
        number=number,
        seed=seed,
        team_seed=team_seed,
        algorithm=dr.ALGORITHM,
        inputs=inputs,
        result=result,
        drawn_by_id=actor.id,
        reason=reason,
    )
    db.session.add(new)
    db.session.flush()
    _make_visits(plan, new)
    plan.status = PlanStatus.drawn
    db.session.flush()
    audit.record(
        "plan",
        plan.id,
        "redraw" if previous else "draw",
        actor_id=actor.id,
        before={"draw": previous.number, "seed": previous.seed} if previous else None,
        after={
            "draw": new.number,
            "seed": seed,
            "team_seed_sha256": new.team_seed_sha256,
            "visits": len(result),
        },
        reason=reason,
    )
    return new


def _own_hours(unit_ids: list[int]) -> dict[int, dict[str, Any] | None]:
    """The service hours of the units that have their own (the rest keep the default)."""
    rows = db.session.execute(
        select(Unit.id, Unit.service_hours).where(
            Unit.id.in_(unit_ids), Unit.service_hours.is_not(None)
        )
    )
    return {unit_id: hours for unit_id, hours in rows}


def lead_of(plan: Plan) -> timedelta:
    """How long before a visit's window its inspectors see it."""
    lead = plan.lead_time_hours
    if lead is None:
        lead = current_app.config["VISIT_LEAD_HOURS"]
    return timedelta(hours=lead)


def _window_of_row(plan: Plan, row: dict[str, Any]) -> tuple[datetime, datetime]:
    """A drawn row's window as UTC instants (its day and session in the city's clock), or
    the plan's period for a draw without a schedule."""
    if "date" not in row:
        return window_of(plan)
    day = date.fromisoformat(row["date"])
    start, end = (time.fromisoformat(t) if t != "24:00" else None for t in row["window"])
    local_start = datetime.combine(day, start, tzinfo=DISPLAY_TZ)
    local_end = (
        datetime.combine(day, end, tzinfo=DISPLAY_TZ)
        if end is not None
        else datetime.combine(day + timedelta(days=1), time(), tzinfo=DISPLAY_TZ)
    )
    return local_start.astimezone(UTC), local_end.astimezone(UTC)


def _make_visits(plan: Plan, new: Draw) -> None:
    lead = lead_of(plan)
    people = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({i for r in new.result for i in r["inspector_ids"]}))
        )
    }
    for row in new.result:
        start, end = _window_of_row(plan, row)
        db.session.add(
            Visit(
                plan_id=plan.id,
                draw_id=new.id,
                unit_id=row["unit_id"],
                kind=plan.kind,
                window_start=start,
                window_end=end,
                visible_from=start - lead,
                inspectors=[people[i] for i in row["inspector_ids"]],
            )
        )


def verify_draw(d: Draw) -> bool:
    """Replaying the stored inputs with the stored seeds, under the draw's own algorithm,
    gives the stored result."""
    return dr.replay(d.inputs, d.seed, team_seed=d.team_seed, algorithm=d.algorithm) == d.result


def publish_plan(plan: Plan, *, actor: User) -> Plan:
    """一公开: after the period, the draw and its results become visible to everyone."""
    policy.check_can_edit_plan(actor, plan)
    if plan.status == PlanStatus.published:
        return plan
    if plan.status != PlanStatus.drawn:
        raise errors.Conflict("计划尚未抽取，无可公开的内容", type="urn:problem:plan-not-drawn")
    if utcnow() < window_of(plan)[1]:
        raise errors.Conflict("计划期结束后才能公开抽取结果", type="urn:problem:plan-period-open")
    plan.status = PlanStatus.published
    plan.published_at = utcnow()
    db.session.flush()
    audit.record("plan", plan.id, "publish", actor_id=actor.id)
    return plan


def disclosure(plan_id: int, *, actor: User) -> dict[str, Any]:
    """What 一公开 shows: the plan, the draw's seed and reproducibility, each visit's unit
    and team, and the published results. A 暗访 plan names its inspectors only when it opts
    in: otherwise each team is 暗访组 with its size, and nothing shown lets anyone compute
    the teams either. The draw's inputs keep what makes the choice of units checkable
    (units, sampling, seed) without the inspector pool; the team seed is shown only as its
    SHA-256, and a "dr-v1" draw, whose seed formed the teams too, does not show its seed."""
    plan = policy.disclosed_plan(plan_id, actor)
    named = policy.names_inspectors(None, plan)
    d = current_draw(plan)
    visits = list(
        db.session.scalars(select(Visit).where(Visit.draw_id == d.id).order_by(Visit.unit_id))
    )
    results = {
        i.visit_id: i
        for i in db.session.scalars(
            select(Inspection).where(
                Inspection.visit_id.in_([v.id for v in visits]),
                Inspection.status == InspectionStatus.published,
            )
        )
    }
    inputs = dict(d.inputs)
    if not named:
        inputs["inspectors"] = len(inputs.get("inspectors") or [])
        inputs["exclusions"] = len(inputs.get("exclusions") or [])
    shown = {key: getattr(d, key) for key in ("number", "seed", "algorithm", "drawn_at")}
    shown["team_seed"] = d.team_seed if named else None
    shown["team_seed_sha256"] = d.team_seed_sha256
    if not named and d.team_seed is None:
        shown["seed"] = None  # "dr-v1": this seed formed the teams too
    return {
        "plan": plan,
        "draw": shown | {"inputs": inputs},
        "reproducible": verify_draw(d),
        "visits": [
            {
                "unit_id": v.unit_id,
                "unit_name": v.unit.name,
                "inspectors": [m.display_name for m in v.inspectors] if named else [],
                "team_label": "、".join(m.display_name for m in v.inspectors)
                if named
                else policy.COVERT_TEAM,
                "team_size": len(v.inspectors),
                "status": v.status,
                "score": results[v.id].effective_score if v.id in results else None,
                "grade": results[v.id].effective_grade if v.id in results else None,
            }
            for v in visits
        ],
    }


# -- visits -------------------------------------------------------------------------------


def visits_query(user: User, filters: dict[str, Any]) -> Select:
    stmt = (
        select(Visit)
        .where(policy.visit_filter(user, utcnow()))
        .order_by(Visit.window_start.desc(), Visit.id.desc())
    )
    for key in ("plan_id", "unit_id", "status", "kind"):
        if filters.get(key) is not None:
            stmt = stmt.where(getattr(Visit, key) == filters[key])
    return stmt


def get_visit(visit_id: int, *, actor: User) -> Visit:
    """The visit, or the same 404 as a missing id when `actor` may not see it."""
    return policy.visible_visit(visit_id, actor)
