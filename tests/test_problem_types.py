"""One registry of problem types (api/problems.py), one document of the errors.

A client branches on `type`: every URN the code can send must be registered (with its
status), every 409 must name its own, docs/errors.md must list them all, and the OpenAPI
document must describe every error as the problem+json that is really sent.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from accounts.models import Role
from api import problems
from api.auth import PUBLIC, policy_of
from tests.conftest import assert_problem
from tests.openapi_support import document, operations, rules
from tests.openapi_support import response as resolve

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    p
    for p in ROOT.iterdir()
    if p.is_dir() and (p / "__init__.py").exists() and p.name not in {"tests", "migrations"}
]
URN = re.compile(r"urn:problem:[a-z0-9-]+")


def _sources():
    for package in PACKAGES:
        yield from sorted(package.rglob("*.py"))


def test_every_urn_in_the_code_is_registered():
    used = {m for path in _sources() for m in URN.findall(path.read_text(encoding="utf-8"))}
    assert len(used) > 40
    assert used - set(problems.REGISTRY) == set()


def test_about_blank_is_gone():
    offenders = [p for p in _sources() if "about:blank" in p.read_text(encoding="utf-8")]
    assert offenders == [ROOT / "api" / "problems.py"]  # the fallback of an unknown status


def test_every_conflict_names_its_type():
    """A 409 without a type would be the generic one: a client could not tell it apart."""
    untyped = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name == "Conflict" and not any(k.arg == "type" for k in node.keywords):
                untyped.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert untyped == []


def test_409_types_are_distinct():
    conflicts = problems.of_status(409)
    assert len(conflicts) > 30
    assert len({p.title for p in conflicts}) == len(conflicts)


def test_every_status_has_a_generic_type():
    for status, urn in problems.GENERIC.items():
        assert problems.REGISTRY[urn].status == status


def test_docs_list_every_type():
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert problems.markdown_table() in text, "regenerate: python -m api.problems"


def test_an_unregistered_type_is_refused_under_testing(app):
    from api.errors import problem

    with app.test_request_context(), pytest.raises(RuntimeError, match="not in api/problems"):
        problem(409, "x", type_="urn:problem:made-up")


# -- the OpenAPI document --------------------------------------------------------------


@pytest.fixture(scope="module")
def spec(app_session):
    return document(app_session)


def test_the_document_is_valid_openapi(spec):
    validate(spec)


def test_every_error_is_documented_as_problem_json(spec):
    wrong = []
    for path, method, operation in operations(spec):
        for code, response in operation["responses"].items():
            if code == "default" or int(code) >= 400:
                content = resolve(spec, response).get("content", {})
                if list(content) != ["application/problem+json"]:
                    wrong.append((method, path, code, list(content)))
    assert wrong == []
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert problem["properties"]["status"]["type"] == "integer"
    assert set(problem["properties"]["type"]["enum"]) == set(problems.REGISTRY)


def test_statuses_follow_policy_and_path(app_session, spec):
    """Derived from each view, so a route added later is documented the same way."""
    routes = rules(app_session)
    checked = 0
    for path, method, operation in operations(spec):
        rule = routes[path]
        codes = set(operation["responses"])
        policy = policy_of(app_session, rule.endpoint, method)
        assert "503" in codes, (method, path)
        if policy != PUBLIC:
            assert "401" in codes, (method, path)
            assert ("403" in codes) == (set(policy) != set(Role)), (method, path)
        if rule.arguments:
            assert "404" in codes, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415", "422"} <= codes, (method, path)
        if method != "get":
            assert {"409", "422"} <= codes, (method, path)
        checked += 1
    assert checked > 80


def test_if_match_and_rate_limits_are_documented(spec):
    review = spec["paths"]["/api/v1/findings/{finding_id}"]["patch"]["responses"]
    assert {"412", "428"} <= set(review)
    login = spec["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert "429" in login
    assert "Retry-After" in resolve(spec, login["429"])["headers"]


def test_a_replay_documents_the_body_of_the_first_answer(spec):
    submit = spec["paths"]["/api/v1/inspections/submissions"]["post"]["responses"]
    assert submit["200"]["content"] == submit["201"]["content"]


def test_real_errors_match_the_documented_problem(spec, client, office, world):
    """What is sent validates against what is documented, for a few kinds of refusal."""
    schema = {"$ref": "#/components/schemas/Problem", "components": spec["components"]}
    validator = OAS30Validator(schema)
    answers = [
        assert_problem(client.get("/api/v1/auth/me"), 401),
        assert_problem(office.get("/api/v1/units/999999"), 404),
        assert_problem(office.post("/api/v1/units", json={}), 422),
        assert_problem(
            office.post("/api/v1/units", data="{", headers={"Content-Type": "application/json"}),
            400,
        ),
    ]
    for body in answers:
        validator.validate(json.loads(json.dumps(body)))
    assert [b["type"] for b in answers] == [
        "urn:problem:unauthenticated",
        "urn:problem:not-found",
        "urn:problem:invalid-input",
        "urn:problem:malformed-request",
    ]


def test_every_create_keyed_by_a_client_id_documents_one_replay_rule(spec):
    """201 for the first call, 200 with the same body for a replay (docs/api.md)."""
    keyed = []
    for path, method, operation in operations(spec):
        body = operation.get("requestBody", {}).get("content", {})
        for media in body.values():
            ref = media["schema"].get("$ref", "")
            schema = spec["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
            if {"client_id", "client_uuid"} & set(schema.get("required", [])):
                keyed.append((method, path))
                responses = operation["responses"]
                assert responses["200"]["content"] == responses["201"]["content"], path
    assert len(keyed) >= 7, keyed
