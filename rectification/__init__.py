"""Rectification (整改): tasks for inspected units, replies with after-photos, verification,
deadlines, reminders and escalation."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Tasks opened when an inspection is published, the task as a photo owner, the
    deadline scan the worker runs, who may read
    inbox messages about a task, the demo tasks (after the inspections' demo)."""
    from inspections.findings import on_published
    from media.kinds import register_kind
    from notifications.service import register_subject
    from rectification import notify, opening, photos, policy
    from rectification.demo import load_demo_tasks
    from rectification.reminders import scan_deadlines

    on_published(app, opening.on_published)
    register_kind(app, photos.ATTACHMENT)
    register_subject(app, notify.SUBJECT, policy.visible_task_ids)
    app.extensions.setdefault("worker_jobs", []).append(scan_deadlines)
    app.extensions.setdefault("demo_hooks", []).append(load_demo_tasks)
