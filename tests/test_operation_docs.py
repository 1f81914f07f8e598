"""What the OpenAPI document tells a client author about each operation, beyond its
schemas: who may call it, what it changes, how to retry it, examples of the mini program's
requests and answers, and the headers the answers carry (api/operation_docs.py,
api/examples.py)."""

from __future__ import annotations

import json

import pytest
from openapi_schema_validator import OAS30Validator

from accounts.models import ROLE_LABELS, Role
from api.auth import PUBLIC, policy_of
from api.operation_docs import CALLERS, CHANGES, GENERATED, RETRY, OperationNotes
from tests.openapi_support import document, operations, rules
from tests.openapi_support import response as resolve

# The operations of the mini program: the inspector's day, then the unit's.
INSPECTOR = [
    ("post", "/api/v1/auth/wechat"),
    ("get", "/api/v1/visits"),
    ("post", "/api/v1/inspections"),
    ("patch", "/api/v1/inspections/{inspection_id}/answers"),
    ("post", "/api/v1/inspections/{inspection_id}/submit"),
    ("post", "/api/v1/inspections/submissions"),
    ("post", "/api/v1/photos"),
    ("post", "/api/v1/photo-uploads"),
    ("post", "/api/v1/photos/{photo_id}/confirm"),
]
UNIT = [
    ("get", "/api/v1/rectification/tasks"),
    ("get", "/api/v1/rectification/tasks/{task_id}"),
    ("post", "/api/v1/rectification/tasks/{task_id}/replies"),
    ("post", "/api/v1/rectification/tasks/{task_id}/extensions"),
]
BODILESS = {("post", "/api/v1/photos/{photo_id}/confirm")}


@pytest.fixture(scope="module")
def spec(app_session):
    return document(app_session)


def _own_description(operation) -> str:
    """The view's own description: what comes before the generated lines."""
    text = operation.get("description", "")
    cut = min((text.find(marker) for marker in GENERATED if marker in text), default=len(text))
    return text[:cut].strip()


def test_every_operation_says_who_may_call_it_and_how_to_retry(app_session, spec):
    routes = rules(app_session)
    checked = 0
    for path, method, operation in operations(spec):
        where = (method, path)
        description = operation.get("description", "")
        assert CALLERS in description, where
        assert RETRY in description, where
        assert isinstance(operation["x-idempotent"], bool), where
        policy = policy_of(app_session, routes[path].endpoint, method)
        callers = description.split(CALLERS, 1)[1].split("\n", 1)[0]
        if policy == PUBLIC:
            assert operation["x-roles"] == ["public"], where
            assert "无需登录" in callers, where
        else:
            assert set(operation["x-roles"]) == {r.value for r in policy}, where
            for role in Role:  # each allowed role named in Chinese, no other
                assert (ROLE_LABELS[role] in callers) == (role in policy), (where, role)
        if method == "get":
            assert CHANGES in description, where
        # Each says in its own words what it does or changes (the view's docstring).
        assert len(_own_description(operation)) >= 5, where
        checked += 1
    assert checked > 90


def test_the_retry_rule_follows_the_method_the_key_and_the_mark(spec):
    ops = {(m, p): o for p, m, o in operations(spec)}
    for key, path in [
        ("client_uuid", "/api/v1/inspections"),
        ("client_uuid", "/api/v1/inspections/submissions"),
        ("client_id", "/api/v1/photos"),
        ("client_id", "/api/v1/photo-uploads"),
        ("client_id", "/api/v1/rectification/tasks/{task_id}/replies"),
        ("client_id", "/api/v1/rectification/tasks/{task_id}/extensions"),
    ]:
        operation = ops[("post", path)]
        assert f"idempotent by `{key}`" in operation["description"], path
        assert operation["x-idempotent"] is True
    reply = ops[("post", "/api/v1/rectification/tasks/{task_id}/replies")]["description"]
    assert "a replay is answered before it is looked at" in reply  # If-Match, first call only
    review = ops[("patch", "/api/v1/findings/{finding_id}")]["description"]
    assert "If-Match required" in review
    assert "412" in review
    wechat = ops[("post", "/api/v1/auth/wechat")]
    assert wechat["x-idempotent"] is False
    assert "wx.login" in wechat["description"]
    draw = ops[("post", "/api/v1/plans/{plan_id}/draws")]
    assert draw["x-idempotent"] is False
    visits = ops[("get", "/api/v1/visits")]
    assert visits["x-idempotent"] is True
    assert f"{CHANGES}无，只读" in visits["description"]
    ledger = ops[("get", "/api/v1/reports/ledgers/inspections.xlsx")]  # a GET that writes
    assert ledger["x-idempotent"] is False
    assert f"{CHANGES}记录一个导出任务" in ledger["description"]


def test_a_post_that_does_not_say_refuses_to_be_documented():
    notes = OperationNotes(api=None)
    with pytest.raises(RuntimeError, match="idempotent"):
        notes._retry("post", {"summary": "x"}, None)


def test_the_mini_programs_operations_carry_examples_that_fit_their_schemas(spec):
    ops = {(m, p): o for p, m, o in operations(spec)}
    for where in INSPECTOR + UNIT:
        operation = ops[where]
        if where[0] != "get" and where not in BODILESS:
            (media,) = operation["requestBody"]["content"].values()
            _validate(spec, media["schema"], media["example"], where)
        for code in {"200", "201"} & set(operation["responses"]):  # a replay's 200 too
            media = operation["responses"][code]["content"]["application/json"]
            _validate(spec, media["schema"], media["example"], (where, code))


def _validate(spec, schema, example, where):
    assert example, where
    validator = OAS30Validator({**schema, "components": spec["components"]})
    errors = [e.message for e in validator.iter_errors(json.loads(json.dumps(example)))]
    assert errors == [], (where, errors)


def test_etag_location_and_retry_after_are_documented(spec):
    ops = {(m, p): o for p, m, o in operations(spec)}
    for where, codes in [
        (("get", "/api/v1/inspections/{inspection_id}"), ["200"]),
        (("post", "/api/v1/inspections"), ["201", "200"]),
        (("post", "/api/v1/inspections/submissions"), ["201", "200"]),
        (("patch", "/api/v1/findings/{finding_id}"), ["200"]),
        (("get", "/api/v1/rectification/tasks/{task_id}"), ["200"]),
        (("post", "/api/v1/rectification/tasks/{task_id}/replies"), ["201", "200"]),
        (("get", "/api/v1/units/{unit_id}/checklist"), ["200"]),
    ]:
        for code in codes:
            assert "ETag" in ops[where]["responses"][code]["headers"], (where, code)
    assert "headers" not in ops[("post", "/api/v1/photos")]["responses"]["201"]
    ledger = ops[("get", "/api/v1/reports/ledgers/inspections.xlsx")]["responses"]["202"]
    assert "Location" in ledger["headers"]
    for path, method, operation in operations(spec):
        for code in ("429", "503"):
            response = operation["responses"].get(code)
            if response is None:
                continue
            assert "Retry-After" in resolve(spec, response)["headers"], (method, path, code)


def test_every_401_documents_its_challenge(spec):
    """Every 401 answer carries WWW-Authenticate (the sign-in's bad credentials too)."""
    seen = 0
    for path, method, operation in operations(spec):
        response = operation["responses"].get("401")
        if response is None:
            continue
        seen += 1
        assert "WWW-Authenticate" in resolve(spec, response)["headers"], (method, path)
    assert seen > 50
    assert "401" in spec["paths"]["/api/v1/auth/login"]["post"]["responses"]


def test_the_etag_sent_is_the_one_documented(spec, client_for, world):
    """The office reads a unit: the answer's ETag header is there, as documented."""
    office = client_for(world.users[Role.office_admin])
    answer = office.get(f"/api/v1/units/{world.unit_a.id}")
    assert answer.status_code == 200
    assert answer.headers["ETag"] == f'"{answer.get_json()["version"]}"'
    documented = spec["paths"]["/api/v1/units/{unit_id}"]["get"]["responses"]["200"]
    assert "ETag" in documented["headers"]
