"""`flask media ...`: housekeeping for photo storage, and the worker's sweep."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import db
from media import service

media_command = AppGroup("media", help="照片存储维护")


@media_command.command("expire-uploads")
def expire_uploads() -> None:
    """Remove direct uploads never confirmed before they expired, and stray incoming
    objects (the worker does this every MEDIA_SWEEP_SECONDS)."""
    removed, strays = service.expire_uploads()
    db.session.commit()
    click.echo(f"removed {removed} expired upload(s) and {strays} stray incoming object(s)")


@media_command.command("rebuild-derivatives")
def rebuild_derivatives() -> None:
    """Remake previews and thumbnails that failed to store; originals are never touched."""
    rebuilt, missing = service.rebuild_derivatives()
    db.session.commit()
    click.echo(f"rebuilt {rebuilt} photo(s); {missing} still without derivatives")


def sweep_uploads() -> dict[str, int] | None:
    """Worker job: `expire-uploads` every MEDIA_SWEEP_SECONDS, not on every worker cycle
    (None when not due). Each worker process keeps its own schedule; two sweeping at once
    remove the same things, which is harmless."""
    state = current_app.extensions.setdefault("media_sweep", {"last": None})
    now = time.monotonic()
    if (
        state["last"] is not None
        and now - state["last"] < current_app.config["MEDIA_SWEEP_SECONDS"]
    ):
        return None
    state["last"] = now
    uploads, strays = service.expire_uploads()
    db.session.commit()
    return {"expired_uploads": uploads, "stray_objects": strays}
