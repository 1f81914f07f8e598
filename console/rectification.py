"""Console pages for rectification: the office's task list with counts and filters, and
one task with its before and after photos side by side, its rounds and its audit trail,
where an office admin accepts or sends back a reply and decides extension requests."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from accounts.models import Role
from api.auth import OFFICE_READERS, requires
from api.pagination import paginate
from checklists.content import SEVERITY_LABELS
from console.views import add_nav, bp
from core import errors
from core.db import db
from media import service as media
from org import service as org
from rectification import service
from rectification.models import STATUS_LABELS, TaskStatus

ACTION_LABELS = {
    "open": "开具整改任务",
    "closed_on_spot": "立行立改",
    "respond": "提交整改回复",
    "accept": "复查通过（销号）",
    "reject": "复查退回",
    "request_extension": "申请延期",
    "approve_extension": "批准延期",
    "deny_extension": "驳回延期",
    "escalate": "逾期上报牵头单位",
}


def _filters() -> dict:
    args = request.args
    filters: dict = {}
    if args.get("status") in {s.value for s in TaskStatus}:
        filters["status"] = [TaskStatus(args["status"])]
    if args.get("overdue") == "1":
        filters["overdue"] = True
    if args.get("severity") in SEVERITY_LABELS:
        filters["severity"] = args["severity"]
    for name in ("sector_id", "unit_id", "inspection_id"):
        value = args.get(name, type=int)
        if value and value > 0:
            filters[name] = value
    return filters


@bp.get("/rectification")
@requires(*OFFICE_READERS)
def rectification_tasks():
    filters = _filters()
    page = max(request.args.get("page", 1, type=int), 1)
    result = paginate(service.tasks_query(g.user, filters), page, 50)
    counts = service.count_tasks(g.user, {k: v for k, v in filters.items() if k != "status"})
    return render_template(
        "console/rectification.html",
        result=result,
        counts=counts,
        filters=filters,
        sectors=org.list_sectors(),
        status_labels=STATUS_LABELS,
        severity_labels=SEVERITY_LABELS,
    )


def _shown(photos) -> list[dict]:
    return [
        {
            "id": p.id,
            "thumb": media.signed_url(p, "thumb") or media.signed_url(p, "original"),
            "original": media.signed_url(p, "original"),
            "flags": media.flags_of(p),
            "taken": p.exif_taken_at or p.client_taken_at,
        }
        for p in photos
    ]


@bp.get("/rectification/<int:task_id>")
@requires(*OFFICE_READERS)
def rectification_task(task_id: int):
    task = service.get_task(task_id, actor=g.user)
    review = service.review_of(task)
    return render_template(
        "console/rectification_task.html",
        task=task,
        before=_shown(review["before"]),
        after=_shown(review["after"]),
        review=review,
        trail=service.task_trail(task),
        allowed=set(service.allowed_actions(task, g.user)),
        status_labels=STATUS_LABELS,
        severity_labels=SEVERITY_LABELS,
        action_labels=ACTION_LABELS,
    )


def _back(task_id: int):
    return redirect(url_for("console.rectification_task", task_id=task_id))


def _refused(exc: errors.DomainError, task_id: int):
    db.session.rollback()
    flash(exc.message, "error")
    return _back(task_id)


@bp.post("/rectification/<int:task_id>/verification")
@requires(Role.office_admin)
def rectification_verify(task_id: int):
    task = service.get_task(task_id, actor=g.user)
    accept = request.form.get("decision") == "accept"
    reason = request.form.get("reason", "").strip()[:500] or None
    try:
        service.verify(task, accept=accept, reason=reason, actor=g.user)
    except (errors.InvalidInput, errors.Conflict) as exc:
        return _refused(exc, task_id)
    flash("复查通过，已销号" if accept else "已退回整改", "info")
    return _back(task_id)


@bp.post("/rectification/<int:task_id>/extensions/<int:extension_id>/decision")
@requires(Role.office_admin)
def rectification_extension(task_id: int, extension_id: int):
    task = service.get_task(task_id, actor=g.user)
    extension = service.get_extension(task, extension_id)
    approve = request.form.get("decision") == "approve"
    reason = request.form.get("reason", "").strip()[:500] or None
    try:
        service.decide_extension(
            task, extension, approve=approve, reason=reason, due_on=None, actor=g.user
        )
    except (errors.InvalidInput, errors.Conflict) as exc:
        return _refused(exc, task_id)
    flash("已批准延期" if approve else "已驳回延期申请", "info")
    return _back(task_id)


add_nav("console.rectification_tasks", "整改")
