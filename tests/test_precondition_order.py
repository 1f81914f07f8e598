"""Permission before precondition, on every route that checks If-Match.

A caller who may not change an object learns that (403, or 404 for what they may not
see) whatever If-Match they send: answering 412 to a stale header and 403 to the current
one would tell them the object's version, and invite them to fetch it and retry. Only
a caller who may make the change hears about the header: 428 without it (where it is
required), 412 when it is stale.

The routes are every API operation marked `@if_match` (api.etag); the actors, objects
and bodies are the policy matrix's (tests/test_policy_matrix.py), so a new If-Match route
is walked here as soon as the matrix knows it.
"""

from __future__ import annotations

import pytest

from api.auth import handler_of
from api.etag import DOC_KEY
from tests.conftest import assert_problem
from tests.test_policy_matrix import (
    ACTORS,
    EXPECT,
    ROUTES,
    SO,
    A,
    Caller,
    _app,
    _cells,
)

STALE = '"stale-etag"'


def _if_match_need(endpoint: str, method: str) -> str | None:
    return getattr(handler_of(_app, endpoint, method), "_apidoc", {}).get(DOC_KEY)


IF_MATCH_ROUTES = sorted(
    (method, rule, need)
    for rule, method, endpoint in ROUTES
    if rule.startswith(A) and (need := _if_match_need(endpoint, method))
)


def test_the_walk_knows_the_if_match_routes():
    """The walk below covers what the audit named, and every route it walks is in the
    policy matrix (which also proves each answers 2xx with the current ETag)."""
    names = {(m, r) for m, r, _ in IF_MATCH_ROUTES}
    for rule in ("plans/<int:plan_id>", "visits/<int:visit_id>", "regions/<int:region_id>"):
        assert ("PATCH", f"{A}/{rule}") in names
    assert names <= set(EXPECT)


# Objects an actor sees but may not change, which the matrix's own/foreign/missing cells
# do not meet: a town office reads the city plan's part in its region (and its visits),
# but the plan is the city office's to change (the audit's example).
SEEN_NOT_MINE = {
    SO: [
        ("PATCH", f"{A}/plans/<int:plan_id>", lambda w: {"plan_id": w.inspections.plan.id}),
        ("PATCH", f"{A}/visits/<int:visit_id>", lambda w: {"visit_id": w.inspections.visit_a.id}),
    ]
}


def _extra_cells(world, actor):
    for method, rule, values in SEEN_NOT_MINE.get(actor, []):
        yield method, rule, "seen, not theirs", (lambda v=values: v(world)), 403


@pytest.mark.parametrize("actor", ACTORS)
def test_permission_is_checked_before_if_match(actor, app, world, client_for):
    """For each If-Match route: an actor refused (403/404) is refused the same with a
    stale If-Match and without one; an allowed actor gets 412 for the stale one and, where
    the header is required, 428 without it."""
    caller = Caller(app, world, actor, client_for)
    failures = []
    needs = {(m, r): need for m, r, need in IF_MATCH_ROUTES}
    cells = [
        (method, rule, *cell)
        for method, rule, _ in IF_MATCH_ROUTES
        for cell in _cells(world, actor, method, rule)
    ]
    cells += [(m, r, *cell) for m, r, *cell in _extra_cells(world, actor)]
    for method, rule, what, values, wanted in cells:
        if wanted == "2xx":
            if what != "own":
                continue
            sends = {STALE: 412} | ({None: 428} if needs[(method, rule)] == "required" else {})
        else:
            sends = {STALE: wanted, None: wanted}
        for header, status in sends.items():
            caller.if_match = header
            response = caller.call(method, rule, values(), EXPECT[(method, rule)].query)
            try:
                assert_problem(response, status)
            except AssertionError:
                detail = response.get_data(as_text=True)[:160].replace("\n", " ")
                failures.append(
                    f"{actor} {method} {rule} [{what}, If-Match {header}]: "
                    f"{response.status_code}, want {status}: {detail}"
                )
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
