"""Rectification services: read, list and count tasks; reply, verify, extend.

Tasks are opened from findings by `rectification.opening` (re-exported here as
`open_tasks_for` / `open_tasks_for_findings`, the hand-off inspections calls).

Every state change passes `states.check()` first, then changes the task, writes its audit
event and queues its notifications — all in the caller's transaction (services flush,
the request edge commits).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.exc import StaleDataError

from accounts.models import User
from core import claims, errors, reasons
from core.clock import day_start, local, utcnow
from core.db import counts_at_most, db
from core.text import trim
from org.models import Unit
from rectification import notify, photos, policy, states
from rectification.deadlines import end_of_day
from rectification.history import record_change as _record
from rectification.history import task_trail as task_trail
from rectification.models import (
    Chase,
    ExtensionRequest,
    ExtensionStatus,
    RectificationTask,
    ReplyView,
    TaskReply,
    TaskStatus,
    Verdict,
)
from rectification.opening import open_tasks_for as open_tasks_for
from rectification.opening import open_tasks_for_findings as open_tasks_for_findings
from rectification.states import Action

MAX_EXTENSION = timedelta(days=365)
# A request still pending when its task closes: settled, with this reason.
LAPSED_REASON = "任务已销号，无需延期"


def _verifier() -> str:
    return current_app.config["RECTIFICATION_VERIFIER"]


def _flush() -> None:
    """Write a transition now. Two people acting on one task at once: the version column
    (or the one-reply-per-round constraint) lets one win; the other gets a 409."""
    try:
        db.session.flush()
    except (StaleDataError, IntegrityError) as exc:
        raise errors.Conflict(
            "任务刚被他人处理，请刷新后重试", type="urn:problem:concurrent-change"
        ) from exc


def earlier_reply(task: RectificationTask, client_id) -> TaskReply | None:
    """The reply a client id already made: a retry is answered with it, before any
    precondition (its If-Match is the one the first copy carried)."""
    return _earlier(TaskReply, str(client_id), task)


def earlier_extension(task: RectificationTask, client_id) -> ExtensionRequest | None:
    return _earlier(ExtensionRequest, str(client_id), task)


def earlier_chase(task: RectificationTask, client_id) -> Chase | None:
    return _earlier(Chase, str(client_id), task)


def _earlier(model, client_id: str, task: RectificationTask):
    """The reply or extension request a client id already made, if any (a retry)."""
    earlier = db.session.scalar(select(model).where(model.client_id == client_id))
    if earlier is not None and earlier.task_id != task.id:
        raise errors.Conflict(
            "client_id 已用于其他任务",
            errors={"client_id": ["重复"]},
            type="urn:problem:client-id-reused",
        )
    return earlier


def _winner(model, client_id: str, task: RectificationTask):
    """After losing the claim: the overlapping copy's row, committed by now, and the task
    as that copy left it (so the answer and its ETag are the same). No row with our
    client id: another reply of this round won, which is a real conflict."""
    winner = _earlier(model, client_id, task)
    if winner is None:
        raise errors.Conflict(
            "任务刚被他人处理，请刷新后重试", type="urn:problem:concurrent-change"
        )
    db.session.refresh(task)
    return winner


# -- reading --------------------------------------------------------------------------------


def get_task(task_id: int, *, actor: User) -> RectificationTask:
    return policy.visible_task(task_id, actor)


def review_of(task: RectificationTask) -> dict[str, Any]:
    """Before and after side by side: the inspection's photos of the item and the current
    round's reply (after-photos and words), if the unit has replied in this round."""
    latest = task.replies[-1] if task.replies else None
    if latest is not None and latest.round != task.round:
        latest = None  # rejected: this round has no reply yet (the old one is in the history)
    return {
        "round": task.round,
        "before": photos.before_photos(task),
        "after": photos.photos_by_id(latest.photo_ids) if latest else [],
        "description": latest.description if latest else None,
        "verdict": latest.verdict.value if latest and latest.verdict else None,
    }


def _filtered(stmt: Select, actor: User, filters: dict[str, Any], *, join_unit: bool) -> Select:
    policy.check_filters(actor, filters)
    T = RectificationTask
    if (
        join_unit
        or filters.get("sector_id")
        or filters.get("region_id")
        or filters.get("unit_name")
    ):
        stmt = stmt.join(Unit, Unit.id == T.unit_id)
    if filters.get("unit_name"):
        stmt = stmt.where(Unit.name.contains(filters["unit_name"], autoescape=True))
    stmt = stmt.where(policy.task_filter(actor))
    now = utcnow()
    simple = {
        "unit_id": T.unit_id,
        "plan_id": T.plan_id,
        "inspection_id": T.inspection_id,
        "severity": T.severity,
        "sector_id": Unit.sector_id,
        "region_id": Unit.region_id,
        "fixed_on_spot": T.fixed_on_spot,
    }
    for name, column in simple.items():
        if filters.get(name) is not None:
            stmt = stmt.where(column == filters[name])
    if filters.get("status"):
        stmt = stmt.where(T.status.in_(filters["status"]))
    overdue = and_(T.status != TaskStatus.closed, T.due_at <= now)
    if filters.get("overdue") is True:
        stmt = stmt.where(overdue)
    elif filters.get("overdue") is False:
        stmt = stmt.where(~overdue)
    # The day the task was issued (local calendar days): the dashboard's period.
    if filters.get("opened_from") is not None:
        stmt = stmt.where(T.created_at >= day_start(filters["opened_from"]))
    if filters.get("opened_to") is not None:
        stmt = stmt.where(T.created_at < day_start(filters["opened_to"] + timedelta(days=1)))
    if filters.get("due_from") is not None:
        stmt = stmt.where(T.due_on >= filters["due_from"])
    if filters.get("due_to") is not None:
        stmt = stmt.where(T.due_on <= filters["due_to"])
    return stmt


def tasks_query(actor: User, filters: dict[str, Any]) -> Select:
    T = RectificationTask
    stmt = _filtered(select(T), actor, filters, join_unit=True).options(contains_eager(T.unit))
    return stmt.order_by(T.due_at, T.id)


def count_tasks(
    actor: User, filters: dict[str, Any], *, bound: int | None = None
) -> dict[str, Any]:
    """Counts by status, plus overdue, over the same filters as the list (one query).

    With `bound`, each status and the overdue ones are counted up to `bound` only (still
    one query; none of its counts reads more than bound + 1 rows: flat however many tasks
    were closed over the years); `capped` names the figures that stopped there ("1000+")."""
    T = RectificationTask
    now = utcnow()
    if bound is not None:
        return _count_tasks_at_most(actor, filters, bound, now)
    overdue = func.sum(case((and_(T.status != TaskStatus.closed, T.due_at <= now), 1), else_=0))
    stmt = _filtered(
        select(T.status, func.count(T.id), overdue), actor, filters, join_unit=False
    ).group_by(T.status)
    by_status = {status.value: 0 for status in TaskStatus}
    total = overdue_total = 0
    for status, count, late in db.session.execute(stmt):
        by_status[TaskStatus(status).value] = count
        total += count
        overdue_total += int(late or 0)
    return {"total": total, "by_status": by_status, "overdue": overdue_total, "capped": []}


def _count_tasks_at_most(actor: User, filters: dict[str, Any], bound: int, now) -> dict[str, Any]:
    T = RectificationTask
    listed = _filtered(select(T.id), actor, filters, join_unit=False)
    statuses = list(TaskStatus)
    # "Not closed" as the list's views spell it, which the index of open tasks matches.
    late = listed.where(T.status.in_([TaskStatus.open, TaskStatus.responded]), T.due_at <= now)
    *each, (overdue, overdue_exact) = counts_at_most(
        [listed.where(T.status == status) for status in statuses] + [late], bound
    )
    by_status = {status.value: n for status, (n, _) in zip(statuses, each, strict=True)}
    capped = [status.value for status, (_, exact) in zip(statuses, each, strict=True) if not exact]
    capped += ["total"] if capped else []
    capped += [] if overdue_exact else ["overdue"]
    total = sum(by_status.values())
    return {"total": total, "by_status": by_status, "overdue": overdue, "capped": capped}


def allowed_actions(task: RectificationTask, actor: User) -> list[str]:
    return states.allowed_actions(task, actor, verifier=_verifier())


# -- the unit's reply ----------------------------------------------------------------------


def respond(
    task: RectificationTask, data: dict[str, Any], *, actor: User
) -> tuple[TaskReply, bool]:
    """The unit's reply for this round. Returns (reply, created): a retry with the same
    client id, even one overlapping the first, returns the first reply and False."""
    client_id = str(data["client_id"])
    earlier = _earlier(TaskReply, client_id, task)
    if earlier is not None:
        return earlier, False
    states.check(task, Action.respond, actor, verifier=_verifier())
    photo_ids = list(dict.fromkeys(data["photo_ids"]))
    photos.check_after_photos(task, photo_ids)
    before = task.snapshot()
    now = utcnow()
    reply = TaskReply(
        task_id=task.id,
        client_id=client_id,
        round=task.round,
        description=data["description"],
        photo_ids=photo_ids,
        author_id=actor.id,
        created_at=now,
    )
    if not claims.claim(reply):
        return _winner(TaskReply, client_id, task), False
    db.session.expire(task, ["replies"])
    task.status = TaskStatus.responded
    task.responded_at = now
    _flush()
    _record(task, Action.respond.value, actor, before)
    notify.responded(task)
    return reply, True


def verify(
    task: RectificationTask,
    *,
    accept: bool,
    reason: str | None,
    actor: User,
    due_on: date | None = None,
) -> RectificationTask:
    """Accept the latest reply (the task closes) or reject it: the unit replies again in
    the next round, by `due_on` when the office sets a new deadline (else the old one)."""
    action = Action.accept if accept else Action.reject
    states.check(task, action, actor, verifier=_verifier())
    if not accept:
        reason = reasons.check(reason, "退回整改需要说明理由")
    if due_on is not None:
        if accept:
            raise errors.InvalidInput(errors={"due_on": ["复查通过时不设新期限"]})
        today = _check_after_today(due_on)
        if due_on > today + MAX_EXTENSION:
            raise errors.InvalidInput(errors={"due_on": ["新期限不能超过一年"]})
    before = task.snapshot()
    now = utcnow()
    reply = task.replies[-1]
    reply.verdict = Verdict.accepted if accept else Verdict.rejected
    reply.verdict_reason = reason
    reply.verified_by_id = actor.id
    reply.verified_at = now
    round_ = task.round
    if accept:
        task.status = TaskStatus.closed
        task.closed_at = now
        task.closed_by_id = actor.id
    else:
        task.status = TaskStatus.open
        task.round += 1
        task.rejections += 1
        if due_on is not None:
            task.due_on = due_on
            task.due_at = end_of_day(due_on)
    # One event for the transition: a lapsed request shows as extension_pending true →
    # false in it, and the request row keeps the reason.
    lapsed = accept and _lapse_extensions(task, actor, now)
    _flush()
    _record(task, action.value, actor, before, reason=reason)
    notify.verified(task, accept, round_, reason, lapsed=lapsed)
    return task


# -- opening a reply, and accepting several opened ones -------------------------------------


def reply_under_review(task: RectificationTask) -> TaskReply | None:
    """The reply awaiting verification: this round's, while the task is `responded`."""
    if task.status != TaskStatus.responded or not task.replies:
        return None
    latest = task.replies[-1]
    return latest if latest.round == task.round and latest.verdict is None else None


def verifies(actor: User) -> bool:
    """Whether `actor`'s role accepts replies (the setting RECTIFICATION_VERIFIER)."""
    return actor.role in states.verifier_roles(_verifier())


def mark_opened(task: RectificationTask, actor: User) -> None:
    """Note that `actor` has opened the reply under review (if any, and if they may accept
    it): the condition for accepting it with others from the task list. Idempotent, and
    two tabs opening it at once insert one row (INSERT … ON CONFLICT DO NOTHING)."""
    reply = reply_under_review(task)
    if reply is None or not states.may(task, Action.accept, actor, verifier=_verifier()):
        return
    claims.claim(ReplyView(reply_id=reply.id, user_id=actor.id, viewed_at=utcnow()))


def opened_tasks(task_ids: list[int], actor: User) -> set[int]:
    """Of `task_ids`, the tasks whose reply under review `actor` has opened (one query)."""
    if not task_ids:
        return set()
    T, R = RectificationTask, TaskReply
    stmt = (
        select(T.id)
        .join(R, and_(R.task_id == T.id, R.round == T.round))
        .join(ReplyView, and_(ReplyView.reply_id == R.id, ReplyView.user_id == actor.id))
        .where(T.id.in_(task_ids), T.status == TaskStatus.responded)
    )
    return set(db.session.scalars(stmt))


def accept_opened(task: RectificationTask, *, actor: User) -> RectificationTask:
    """Accept a reply from a list of several: as `verify(accept=True)`, one audit event per
    task, but only a reply `actor` has opened (nobody closes a task unread)."""
    states.check(task, Action.accept, actor, verifier=_verifier())
    if task.id not in opened_tasks([task.id], actor):
        raise errors.Conflict(
            "尚未打开查看这条整改回复，请先查看后再批量通过",
            type="urn:problem:reply-not-opened",
        )
    return verify(task, accept=True, reason=None, actor=actor)


# -- new deadlines -------------------------------------------------------------------------


def _check_after_today(day: date, *, prefix: str = "") -> date:
    """A new deadline leaves the unit time: it lies after today on the city's clock (a day
    already due would make the task overdue the moment it is set). Returns today.
    `prefix` opens the message when the day was not the caller's own choice."""
    today = local(utcnow()).date()
    if day <= today:
        raise errors.InvalidInput(errors={"due_on": [f"{prefix}应晚于今天 {today}"]})
    return today


def _check_extended(task: RectificationTask, day: date, *, prefix: str = "") -> None:
    """An extension's day: after the current deadline and after today, at most a year
    past the deadline. When both lower bounds fail the later one is named, so one
    correction is enough (an overdue task's deadline is behind today)."""
    if day <= task.due_on and task.due_on >= local(utcnow()).date():
        raise errors.InvalidInput(errors={"due_on": [f"应晚于当前期限 {task.due_on}"]})
    _check_after_today(day, prefix=prefix)
    if day > task.due_on + MAX_EXTENSION:
        raise errors.InvalidInput(errors={"due_on": ["一次延期不能超过一年"]})


# -- extensions ----------------------------------------------------------------------------


def request_extension(
    task: RectificationTask, data: dict[str, Any], *, actor: User
) -> tuple[ExtensionRequest, bool]:
    """Ask for a later deadline. Returns (request, created), like `respond`."""
    client_id = str(data["client_id"])
    earlier = _earlier(ExtensionRequest, client_id, task)
    if earlier is not None:
        return earlier, False
    states.check(task, Action.request_extension, actor, verifier=_verifier())
    reason = reasons.check(data.get("reason"), "申请延期需要说明理由")
    _check_extended(task, data["due_on"])
    before = task.snapshot()
    extension = ExtensionRequest(
        task_id=task.id,
        client_id=client_id,
        requested_due_on=data["due_on"],
        previous_due_on=task.due_on,
        reason=reason,
        requested_by_id=actor.id,
        requested_at=utcnow(),
    )
    if not claims.claim(extension):
        return _winner(ExtensionRequest, client_id, task), False
    db.session.expire(task, ["extensions"])
    task.extension_pending = True
    _flush()
    _record(task, Action.request_extension.value, actor, before, reason=reason)
    notify.extension_requested(task, extension.id)
    return extension, True


def _lapse_extensions(task: RectificationTask, actor: User, now) -> bool:
    """A task that closes settles the request still waiting: there is nothing left to
    extend, and a closed task allows no decision, so it would wait for ever. It lapses,
    with the reason, as of the change that closed the task and by its author. Returns
    whether one did."""
    with db.session.no_autoflush:  # loading them must not write the task (version + 1) early
        waiting = [e for e in task.extensions if e.status == ExtensionStatus.pending]
    for extension in waiting:
        extension.status = ExtensionStatus.lapsed
        extension.decided_by_id = actor.id
        extension.decided_at = now
        extension.decision_reason = LAPSED_REASON
    task.extension_pending = False
    return bool(waiting)


def check_may(task: RectificationTask, action: Action, *, actor: User) -> None:
    """403 unless `actor` may do `action` on `task` in some state (`states.check_may`)."""
    states.check_may(task, action, actor, verifier=_verifier())


def get_extension(task: RectificationTask, extension_id: int, *, actor: User) -> ExtensionRequest:
    """An extension request of `task` the actor may see, else the same 404 as a missing id."""
    return policy.visible_extension(extension_id, actor, task=task)


def get_reply(task: RectificationTask, reply_id: int, *, actor: User) -> TaskReply:
    return policy.visible_reply(reply_id, actor, task=task)


def decide_extension(
    task: RectificationTask,
    extension: ExtensionRequest,
    *,
    approve: bool,
    reason: str | None,
    due_on: date | None,
    actor: User,
) -> ExtensionRequest:
    action = Action.approve_extension if approve else Action.deny_extension
    states.check(task, action, actor, verifier=_verifier())
    if extension.status != ExtensionStatus.pending:
        raise errors.Conflict("该延期申请已处理", type="urn:problem:extension-decided")
    if not approve:
        reason = reasons.check(reason, "驳回延期需要说明理由")
    granted = due_on or extension.requested_due_on
    if approve:
        # Approving as asked, on a day that has come since: the office must name a date.
        prefix = "" if due_on else f"申请延至的日期 {granted} 已到期，请另定期限，"
        _check_extended(task, granted, prefix=prefix)
    before = task.snapshot()
    extension.status = ExtensionStatus.approved if approve else ExtensionStatus.denied
    extension.decided_by_id = actor.id
    extension.decided_at = utcnow()
    extension.decision_reason = reason
    task.extension_pending = False
    if approve:
        extension.granted_due_on = granted
        task.due_on = granted
        task.due_at = end_of_day(granted)
    _flush()
    _record(task, action.value, actor, before, reason=reason)
    notify.extension_decided(task, extension.id, approve)
    return extension


# -- 督办 (chase) -------------------------------------------------------------------------------


def chase(task: RectificationTask, data: dict[str, Any], *, actor: User) -> tuple[Chase, bool]:
    """Press the unit on an overdue task: a row, an audit event in the task's history, and
    a message to the unit's staff through the outbox. Returns (chase, created); a retry
    with the same client id returns the first chase and False."""
    client_id = str(data["client_id"])
    earlier = _earlier(Chase, client_id, task)
    if earlier is not None:
        return earlier, False
    states.check(task, Action.chase, actor, verifier=_verifier())
    message = trim(data.get("message") or "")
    row = Chase(
        task_id=task.id,
        client_id=client_id,
        message=message,
        due_on=task.due_on,
        sent_by_id=actor.id,
        sent_at=utcnow(),
    )
    if not claims.claim(row):
        return _winner(Chase, client_id, task), False
    _record(task, Action.chase.value, actor, task.snapshot(), reason=message or None)
    notify.chased(task, row.id, actor, message)
    return row, True
