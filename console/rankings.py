"""考核排名 in the console: the period picker, the units' table with sortable columns and
movement against the previous period (↑↓), sectors, regions, 红黑榜, the most-failed items;
and the two .docx downloads (通报 for the period, 检查报告 for one inspection) for readers
signed in to the console. Everything reads through `reports` (published inspections only,
the reader's scope)."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, flash, g, render_template, request, url_for

from accounts.models import Role
from api.auth import OFFICE, OFFICE_READERS, requires
from api.reports_documents import docx_response
from console.common import act, arg_date
from console.views import add_nav, bp
from core import clock, errors
from core.db import db
from inspections import findings as findings_service
from inspections import plans, policy
from reports import circular, issued, picks, rankings
from reports.periods import KIND_LABELS, KINDS, Period, period_of

SORTS = {
    "rank": "名次",
    "name": "单位",
    "inspections": "检查次数",
    "avg_score": "平均得分",
    "critical_failed": "一票否决",
    "findings_per_inspection": "每次问题数",
    "repeat_findings": "重复问题",
    "on_time_rate": "按期整改率",
    "overdue_tasks": "逾期任务",
    "composite": "综合得分",
    "movement": "较上期",
}

# The plans the picker offers: the newest of the reader's plans, as the plan list orders them.
PLAN_CHOICES = 50


def _arg_int(name: str, lo: int, hi: int) -> int | None:
    raw = request.args.get(name, "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 6 and lo <= int(raw) <= hi:
        return int(raw)
    return None


def _period() -> Period:
    """The period the picker names; a half-filled custom span falls back to this month."""
    kind = request.args.get("period", "month")
    args: dict[str, Any] = {
        "period": kind if kind in KINDS else "month",
        "year": _arg_int("year", clock.FIRST_YEAR, clock.LAST_YEAR),
        "month": _arg_int("month", 1, 12),
        "quarter": _arg_int("quarter", 1, 4),
        "date_from": arg_date("date_from"),
        "date_to": arg_date("date_to"),
    }
    plan = None
    if args["period"] == "plan":
        plan_id = _arg_int("plan_id", 1, 2**31 - 1)
        plan = policy.visible_plan(plan_id, g.user) if plan_id else None
    try:
        return period_of(args, plan)
    except errors.InvalidInput as exc:
        flash("；".join(m for ms in (exc.errors or {}).values() for m in ms) or exc.message)
        return period_of({"period": "month"})


def _plan_choices(period: Period) -> list:
    """The plans the reader may rank by (their scope, as the plan list shows them), newest
    first and bounded; the plan being shown stays offered even when it is older."""
    choices = list(db.session.scalars(plans.list_plans(actor=g.user).limit(PLAN_CHOICES)))
    if period.plan is not None and period.plan not in choices:
        choices.append(period.plan)
    return choices


def period_args(period: Period) -> dict[str, Any]:
    """The query that names `period` as the picker does: links from the page (下载通报)
    cover exactly the period shown, a plan included."""
    if period.plan is not None:
        return {"period": "plan", "plan_id": period.plan.id}
    if period.kind == "custom":
        return {"period": "custom", "date_from": period.start, "date_to": period.end}
    args: dict[str, Any] = {"period": period.kind, "year": period.start.year}
    if period.kind == "month":
        args["month"] = period.start.month
    elif period.kind == "quarter":
        args["quarter"] = (period.start.month - 1) // 3 + 1
    return args


def _sorted(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    present = [r for r in rows if r.get(key) is not None]
    absent = [r for r in rows if r.get(key) is None]
    return sorted(present, key=lambda r: r[key], reverse=descending) + absent


@bp.get("/rankings")
@requires(*OFFICE_READERS, Role.lead_unit_staff)
def rankings_page():
    period = _period()
    ranking = rankings.ranking(g.user, period)
    sort = request.args.get("sort", "rank")
    sort = sort if sort in SORTS else "rank"
    descending = request.args.get("dir", "asc") == "desc"
    return render_template(
        "console/rankings.html",
        ranking=ranking,
        period=period,
        units=_sorted(ranking.units, sort, descending),
        sort=sort,
        descending=descending,
        sorts=SORTS,
        kinds=KIND_LABELS,
        plan_choices=_plan_choices(period),
        period_args=period_args(period),
        may_issue=g.user.is_office,
        picked=picks.picks_in(g.user, period, limit=circular.MAX_TYPICAL)
        if g.user.is_office
        else [],
    )


@bp.get("/rankings/circular.docx")
@requires(*OFFICE_READERS)
def circular_download():
    period = _period()
    picked = [
        int(raw)
        for raw in request.args.getlist("finding_ids")
        if raw.isascii() and raw.isdigit() and len(raw) <= 9
    ][:50]
    return docx_response(issued.circular_download(g.user, period, finding_ids=picked or None))


@bp.post("/findings/<int:finding_id>/circular")
@requires(*OFFICE)
def pick_for_circular(finding_id: int):
    """列为 / 取消通报典型问题 on the review page: sets the state the button names, so a
    resent form answers the same and changes nothing."""
    finding = findings_service.get_finding(finding_id, actor=g.user)
    wanted = request.form.get("picked")
    if wanted not in ("1", "0"):
        abort(400)
    picked = wanted == "1"
    back = url_for("console.review_inspection", inspection_id=finding.inspection_id)
    done = f"已{'列为' if picked else '取消'}通报典型问题：{finding.title}"
    return act(
        lambda: picks.set_picked(finding, picked, actor=g.user),
        done=done,
        back=f"{back}#finding-{finding.id}",
        form=f"circular-{finding.id}",
    )


@bp.get("/inspections/<int:inspection_id>/report.docx")
@requires(*OFFICE_READERS, Role.lead_unit_staff)
def inspection_report_download(inspection_id: int):
    inspection = policy.visible_inspection(inspection_id, g.user)
    return docx_response(issued.report_download(g.user, inspection))


def init_app(app: Flask) -> None:
    add_nav(app, "console.rankings_page", "考核排名", before="console.units")
