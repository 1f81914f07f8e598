"""Hostile bodies and query strings against every operation in the OpenAPI document:
never a 500.

For each operation that takes a JSON body, each property of its schema is sent alone with
values of the wrong shape, and so is each query parameter of each GET, as the office admin
(who passes every role check and so reaches the deepest code). Every answer must be a
2xx/3xx or a 4xx problem+json — never a 5xx.
"""

from __future__ import annotations

import json
import re

import pytest

from accounts.models import Role
from api.auth import route_methods
from tests.conftest import PASSWORD, assert_problem
from tests.test_policy_matrix import PARAMS

HOSTILE = [None, True, 5e-324, -1, 2**63, 10**25, 1.5, "", "x" * 5000, "\x00", [], {}, [{}]]
HOSTILE += ["../../etc", "\ud800", "a\udfffb", "名称\x00", {"\ud800": 1}, [[[[[[[[]]]]]]]]]


def _json_bytes(body) -> bytes:
    """As a client would send it: ASCII escapes, so lone surrogates survive the trip."""
    return json.dumps(body, ensure_ascii=True).encode()


def _is_failure(response) -> bool:
    return response.status_code >= 500 or (
        response.status_code >= 400 and response.mimetype != "application/problem+json"
    )


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
            response = office.open(
                url, method=method, data=_json_bytes(body), content_type="application/json"
            )
            if _is_failure(response):
                failures.append((method, path, body, response.status_code))
    assert not failures, failures[:10]


def _deep(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


# Bodies that are JSON, or nearly, and that the parser itself chokes on.
RAW_BODIES = {
    "deep arrays": "[" * 100_000 + "]" * 100_000,
    "deep objects": _deep(100_000),
    "moderately deep": _deep(900),
    "5000-digit integer": '{"a": ' + "7" * 5000 + "}",
    "5000-digit negative": "[-" + "7" * 5000 + "]",
    "long float": '{"a": 1' + "0" * 5000 + ".5}",
    "NaN": '{"a": NaN}',
    "invalid UTF-8": b'{"a": "\xff\xfe"}',
}


def test_bodies_the_parser_chokes_on_are_refused_with_a_reason(app, world, client_for):
    """Deep nesting and overlong numbers, sent to every JSON operation: a 4xx problem."""
    office = client_for(world.users[Role.office_admin])
    spec = office.get("/api/v1/openapi.json").get_json()
    failures = []
    for path, method, _ in _json_operations(spec):
        url = re.sub(r"\{([^}]+)\}", lambda m: str(PARAMS[m.group(1)].own(world)), path)
        for name, body in RAW_BODIES.items():
            response = office.open(url, method=method, data=body, content_type="application/json")
            if _is_failure(response) or response.status_code < 400:
                failures.append((method, path, name, response.status_code))
    assert not failures, failures[:10]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("[" * 100_000 + "]" * 100_000, "嵌套层数过多"),
        (_deep(40), "嵌套层数过多"),
        ('{"username": ' + "9" * 5000 + ', "password": "x"}', "数字位数过多"),
    ],
)
def test_unreadable_login_bodies_say_why(client, body, detail):
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert detail in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize("value", ["\ud800", "ad\udc00min", "ad\x00min"])
@pytest.mark.parametrize("field", ["username", "password"])
def test_unstorable_text_at_sign_in_names_the_field(client, field, value):
    body = {"username": "admin", "password": "whatever-password"} | {field: value}
    response = client.post(
        "/api/v1/auth/login", data=_json_bytes(body), content_type="application/json"
    )
    problem = assert_problem(response, 422)
    assert field in problem["errors"]["json"]
    assert "字符" in problem["detail"]


@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
def test_garbage_conditional_headers_are_not_a_server_error(app, world, client_for, header):
    office = client_for(world.users[Role.office_admin])
    response = office.patch(
        f"/api/v1/units/{world.unit_a.id}", json={"address": "x"}, headers={header: 'W/"\x7f,,"""'}
    )
    assert response.status_code < 500


HOSTILE_QUERY = ["", "x" * 5000, "\x00", "-1", "0", "2147483648", "1e309", "NaN", "1.5", "../"]
HOSTILE_QUERY += ["1" + "0" * 25, "9" * 5000, "²", "١٢", "%ud800", "\ufffd"]


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
                if _is_failure(response):
                    failures.append((path, name, value[:20], response.status_code))
    assert not failures, failures[:10]
    assert checked > 500  # every list's filters: a spec without them would test nothing


# Every query argument a console page reads, and more.
CONSOLE_ARGS = [
    "page", "per_page", "sector_id", "region_id", "unit_id", "plan_id", "inspector_id",
    "lead_unit_id", "template_id", "period", "view", "status", "kind", "severity", "flag",
    "overdue", "extension", "q", "next",
]  # fmt: skip
CONSOLE_HOSTILE = ["1" + "0" * 25, "1" + "0" * 23, "9" * 5000, "²", "-1", "0", "\x00", "x" * 5000]


def _console_client(app, user):
    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"username": user.username, "password": PASSWORD, "csrf_token": token}
    assert client.post("/console/login", data=form).status_code == 302
    return client


def console_pages(app, world) -> list[tuple[str, str]]:
    """(rule, url) of every console page a GET opens, with the world's own ids in it."""
    pages = []
    for rule, method, _ in route_methods(app):
        if method != "GET" or not rule.startswith("/console") or "static" in rule:
            continue
        url = re.sub(
            r"<(?:[^:>]+:)?([^>]+)>",
            lambda m: str(PARAMS[m.group(1)].own(world)) if m.group(1) in PARAMS else "1",
            rule,
        )
        pages.append((rule, url))
    return pages


def test_hostile_query_strings_on_console_pages(app, world):
    """Every console page: huge numbers (OverflowError on SQLite), digits int() refuses,
    NUL and long text, in every argument at once and in `page` alone: never a 5xx."""
    world.inspections  # noqa: B018 - pages with rows to show
    console = _console_client(app, world.users[Role.office_admin])
    failures, checked = [], 0
    for rule, url in console_pages(app, world):
        for value in CONSOLE_HOSTILE:
            for args in ({name: value for name in CONSOLE_ARGS}, {"page": value}):
                response = console.get(url, query_string=args)
                checked += 1
                if response.status_code >= 500:
                    failures.append((rule, value[:20], sorted(args)[:2], response.status_code))
    assert not failures, failures[:10]
    assert checked > 100
