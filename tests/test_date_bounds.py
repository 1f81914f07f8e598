"""Dates and times at the edges of the calendar: refused where they enter, never a 500.

Every date and date-time the API takes (body fields, form fields and query parameters,
found in the OpenAPI document) is sent with values at the calendar's edges, where
converting them to UTC or to the city's day overflows; each must be a 4xx problem naming
the field. Then the chains an audit found broken end to end: a plan drawn at the edge of
the window, a check-in stored at year 1 that broke its submission and photos, date filters
in the API and in the console.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from accounts.models import Role
from core.clock import DISPLAY_TZ, local, utcnow
from core.db import db
from inspections.models import Inspection, Visit
from tests import images
from tests.conftest import assert_problem
from tests.inspection_helpers import ALL_PASS, PHOTOS, check_in, publish_checklist
from tests.media_helpers import multipart
from tests.test_draw import plan_body, pool  # noqa: F401 - the pool fixture
from tests.test_fuzz_bodies import _console_client, console_pages
from tests.test_policy_matrix import PARAMS

EDGE_DATES = ["0001-01-01", "1899-12-31", "1999-12-31", "2100-01-01", "9999-12-31"]
EDGE_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00+08:00",
    "0001-01-01T00:00:00Z",
    "1899-12-31T12:00:00+08:00",
    "1999-12-31T15:59:59Z",  # 1999-12-31 23:59:59 in Beijing
    "2099-12-31T23:59:59-14:00",  # 2100-01-01 in Beijing
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59+00:00",
]
# The first and last moments of the window: a field that refuses them is too strict.
INSIDE = {
    "date": ["2000-01-01", "2099-12-31"],
    "date-time": ["2000-01-01T00:00:00+08:00", "2099-12-31T15:59:59Z"],
}
EDGES = {"date": EDGE_DATES, "date-time": EDGE_TIMES}
# Who reaches each operation's arguments: the first of these its role check lets in.
ROLES = (Role.office_admin, Role.inspector, Role.unit_staff)
PHOTO = images.jpeg(32, 24)


def _date_properties(spec, schema, path=(), seen=()) -> list[tuple[tuple[str, ...], str]]:
    """(path, format) of every date or date-time a client may send in `schema`."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        return _date_properties(spec, spec["components"]["schemas"][name], path, (*seen, name))
    found = []
    if schema.get("format") in EDGES and not schema.get("readOnly"):
        found.append((path, schema["format"]))
    for name, inner in schema.get("properties", {}).items():
        found += _date_properties(spec, inner, (*path, name), seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for inner in schema.get(key, []):
            found += _date_properties(spec, inner, path, seen)
    return found


def _date_inputs(spec) -> list[tuple[str, str, str, tuple[str, ...], str]]:
    """(method, path, where, field path, format) for every date input in the document."""
    inputs = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            for param in op.get("parameters", []):
                fmt = param.get("schema", {}).get("format")
                if param.get("in") == "query" and fmt in EDGES:
                    inputs.append((method.upper(), path, "query", (param["name"],), fmt))
            for content, body in op.get("requestBody", {}).get("content", {}).items():
                where = "form" if content.startswith("multipart/") else "json"
                for field, fmt in _date_properties(spec, body["schema"]):
                    inputs.append((method.upper(), path, where, field, fmt))
    return inputs


def _nested(field: tuple[str, ...], value: str) -> dict[str, Any]:
    body: Any = value
    for name in reversed(field):
        body = {name: body}
    return body


def _send(client, method, url, where, field, value):
    if where == "query":
        return client.open(url, method=method, query_string={field[0]: value})
    if where == "form":
        form = {field[0]: value}
        return client.open(url, method=method, **multipart(form, PHOTO, "image/jpeg"))
    # A change names the version it read, as a client would: the object's ETag.
    etag = client.get(url).headers.get("ETag") if method == "PATCH" else None
    headers = {"If-Match": etag} if etag else {}
    return client.open(url, method=method, json=_nested(field, value), headers=headers)


def _names(problem: dict, field: tuple[str, ...]) -> bool:
    """The problem's `errors` name the field, under its location or at the top level
    (the services name a nested field by its dotted path)."""
    errors = problem.get("errors") or {}
    if ".".join(field) in errors:
        return True
    for located in errors.values():
        node = located
        for name in field:
            if not isinstance(node, dict) or name not in node:
                break
            node = node[name]
        else:
            return True
    return False


def test_every_date_input_refuses_the_edges_of_the_calendar(app, world, client_for):
    clients = {role: client_for(world.users[role]) for role in ROLES}
    spec = clients[Role.office_admin].get("/api/v1/openapi.json").get_json()
    inputs = _date_inputs(spec)
    assert len(inputs) >= 25, inputs  # a document without them would test nothing
    failures = []
    for method, path, where, field, fmt in inputs:
        url = re.sub(r"\{([^}]+)\}", lambda m: str(PARAMS[m.group(1)].own(world)), path)
        for value in EDGES[fmt] + INSIDE[fmt]:
            try:
                for role in ROLES:
                    response = _send(clients[role], method, url, where, field, value)
                    if response.status_code != 403:
                        break
            except Exception as exc:  # the test client raises what would be a 500
                db.session.rollback()
                failures.append((method, path, ".".join(field), value, repr(exc)))
                continue
            label = (method, path, ".".join(field), value, response.status_code)
            if response.status_code >= 500:
                failures.append((*label, "server error"))
                continue
            problem = response.status_code >= 400 and response.mimetype == (
                "application/problem+json"
            )
            named = problem and _names(response.get_json(), field)
            if value in INSIDE[fmt]:
                if named:
                    failures.append((*label, "refused inside the window", response.get_json()))
            elif not named:
                failures.append((*label, "not refused by name", response.get_data()[:300]))
            elif "2000" not in str(response.get_json()["errors"]):
                failures.append((*label, "message does not give the window"))
    assert not failures, "\n".join(map(str, failures[:60]))


# -- plans --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01", "0001-01-02"),
        ("9999-12-30", "9999-12-31"),
        ("0001-01-01", "9999-12-31"),
        ("1999-12-31", "2000-01-05"),
    ],
)
def test_a_plan_period_outside_the_window_is_refused(office, pool, start, end):  # noqa: F811
    units, inspectors = pool
    body = plan_body(units, inspectors, period_start=start, period_end=end)
    problem = assert_problem(office.post("/api/v1/plans", json=body), 422)
    assert {"period_start", "period_end"} & problem["errors"]["json"].keys()
    assert "2000" in str(problem["errors"])


def test_a_plan_period_is_at_most_a_year(office, pool):  # noqa: F811
    units, inspectors = pool
    leap_year = plan_body(units, inspectors, period_start="2028-01-01", period_end="2028-12-31")
    made = office.post("/api/v1/plans", json=leap_year)
    assert made.status_code == 201, made.get_json()
    longer = plan_body(units, inspectors, period_start="2028-01-01", period_end="2029-01-01")
    problem = assert_problem(office.post("/api/v1/plans", json=longer), 422)
    assert "366" in str(problem["errors"]["period_end"])
    # A change that stretches a stored plan is held to the same rule.
    plan = made.get_json()
    stretched = office.patch(
        f"/api/v1/plans/{plan['id']}",
        json={"period_end": "2029-06-30"},
        headers={"If-Match": made.headers["ETag"]},
    )
    assert "period_end" in assert_problem(stretched, 422)["errors"]


@pytest.mark.parametrize("windows", ["drawn", "period"])
@pytest.mark.parametrize(
    ("start", "end"), [("2000-01-01", "2000-01-07"), ("2099-12-25", "2099-12-31")]
)
def test_plans_at_the_ends_of_the_window_draw_publish_and_reassign(
    office,
    pool,  # noqa: F811
    start,
    end,
    windows,
):
    units, inspectors = pool
    body = plan_body(units, inspectors, period_start=start, period_end=end, visit_windows=windows)
    made = office.post("/api/v1/plans", json=body)
    assert made.status_code == 201, made.get_json()
    plan_id = made.get_json()["id"]
    drawn = office.post(f"/api/v1/plans/{plan_id}/draws", json={"seed": "edge"})
    assert drawn.status_code == 201, drawn.get_json()
    visit = db.session.scalar(db.select(Visit).where(Visit.plan_id == plan_id).limit(1))
    assert local(visit.window_start).date() >= date.fromisoformat(start)
    assert local(visit.window_end - timedelta(seconds=1)).date() <= date.fromisoformat(end)
    shown = office.get(f"/api/v1/visits/{visit.id}")
    assert shown.status_code == 200
    if start.startswith("2000"):  # the period is over: the draw can be published
        published = office.post(f"/api/v1/plans/{plan_id}/publish")
        assert published.status_code == 200, published.get_json()
    moved = office.patch(
        f"/api/v1/visits/{visit.id}",
        json={"window_start": "9999-12-31T23:00:00-14:00", "window_end": "9999-12-31T23:59:59Z"},
        headers={"If-Match": shown.headers["ETag"]},
    )
    assert moved.status_code < 500
    assert moved.status_code in (409, 422), moved.get_json()


# -- check-in, submission, photos ---------------------------------------------------------


@pytest.fixture
def inspector(world, client_for):
    publish_checklist()
    db.session.commit()
    return client_for(world.users[Role.inspector])


def _start(client, unit, at: str, path: str = "/api/v1/inspections", **extra):
    body = {"client_uuid": str(uuid.uuid4()), "unit_id": unit.id} | extra
    body["check_in"] = check_in(unit) | {"at": at}
    return client.post(path, json=body)


@pytest.mark.parametrize("path", ["/api/v1/inspections", "/api/v1/inspections/submissions"])
@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00+08:00",
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00Z",
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_a_check_in_time_outside_the_window_is_refused(world, inspector, path, at):
    extra = {"answers": ALL_PASS} if path.endswith("submissions") else {}
    problem = assert_problem(_start(inspector, world.unit_b, at, path, **extra), 422)
    assert _names(problem, ("check_in", "at")), problem


def test_a_check_in_long_ago_is_refused_and_a_recent_one_is_kept(app, world, inspector):
    days = app.config["CHECKIN_MAX_AGE_DAYS"]
    too_old = (utcnow() - timedelta(days=days, minutes=1)).isoformat()
    problem = assert_problem(_start(inspector, world.unit_b, too_old), 422)
    assert str(days) in str(problem["errors"]["check_in.at"])
    recent = (utcnow() - timedelta(days=days - 1)).replace(microsecond=0)
    made = _start(inspector, world.unit_b, recent.isoformat())
    assert made.status_code == 201, made.get_json()
    assert datetime.fromisoformat(made.get_json()["started_at"]) == recent


def _photo(client, inspection_id: int, *, taken_at: str | None = None, exif=None):
    form = {
        "client_id": str(uuid.uuid4()),
        "owner_type": "inspection",
        "owner_id": str(inspection_id),
        "item_code": "video.working",
    } | ({"taken_at": taken_at} if taken_at else {})
    content = images.encode(images.picture(64, 48), exif=exif) if exif is not None else PHOTO
    return client.post("/api/v1/photos", **multipart(form, content, "image/jpeg"))


@pytest.mark.usefixtures("empty_photo_folder")
def test_a_check_in_at_the_window_s_first_moment_submits_and_takes_photos(world, inspector):
    """Years from the check-in reach the rollups' months and the photos' session checks:
    the window's first moment (stored before the age rule, or by a longer setting) must
    pass through both, as year 1 did not."""
    started = _start(inspector, world.unit_b, utcnow().isoformat())
    assert started.status_code == 201, started.get_json()
    inspection = db.session.get(Inspection, started.get_json()["id"])
    inspection.started_at = datetime(2000, 1, 1, tzinfo=DISPLAY_TZ)
    db.session.commit()
    submitted = inspector.post(
        f"/api/v1/inspections/{inspection.id}/submit",
        json={"answers": ALL_PASS, "photos": PHOTOS},
        headers={"If-Match": started.headers["ETag"]},
    )
    assert submitted.status_code == 200, submitted.get_json()
    photo = _photo(inspector, inspection.id, taken_at="2099-12-31T15:59:59Z")
    assert photo.status_code == 201, photo.get_json()
    assert "outside_session" in photo.get_json()["flags"]


@pytest.mark.usefixtures("empty_photo_folder")
@pytest.mark.parametrize("taken_at", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+08:00"])
def test_a_photo_time_outside_the_window_is_refused(world, inspector, taken_at):
    started = _start(inspector, world.unit_b, utcnow().isoformat())
    problem = assert_problem(_photo(inspector, started.get_json()["id"], taken_at=taken_at), 422)
    assert _names(problem, ("taken_at",)), problem


@pytest.mark.usefixtures("empty_photo_folder")
@pytest.mark.parametrize(
    ("taken", "offset"),
    [
        ("0001:01:01 00:00:00", None),  # read as Beijing time: before year 1 in UTC
        ("9999:12:31 23:59:59", "-14:00"),
        ("1999:12:31 23:59:59", "+08:00"),
    ],
    ids=["year-1", "year-9999", "1999"],
)
def test_a_camera_clock_outside_the_window_is_no_time_at_all(world, inspector, taken, offset):
    """EXIF is what the camera wrote, not a field the client fills: a time outside the
    window is read as none (the upload is kept), never a failed conversion."""
    started = _start(inspector, world.unit_b, utcnow().isoformat())
    exif = images.exif_for()
    exif.get_ifd(0x8769).update({0x9003: taken} | ({0x9011: offset} if offset else {}))
    photo = _photo(inspector, started.get_json()["id"], exif=exif)
    assert photo.status_code == 201, photo.get_json()
    assert photo.get_json()["exif_taken_at"] is None


# -- date filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "args"),
    [
        ("/api/v1/inspections", {"date_from": "0001-01-01"}),
        ("/api/v1/inspections", {"date_to": "9999-12-31"}),
        ("/api/v1/reports/ledgers/inspections.xlsx", {"date_from": "0001-01-01"}),
        ("/api/v1/reports/ledgers/rectification.xlsx", {"due_to": "9999-12-31"}),
        (
            "/api/v1/reports/rankings",
            {"period": "custom", "date_from": "9999-12-30", "date_to": "9999-12-31"},
        ),
        (
            "/api/v1/reports/rankings",
            {"period": "custom", "date_from": "0001-01-01", "date_to": "0001-01-31"},
        ),
        (
            "/api/v1/reports/circular",
            {"period": "custom", "date_from": "9999-01-01", "date_to": "9999-12-30"},
        ),
    ],
)
def test_date_filters_outside_the_window_are_refused(world, office, path, args):
    problem = assert_problem(office.get(path, query_string=args), 422)
    assert set(problem["errors"]["query"]) & {"date_from", "date_to", "due_to"}


@pytest.mark.parametrize(
    "args",
    [
        {"period": "custom", "date_from": "2099-12-01", "date_to": "2099-12-31"},
        {"period": "custom", "date_from": "2000-01-01", "date_to": "2000-01-31"},
        {"period": "year", "year": "2000"},
        {"period": "year", "year": "2099"},
    ],
)
@pytest.mark.parametrize("report", ["rankings", "circular"])
def test_reports_at_the_ends_of_the_window(world, office, args, report):
    """A period at the window's edge compares with the one before it (in 1999) or runs to
    its last day: both are only dates, never a conversion that overflows."""
    world.inspections  # noqa: B018 - rows to rank
    response = office.get(f"/api/v1/reports/{report}", query_string=args)
    assert response.status_code == 200, response.get_data()[:300]


EDGE_FILTERS = ["0001-01-01", "9999-12-31", "9999-12-30", "1899-12-31"]


def test_console_pages_ignore_date_filters_outside_the_window(app, world):
    """Every console page, every date argument it reads: never a 5xx (a bad filter is
    ignored, as a bad page number is)."""
    world.inspections  # noqa: B018 - pages with rows to show
    console = _console_client(app, world.users[Role.office_admin])
    failures, checked = [], 0
    for rule, url in console_pages(app, world):
        for value in EDGE_FILTERS:
            for period in ("custom", "month"):
                args = {"period": period, "date_from": value, "date_to": value}
                args |= {"due_from": value, "due_to": value}
                response = console.get(url, query_string=args)
                checked += 1
                if response.status_code >= 500:
                    failures.append((rule, value, period, response.status_code))
    assert not failures, failures[:10]
    assert checked > 50


@pytest.mark.parametrize(
    ("path", "args"),
    [
        ("/console/inspections", {"date_from": "0001-01-01"}),
        ("/console/inspections", {"date_to": "9999-12-31"}),
        ("/console/tasks", {"date_from": "0001-01-01"}),
        (
            "/console/rankings",
            {"period": "custom", "date_from": "9999-12-30", "date_to": "9999-12-31"},
        ),
        (
            "/console/rankings",
            {"period": "custom", "date_from": "0001-01-01", "date_to": "0001-01-02"},
        ),
    ],
)
def test_console_filters_outside_the_window_show_the_page(app, world, path, args):
    world.inspections  # noqa: B018
    console = _console_client(app, world.users[Role.office_admin])
    response = console.get(path, query_string=args)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # The period shown is not theirs.
    assert "9999年" not in page
    assert "1年1月" not in page
