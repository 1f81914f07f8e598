"""Office lists: filters, pagination, and a constant number of SQL statements per page."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event

from accounts.models import Role
from api import pagination
from core.clock import utcnow
from core.db import db
from inspections.models import (
    Finding,
    FindingStatus,
    Inspection,
    InspectionStatus,
    VisitKind,
)
from tests.inspection_helpers import make_visit, publish_checklist

N = 60


@pytest.fixture
def many(world, make_unit, make_user):
    """N inspections over three units and two inspectors, every third with a finding,
    every other published; plus one visit per inspector's team."""
    version = publish_checklist()
    units = [world.unit_a, world.unit_b, make_unit(sector_id=world.sector_a.id)]
    inspectors = [world.users[Role.inspector], make_user(Role.inspector)]
    visits = [make_visit(world.unit_a, inspectors, kind=VisitKind.announced) for _ in range(3)]
    now = utcnow()
    for i in range(N):
        inspection = Inspection(
            client_uuid=uuid.uuid4(),
            unit_id=units[i % 3].id,
            kind=VisitKind.unannounced,
            ad_hoc=True,
            inspector_id=inspectors[i % 2].id,
            checklist_version_id=version.id,
            status=InspectionStatus.published if i % 2 else InspectionStatus.submitted,
            started_at=now - timedelta(days=i),
            submitted_at=now - timedelta(days=i),
            score=float(100 - i),
            max_score=100.0,
            grade="合格",
            findings_count=1 if i % 3 == 0 else 0,
        )
        if i % 3 == 0:
            inspection.findings.append(
                Finding(
                    unit_id=inspection.unit_id,
                    item_code="smoke.none",
                    severity="major",
                    status=FindingStatus.confirmed,
                )
            )
        db.session.add(inspection)
    db.session.commit()
    return units, inspectors, visits


@contextmanager
def counting():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.mark.parametrize("role", [Role.office_admin, Role.inspector, Role.unit_staff])
@pytest.mark.parametrize("path", ["/api/v1/inspections", "/api/v1/findings", "/api/v1/visits"])
def test_queries_per_list_request_do_not_grow_with_the_page(role, path, world, many, client_for):
    client = client_for(world.users[role])
    counts = {}
    for per_page in (5, 50):
        with counting() as statements:
            response = client.get(f"{path}?per_page={per_page}")
        assert response.status_code == 200
        assert len(response.get_json()["items"]) <= per_page
        counts[per_page] = len(statements)
    assert counts[5] == counts[50], counts
    assert counts[50] <= 5, counts  # token, count, page (+ the team of each visit, at once)


def test_a_full_page_is_really_full(world, many, client_for):
    body = client_for(world.users[Role.office_admin]).get("/api/v1/inspections?per_page=50")
    assert len(body.get_json()["items"]) == 50
    assert body.get_json()["total"] == N


def ids(client, query: str) -> list[int]:
    response = client.get(f"/api/v1/inspections?per_page=100&{query}")
    assert response.status_code == 200, response.get_json()
    return [i["id"] for i in response.get_json()["items"]]


def test_filters(world, many, office):
    units, inspectors, _ = many
    rows = db.session.scalars(db.select(Inspection)).all()

    def expect(predicate) -> list[int]:
        chosen = [r for r in rows if predicate(r)]
        chosen.sort(key=lambda r: (r.started_at, r.id), reverse=True)
        return [r.id for r in chosen]

    assert ids(office, f"unit_id={units[1].id}") == expect(lambda r: r.unit_id == units[1].id)
    in_sector_a = {units[0].id, units[2].id}
    assert ids(office, f"sector_id={world.sector_a.id}") == expect(
        lambda r: r.unit_id in in_sector_a
    )
    assert ids(office, f"region_id={units[1].region_id}") == expect(
        lambda r: r.unit_id == units[1].id
    )
    assert ids(office, f"inspector_id={inspectors[1].id}") == expect(
        lambda r: r.inspector_id == inspectors[1].id
    )
    assert ids(office, "status=published") == expect(lambda r: r.status == "published")
    assert ids(office, "score_min=60&score_max=70.5") == expect(lambda r: 60 <= r.score <= 70.5)
    assert ids(office, "has_findings=true") == expect(lambda r: r.findings_count > 0)
    assert ids(office, "has_findings=false") == expect(lambda r: r.findings_count == 0)
    recent = (utcnow() - timedelta(days=3)).date().isoformat()
    assert len(ids(office, f"date_from={recent}")) in (3, 4, 5)  # day boundary in Shanghai
    assert ids(office, "date_to=2000-01-01") == []
    assert ids(office, "plan_id=987654") == []


def test_unit_lists_hold_only_their_published_inspections(world, many, client_for):
    units, _, _ = many
    unit = client_for(world.users[Role.unit_staff])
    rows = db.session.scalars(db.select(Inspection)).all()
    expected = {r.id for r in rows if r.unit_id == units[0].id and r.status == "published"}
    assert set(ids(unit, "")) == expected
    lead = client_for(world.users[Role.lead_unit_staff])
    in_sector = {units[0].id, units[2].id}
    assert set(ids(lead, "")) == {
        r.id for r in rows if r.unit_id in in_sector and r.status == "published"
    }


def test_bad_filters_are_422(office, world):
    for query in ("score_min=abc", "status=nope", "unit_id=0", "page=0", "colour=red"):
        response = office.get(f"/api/v1/inspections?{query}")
        assert response.status_code == 422, query


# -- bounded totals: a page costs what it shows, not what the history holds ---------------


@pytest.fixture
def small_bound(monkeypatch):
    """Count at most 7 rows (api.pagination.COUNT_BOUND is 1 000)."""
    monkeypatch.setattr(pagination, "COUNT_BOUND", 7)
    return 7


def test_a_total_past_the_bound_says_so_and_the_pages_go_on(world, many, office, small_bound):
    first = office.get("/api/v1/inspections?per_page=5").get_json()
    assert (first["total"], first["total_exact"], first["pages"]) == (small_bound, False, 2)
    # Deeper than the bound: counted to the end of the page asked for, still "at least".
    deep = office.get("/api/v1/inspections?per_page=5&page=3").get_json()
    assert (deep["total"], deep["total_exact"]) == (15, False)
    # Walking every page until one is short lists each inspection once, in the list's order.
    seen, page = [], 1
    while True:
        body = office.get(f"/api/v1/inspections?per_page=7&page={page}").get_json()
        seen += [item["id"] for item in body["items"]]
        if body["total_exact"] and page >= body["pages"]:
            break
        assert len(body["items"]) == 7
        page += 1
    rows = db.session.scalars(db.select(Inspection)).all()
    rows.sort(key=lambda r: (r.started_at, r.id), reverse=True)
    assert seen == [r.id for r in rows]
    assert body["total"] == N
    assert page == -(-N // 7)


def test_a_total_within_the_bound_is_exact(world, many, office):
    body = office.get("/api/v1/inspections?per_page=5").get_json()
    assert (body["total"], body["total_exact"], body["pages"]) == (N, True, 12)
    one = office.get(f"/api/v1/inspections?per_page=5&unit_id={many[0][1].id}").get_json()
    assert (one["total"], one["total_exact"]) == (N // 3, True)


def test_the_count_reads_at_most_the_bound(world, many, small_bound):
    """The count's statement stops after bound + 1 rows (LIMIT), whatever the table holds."""
    from inspections import queries

    stmt = queries.inspections_query(world.users[Role.office_admin], {})
    with counting() as statements:
        assert pagination.count_at_most(stmt, small_bound) == (small_bound, False)
        assert pagination.count_at_most(stmt, N) == (N, True)
        assert pagination.count_at_most(stmt, N - 1) == (N - 1, False)
    assert len(statements) == 3
    assert all("LIMIT" in s.upper() for s in statements), statements
