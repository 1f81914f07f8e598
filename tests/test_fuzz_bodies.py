"""Hostile bodies and query strings against every operation in the OpenAPI document:
never a 500.

For each operation that takes a JSON body, each property of its schema is sent alone with
values of the wrong shape, and so is each query parameter of each GET, as the office admin
(who passes every role check and so reaches the deepest code). Every answer must be a
2xx/3xx or a 4xx problem+json — never a 5xx.
"""

from __future__ import annotations

import re

import pytest

from accounts.models import Role
from tests.test_policy_matrix import PARAMS

HOSTILE = [None, True, 5e-324, -1, 2**63, 1.5, "", "x" * 5000, "\x00", [], {}, [{}], "../../etc"]


def _json_operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in {"post", "put", "patch", "delete"}:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                yield path, method.upper(), body["schema"]


def _properties(spec, schema):
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return list(schema.get("properties", {}))


def test_hostile_json_bodies_never_cause_a_server_error(app, world, client_for):
    office = client_for(world.users[Role.office_admin])
    spec = office.get("/api/v1/openapi.json").get_json()
    failures = []
    for path, method, schema in _json_operations(spec):
        url = re.sub(r"\{([^}]+)\}", lambda m: str(PARAMS[m.group(1)].own(world)), path)
        bodies = [[], "text", 0, None] + [
            {prop: value} for prop in _properties(spec, schema) for value in HOSTILE
        ]
        for body in bodies:
            response = office.open(url, method=method, json=body)
            if response.status_code >= 500 or (
                response.status_code >= 400 and response.mimetype != "application/problem+json"
            ):
                failures.append((method, path, body, response.status_code))
    assert not failures, failures[:10]


@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
def test_garbage_conditional_headers_are_not_a_server_error(app, world, client_for, header):
    office = client_for(world.users[Role.office_admin])
    response = office.patch(
        f"/api/v1/units/{world.unit_a.id}", json={"address": "x"}, headers={header: 'W/"\x7f,,"""'}
    )
    assert response.status_code < 500


HOSTILE_QUERY = ["", "x" * 5000, "\x00", "-1", "0", "2147483648", "1e309", "NaN", "1.5", "../"]


def test_hostile_query_strings_never_cause_a_server_error(app, world, client_for):
    """Each query parameter of each GET operation, alone, with values of the wrong shape."""
    office = client_for(world.users[Role.office_admin])
    spec = office.get("/api/v1/openapi.json").get_json()
    failures, checked = [], 0
    for path, item in spec["paths"].items():
        names = [
            p["name"] for p in item.get("get", {}).get("parameters", []) if p.get("in") == "query"
        ]
        url = re.sub(r"\{([^}]+)\}", lambda m: str(PARAMS[m.group(1)].own(world)), path)
        for name in names:
            for value in HOSTILE_QUERY:
                response = office.get(url, query_string={name: value})
                checked += 1
                if response.status_code >= 500 or (
                    response.status_code >= 400 and response.mimetype != "application/problem+json"
                ):
                    failures.append((path, name, value[:20], response.status_code))
    assert not failures, failures[:10]
    assert checked > 500  # every list's filters: a spec without them would test nothing
