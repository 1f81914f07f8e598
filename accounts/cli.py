"""`flask --app wsgi create-admin`: the first office account of a real deployment."""

from __future__ import annotations

import re
import sys

import click
from flask.cli import with_appcontext

from accounts import service as accounts
from accounts.models import Role
from accounts.passwords import password_problems
from core import errors
from core.db import db
from core.text import trim, visible_length

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,40}$", re.ASCII)  # as the API's UserSchema


@click.command("create-admin")
@click.option("--username", prompt="Username", help="Sign-in name: 3-40 of A-Z a-z 0-9 _ . -")
@click.option("--display-name", prompt="Display name", help="The name people see, e.g. 陈督查.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking.",
)
@with_appcontext
def create_admin_command(username: str, display_name: str, password_stdin: bool) -> None:
    """Create an office administrator (督查办管理员). Refuses a taken username or a weak
    password; changes nothing else, so running it twice is safe."""
    username, display_name = username.strip(), trim(display_name)
    if not USERNAME.fullmatch(username):
        raise click.ClickException("username must be 3-40 characters of A-Z a-z 0-9 _ . -")
    if not visible_length(display_name) or len(display_name) > 40:
        raise click.ClickException("display name must be 1-40 characters")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problems = password_problems(password, username=username)
    if problems:
        raise click.ClickException("password refused: " + "；".join(problems))
    try:
        user = accounts.create_user(
            {
                "username": username,
                "display_name": display_name,
                "role": Role.office_admin,
                "password": password,
            },
            actor=None,
        )
    except errors.DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    db.session.commit()
    click.echo(f"Created office administrator {user.username!r} (id {user.id}).")
