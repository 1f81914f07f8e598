"""`flask media ...`: housekeeping for photo storage."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from core.db import db
from media import service

media_command = AppGroup("media", help="照片存储维护")


@media_command.command("expire-uploads")
def expire_uploads() -> None:
    """Remove direct uploads never confirmed before they expired (run it from cron)."""
    removed = service.expire_uploads()
    db.session.commit()
    click.echo(f"removed {removed} expired upload(s)")


@media_command.command("rebuild-derivatives")
def rebuild_derivatives() -> None:
    """Remake previews and thumbnails that failed to store; originals are never touched."""
    rebuilt, missing = service.rebuild_derivatives()
    db.session.commit()
    click.echo(f"rebuilt {rebuilt} photo(s); {missing} still without derivatives")
