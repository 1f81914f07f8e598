"""Rectification (整改): tasks for inspected units, replies with after-photos, verification,
deadlines, reminders and escalation."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from rectification.demo import load_demo_tasks
    from rectification.reminders import scan_deadlines

    app.extensions.setdefault("worker_jobs", []).append(scan_deadlines)
    app.extensions.setdefault("demo_hooks", []).append(load_demo_tasks)
