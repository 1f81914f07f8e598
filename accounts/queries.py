"""Reads of people for pages and forms: names by id and the inspectors a form offers.
Changes go through `accounts.service`."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from accounts.models import Role, User
from core.db import db


def display_names(ids: Iterable[int | None]) -> dict[int, str]:
    """Display names by id (ids nobody holds are left out; one query)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = db.session.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return dict(rows.all())


def display_name_list(ids: Iterable[int]) -> list[str]:
    """The display names of `ids`, as the database returns them (one query)."""
    return list(db.session.scalars(select(User.display_name).where(User.id.in_(list(ids)))))


def user_or_none(user_id: int | None) -> User | None:
    return db.session.get(User, user_id) if user_id else None


def active_inspectors() -> list[User]:
    """Every active inspector, oldest account first (what a plan may draw from)."""
    stmt = select(User).where(User.role == Role.inspector, User.active).order_by(User.id)
    return list(db.session.scalars(stmt))
