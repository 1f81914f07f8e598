"""Bad input of every kind gets a clear 4xx problem+json, never a 500 or a stack trace."""

import re

import pytest
from sqlalchemy import func, select

from api.auth import public, route_methods
from core.db import db
from org.models import Sector, Unit
from tests.conftest import assert_problem


@pytest.fixture
def unit_payload(world):
    return {
        "name": "新建的窗口单位",
        "sector_id": world.sector_a.id,
        "region_id": world.unit_a.region_id,
    }


def test_malformed_json(office):
    response = office.post(
        "/api/v1/units", data="{not json", headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]
    assert body["errors"] == {"json": ["请求体不是合法的 JSON：第 1 行第 2 列无法解析"]}


def _english(value) -> list[str]:
    """The texts of a problem that a Chinese reader would get in English: ASCII-only text
    with a word in it (codes such as `json` or a field name are keys, not texts)."""
    if isinstance(value, dict):
        return [text for inner in value.values() for text in _english(inner)]
    if isinstance(value, list):
        return [text for inner in value for text in _english(inner)]
    if isinstance(value, str) and value.isascii() and re.search("[A-Za-z]{2,}", value):
        return [value]
    return []


MALFORMED = [b"{not json", b"{}  x", rb'{"name": "\u', b"\xff\xfe{}", b"[1, 2]", b"null", b"7"]
BODY_ROUTES = [
    ("post", "/api/v1/units"),
    ("post", "/api/v1/sectors"),
    ("post", "/api/v1/plans"),
    ("post", "/api/v1/users"),
    ("post", "/api/v1/auth/login"),
]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: r[1])
@pytest.mark.parametrize("body", MALFORMED)
def test_a_malformed_body_is_answered_in_chinese(office, route, body):
    method, path = route
    response = getattr(office, method)(
        path, data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    problem = response.get_json()
    assert problem.get("errors") or body == b"\xff\xfe{}"  # not UTF-8: `detail` says so
    texts = {key: problem.get(key) for key in ("title", "detail", "errors")}
    assert not _english(texts), texts


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sector_id", "1"),
        ("sector_id", 1.5),
        ("sector_id", 5e-324),
        ("sector_id", True),
        ("latitude", "north"),
        ("name", 42),
        ("active", "yes please"),
    ],
)
def test_wrong_types(office, unit_payload, field, value):
    body = assert_problem(office.post("/api/v1/units", json=unit_payload | {field: value}), 422)
    assert field in body["errors"]["json"]
    assert db.session.query(Unit).filter_by(name="新建的窗口单位").count() == 0


def test_unknown_field(office, unit_payload):
    body = assert_problem(office.post("/api/v1/units", json=unit_payload | {"owner": "x"}), 422)
    assert body["errors"]["json"]["owner"] == ["未知字段"]


def test_missing_fields(office):
    body = assert_problem(office.post("/api/v1/units", json={}), 422)
    assert set(body["errors"]["json"]) == {"name", "sector_id", "region_id"}
    assert body["errors"]["json"]["name"] == ["必填字段"]


def test_unknown_query_parameter(office):
    body = assert_problem(office.get("/api/v1/units?colour=red"), 422)
    assert "colour" in body["errors"]["query"]


def test_ten_megabyte_body_is_refused(office):
    blob = '{"name": "' + "x" * (10 * 1024 * 1024) + '"}'
    response = office.post("/api/v1/units", data=blob, headers={"Content-Type": "application/json"})
    assert_problem(response, 413)


def test_wrong_method_says_what_is_allowed(office):
    response = office.delete("/api/v1/units")
    assert_problem(response, 405)
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
def test_a_body_that_is_not_json_is_unsupported(office, content_type):
    response = office.post("/api/v1/units", data="name=x", headers={"Content-Type": content_type})
    body = assert_problem(response, 415)
    assert "JSON" in body["detail"]


def test_unknown_url(office):
    assert_problem(office.get("/api/v1/no-such-thing"), 404)


def test_an_id_too_large_for_the_database_is_a_missing_resource(app, office):
    """Id columns are 32-bit: a longer number in any URL is 404, never a 500 from the
    database (SQLite overflows, PostgreSQL refuses the parameter)."""
    checked = 0
    for rule, method, _ in route_methods(app):
        if "<int:" not in rule:
            continue
        url = re.sub(r"<int:\w+>", str(2**31), rule)
        url = re.sub(r"<(?:\w+:)?\w+>", "x", url)
        response = office.open(url, method=method)
        assert response.status_code == 404, f"{method} {url}"
        if url.startswith("/api/"):
            assert_problem(response, 404)
        checked += 1
    assert checked > 50


def test_valid_request_still_works(office, unit_payload):
    response = office.post("/api/v1/units", json=unit_payload)
    assert response.status_code == 201
    assert response.get_json()["name"] == "新建的窗口单位"


def test_an_unexpected_error_is_a_problem_without_a_trace(make_app):
    app = make_app()

    @public
    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/v1/explode", "explode", explode)
    response = app.test_client().get("/api/v1/explode")
    body = assert_problem(response, 500)
    assert "secret internals" not in response.get_data(as_text=True)
    assert body["detail"]


def test_a_constraint_refusing_a_write_mid_request_is_a_conflict(make_app, world):
    """A flush inside a service that a constraint refuses (a race the service's checks
    could not see) is a 409 problem and leaves nothing behind, like one at commit."""
    app = make_app()

    @public
    def duplicate():
        db.session.add(Sector(code=world.sector_a.code, name="重复的领域"))
        db.session.flush()
        return {}

    app.add_url_rule("/api/v1/duplicate", "duplicate", duplicate, methods=["POST"])
    response = app.test_client().post("/api/v1/duplicate", json={})
    body = assert_problem(response, 409)
    assert "冲突" in body["detail"]
    assert db.session.scalar(select(func.count()).select_from(Sector)) == 2


def test_sqlite_runs_in_wal_mode(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("WAL is a SQLite setting")
    assert db.session.execute(db.text("PRAGMA journal_mode")).scalar() == "wal"
