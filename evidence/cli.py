"""`flask evidence verify`: is the evidence what was sealed?"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from core import errors
from core.db import db
from evidence import verify as evidence_verify

evidence_command = AppGroup("evidence", help="证据封存与校验")


@evidence_command.command("verify")
@click.option("--inspection", "inspection_id", type=int, default=None,
              help="Check one inspection (its seal, its audit chains and photos).")  # fmt: skip
def verify_command(inspection_id: int | None) -> None:
    """Recompute inspection seals and audit hash chains, and re-hash stored originals.

    One line per broken object (inspection, audit event, photo key); exit code 1 when
    there is any, 2 when the photo store cannot be read."""
    try:
        report = evidence_verify.verify(inspection_id)
    except errors.Unavailable as exc:
        db.session.rollback()
        click.echo(f"storage unavailable: {exc.message}", err=True)
        sys.exit(2)
    db.session.commit()  # the mismatch events `media verify`'s machinery wrote
    for problem in report.problems:
        click.echo(problem)
    click.echo(
        f"checked {report.inspections} inspection seal(s) ({report.unsealed} submitted "
        f"before sealing), {report.events} audit event(s) ({report.unchained} before "
        f"chaining), {report.originals} original(s); {len(report.problems)} problem(s)"
    )
    if report.problems:
        sys.exit(1)
