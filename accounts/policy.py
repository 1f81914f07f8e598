"""Who may see and manage which accounts.

A city-wide office sees every account; an office bound to a region sees the accounts of
its subtree: offices bound inside it, and the people of its units (unit staff, inspectors
whose home unit is there). Nobody else reads accounts. Managing accounts (creating them,
changing anyone's role, unit, sector or region, binding codes, unbinding WeChat) is for a
city-wide office admin only: a town office that could edit its own people could also move
them, or itself, to another region.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from accounts.models import Role, User
from core import errors
from core.db import db
from org.models import Unit
from org.policy import region_subtree

OFFICE_ROLES = (Role.office_admin, Role.viewer)


def may_have_region(role: Role) -> bool:
    """Only an office account is bound to a region; the others are bound to a unit, a
    sector or a team."""
    return role in OFFICE_ROLES


def user_filter(actor: User) -> ColumnElement[bool]:
    """A WHERE clause limiting `User` rows to those `actor` may read."""
    if not actor.is_office:
        return false()
    if actor.region_id is None:
        return true()
    subtree = region_subtree(actor.region_id)
    return or_(
        and_(User.role.in_(OFFICE_ROLES), User.region_id.in_(subtree)),
        User.unit_id.in_(select(Unit.id).where(Unit.region_id.in_(subtree))),
    )


def visible_user(user_id: int, actor: User) -> User:
    """The account, or the same 404 as a missing id when `actor` may not read it."""
    user = db.session.scalar(select(User).where(User.id == user_id, user_filter(actor)))
    if user is None:
        raise errors.NotFound("未找到该用户")
    return user


def can_manage_users(actor: User | None) -> bool:
    """City-wide office admins manage accounts (`None`: the command line and the demo)."""
    return actor is None or (actor.role == Role.office_admin and actor.region_id is None)


def check_manages_users(actor: User | None) -> None:
    if not can_manage_users(actor):
        raise errors.Forbidden(
            "人员账号由市督查办统一管理，请联系市督查办", type="urn:problem:city-office-only"
        )
