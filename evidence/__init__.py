"""Sealed evidence (DESIGN §7, docs/evidence.md): each inspection is sealed at submission
(a SHA-256 over its canonical answers, findings and photo hashes) and the seal is extended
by each photo that arrives later; `flask evidence verify` recomputes the seals and the
audit trail's hash chains (core/audit.py) and re-hashes the stored originals.

Other packages call `evidence.seal`: `seal_submission(inspection)` from the submission,
`seal_of(inspection)` / `seal_short(inspection)` for the API, pages and reports.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """`flask evidence`, the seal link for photos stored after a submission, and the
    `seal_short(inspection)` template global."""
    from evidence.cli import evidence_command
    from evidence.seal import extend_with_photo, seal_short
    from media.kinds import on_photo_stored

    app.cli.add_command(evidence_command)
    on_photo_stored(app, extend_with_photo)
    app.jinja_env.globals["seal_short"] = seal_short
