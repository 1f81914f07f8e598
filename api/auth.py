"""Who is calling, and the role half of the one permission policy.

Every view method carries a policy: `@requires(role, ...)` or `@public`. `create_app`
refuses to start when any API route lacks one, so a new route cannot skip the check.
The object half (a unit sees only its own rows; foreign ids answer 404) lives in each
domain's `policy.py` and is applied by the services the views call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

from flask import Flask, g, request

from accounts import service as accounts
from accounts.models import Role, User
from core import errors

POLICY_ATTR = "_policy"
PUBLIC = "public"

OFFICE = (Role.office_admin,)
OFFICE_READERS = (Role.office_admin, Role.viewer)
EVERYONE = tuple(Role)

# Routes flask-smorest and Flask add themselves: the API docs and static files.
BUILTIN_PUBLIC_ENDPOINTS = {
    "static",
    "console.static",
    "api-docs.openapi_json",
    "api-docs.openapi_swagger_ui",
}


def _mark(func: Callable, policy) -> Callable:
    setattr(func, POLICY_ATTR, policy)
    return func


def requires(*roles: Role) -> Callable:
    """Allow signed-in users with one of `roles`; 401 when not signed in, 403 otherwise."""
    allowed = frozenset(roles)
    if not allowed:
        raise ValueError("requires() needs at least one role; use @public for open routes")

    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            user = current_user(required=True)
            if user.role not in allowed:
                raise errors.Forbidden()
            return func(*args, **kwargs)

        return _mark(wrapper, allowed)

    return decorator


def public(func: Callable) -> Callable:
    """Open to anyone, signed in or not (sign-in itself, health)."""
    apidoc = func.__dict__.setdefault("_apidoc", {})
    apidoc.setdefault("manual_doc", {})["security"] = []
    return _mark(func, PUBLIC)


def current_user(*, required: bool = False) -> User | None:
    user = g.get("user")
    if user is None and required:
        raise errors.Unauthenticated()
    return user


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def load_user() -> None:
    """Resolve the bearer token once per request (one query)."""
    g.user = None
    raw = bearer_token()
    if raw:
        g.user = accounts.user_for_token(raw)


def handler_of(app: Flask, endpoint: str, method: str) -> Callable | None:
    """The function that answers one endpoint and method (a MethodView's method)."""
    view = app.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    return getattr(view_class, method.lower(), None) if view_class else view


def policy_of(app: Flask, endpoint: str, method: str):
    """The policy of one endpoint and method, or None when it has none."""
    if endpoint in BUILTIN_PUBLIC_ENDPOINTS:
        return PUBLIC
    return getattr(handler_of(app, endpoint, method), POLICY_ATTR, None)


def route_methods(app: Flask) -> Iterable[tuple[str, str, str]]:
    """(rule, method, endpoint) for every route, without HEAD/OPTIONS."""
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule.rule, method, rule.endpoint


def verify_policies(app: Flask) -> None:
    missing = [
        f"{method} {rule}"
        for rule, method, endpoint in route_methods(app)
        if policy_of(app, endpoint, method) is None
    ]
    if missing:
        raise RuntimeError("routes without a permission policy: " + ", ".join(missing))
