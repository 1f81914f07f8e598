"""Accounts: create people, sign them in, issue and revoke tokens and binding codes.

Services flush, never commit: the request edge commits once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from accounts import policy
from accounts.models import ApiToken, BindingCode, Role, User
from accounts.passwords import check_password
from core import audit, errors
from core.clock import utcnow
from core.db import db, lock_for_update
from org.models import Region, Sector, Unit

# A hash of a random password, checked when the username is unknown so that a miss costs
# as much as a hit and timing does not reveal which usernames exist.
_DUMMY_HASH: dict[str, str] = {}
_BINDING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud on the phone


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def _dummy_hash() -> str:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASH:
        _DUMMY_HASH[method] = generate_password_hash(secrets.token_hex(8), method=method)
    return _DUMMY_HASH[method]


# -- people -------------------------------------------------------------------------------


def _check_binding(
    role: Role, unit_id: int | None, sector_id: int | None, region_id: int | None = None
) -> None:
    if region_id is not None and not policy.may_have_region(role):
        raise errors.InvalidInput(errors={"region_id": ["只有督查办账号可以绑定区域"]})
    if region_id is not None and db.session.get(Region, region_id) is None:
        raise errors.InvalidInput(errors={"region_id": ["区域不存在"]})
    if role == Role.unit_staff and unit_id is None:
        raise errors.InvalidInput(errors={"unit_id": ["窗口单位人员必须绑定一个窗口单位"]})
    if role == Role.lead_unit_staff and sector_id is None:
        raise errors.InvalidInput(errors={"sector_id": ["牵头单位人员必须绑定一个行业领域"]})
    if unit_id is not None and db.session.get(Unit, unit_id) is None:
        raise errors.InvalidInput(errors={"unit_id": ["窗口单位不存在"]})
    if sector_id is not None and db.session.get(Sector, sector_id) is None:
        raise errors.InvalidInput(errors={"sector_id": ["行业领域不存在"]})


def _check_username_free(username: str | None, user: User | None = None) -> None:
    """Usernames are ASCII (api.users) and unique whatever their case: "ADMIN" beside
    "admin" would be another account that reads as the administrator's."""
    if not username:
        return
    same = func.lower(User.username) == username.lower()
    taken = db.session.scalar(select(User.id).where(same).limit(1))
    if taken is not None and (user is None or taken != user.id):
        raise errors.Conflict(
            "用户名已被使用",
            errors={"username": ["用户名已被使用"]},
            type="urn:problem:username-taken",
        )


def _snapshot(user: User) -> dict[str, Any]:
    """What the audit trail keeps of an account before and after a change."""
    return {
        "role": user.role.value,
        "active": user.active,
        "unit_id": user.unit_id,
        "sector_id": user.sector_id,
        "region_id": user.region_id,
    }


def create_user(data: dict[str, Any], *, actor: User | None) -> User:
    """A new account (`actor` None: the command line and the demo). A region binds an
    office account to that region's subtree; other roles cannot have one (422)."""
    policy.check_manages_users(actor)
    data = dict(data)
    password = data.pop("password", None)
    role = data["role"] = Role(data["role"])
    if role not in (Role.unit_staff, Role.inspector):
        data["unit_id"] = None
    if role != Role.lead_unit_staff:
        data["sector_id"] = None
    _check_binding(role, data.get("unit_id"), data.get("sector_id"), data.get("region_id"))
    _check_username_free(data.get("username"))
    if password:
        check_password(password, username=data.get("username"))
    user = User(**data)
    if password:
        user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user",
        user.id,
        "create",
        actor_id=actor.id if actor else None,
        after={"username": user.username} | _snapshot(user),
    )
    return user


def update_user(user: User, data: dict[str, Any], *, actor: User) -> User:
    """Change an account (city-wide office admins only). Setting `region_id` binds an
    office account to a region, null makes it city-wide again; an account that stops being
    an office loses its region. The audit event keeps the region before and after."""
    policy.check_manages_users(actor)
    data = dict(data)
    password = data.pop("password", None)
    before = _snapshot(user)
    _check_username_free(data.get("username"), user)
    if password:
        check_password(password, username=data.get("username", user.username))
    role = Role(data.get("role", user.role))
    if not policy.may_have_region(role) and "region_id" not in data:
        data["region_id"] = None  # no longer an office: no longer bound to a region
    # Checked before the change: a flush of a missing region would be a conflict, not a 422.
    _check_binding(
        role,
        data.get("unit_id", user.unit_id),
        data.get("sector_id", user.sector_id),
        data.get("region_id", user.region_id),
    )
    for key, value in data.items():
        setattr(user, key, value)
    _check_binding(user.role, user.unit_id, user.sector_id, user.region_id)
    if password:
        user.password_hash = hash_password(password)
        revoke_all_tokens(user)
    if not user.active:
        revoke_all_tokens(user)
    db.session.flush()
    audit.record(
        "user",
        user.id,
        "update",
        actor_id=actor.id,
        before=before,
        after=_snapshot(user),
    )
    return user


def revoke_all_tokens(user: User) -> None:
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# -- tokens -------------------------------------------------------------------------------


def issue_token(user: User, channel: str) -> tuple[str, ApiToken]:
    raw = secrets.token_urlsafe(32)
    ttl = timedelta(seconds=current_app.config["TOKEN_TTL_SECONDS"])
    token = ApiToken(
        user_id=user.id, token_hash=_digest(raw), channel=channel, expires_at=utcnow() + ttl
    )
    db.session.add(token)
    db.session.flush()
    return raw, token


# Built once: every authenticated request runs it, and building the statement cost more
# than running it (bench/submit.py).
_USER_FOR_TOKEN = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now"),
        User.active.is_(True),
    )
)


def user_for_token(raw: str) -> User | None:
    """The active user behind a live token, in one query."""
    return db.session.scalar(_USER_FOR_TOKEN, {"token_hash": _digest(raw), "now": utcnow()})


def revoke_token(raw: str) -> None:
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == _digest(raw), ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# -- sign-in ------------------------------------------------------------------------------


def sign_in_with_password(username: str, password: str) -> tuple[User, str, ApiToken]:
    """Check a password. Unknown, password-less, disabled and wrong all answer the same
    401 after the same work (one hash check), so the answer reveals neither which accounts
    exist nor whether a disabled account's password was right. Repeated failures are
    slowed down at the edge (api/throttle.py), never by locking the account."""
    user = db.session.scalar(select(User).where(User.username == username))
    stored = user.password_hash if user is not None and user.password_hash else None
    matches = check_password_hash(stored or _dummy_hash(), password)
    if not (matches and stored and user.active):
        raise errors.Unauthenticated("用户名或密码错误", type="urn:problem:bad-credentials")
    raw, token = issue_token(user, "password")
    return user, raw, token


def record_sign_in_throttled(
    *,
    scope: str,
    address: str,
    retry_after: int,
    username: str | None = None,
    openid: str | None = None,
) -> bool:
    """Note in a person's audit trail that sign-in attempts for them are being slowed
    down. False when the name belongs to nobody (nothing to note it on)."""
    column = User.username if username is not None else User.wechat_openid
    user_id = db.session.scalar(select(User.id).where(column == (username or openid)))
    if user_id is None:
        return False
    audit.record(
        "user",
        user_id,
        "sign_in_throttled",
        actor_id=None,
        after={"scope": scope, "address": address, "retry_after": retry_after},
    )
    return True


def issue_binding_code(user: User, *, actor: User) -> tuple[str, BindingCode]:
    """A new one-time code for `user`; any code of theirs still unused stops working, so
    only the code the office gave last can bind (a lost or leaked one dies with it). Codes
    for one person are issued one at a time (on the person's row), so the last is the one."""
    policy.check_manages_users(actor)
    lock_for_update(user)
    if not user.active:
        raise errors.Conflict("账号已停用，不能发放绑定码", type="urn:problem:account-disabled")
    revoked = _revoke_binding_codes(user)
    raw = "".join(secrets.choice(_BINDING_ALPHABET) for _ in range(10))
    ttl = timedelta(seconds=current_app.config["BINDING_CODE_TTL_SECONDS"])
    code = BindingCode(
        user_id=user.id, code_hash=_digest(raw), created_by_id=actor.id, expires_at=utcnow() + ttl
    )
    db.session.add(code)
    db.session.flush()
    audit.record(
        "user",
        user.id,
        "binding_code_issued",
        actor_id=actor.id,
        after={"earlier_codes_revoked": revoked},
    )
    return raw, code


def _revoke_binding_codes(user: User) -> int:
    now = utcnow()
    result = db.session.execute(
        update(BindingCode)
        .where(
            BindingCode.user_id == user.id,
            BindingCode.used_at.is_(None),
            BindingCode.revoked_at.is_(None),
            BindingCode.expires_at > now,
        )
        .values(revoked_at=now)
    )
    return result.rowcount


def unbind_wechat(user: User, *, actor: User) -> User:
    """Detach `user`'s WeChat account (a new phone, a person leaving a shared phone): their
    WeChat sign-ins end at once, and a new binding code lets them bind again."""
    policy.check_manages_users(actor)
    if user.wechat_openid is None:
        raise errors.Conflict("该账号未绑定微信", type="urn:problem:wechat-not-bound")
    user.wechat_openid = None
    db.session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user.id,
            ApiToken.channel == "wechat",
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    db.session.flush()
    audit.record(
        "user",
        user.id,
        "wechat_unbound",
        actor_id=actor.id,
        before={"wechat_bound": True},
        after={"wechat_bound": False},
    )
    return user


def sign_in_with_wechat(openid: str, binding_code: str | None) -> tuple[User, str, ApiToken]:
    """Sign in a known openid, or bind an unknown one with a one-time binding code."""
    user = db.session.scalar(select(User).where(User.wechat_openid == openid))
    if user is None:
        if not binding_code:
            raise errors.Forbidden(
                "该微信尚未绑定账号，请输入督查办发放的绑定码",
                type="urn:problem:wechat-binding-required",
            )
        user = _redeem_binding_code(binding_code.strip().upper(), openid)
    if not user.active:
        raise errors.Forbidden("账号已停用，请联系督查办")
    raw, token = issue_token(user, "wechat")
    return user, raw, token


def _redeem_binding_code(raw: str, openid: str) -> User:
    now = utcnow()
    # Claim the code atomically: of two concurrent redemptions only one updates the row.
    claimed = db.session.execute(
        update(BindingCode)
        .where(
            BindingCode.code_hash == _digest(raw),
            BindingCode.used_at.is_(None),
            BindingCode.revoked_at.is_(None),
            BindingCode.expires_at > now,
        )
        .values(used_at=now)
        .returning(BindingCode.user_id)
    ).scalar()
    if claimed is None:
        raise errors.InvalidInput(
            "绑定码无效、已使用或已过期，请向督查办重新申请",
            errors={"binding_code": ["绑定码无效、已使用或已过期"]},
        )
    user = db.session.get(User, claimed)
    if user.wechat_openid and user.wechat_openid != openid:
        raise errors.Conflict(
            "该账号已绑定其他微信，请联系督查办解绑", type="urn:problem:wechat-bound-elsewhere"
        )
    user.wechat_openid = openid
    db.session.flush()
    audit.record("user", user.id, "wechat_bound", actor_id=user.id)
    return user


def users_query(filters: dict[str, Any], *, actor: User):
    """The accounts `actor` may read (accounts.policy), filtered."""
    stmt = select(User).where(policy.user_filter(actor)).order_by(User.id)
    if filters.get("role"):
        stmt = stmt.where(User.role == filters["role"])
    if filters.get("unit_id"):
        stmt = stmt.where(User.unit_id == filters["unit_id"])
    if filters.get("region_id"):
        stmt = stmt.where(User.region_id == filters["region_id"])
    if filters.get("active") is not None:
        stmt = stmt.where(User.active.is_(filters["active"]))
    return stmt


def get_user(user_id: int, *, actor: User) -> User:
    """An account `actor` may read; another region's answers 404 like a missing one."""
    return policy.visible_user(user_id, actor)
