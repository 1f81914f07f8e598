"""Plans in the console: the list, a form to create one, and a plan's double-random draw
(run it, see which units and teams it chose, and that it replays to the same result).

Everything goes through `inspections.plans`; the form only turns fields into the dict
the service takes, and shows the service's complaints next to the fields.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from accounts.models import Role, User
from api.auth import OFFICE, OFFICE_READERS, requires
from api.pagination import paginate
from checklists.models import ChecklistTemplate
from console.common import act, arg_choice, check_version, form_date, form_int, form_text, page_args
from console.views import add_nav, bp
from core import errors
from core.db import db
from inspections import plans, policy
from inspections.models import (
    PLAN_STATUS_LABELS,
    VISIT_KIND_LABELS,
    VISIT_STATUS_LABELS,
    PlanStatus,
    Visit,
    VisitKind,
    VisitWindows,
)
from org import service as org


@bp.get("/plans")
@requires(*OFFICE_READERS)
def plan_list():
    status = arg_choice("status", [s.value for s in PlanStatus])
    kind = arg_choice("kind", [k.value for k in VisitKind])
    page, per_page = page_args()
    result = paginate(plans.list_plans(actor=g.user, status=status, kind=kind), page, per_page)
    return render_template(
        "console/plans.html",
        result=result,
        visits=plans.visit_counts([p.id for p in result["items"]], actor=g.user),
        can_create=policy.can_create_plan(g.user),
        filters={"status": status, "kind": kind},
        plan_labels=PLAN_STATUS_LABELS,
        kind_labels=VISIT_KIND_LABELS,
    )


# -- creating a plan -----------------------------------------------------------------------


def _field(draw, name: str):
    """A draw's field, whether the whole draw (an owner's) or its region's part (a dict)."""
    return draw[name] if isinstance(draw, dict) else getattr(draw, name)


def _ids(name: str) -> list[int]:
    values = request.form.getlist(name)
    if not all(v.isdigit() and len(v) < 10 for v in values):
        raise errors.InvalidInput(errors={name: ["选择无效"]})
    return [int(v) for v in values]


def _plan_from_form() -> dict[str, Any]:
    """The form as the plan service's input; field errors are collected, not raised one by one."""
    problems: dict[str, list[str]] = {}
    data: dict[str, Any] = {}

    def field(name: str, read):
        try:
            return read()
        except errors.InvalidInput as exc:
            problems.update(exc.errors or {name: [exc.message]})
            return None

    data["name"] = form_text("name", 100)
    if len(data["name"]) < 2:
        problems["name"] = ["请填写计划名称（至少 2 个字）"]
    kind = request.form.get("kind")
    if kind not in VISIT_KIND_LABELS:
        problems["kind"] = ["请选择明察或暗访"]
    else:
        data["kind"] = VisitKind(kind)
    data["period_start"] = field("period_start", lambda: form_date("period_start", required=True))
    data["period_end"] = field("period_end", lambda: form_date("period_end", required=True))
    data["checklist_template_id"] = field(
        "checklist_template_id", lambda: form_int("checklist_template_id", lo=1)
    )
    data["pool"] = {
        "sector_ids": field("pool.sector_ids", lambda: _ids("sector_ids")) or [],
        "region_ids": field("pool.region_ids", lambda: _ids("region_ids")) or [],
    }
    mode = request.form.get("sampling_mode")
    raw = request.form.get("sampling_value", "").strip()
    try:
        if mode == "rate":
            rate = float(raw) / 100
            if not 0 < rate <= 1:
                raise ValueError
            data["sampling"] = {"rate": rate}
        elif mode == "size":
            size = int(raw)
            if not 0 < size <= 10_000:
                raise ValueError
            data["sampling"] = {"size": size}
        else:
            raise ValueError
    except ValueError:
        problems["sampling"] = ["按比例填 1–100（%），按数量填 1–10000（每个行业领域 × 区域）"]
    data["inspector_ids"] = field("inspector_ids", lambda: _ids("inspector_ids")) or []
    if not data["inspector_ids"]:
        problems["inspector_ids"] = ["请选择参加抽取的检查人员"]
    data["team_size"] = field("team_size", lambda: form_int("team_size", lo=1, hi=10)) or 2
    data["lead_time_hours"] = field(
        "lead_time_hours", lambda: form_int("lead_time_hours", lo=0, hi=720)
    )
    data["disclose_inspectors"] = request.form.get("disclose_inspectors") == "1"
    if request.form.get("whole_period") == "1":
        data["visit_windows"] = VisitWindows.period
    data["exclusions"] = []
    if problems:
        raise errors.InvalidInput("计划内容有误，请按提示修改", errors=problems)
    return data


def _plan_form(problems: dict | None = None, status: int = 200):
    return render_template(
        "console/plan_form.html",
        form=request.form,
        problems=problems or {},
        kind_labels=VISIT_KIND_LABELS,
        sectors=org.list_sectors(),
        regions=db.session.scalars(
            org.list_regions().where(policy.region_choice_filter(g.user))
        ).all(),
        inspectors=db.session.scalars(
            select(User).where(User.role == Role.inspector, User.active).order_by(User.id)
        ).all(),
        templates=db.session.execute(
            select(ChecklistTemplate.id, ChecklistTemplate.name).order_by(ChecklistTemplate.id)
        ).all(),
    ), status


@bp.get("/plans/new")
@requires(*OFFICE)
def new_plan():
    return _plan_form()


@bp.post("/plans")
@requires(*OFFICE)
def create_plan():
    try:
        plan = plans.save_plan(_plan_from_form(), actor=g.user)
    except errors.InvalidInput as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _plan_form(exc.errors or {}, 422)
    flash("计划已创建，可以进行双随机抽取", "info")
    return redirect(url_for("console.plan", plan_id=plan.id), code=303)


# -- one plan and its draw -----------------------------------------------------------------


@bp.get("/plans/<int:plan_id>")
@requires(*OFFICE_READERS)
def plan(plan_id: int):
    found = plans.get_plan(plan_id, actor=g.user)
    draws = plans.list_draws(found, actor=g.user)
    draw = next((d for d in draws if _field(d, "current")), None)
    page, per_page = page_args(50)
    visits = paginate(
        plans.visits_query(g.user, {"plan_id": found.id}).order_by(None).order_by(Visit.id),
        page,
        per_page,
    )
    pool = found.pool or {}
    names = {
        "sectors": [s.name for s in org.list_sectors() if s.id in (pool.get("sector_ids") or [])],
        "inspectors": db.session.scalars(
            select(User.display_name).where(User.id.in_(found.inspector_ids or []))
        ).all(),
    }
    return render_template(
        "console/plan.html",
        plan=found,
        draw=draw,
        reproducible=plans.verify_draw(plans.current_draw(found)) if draw else None,
        draws=draws,
        visits=visits,
        counts=plans.visit_counts([found.id], actor=g.user).get(found.id, {}),
        editable=policy.can_edit_plan(g.user, found),
        owner=policy.owns_plan(g.user, found),
        names=names,
        plan_labels=PLAN_STATUS_LABELS,
        kind_labels=VISIT_KIND_LABELS,
        visit_labels=VISIT_STATUS_LABELS,
    )


@bp.post("/plans/<int:plan_id>/draw")
@requires(*OFFICE)
def draw_plan(plan_id: int):
    found = plans.get_plan(plan_id, actor=g.user)
    seed = form_text("seed", 64) or None

    def change():
        check_version(found.version)
        if seed is not None and not seed.replace("-", "").replace("_", "").isalnum():
            raise errors.InvalidInput(errors={"seed": ["随机种子只能包含字母、数字、- 和 _"]})
        drawn = plans.draw_plan(found, seed=seed, reason=form_text("reason") or None, actor=g.user)
        flash(f"第 {drawn.number} 次抽取完成：{len(drawn.result)} 个窗口单位", "info")

    return act(change, done="", back=url_for("console.plan", plan_id=found.id))


@bp.post("/plans/<int:plan_id>/publish")
@requires(*OFFICE)
def publish_plan(plan_id: int):
    found = plans.get_plan(plan_id, actor=g.user)

    def change():
        check_version(found.version)
        plans.publish_plan(found, actor=g.user)

    return act(
        change, done="抽取结果与检查结果已公开", back=url_for("console.plan", plan_id=found.id)
    )


def init_app(app: Flask) -> None:
    add_nav(app, "console.plan_list", "督查计划", before="console.units")
