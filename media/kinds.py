"""The attachment-kind registry: how media learns about the owners of photos.

See the package docstring for the contract. Kinds live on the app
(`app.extensions["media_kinds"]`): the owning domain registers its kind from its
`init_app(app)`, called by the factory; media only ever calls them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import Select

from accounts.models import User
from core import errors
from media.models import Photo

REGISTRY = "media_kinds"
# Called with each photo once its original is stored, in the same transaction:
# `app.extensions[STORED_HOOKS]`, filled by `on_photo_stored(app, handler)` from the
# interested packages' init_app (evidence seals an inspection's late photos).
STORED_HOOKS = "photo_stored"


@dataclass(frozen=True)
class Attachment:
    """What an owner tells the evidence checks about the photos attached to it."""

    unit_id: int
    # Near-duplicates are flagged only across groups ("inspection:12" vs "inspection:40"),
    # never between two photos of the same inspection.
    group: str
    # When the photos should have been taken (UTC, aware); None: no time check.
    window: tuple[datetime, datetime] | None = None
    # When the people taking them were there: check-in to submission (UTC, aware); an end
    # of None is an owner still open (up to now). None: no such check.
    session: tuple[datetime, datetime | None] | None = None


@dataclass(frozen=True)
class AttachmentKind:
    name: str
    # (owner_id, actor) → Attachment; raises NotFound when the actor may not see the owner.
    view: Callable[[int, User], Attachment]
    # (owner_id, actor, item_code) → Attachment; raises when the actor may not attach now.
    attach: Callable[[int, User, str | None], Attachment]
    # actor → a select of the owner ids whose photos the actor may see (the owner's
    # visibility filter), for lists across owners by non-office roles. Offices see every
    # owner of their region (`media.policy.photo_filter`).
    owners: Callable[[User], Select] | None = None


def register_kind(app: Flask, kind: AttachmentKind) -> None:
    """Make `kind` known to this app's photo pipeline; one domain per name."""
    kinds = app.extensions.setdefault(REGISTRY, {})
    if kind.name in kinds:
        raise RuntimeError(f"attachment kind {kind.name!r} is registered twice")
    kinds[kind.name] = kind


def kind_of(name: str) -> AttachmentKind:
    """The registered kind, or a 422 naming the field: the client sent an unknown type."""
    kind = current_app.extensions[REGISTRY].get(name)
    if kind is None:
        raise errors.InvalidInput(errors={"owner_type": ["未知的附件类型"]})
    return kind


def all_kinds() -> list[AttachmentKind]:
    return [current_app.extensions[REGISTRY][name] for name in kind_names()]


def kind_names() -> list[str]:
    return sorted(current_app.extensions[REGISTRY])


def on_photo_stored(app: Flask, handler: Callable[[Photo], None]) -> None:
    app.extensions.setdefault(STORED_HOOKS, []).append(handler)


def photo_stored(photo: Photo) -> None:
    for handler in current_app.extensions.get(STORED_HOOKS, ()):
        handler(photo)
