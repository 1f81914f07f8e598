"""A body of a type its route does not read is 415, on every API route, before any work.

The walk takes each operation's body types from the OpenAPI document (`requestBody`), not
from the code that enforces them (api/media_types.py), so the two cannot drift apart.
The 415 is answered before sign-in and before the id is looked up: the walk sends no
token and missing ids. The policy matrix proves the types each route reads still work.
"""

from __future__ import annotations

import io
import json
import re

import pytest

from api.auth import PUBLIC, policy_of
from tests.conftest import assert_problem
from tests.test_policy_matrix import PARAMS, ROUTES, _app, _params, _url

JSON, MULTIPART = "application/json", "multipart/form-data"
BODY_METHODS = {"POST", "PUT", "PATCH"}

API_BODY_ROUTES = sorted(
    (method, rule)
    for rule, method, _ in ROUTES
    if rule.startswith("/api/") and method in BODY_METHODS
)


# The folder backend's direct-upload target stands in for S3's presigned POST: not an API
# operation, so the docs describe no body for it; it reads a multipart form.
UNDOCUMENTED = {("POST", "/api/v1/media/uploads/<token>"): {MULTIPART}}


def _spec_types(spec: dict, method: str, rule: str) -> set[str]:
    if (method, rule) in UNDOCUMENTED:
        return UNDOCUMENTED[(method, rule)]
    path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)
    operation = spec["paths"][path][method.lower()]
    return set(operation.get("requestBody", {}).get("content", {})) or {JSON}  # none: `{}`


def _missing_url(rule: str) -> str:
    return _url(rule, {p: PARAMS[p].missing for p in _params(rule)})


def _multipart(client, method, url):
    form = {"name": "x", "file": (io.BytesIO(b"abc"), "a.csv")}
    return client.open(url, method=method, data=form, content_type=MULTIPART)


def _json(client, method, url, content_type=JSON, body=b'{"name": "x"}'):
    return client.open(url, method=method, data=body, content_type=content_type)


@pytest.fixture(scope="module")
def spec():
    return _app.test_client().get("/api/v1/openapi.json").get_json()


def test_the_walk_covers_the_named_routes():
    for route in [
        ("POST", "/api/v1/sectors"),
        ("POST", "/api/v1/photos"),
        ("POST", "/api/v1/units/import"),
        ("POST", "/api/v1/auth/login"),
    ]:
        assert route in API_BODY_ROUTES


@pytest.mark.parametrize(("method", "rule"), API_BODY_ROUTES)
def test_a_body_of_another_type_is_unsupported(method, rule, client, spec):
    """JSON routes refuse multipart, form-encoded and text bodies; multipart routes refuse
    JSON; each names what it reads. Public routes (sign-in) alike."""
    url = _missing_url(rule)
    reads = _spec_types(spec, method, rule)
    wrong = []
    if JSON in reads:
        wrong.append(_multipart(client, method, url))
        wrong.append(_json(client, method, url, "application/x-www-form-urlencoded", b"a=b"))
        wrong.append(_json(client, method, url, "text/plain"))
    if MULTIPART in reads:
        wrong.append(_json(client, method, url))
    assert wrong, (method, rule, reads)
    for response in wrong:
        body = assert_problem(response, 415)
        assert body["type"] == "urn:problem:unsupported-media-type"
        assert ("JSON" if JSON in reads else "multipart/form-data") in body["detail"]


@pytest.mark.parametrize(("method", "rule"), API_BODY_ROUTES)
def test_json_is_utf8_whatever_the_charset_says(method, rule, client, spec):
    if JSON not in _spec_types(spec, method, rule):
        pytest.skip("not a JSON route")
    url = _missing_url(rule)
    for charset in ("latin1", "ISO-8859-1", "utf-16", "gbk"):
        response = _json(client, method, url, f"application/json; charset={charset}")
        assert "UTF-8" in assert_problem(response, 415)["detail"], charset
    # utf-8 spelled any way is what it is anyway: it reaches the route (401 signed out).
    for charset in ("utf-8", "UTF-8", "utf8"):
        response = _json(client, method, url, f"application/json; charset={charset}")
        expected = 401 if policy_of(_app, _endpoint(method, rule), method) != PUBLIC else None
        assert response.status_code != 415
        if expected:
            assert_problem(response, expected)


def _endpoint(method: str, rule: str) -> str:
    return next(e for r, m, e in ROUTES if r == rule and m == method)


def test_a_utf16_body_is_refused_by_its_encoding(office):
    """Python's JSON reader would guess UTF-16 from the bytes; the API reads UTF-8 only."""
    body = json.dumps({"code": "tax", "name": "税务"}, ensure_ascii=False)
    for encoded in (body.encode("utf-16"), body.encode("utf-16-le"), body.encode("gbk")):
        response = office.post("/api/v1/sectors", data=encoded, content_type=JSON)
        assert "UTF-8" in assert_problem(response, 400)["detail"]


def test_merge_patch_is_read_as_json_and_json_patch_is_not(office, world):
    """Our PATCH bodies are merge patches (RFC 7396); a JSON Patch (RFC 6902) is a list
    of operations the API would misread, so it is refused by its type."""
    url = f"/api/v1/units/{world.unit_a.id}"
    etag = office.get(url).headers["ETag"]
    patch = json.dumps({"address": "合并补丁的地址"})
    ops = json.dumps([{"op": "replace", "path": "/address", "value": "x"}])
    headers = {"If-Match": etag}
    refused = office.patch(
        url, data=ops, content_type="application/json-patch+json", headers=headers
    )
    assert_problem(refused, 415)
    taken = office.patch(
        url, data=patch, content_type="application/merge-patch+json", headers=headers
    )
    assert taken.status_code == 200, taken.get_json()
    assert taken.get_json()["address"] == "合并补丁的地址"


def test_reads_and_bodiless_writes_are_not_checked(office, world):
    assert office.get("/api/v1/units").status_code == 200
    # GET and DELETE without a body, whatever Content-Type a client library sets
    assert office.get("/api/v1/units", headers={"Content-Type": "text/plain"}).status_code == 200
    assert office.post("/api/v1/inbox/read-all", content_type="text/plain").status_code == 200
    # a bodiless action given `{}` takes it (and ignores it)
    assert office.post("/api/v1/inbox/read-all", json={}).status_code == 200


def test_the_console_forms_are_not_the_apis(app, world):
    """The console posts application/x-www-form-urlencoded to /console: not checked here
    (a sign-in form with a wrong password answers the login page, not a 415)."""
    response = app.test_client().post(
        "/console/login", data={"username": "nobody", "password": "wrong"}
    )
    assert response.status_code != 415
