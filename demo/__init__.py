"""Demo data: a small, realistic city to click through (`flask --app wsgi demo`)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """`flask demo`, which builds the city then runs `app.extensions["demo_hooks"]` in the
    order packages registered them; the evidence (photos, replies) comes last, after the
    inspections' and rectification's demo data it illustrates."""
    from demo.cli import demo_command
    from demo.evidence import load_demo_evidence

    app.cli.add_command(demo_command)
    app.extensions.setdefault("demo_hooks", []).append(load_demo_evidence)
