"""Plans in the console: the list, a form to create one, and a plan's double-random draw
(run it, see which units and teams it chose, and that it replays to the same result).

Everything goes through `inspections.plans`; the form only turns fields into the dict
the service takes, and shows the service's complaints next to the fields.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from accounts import queries as user_queries
from api.auth import OFFICE, OFFICE_READERS, requires
from api.pagination import paginate
from api.plans import DrawArgs, PlanSchema
from checklists import queries as checklist_queries
from console.common import (
    act,
    arg_choice,
    check_version,
    form_values,
    load_form,
    page_args,
)
from console.views import add_nav, bp
from core import errors
from core.db import db
from inspections import plans, policy
from inspections import queries as inspection_queries
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


def _number(raw: str):
    """A form's text as the JSON number the API takes; other text is passed on as it is,
    for the schema to refuse with its own message."""
    raw = raw.strip()
    if re.fullmatch(r"-?[0-9]{1,12}", raw):
        return int(raw)
    try:
        return float(raw) if re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", raw) else raw
    except ValueError:
        return raw


def _plan_body() -> dict[str, Any]:
    """The form as the API's JSON body: only the shape changes (text to numbers, the
    percentage to a rate), never a limit; empty fields are left out, as a client would."""
    form = request.form
    body: dict[str, Any] = {
        "name": form.get("name", "").strip(),
        "pool": {
            "sector_ids": [_number(v) for v in form.getlist("sector_ids")],
            "region_ids": [_number(v) for v in form.getlist("region_ids")],
        },
        "inspector_ids": [_number(v) for v in form.getlist("inspector_ids")],
        "disclose_inspectors": form.get("disclose_inspectors") == "1",
    }
    for name in ("kind", "period_start", "period_end"):
        if form.get(name, "").strip():
            body[name] = form[name].strip()
    for name in ("checklist_template_id", "lead_time_hours", "team_size"):
        if form.get(name, "").strip():
            body[name] = _number(form[name])
        elif name != "team_size":
            body[name] = None
    value = _number(form.get("sampling_value", ""))
    mode = form.get("sampling_mode")
    if mode == "rate" and isinstance(value, int | float):
        body["sampling"] = {"rate": value / 100}
    elif mode in ("rate", "size"):
        body["sampling"] = {mode: value}
    else:
        body["sampling"] = {}
    if form.get("whole_period") == "1":
        body["visit_windows"] = VisitWindows.period.value
    return body


def _field_errors(messages: dict, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as one list per form field: `pool.sector_ids`, and a
    list's item errors under the list (the form has one place for them)."""
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        name = f"{prefix}{key}" if isinstance(key, str) else prefix.rstrip(".")
        if isinstance(value, dict):
            nested = "sampling." if name == "sampling" else f"{name}."
            for inner, texts in _field_errors(value, nested).items():
                field = "sampling" if inner.startswith("sampling") else inner
                flat.setdefault(field, []).extend(texts)
        else:
            flat.setdefault(name, []).extend(str(v) for v in value)
    return flat


def _plan_from_form() -> dict[str, Any]:
    """The form loaded through the API's PlanSchema: the same limits and the same messages
    as `POST /api/v1/plans`, each shown beside its field."""
    try:
        return PlanSchema().load(_plan_body())
    except ValidationError as exc:
        raise errors.InvalidInput(
            "计划内容有误，请按提示修改", errors=_field_errors(exc.messages)
        ) from None


def _plan_form(problems: dict | None = None, status: int = 200):
    return render_template(
        "console/plan_form.html",
        form=request.form,
        problems=problems or {},
        kind_labels=VISIT_KIND_LABELS,
        sectors=org.list_sectors(),
        regions=inspection_queries.region_choices(g.user),
        inspectors=user_queries.active_inspectors(),
        templates=checklist_queries.template_names(),
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
        "inspectors": user_queries.display_name_list(found.inspector_ids or []),
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

    def change():
        check_version(found.version)
        data = load_form(DrawArgs, form_values("seed", "reason"))
        drawn = plans.draw_plan(
            found, seed=data.get("seed"), reason=data.get("reason"), actor=g.user
        )
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
