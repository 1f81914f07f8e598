"""People, roles and sign-in (office passwords, WeChat mini program, bearer tokens)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """`flask create-admin`: the first office account of a real deployment."""
    from accounts.cli import create_admin_command

    app.cli.add_command(create_admin_command)
