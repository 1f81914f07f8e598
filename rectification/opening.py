"""Opening tasks: one per confirmed finding, when the office publishes an inspection.

Inspections calls the app's publish hooks inside the publishing transaction; ours,
`on_published`, is registered by `rectification.init_app` (called by the factory).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import select

from accounts.models import User
from core.clock import utcnow
from core.db import db
from inspections import findings as inspection_findings
from inspections.models import Inspection
from rectification import notify, photos
from rectification.deadlines import deadline_for
from rectification.history import record_change
from rectification.models import RectificationTask, TaskReply, TaskStatus, Verdict


def open_tasks_for_findings(
    findings: Iterable[Any], *, actor: User | None
) -> list[RectificationTask]:
    """One task per confirmed finding; called when the office publishes an inspection.

    A finding fixed on the spot (立行立改) gets a task created already closed, with its
    after-photos as the only reply and an audit event, so the ledger counts it as rectified
    while the unit's queue never shows it as open work and nobody is notified.
    Calling again for the same findings returns the existing tasks (no duplicates).
    """
    findings = [f for f in findings if str(getattr(f, "status", "confirmed")) == "confirmed"]
    ids = [f.id for f in findings]
    existing = (
        {
            t.finding_id: t
            for t in db.session.scalars(
                select(RectificationTask).where(RectificationTask.finding_id.in_(ids))
            )
        }
        if ids
        else {}
    )
    tasks, opened = [], []
    for finding in findings:
        task = existing.get(finding.id)
        if task is None:
            task = _open_task(finding, actor=actor)
            if task.status == TaskStatus.open:
                opened.append(task)
        tasks.append(task)
    # One message per unit and inspection, not per finding: a one-time WeChat subscription
    # allows one message, and five messages for one visit is noise.
    groups: dict[tuple[int, int | None], list[RectificationTask]] = {}
    for task in opened:
        groups.setdefault((task.unit_id, task.inspection_id), []).append(task)
    for group in groups.values():
        notify.tasks_opened(group)
    return tasks


def open_tasks_for(inspection: Any, findings: Iterable[Any], actor: User | None):
    """The hand-off the inspections domain calls when an inspection's result is published."""
    return open_tasks_for_findings(findings, actor=actor)


def on_published(inspection: Inspection, actor: User) -> None:
    """The publish hook (`inspections.findings.on_published`): runs inside the publishing
    transaction."""
    findings = inspection_findings.confirmed_findings_for_rectification(inspection)
    if findings:
        open_tasks_for(inspection, findings, actor=actor)


def _finding_value(finding: Any, name: str, default=None):
    value = getattr(finding, name, default)
    return default if value is None else value


def _open_task(finding: Any, *, actor: User | None) -> RectificationTask:
    now = utcnow()
    severity = str(getattr(finding.severity, "value", finding.severity))
    deadline = deadline_for(
        severity,
        _finding_value(finding, "deadline_days"),
        opened_at=now,
        config=current_app.config,
    )
    description = _finding_value(finding, "description", "")
    inspection = getattr(finding, "inspection", None)
    task = RectificationTask(
        finding_id=finding.id,
        inspection_id=_finding_value(finding, "inspection_id"),
        plan_id=getattr(inspection, "plan_id", None),
        unit_id=finding.unit_id,
        inspector_id=getattr(inspection, "inspector_id", None),
        item_code=_finding_value(finding, "item_code", ""),
        title=(_finding_value(finding, "title") or description or "检查发现的问题")[:200],
        description=description,
        severity=severity,
        status=TaskStatus.open,
        due_on=deadline.due_on,
        due_at=deadline.due_at,
        deadline_days=deadline.days,
        day_mode=deadline.mode,
        created_at=now,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(task)
    db.session.flush()
    if _finding_value(finding, "fixed_on_spot", False):
        _close_on_spot(task, finding, actor=actor, now=now)
        return task
    record_change(task, "open", actor, None)
    return task


def _close_on_spot(task: RectificationTask, finding: Any, *, actor: User | None, now) -> None:
    """The inspector watched it put right and photographed it: the closing record is the
    inspection's photos of the item, and the inspector is who closed it."""
    task.fixed_on_spot = True
    task.status = TaskStatus.closed
    task.closed_at = now
    task.closed_by_id = task.inspector_id
    db.session.add(
        TaskReply(
            task_id=task.id,
            client_id=f"on-spot-{task.id}",
            round=1,
            description="立行立改：检查时已当场整改",
            photo_ids=[p.id for p in photos.before_photos(task)],
            author_id=task.closed_by_id,
            created_at=now,
            verdict=Verdict.accepted,
            verified_by_id=task.closed_by_id,
            verified_at=now,
        )
    )
    db.session.flush()
    record_change(task, "closed_on_spot", actor, None, reason="立行立改")
