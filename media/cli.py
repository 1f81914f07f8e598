"""`flask media ...`: housekeeping for photo storage, and the worker's sweep."""

from __future__ import annotations

import sys
import time

import click
from flask import current_app
from flask.cli import AppGroup

from core import errors
from core.db import db
from media import service, verify

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


@media_command.command("verify")
@click.option("--after", type=int, default=0, help="Start after this photo id.")
@click.option("--limit", type=int, default=None, help="Check at most this many photos.")
def verify_command(after: int, limit: int | None) -> None:
    """Re-read stored originals and compare SHA-256 and size with the database.

    One line per problem (missing object, size or hash mismatch), each also logged and
    audited; exit code 1 when there is any, 2 when the store cannot be read."""
    try:
        checked, found = verify.verify_photos(verify.stored_photos(after, limit))
    except errors.Unavailable as exc:
        db.session.rollback()
        click.echo(f"storage unavailable: {exc.message}", err=True)
        sys.exit(2)
    db.session.commit()
    for mismatch in found:
        click.echo(mismatch.line())
    click.echo(f"checked {checked} original(s); {len(found)} problem(s)")
    if found:
        sys.exit(1)
