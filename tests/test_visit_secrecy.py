"""暗访 secrecy: a unit and its lead unit learn nothing of a pending unannounced visit —
not through any GET route, not in lists, counts or error messages — until the inspection
is submitted; the result itself waits for the office to publish it."""

from __future__ import annotations

import re
import uuid

import pytest

from accounts.models import Role
from api.auth import route_methods
from core.db import db
from inspections import service as inspections
from inspections.models import VisitKind
from media.models import Photo, PhotoStatus
from tests.conftest import assert_problem
from tests.inspection_helpers import ALL_PASS, check_in, make_visit, published, submitted
from tests.readable import readable
from tests.test_policy_matrix import PARAMS

SCOPED = (Role.unit_staff, Role.lead_unit_staff)
# Signed photo URLs carry their signing time: the same photo, a different URL each second.
SIGNED = re.compile(r"/media/files/[^\"]+")


def get_routes(app) -> list[str]:
    return sorted(
        {
            rule
            for rule, method, _ in route_methods(app)
            if method == "GET" and rule.startswith("/api/")
        }
    )


def fill(rule: str, world) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(PARAMS[m.group(1)].own(world)), rule)


def everything_seen_by(client, app, world) -> dict[str, tuple[int, str]]:
    # Build every object the URLs need first (some are made lazily), then walk.
    urls = [fill(rule, world) for rule in get_routes(app)]
    seen = {}
    for url in urls:
        response = client.get(url, buffered=True)
        assert response.status_code < 500, url
        seen[url] = (response.status_code, SIGNED.sub("<signed>", readable(response)))
    return seen


@pytest.fixture
def secret(world, make_user):
    """A pending unannounced visit at unit A, already started, with answers saved."""
    world.inspections  # noqa: B018 - build the ordinary objects first
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)])
    data = {"client_uuid": uuid.uuid4(), "visit_id": visit.id, "check_in": check_in(world.unit_a)}
    inspection, _ = inspections.start_inspection(data, actor=inspector)
    inspections.save_answers(inspection, {"answers": ALL_PASS}, actor=inspector)
    db.session.commit()
    return visit, inspection


@pytest.mark.parametrize("role", SCOPED)
def test_no_get_route_changes_for_a_unit_when_a_secret_visit_exists(
    role, app, world, make_user, client_for
):
    world.inspections  # noqa: B018
    client = client_for(world.users[role])
    before = everything_seen_by(client, app, world)
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)])
    data = {"client_uuid": uuid.uuid4(), "visit_id": visit.id, "check_in": check_in(world.unit_a)}
    inspection, _ = inspections.start_inspection(data, actor=inspector)
    inspections.save_answers(inspection, {"answers": ALL_PASS}, actor=inspector)
    db.session.add(
        Photo(
            client_id=str(uuid.uuid4()),
            status=PhotoStatus.stored,
            owner_type="inspection",
            owner_id=inspection.id,
            item_code="video.working",
            evidence_group=f"inspection:{inspection.id}",
            unit_id=world.unit_a.id,
            key=f"photos/test/{uuid.uuid4().hex}",
            content_type="image/jpeg",
            uploaded_by_id=inspector.id,
        )
    )
    db.session.commit()

    after = everything_seen_by(client, app, world)
    assert after == before
    # And the office does see it: the walk would notice a leak.
    office_lists = client_for(world.users[Role.office_admin]).get("/api/v1/visits").get_json()
    assert visit.id in [v["id"] for v in office_lists["items"]]


@pytest.mark.parametrize("role", SCOPED)
def test_asking_for_the_secret_visit_looks_like_asking_for_nothing(
    role, app, world, secret, client_for
):
    visit, inspection = secret
    client = client_for(world.users[role])
    missing = client.get("/api/v1/visits/987654")
    for url in (f"/api/v1/visits/{visit.id}", f"/api/v1/inspections/{inspection.id}"):
        response = client.get(url)
        assert_problem(response, 404)
        assert response.get_json() == missing.get_json()
    for url in (
        f"/api/v1/visits?unit_id={world.unit_a.id}&status=in_progress",
        f"/api/v1/visits?plan_id={visit.plan_id}",
        f"/api/v1/inspections?unit_id={world.unit_a.id}&status=draft",
        f"/api/v1/inspections?plan_id={visit.plan_id}",
    ):
        body = client.get(url).get_json()
        assert body.get("total") == 0, (url, body)
        assert body["items"] == []


def test_the_visit_appears_on_submission_and_the_result_on_publication(world, secret, client_for):
    visit, inspection = secret
    unit = client_for(world.users[Role.unit_staff])
    inspections.submit_inspection(
        inspection, {"photos": {"video.working": ["p1"]}}, actor=world.users[Role.inspector]
    )
    db.session.commit()
    assert unit.get(f"/api/v1/visits/{visit.id}").status_code == 200
    assert_problem(unit.get(f"/api/v1/inspections/{inspection.id}"), 404)
    published(inspection)
    shown = unit.get(f"/api/v1/inspections/{inspection.id}")
    assert shown.status_code == 200
    assert shown.get_json()["score"] == 100


def test_inspectors_see_their_own_visits_only_from_the_lead_time(world, make_user, client_for):
    inspector, teammate, outsider = (make_user(Role.inspector) for _ in range(3))
    later = make_visit(world.unit_a, [inspector, teammate], starts_in_days=3, lead_time_hours=24)
    soon = make_visit(world.unit_b, [inspector, teammate], starts_in_days=3, lead_time_hours=96)
    for person in (inspector, teammate):
        client = client_for(person)
        listed = [v["id"] for v in client.get("/api/v1/visits").get_json()["items"]]
        assert listed == [soon.id]
        assert_problem(client.get(f"/api/v1/visits/{later.id}"), 404)
        assert client.get(f"/api/v1/visits/{soon.id}").status_code == 200
    stranger = client_for(outsider)
    assert stranger.get("/api/v1/visits").get_json()["total"] == 0
    assert_problem(stranger.get(f"/api/v1/visits/{soon.id}"), 404)
    # Nor can they check in at a visit they may not see.
    started = stranger.post(
        "/api/v1/inspections",
        json={
            "client_uuid": str(uuid.uuid4()),
            "visit_id": soon.id,
            "check_in": check_in(world.unit_b),
        },
    )
    assert_problem(started, 422)


def test_announced_visits_are_known_to_their_unit_in_advance(world, make_user, client_for):
    visit = make_visit(
        world.unit_a, [make_user(Role.inspector)], kind=VisitKind.announced, starts_in_days=5
    )
    for role in SCOPED:
        client = client_for(world.users[role])
        assert client.get(f"/api/v1/visits/{visit.id}").status_code == 200
    assert_problem(client_for(world.unit_staff_b).get(f"/api/v1/visits/{visit.id}"), 404)


def test_pending_findings_stay_hidden_from_the_unit_after_publication(world, client_for):
    """Units see confirmed findings only; dismissed ones never reach them."""
    objects = world.inspections
    unit = client_for(world.users[Role.unit_staff])
    listed = unit.get("/api/v1/findings").get_json()
    assert [f["id"] for f in listed["items"]] == [objects.finding_a.id]
    assert_problem(unit.get(f"/api/v1/findings/{objects.finding_b.id}"), 404)
    assert submitted  # the helper made them through the real service
