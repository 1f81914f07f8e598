"""Rectification in the console: tasks by status with overdue first, one task with its
before and after photos side by side, the reply history and audit trail; verification
(accept or reject with a reason) and extension decisions; 督办 on overdue tasks.

Lead units see their sector's tasks read-only (no decision forms) and may chase an overdue
one; viewers read; an office sees and acts within its region. What a page offers comes
from the state machine (`allowed_actions`), what it lists from `rectification.policy`.

Reads go through `rectification.service` and `rectification.queries`, changes through
the service. The list takes a fixed number of
queries whatever the page size (units come joined with their sector and region).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask import Flask, abort, g, render_template, request, url_for
from sqlalchemy import and_, case

from accounts import queries as user_queries
from accounts.models import Role, User
from api import pagination
from api.auth import OFFICE, OFFICE_READERS, requires
from api.pagination import paginate
from api.rectification import ChaseCreateSchema, ExtensionDecisionSchema, VerificationSchema
from checklists.content import SEVERITY_LABELS
from console.common import (
    act,
    arg_choice,
    arg_date,
    arg_int,
    check_version,
    each,
    form_ids,
    form_values,
    load_form,
    page_args,
)
from console.review import item_labels_of, photo_views
from console.views import add_nav, bp
from core.clock import utcnow
from inspections import policy as inspection_policy
from inspections import queries as inspection_queries
from media.models import PHOTO_FLAG_LABELS
from rectification import photos as task_photos
from rectification import policy
from rectification import queries as task_queries
from rectification import service as rectification
from rectification.deadlines import DAY_UNITS
from rectification.history import EVENT_LABELS
from rectification.models import (
    EXTENSION_STATUS_LABELS,
    STATUS_LABELS,
    RectificationTask,
    TaskStatus,
)

VIEWS = {
    "active": ("待办（待整改与待复查）", [TaskStatus.open, TaskStatus.responded]),
    "responded": ("待复查", [TaskStatus.responded]),
    "open": ("待整改", [TaskStatus.open]),
    "closed": ("已销号", [TaskStatus.closed]),
    "all": ("全部", None),
}
# Who reads the task pages: the office, and lead units for their sector (read-only).
READERS = (*OFFICE_READERS, Role.lead_unit_staff)
CHASERS = (Role.lead_unit_staff, Role.office_admin)


TASK_SORTS = {"due": "逾期在前，按期限", "reply": "回复最早的在前"}


def _filters() -> dict[str, Any]:
    filters: dict[str, Any] = {
        key: arg_int(key) for key in ("sector_id", "region_id", "unit_id", "plan_id")
    }
    filters["severity"] = arg_choice("severity", SEVERITY_LABELS)
    filters["unit_name"] = request.args.get("q", "").strip()[:50] or None
    # Issued on or between these days (the dashboard's period links here with date_from).
    filters["opened_from"] = arg_date("date_from")
    filters["opened_to"] = arg_date("date_to")
    if request.args.get("overdue") == "1":
        filters["overdue"] = True
    return {key: value for key, value in filters.items() if value is not None}


def list_params() -> dict[str, Any]:
    """The page's filters from the query string, as plain values (the 导出台账 of this
    page keeps them in its export job: dates as ISO strings)."""
    filters = {
        key: value.isoformat() if isinstance(value, date) else value
        for key, value in _filters().items()
    }
    return filters | {
        "view": arg_choice("view", VIEWS, "active"),
        "extension": request.args.get("extension") == "1",
        "sort": arg_choice("sort", TASK_SORTS, "due"),
    }


def list_query(actor: User, params: dict[str, Any]):
    """The list's statement: the same rows in the same order for the page and its ledger."""
    view = params.get("view") if params.get("view") in VIEWS else "active"
    filters = {
        key: date.fromisoformat(value) if key in ("opened_from", "opened_to") else value
        for key, value in params.items()
        if key not in ("view", "extension", "sort")
    }
    listed = filters | ({"status": VIEWS[view][1]} if VIEWS[view][1] else {})
    T = RectificationTask
    stmt = rectification.tasks_query(actor, listed)
    if params.get("extension"):
        stmt = stmt.where(T.extension_pending.is_(True))
    if params.get("sort") == "reply":  # the reply waiting longest first; tasks without one after
        order = [T.responded_at.is_(None), T.responded_at]
    elif VIEWS[view][1] is None:  # every status: overdue (not closed, past due) first
        order = [case((and_(T.status != TaskStatus.closed, T.due_at <= utcnow()), 0), else_=1)]
        order.append(T.due_at)
    else:
        # Within one view the overdue ones are those due earliest (a view holds open tasks
        # or closed ones, never both): the due date alone is the same order, and an index
        # on it serves the page without sorting every task of the view.
        order = [T.due_at]
    return stmt.order_by(None).order_by(*order, T.id)


def _page(actor: User, params: dict[str, Any], page: int, per_page: int) -> dict[str, Any]:
    """The page of `list_query`. In 全部 by due date, overdue first: the overdue tasks by
    due date, then the others by due date, each walked on its index (the same rows in
    the same order as the statement's CASE, without sorting every task ever issued)."""
    stmt = list_query(actor, params)
    view = params.get("view") if params.get("view") in VIEWS else "active"
    if VIEWS[view][1] is not None or params.get("sort") == "reply":
        return paginate(stmt, page, per_page)
    T = RectificationTask
    late = and_(T.status.in_([TaskStatus.open, TaskStatus.responded]), T.due_at <= utcnow())
    by_due = [T.due_at, T.id]
    parts = [
        stmt.where(late).order_by(None).order_by(*by_due),
        stmt.where(~late).order_by(None).order_by(*by_due),
    ]
    return pagination.paginate_parts(stmt, parts, page, per_page)


@bp.get("/tasks")
@requires(*READERS)
def tasks():
    params = list_params()
    view = params["view"]
    filters = _filters()
    counts = rectification.count_tasks(g.user, filters, bound=pagination.COUNT_BOUND)
    page, per_page = page_args()
    result = _page(g.user, params, page, per_page)
    ids = [t.id for t in result["items"]]
    verifies = rectification.verifies(g.user)
    return render_template(
        "console/tasks.html",
        result=result,
        counts=counts,
        view=view,
        views=VIEWS,
        filters=filters | {"extension": params["extension"], "sort": params["sort"]},
        sorts=TASK_SORTS,
        reused=task_queries.tasks_with_reused_after_photos(ids),
        verifies=verifies,
        opened=rectification.opened_tasks(ids, g.user) if verifies else set(),
        sectors=policy.sector_options(g.user),
        regions=policy.region_options(g.user),
        status_labels=STATUS_LABELS,
        severity_labels=SEVERITY_LABELS,
    )


def _names(ids, hidden: set[int]) -> dict[int, str]:
    """Display names by id; the 暗访 team (`hidden`) reads as 暗访组."""
    names = user_queries.display_names(ids)
    return {i: inspection_policy.COVERT_TEAM if i in hidden else n for i, n in names.items()}


def _trail(task, hidden: set[int]) -> list[dict]:
    trail = rectification.task_trail(task)
    for event in trail:
        if event["actor_id"] in hidden:
            event["actor_id"], event["actor_name"] = None, inspection_policy.COVERT_TEAM
    return trail


@bp.get("/tasks/<int:task_id>")
@requires(*READERS)
def task(task_id: int):
    found = rectification.get_task(task_id, actor=g.user)
    rectification.mark_opened(found, g.user)  # may now be accepted with others from the list
    review = rectification.review_of(found)
    replies = list(found.replies)
    photos = {p.id: p for p in task_photos.photos_by_id(i for r in replies for i in r.photo_ids)}
    source = inspection_queries.inspection_or_none(found.inspection_id)
    labels = item_labels_of(source)
    history = [
        {"reply": r, "photos": photo_views([photos[i] for i in r.photo_ids if i in photos], labels)}
        for r in reversed(replies)
    ]
    people = [r.author_id for r in replies] + [r.verified_by_id for r in replies]
    people += [e.requested_by_id for e in found.extensions]
    people += [e.decided_by_id for e in found.extensions]
    hidden = inspection_policy.covert_ids_of(g.user, found.inspection_id)
    return render_template(
        "console/task.html",
        task=found,
        review=review,
        before=photo_views(review["before"], labels),
        after=photo_views(review["after"], labels),
        item_label=labels.get(found.item_code, ""),
        history=history,
        names=_names(people, hidden),
        trail=_trail(found, hidden),
        allowed=set(rectification.allowed_actions(found, g.user)),
        read_only=policy.is_read_only(g.user),
        links_inspection=policy.opens_inspection_review(g.user),
        chase_id=uuid.uuid4(),
        status_labels=STATUS_LABELS,
        severity_labels=SEVERITY_LABELS,
        action_labels=EVENT_LABELS,
        extension_labels=EXTENSION_STATUS_LABELS,
        flag_labels=PHOTO_FLAG_LABELS,
        day_units=DAY_UNITS,
    )


@bp.post("/tasks/<int:task_id>/verify")
@requires(*OFFICE)
def verify_task(task_id: int):
    found = rectification.get_task(task_id, actor=g.user)
    decision = request.form.get("decision")
    if decision not in ("accept", "reject"):
        abort(400)
    accept = decision == "accept"

    def change():
        check_version(found.version)
        data = load_form(
            VerificationSchema, form_values("reason", "due_on") | {"decision": decision}
        )
        rectification.verify(
            found,
            accept=accept,
            reason=data.get("reason") or None,
            due_on=None if accept else data.get("due_on"),
            actor=g.user,
        )

    done = "复查通过，任务已销号" if accept else "已退回整改，单位需重新回复"
    back = url_for("console.task", task_id=found.id)
    return act(change, done=done, back=back + "#verify", form="verify")


@bp.post("/tasks/accept")
@requires(*OFFICE)
def accept_tasks():
    """复查通过所选: several replies from the task list, each one the office has opened (its
    task page), each accepted by `accept_opened` with its own version check and audit
    event, all in one transaction: one refusal and none is accepted."""
    back = url_for("console.tasks", **request.args.to_dict()) + "#bulk-accept"

    def change():
        chosen = [rectification.get_task(i, actor=g.user) for i in form_ids("task")]

        def accept(task: RectificationTask) -> None:
            check_version(task.version, f"version-{task.id}")
            rectification.accept_opened(task, actor=g.user)

        each(chosen, lambda t: f"任务「{t.title}」（{t.unit.name}）", accept)

    count = len(set(request.form.getlist("task")))
    done = f"已复查通过所选 {count} 个任务，均已销号"
    return act(change, done=done, back=back, form="bulk-accept", once=True)


@bp.post("/tasks/<int:task_id>/extensions/<int:extension_id>")
@requires(*OFFICE)
def decide_extension(task_id: int, extension_id: int):
    found = rectification.get_task(task_id, actor=g.user)
    extension = rectification.get_extension(found, extension_id, actor=g.user)
    decision = request.form.get("decision")
    if decision not in ("approve", "deny"):
        abort(400)
    approve = decision == "approve"

    def change():
        check_version(found.version)
        form = form_values("reason", "due_on") | {"decision": decision}
        data = load_form(ExtensionDecisionSchema, form)
        rectification.decide_extension(
            found,
            extension,
            approve=approve,
            reason=data.get("reason") or None,
            due_on=data.get("due_on") if approve else None,
            actor=g.user,
        )

    done = "已批准延期，期限已更新" if approve else "已驳回延期申请"
    back = url_for("console.task", task_id=found.id) + f"#extension-{extension.id}"
    return act(change, done=done, back=back, form=f"extension-{extension.id}")


@bp.post("/tasks/<int:task_id>/chases")
@requires(*CHASERS)
def chase_task(task_id: int):
    found = rectification.get_task(task_id, actor=g.user)
    try:
        uuid.UUID(request.form.get("client_id", ""))
    except ValueError:
        abort(400)  # the page always sends one: no form field to point at

    def change():
        data = load_form(ChaseCreateSchema, form_values("client_id", "message"))
        rectification.chase(found, data, actor=g.user)

    done = "已督办，已通知被检查单位"
    back = url_for("console.task", task_id=found.id)
    return act(change, done=done, back=back + "#chase", form="chase")


def init_app(app: Flask) -> None:
    add_nav(app, "console.tasks", "整改复查", before="console.units")
