"""`flask --app wsgi worker`: deliver the outbox, and run the periodic jobs domains register.

`--once` runs one cycle and exits (for cron); without it the worker loops until SIGTERM or
Ctrl-C, sleeping WORKER_POLL_SECONDS when there was nothing to do. Run as many as you like.
"""

from __future__ import annotations

import logging
import signal
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from core.db import db
from notifications.worker import purge_finished, run_batch

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 3600
_last_purge = 0.0


def run_cycle() -> dict:
    """The domains' periodic jobs (deadline scans), then every due message, batch by batch."""
    report: dict = {}
    for job in current_app.extensions.get("worker_jobs", []):
        try:
            report[job.__name__] = job()
            db.session.commit()  # each job is its own transaction; the worker is its edge
        except Exception:  # a failing scan must not stop delivery
            db.session.rollback()
            log.exception("worker job %s failed", job.__name__)
    delivered: dict[str, int] = {}
    while True:
        batch = run_batch()
        for outcome, count in batch.outcomes.items():
            delivered[outcome] = delivered.get(outcome, 0) + count
        if batch.claimed < current_app.config["OUTBOX_BATCH_SIZE"]:
            break
    report["delivered"] = delivered
    global _last_purge
    if time.monotonic() - _last_purge >= PURGE_EVERY_SECONDS:
        _last_purge = time.monotonic()
        report["purged"] = purge_finished()
    db.session.remove()
    return report


@click.command("worker")
@click.option("--once", is_flag=True, help="Run one cycle and exit (for cron).")
@with_appcontext
def worker_command(once: bool) -> None:
    """Deliver notifications (inbox, WeChat) and send deadline reminders."""
    if once:
        click.echo(run_cycle())
        return
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    poll = current_app.config["WORKER_POLL_SECONDS"]
    log.info("worker started; polling every %ss", poll)
    while not stopping:
        try:
            report = run_cycle()
        except Exception:  # the database restarting must not end the worker
            db.session.remove()
            log.exception("worker cycle failed; retrying in %ss", poll)
            report = {"delivered": {}}
        if not report["delivered"]:
            time.sleep(poll)
    log.info("worker stopped")
