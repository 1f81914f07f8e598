"""Inspections (明察暗访): plans, double-random draws, visits, inspections and findings.

Modules
-------
- `models`: Plan, Draw, Visit (+ visit_inspector), Inspection, Finding.
- `draw`: the pure, reproducible double-random draw (seed + stored inputs → visits).
- `plans`: plans, draws (redraw only before any visit starts), publication (一公开), visits.
- `service`: check-in, partial saves, submission online or offline (keyed by client UUID).
- `queries`: the office's filtered, paginated lists of inspections.
- `findings`: findings made on submit, office review, publication to the unit.
- `policy`: who sees what. Unannounced visits are invisible to units and lead units until
  the inspection is submitted; inspection results until the office publishes them.
- `checklist`: the one place that talks to `checklists` (versions, scoring).

Hand-off to rectification (整改)
--------------------------------
A finding (`models.Finding`: id, inspection_id, unit_id, item_code, title, severity
general|major|severe, description, status pending|confirmed|dismissed, fixed_on_spot,
deadline_days, critical, photos, reason) becomes work for the unit only when the office
has confirmed it AND published the inspection's result. Two ways to consume that:

- `inspections.findings.on_published(app, handler)`: `handler(inspection, actor)` runs inside
  the publishing transaction (flush, don't commit; raise a DomainError to refuse the
  publication). Call it from your package's `init_app(app)`; the factory calls that.
- `inspections.findings.confirmed_findings_for_rectification(inspection) -> [Finding]`:
  the confirmed findings of a published inspection (empty before publication). Call it
  from the handler. `fixed_on_spot=True` findings were put right during the visit (立行立改);
  rectification may close them at once. `deadline_days` is the office-reviewed deadline.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The inspection as a photo owner, the (empty) publish-hook list consumers add to,
    and the demo campaign (after the default checklist, before rectification's demo)."""
    from inspections import demo, findings, photos
    from media.kinds import register_kind

    register_kind(app, photos.ATTACHMENT)
    app.extensions.setdefault(findings.PUBLISHED_HOOKS, [])
    app.extensions.setdefault("demo_hooks", []).append(demo.load_demo)
