"""Every route × every role, generated from the URL map.

For each API route and method: anonymous callers get 401 (unless the route is public),
roles outside the route's policy get 403, allowed roles asking for ids that do not exist
get 404, and roles scoped to one unit or sector asking for another's ids get 404 — the
same answer as for a missing object, so nothing leaks. A route with a URL parameter this
file does not know fails the test: register how to fill it in PARAMS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from accounts.models import Role
from api import create_app
from api.auth import PUBLIC, policy_of, route_methods
from tests.conftest import World, assert_problem

SCOPED = (Role.unit_staff, Role.lead_unit_staff)
MISSING_ID = 987654


@dataclass(frozen=True)
class Param:
    """How to fill one URL parameter: an object the caller may see, and optionally one
    that belongs to another unit and must look missing to the `scoped` roles."""

    own: Callable[[World], object]
    foreign: Callable[[World], object] | None = None
    scoped: tuple[Role, ...] = field(default=SCOPED)
    missing: object = MISSING_ID


PARAMS: dict[str, Param] = {
    "region_id": Param(own=lambda w: w.unit_a.region_id),
    "sector_id": Param(own=lambda w: w.sector_a.id),
    "lead_unit_id": Param(own=lambda w: w.lead_unit_a.id),
    "unit_id": Param(own=lambda w: w.unit_a.id, foreign=lambda w: w.unit_b.id),
    "user_id": Param(own=lambda w: w.users[Role.unit_staff].id),
    "task_id": Param(own=lambda w: w.task_a.id, foreign=lambda w: w.task_b.id),
    "extension_id": Param(own=lambda w: w.extension_a.id, foreign=lambda w: w.extension_b.id),
    "message_id": Param(own=lambda w: w.inbox_message_a.id, foreign=lambda w: w.inbox_message_b.id),
    "filename": Param(own=lambda w: "swagger-ui.css", missing="no-such-file.css"),
    # Inspections: B's objects were made by other inspectors, so the world's inspector
    # must not reach them either.
    "plan_id": Param(own=lambda w: w.inspections.plan.id),
    "visit_id": Param(
        own=lambda w: w.inspections.visit_a.id,
        foreign=lambda w: w.inspections.visit_b.id,
        scoped=(*SCOPED, Role.inspector),
    ),
    "inspection_id": Param(
        own=lambda w: w.inspections.inspection_a.id,
        foreign=lambda w: w.inspections.inspection_b.id,
        scoped=(*SCOPED, Role.inspector),
    ),
    "finding_id": Param(
        own=lambda w: w.inspections.finding_a.id,
        foreign=lambda w: w.inspections.finding_b.id,
        scoped=(*SCOPED, Role.inspector),
    ),
    "photo_id": Param(own=lambda w: w.photo_a.id, foreign=lambda w: w.photo_b.id),
    "token": Param(own=lambda w: "not-a-signed-token", missing="not-a-signed-token"),
    "template_id": Param(own=lambda w: w.checklist.template_id),
    "version_id": Param(own=lambda w: w.checklist.id),
    "section_code": Param(own=lambda w: "dress", missing="no-such-section"),
    "item_code": Param(own=lambda w: "dress.uniform", missing="no-such-item"),
}

# Routes outside the API's bearer-token policy (HTML console, static files) are covered
# by their own tests.
SKIP = re.compile(r"^/(static|console)/")

_app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
ROUTES = [
    (rule, method, _app.view_functions[endpoint] and endpoint)
    for rule, method, endpoint in route_methods(_app)
    if not SKIP.match(rule)
]
BODY_METHODS = {"POST", "PUT", "PATCH"}


def _params(rule: str) -> list[str]:
    return re.findall(r"<(?:[^:>]+:)?([^>]+)>", rule)


def _url(rule: str, values: dict[str, object]) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule)


def _call(client, method: str, url: str):
    kwargs = {"json": {}} if method in BODY_METHODS else {}
    return client.open(url, method=method, buffered=True, **kwargs)


def test_every_url_parameter_is_registered():
    unknown = {p for rule, _, _ in ROUTES for p in _params(rule)} - set(PARAMS)
    assert not unknown, f"register these URL parameters in PARAMS: {sorted(unknown)}"


@pytest.mark.parametrize(("rule", "method", "endpoint"), ROUTES, ids=lambda v: str(v))
def test_route_policy(rule, method, endpoint, app, world, client, client_for):
    policy = policy_of(app, endpoint, method)
    names = _params(rule)
    own_url = _url(rule, {n: PARAMS[n].own(world) for n in names})

    anonymous = _call(client, method, own_url)
    if policy == PUBLIC:
        assert anonymous.status_code != 401, f"public {method} {rule} asked for sign-in"
        return
    assert_problem(anonymous, 401)

    for role, user in world.users.items():
        signed_in = client_for(user)
        if role not in policy:
            assert_problem(_call(signed_in, method, own_url), 403)
            continue
        if not names:
            continue
        allowed_after_lookup = {404, 422} if method in BODY_METHODS else {404}
        missing_url = _url(rule, {n: PARAMS[n].missing for n in names})
        response = _call(signed_in, method, missing_url)
        assert response.status_code in allowed_after_lookup, (role, response.get_json())
        for name in names:
            param = PARAMS[name]
            if param.foreign is None or role not in param.scoped:
                continue
            values = {n: PARAMS[n].own(world) for n in names} | {name: param.foreign(world)}
            response = _call(signed_in, method, _url(rule, values))
            assert response.status_code in allowed_after_lookup, (
                f"{role} reached another unit's {name} via {method} {rule}",
                response.status_code,
            )
