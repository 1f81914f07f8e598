"""Notifications: an outbox written with the change that causes it, delivered by a worker
to the in-app inbox and to WeChat subscribe messages."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """`flask worker`, and the list of periodic jobs it runs each cycle: packages append
    theirs from their own init_app (`app.extensions.setdefault("worker_jobs", [])`)."""
    from notifications.cli import worker_command

    app.extensions.setdefault("worker_jobs", [])
    app.cli.add_command(worker_command)
