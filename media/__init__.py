"""Photo evidence: storage backends, the Pillow pipeline, evidence checks, signed URLs.

A photo is evidence (DESIGN §7): it arrives whole, is provably the same later (SHA-256 of
the original bytes, kept unmodified), and is seen only by those who may see what it is
attached to.

How other domains attach photos (inspections, rectification, …)
----------------------------------------------------------------
Photos are attached to an *owner* named by ``owner_type`` (an attachment kind, e.g.
``"inspection"``, ``"rectification_reply"``) and ``owner_id``, optionally to one checklist
item (``item_code``). The media package never imports the owning domain; instead the domain
registers its kind on the app, from its own ``init_app(app)`` (which the factory calls;
importing a module registers nothing)::

    from media.kinds import Attachment, AttachmentKind, register_kind

    def _attachment(inspection: Inspection) -> Attachment:
        return Attachment(
            unit_id=inspection.unit_id,
            group=f"inspection:{inspection.id}",          # duplicates inside one group
            window=(visit.window_start, visit.window_end),  # are not flagged; None = no check
            session=(inspection.started_at, inspection.submitted_at),  # None end: open
        )

    def _view(owner_id: int, actor: User) -> Attachment:
        # raise core.errors.NotFound when actor may not see the owner (foreign = missing)
        ...

    def _attach(owner_id: int, actor: User, item_code: str | None) -> Attachment:
        # NotFound as above; Conflict/Forbidden/InvalidInput when actor may see the
        # owner but may not add a photo to it now (submitted inspection, unknown item, …)
        ...

    KIND = AttachmentKind("inspection", view=_view, attach=_attach)

    def init_app(app):                  # in the owning package's __init__.py
        register_kind(app, KIND)

``view`` guards reading (GET a photo, its signed URLs, lists); ``attach`` guards uploads.
The unit's location for the distance check comes from ``org.models.Unit`` (``unit_id``).

Functions other domains call (``media.service``)
------------------------------------------------
- ``photos_for(owner_type, owner_id, *, item_code=None) -> list[Photo]``: stored photos of
  an owner, oldest first (no permission check: call it after your own ``view``).
- ``photo_counts(owner_type, owner_ids) -> dict[int, int]`` and
  ``item_codes_with_photos(owner_type, owner_id) -> set[str]`` (for "a photo is required").
- ``signed_url(photo, variant) -> str | None``: a short-lived URL for ``"original"``,
  ``"preview"`` or ``"thumb"`` (None when that derivative could not be made).
- ``flags_of(photo) -> list[str]``: evidence flags, among ``EVIDENCE_FLAGS``
  (``outside_window``, ``outside_session``, ``far_from_unit``, ``near_duplicate``,
  ``exif_missing``).
  Flags inform; they never block.
- ``reassess(owner_type, owner_id)``: recompute flags after the owner's window changed.
  ``window`` flags ``outside_window`` (± ``PHOTO_WINDOW_SLACK_SECONDS``); ``session`` (when
  the people were there, e.g. check-in to submission) flags ``outside_session``
  (± ``PHOTO_TIME_SLACK_MINUTES``).
- ``api.photos.PhotoSchema`` serialises a photo with its URLs and flags for your routes.

Tests may register a test-only kind; ``tests/media_kinds.py`` has one owned by a unit.

Housekeeping
------------
The worker sweeps direct uploads never confirmed before their TTL, and objects under
``incoming/`` that no waiting upload refers to, every ``MEDIA_SWEEP_SECONDS``
(``media.cli.sweep_uploads``; by hand: ``flask media expire-uploads``).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The attachment-kind registry (domains fill it from their own init_app), the
    `flask media` commands, and the worker's photo housekeeping: the sweep of unconfirmed
    direct uploads and the rolling re-verification of stored originals."""
    from media.cli import media_command, sweep_uploads
    from media.kinds import REGISTRY
    from media.verify import verify_media

    app.extensions.setdefault(REGISTRY, {})
    app.cli.add_command(media_command)
    app.extensions.setdefault("worker_jobs", []).extend([sweep_uploads, verify_media])
