"""The inspector's day: check-in, partial saves, submission (online and offline, retried
and concurrent), ad-hoc inspections, and the office's review and publication."""

from __future__ import annotations

import threading
import uuid

import pytest

from accounts.models import Role
from core.audit import trail
from core.db import db
from inspections import findings as findings_service
from inspections.models import Inspection, Visit, VisitStatus
from tests.conftest import assert_problem
from tests.inspection_helpers import ALL_PASS, PHOTOS, check_in, make_visit, publish_checklist

FAILING = ALL_PASS | {
    "dress.uniform": {"result": "fail", "note": "一名工作人员未穿工装"},
    "smoke.none": {"result": "fail", "note": "大厅后门有人吸烟"},
}
FAILING_PHOTOS = PHOTOS | {"dress.uniform": ["p-uniform"], "smoke.none": ["p-smoke-1", "p-smoke-2"]}


@pytest.fixture
def team(world, make_user):
    publish_checklist()
    db.session.commit()
    return world.users[Role.inspector], make_user(Role.inspector)


@pytest.fixture
def visit(world, team) -> Visit:
    return make_visit(world.unit_a, list(team))


@pytest.fixture
def inspector(team, client_for):
    return client_for(team[0])


def start(client, visit, **over):
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(visit.unit),
    } | over
    return client.post("/api/v1/inspections", json=body)


def offline(visit, **over):
    return {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(visit.unit),
        "answers": FAILING,
        "photos": FAILING_PHOTOS,
        "fixed_on_spot": ["dress.uniform"],
    } | over


def fresh(model, ident):
    """A row as the requests left it (they run in sessions of their own)."""
    db.session.expire_all()
    return db.session.get(model, ident)


def count_inspections() -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count(Inspection.id)))


# -- check-in -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("north_deg", "far", "metres"), [(0.0, False, 0), (0.003, False, 334), (0.01, True, 1112)]
)
def test_check_in_stores_the_distance_and_flags_it_beyond_the_radius(
    inspector, visit, north_deg, far, metres
):
    here = check_in(visit.unit, latitude=visit.unit.latitude + north_deg)
    response = start(inspector, visit, check_in=here)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert round(body["checkin_distance_m"]) == pytest.approx(metres, abs=2)
    assert body["checkin_far"] is far
    assert body["checkin_accuracy_m"] == 12.0
    assert fresh(Visit, visit.id).status == VisitStatus.in_progress


def test_check_in_is_idempotent_and_one_visit_gets_one_inspection(
    inspector, visit, team, client_for
):
    key = str(uuid.uuid4())
    first = start(inspector, visit, client_uuid=key)
    again = start(inspector, visit, client_uuid=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()
    teammate = start(client_for(team[1]), visit)
    assert_problem(teammate, 409)
    assert count_inspections() == 1
    # The teammate's phone finds the inspection by its visit.
    found = client_for(team[1]).get(f"/api/v1/inspections?visit_id={visit.id}").get_json()
    assert [i["id"] for i in found["items"]] == [first.get_json()["id"]]
    # The teammate continues the same inspection.
    inspection_id = first.get_json()["id"]
    saved = client_for(team[1]).patch(
        f"/api/v1/inspections/{inspection_id}/answers", json={"answers": ALL_PASS}
    )
    assert saved.status_code == 200


def test_check_in_outside_the_window_is_refused(world, team, client_for):
    # The day after tomorrow: tomorrow's window opens within the check-in's ten minutes of
    # clock slack when a test runs in the last minutes of a day (Beijing time).
    visit = make_visit(world.unit_a, list(team), starts_in_days=2, lead_time_hours=72)
    assert_problem(start(client_for(team[0]), visit), 409)


# -- partial saves and submission ---------------------------------------------------------


def test_partial_saves_are_idempotent_and_checked(inspector, visit):
    inspection = start(inspector, visit).get_json()
    url = f"/api/v1/inspections/{inspection['id']}/answers"
    part = {"answers": {"dress.uniform": {"result": "pass"}}}
    first = inspector.patch(url, json=part)
    again = inspector.patch(url, json=part)
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()
    assert first.get_json()["answers"] == {"dress.uniform": {"result": "pass"}}
    more = inspector.patch(url, json={"answers": {"dress.badge": {"result": "fail"}}})
    assert set(more.get_json()["answers"]) == {"dress.uniform", "dress.badge"}

    bad = inspector.patch(
        url, json={"answers": {"nope": {"result": "pass"}, "dress.badge": {"result": "maybe"}}}
    )
    errors = assert_problem(bad, 422)["errors"]
    assert set(errors) == {"answers.nope", "answers.dress.badge.result"}
    not_fixable = inspector.patch(url, json={"fixed_on_spot": ["smoke.none"]})
    assert "fixed_on_spot.smoke.none" in assert_problem(not_fixable, 422)["errors"]


def test_submit_demands_required_items_and_required_photos(inspector, visit):
    inspection = start(inspector, visit).get_json()
    submit = f"/api/v1/inspections/{inspection['id']}/submit"
    incomplete = inspector.post(submit, json={"answers": {"dress.uniform": {"result": "pass"}}})
    errors = assert_problem(incomplete, 422)["errors"]
    assert {"answers.dress.badge", "answers.smoke.none", "answers.video.working"} <= set(errors)
    no_photos = inspector.post(submit, json={"answers": FAILING})
    errors = assert_problem(no_photos, 422)["errors"]
    assert set(errors) == {"photos.video.working", "photos.dress.uniform", "photos.smoke.none"}
    assert count_inspections() == 1
    assert fresh(Inspection, inspection["id"]).status == "draft"


def test_submit_scores_makes_findings_and_a_retry_returns_the_same(inspector, visit):
    inspection = start(inspector, visit).get_json()
    submit = f"/api/v1/inspections/{inspection['id']}/submit"
    body = {"answers": FAILING, "photos": FAILING_PHOTOS, "fixed_on_spot": ["dress.uniform"]}
    first = inspector.post(submit, json=body)
    assert first.status_code == 200, first.get_json()
    result = first.get_json()
    assert (result["status"], result["score"], result["max_score"]) == ("submitted", 85, 100)
    assert result["grade"] == "良好"
    assert result["findings_count"] == 2
    findings = {f["item_code"]: f for f in result["findings"]}
    assert findings["smoke.none"]["severity"] == "major"
    assert findings["smoke.none"]["description"] == "大厅后门有人吸烟"
    assert findings["smoke.none"]["photos"] == ["p-smoke-1", "p-smoke-2"]
    assert findings["smoke.none"]["deadline_days"] == 7
    assert findings["dress.uniform"]["fixed_on_spot"] is True
    assert {f["status"] for f in findings.values()} == {"pending"}
    assert fresh(Visit, visit.id).status == VisitStatus.submitted

    again = inspector.post(submit, json=body)
    assert again.status_code == 200
    assert again.get_json() == result
    assert inspector.post(submit, json={}).get_json() == result
    changed = inspector.post(submit, json={"answers": {"smoke.none": {"result": "pass"}}})
    assert_problem(changed, 409)
    late_edit = inspector.patch(
        f"/api/v1/inspections/{inspection['id']}/answers",
        json={"answers": {"smoke.none": {"result": "pass"}}},
    )
    assert_problem(late_edit, 409)
    actions = [e.action for e in trail("inspection", inspection["id"])]
    assert actions == ["check_in", "submit"]


def test_a_critical_failure_fails_the_grade(inspector, visit):
    body = offline(
        visit, answers=ALL_PASS | {"video.working": {"result": "fail"}}, fixed_on_spot=[]
    )
    response = inspector.post("/api/v1/inspections/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    result = response.get_json()
    assert result["critical_failed"] is True
    assert result["grade"] == "不合格"
    assert result["score"] == 90


# -- offline ------------------------------------------------------------------------------


def test_offline_submission_is_one_request_and_retries_return_the_first_result(inspector, visit):
    body = offline(visit)
    first = inspector.post("/api/v1/inspections/submissions", json=body)
    assert first.status_code == 201, first.get_json()
    again = inspector.post("/api/v1/inspections/submissions", json=body)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert count_inspections() == 1
    changed = inspector.post(
        "/api/v1/inspections/submissions", json=body | {"answers": ALL_PASS, "photos": PHOTOS}
    )
    assert_problem(changed, 409)
    assert first.get_json()["findings_count"] == 2


def test_offline_submission_completes_an_inspection_started_online(inspector, visit):
    key = str(uuid.uuid4())
    started = start(inspector, visit, client_uuid=key).get_json()
    body = offline(visit, client_uuid=key)
    done = inspector.post("/api/v1/inspections/submissions", json=body)
    assert done.status_code == 201  # this request submitted it
    assert done.get_json()["id"] == started["id"]
    assert done.get_json()["status"] == "submitted"
    again = inspector.post("/api/v1/inspections/submissions", json=body)
    assert (again.status_code, again.get_json()) == (200, done.get_json())  # a retry


def _moved(reading: dict, **change) -> dict:
    return reading | change


@pytest.mark.parametrize("path", ["/api/v1/inspections", "/api/v1/inspections/submissions"])
def test_a_uuid_reused_for_another_place_is_409_not_the_first_inspection(
    inspector, visit, world, team, path
):
    """A resend carries the same reading; the same UUID with another unit, another visit
    or another reading is an app's bug, not a retry: 409, and the first stays as it was."""
    body = offline(visit)
    if path.endswith("/inspections"):
        body = {k: body[k] for k in ("client_uuid", "visit_id", "check_in")}
    first = inspector.post(path, json=body)
    assert first.status_code == 201, first.get_json()
    reading = body["check_in"]
    other_visit = make_visit(world.unit_b, [team[0]])
    others = [
        {k: v for k, v in body.items() if k != "visit_id"} | {"unit_id": world.unit_b.id},
        body | {"visit_id": other_visit.id, "check_in": check_in(world.unit_b)},
        body | {"check_in": _moved(reading, latitude=reading["latitude"] + 0.01)},
        body | {"check_in": _moved(reading, accuracy_m=65.0)},
        body | {"check_in": _moved(reading, type="wgs84")},
    ]
    for other in others:
        problem = assert_problem(inspector.post(path, json=other), 409)
        assert problem["type"] == "urn:problem:client-id-reused", other
    again = inspector.post(path, json=body)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    assert count_inspections() == 1


def test_another_inspectors_uuid_is_not_found(inspector, visit, make_user, client_for):
    body = offline(visit)
    inspector.post("/api/v1/inspections/submissions", json=body)
    stranger = client_for(make_user(Role.inspector))
    assert_problem(stranger.post("/api/v1/inspections/submissions", json=body), 404)


def test_two_concurrent_submits_of_one_uuid_make_one_inspection(app, inspector, visit):
    # (Twenty at once, on every database: tests/test_overlapping_retries.py.)
    body = offline(visit)
    db.session.commit()
    token = inspector.token
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def submit(slot: int) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/inspections/submissions",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        results[slot] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 201], results
    assert results[0][1]["id"] == results[1][1]["id"]
    assert results[0][1]["score"] == results[1][1]["score"]
    assert count_inspections() == 1


# -- ad hoc -------------------------------------------------------------------------------


def test_ad_hoc_inspections_are_marked_and_respect_conflicts(world, team, client_for, make_user):
    client = client_for(team[0])
    body = {
        "client_uuid": str(uuid.uuid4()),
        "unit_id": world.unit_b.id,
        "check_in": check_in(world.unit_b),
        "answers": ALL_PASS,
        "photos": PHOTOS,
    }
    made = client.post("/api/v1/inspections/submissions", json=body)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["ad_hoc"] is True
    assert made.get_json()["visit_id"] is None
    own = client_for(make_user(Role.inspector, unit_id=world.unit_b.id))
    start_body = {k: body[k] for k in ("unit_id", "check_in")} | {"client_uuid": str(uuid.uuid4())}
    assert_problem(own.post("/api/v1/inspections", json=start_body), 409)
    neither = {k: v for k, v in start_body.items() if k != "unit_id"}
    assert_problem(client.post("/api/v1/inspections", json=neither), 422)


# -- review and publication ---------------------------------------------------------------


def test_office_reviews_findings_then_publishes_and_rectification_gets_the_confirmed(
    app, inspector, visit, office, world, client_for, monkeypatch
):
    result = inspector.post("/api/v1/inspections/submissions", json=offline(visit)).get_json()
    smoke, uniform = (
        next(f for f in result["findings"] if f["item_code"] == code)
        for code in ("smoke.none", "dress.uniform")
    )
    url = f"/api/v1/findings/{smoke['id']}"
    assert_problem(office.patch(url, json={"status": "confirmed"}), 428)
    etag = office.get(url).headers["ETag"]
    no_reason = office.patch(url, json={"severity": "severe"}, headers={"If-Match": etag})
    assert "reason" in assert_problem(no_reason, 422)["errors"]
    raised = office.patch(
        url,
        json={
            "status": "confirmed",
            "severity": "severe",
            "deadline_days": 3,
            "reason": "屡查屡犯",
        },
        headers={"If-Match": etag},
    )
    assert raised.status_code == 200
    assert raised.get_json()["severity"] == "severe"
    assert_problem(office.patch(url, json={"status": "dismissed"}, headers={"If-Match": etag}), 412)
    review = trail("finding", smoke["id"])[-1]
    assert review.before == {"status": "pending", "severity": "major", "deadline_days": 7}
    assert review.reason == "屡查屡犯"

    publish = f"/api/v1/inspections/{result['id']}/publish"
    assert_problem(office.post(publish), 409)  # the uniform finding is still pending
    uniform_url = f"/api/v1/findings/{uniform['id']}"
    dismissed = office.patch(
        uniform_url,
        json={"status": "dismissed", "reason": "当场已整改且属临时情况"},
        headers={"If-Match": office.get(uniform_url).headers["ETag"]},
    )
    assert dismissed.status_code == 200

    handed: list = []
    monkeypatch.setitem(
        app.extensions,
        findings_service.PUBLISHED_HOOKS,
        [
            lambda i, _actor: handed.extend(
                f.item_code for f in findings_service.confirmed_findings_for_rectification(i)
            )
        ],
    )
    # The submission named its photos; none was uploaded: the office says why it publishes.
    assert (
        office.post(publish, json={"missing_photos_reason": "照片由检查组另行报送"}).status_code
        == 200
    )
    assert handed == ["smoke.none"]
    assert office.post(publish).status_code == 200  # a retry changes nothing
    assert len(handed) == 1
    locked = office.patch(
        uniform_url,
        json={"status": "confirmed"},
        headers={"If-Match": office.get(uniform_url).headers["ETag"]},
    )
    assert_problem(locked, 409)

    unit = client_for(world.users[Role.unit_staff])
    shown = unit.get(f"/api/v1/inspections/{result['id']}").get_json()
    assert shown["status"] == "published"
    assert [f["item_code"] for f in shown["findings"]] == ["smoke.none"]
    assert_problem(unit.get(uniform_url), 404)


def test_the_inspection_says_which_required_photos_have_not_arrived(inspector, visit):
    result = inspector.post("/api/v1/inspections/submissions", json=offline(visit)).get_json()
    # Declared by reference, not uploaded yet.
    assert sorted(result["missing_photos"]) == ["dress.uniform", "smoke.none", "video.working"]


def test_a_worker_reuses_its_checklist_choice_only_for_the_configured_seconds(
    app, world, team, client_for, monkeypatch
):
    from checklists import service as checklists
    from inspections import checklist as port
    from tests.inspection_helpers import CONTENT

    monkeypatch.setitem(app.config, "CHECKLIST_CACHE_SECONDS", 5)
    clock = [1000.0]
    monkeypatch.setattr(port.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(port, "_chosen", {})
    client = client_for(team[0])

    def pinned() -> int:
        body = {
            "client_uuid": str(uuid.uuid4()),
            "unit_id": world.unit_b.id,
            "check_in": check_in(world.unit_b),
        }
        response = client.post("/api/v1/inspections", json=body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()["checklist_version_id"]

    first = pinned()
    template = checklists.get_version(first, actor=world.users[Role.office_admin]).template
    checklists.publish(
        checklists.create_draft(template, actor=None, content=CONTENT | {"name": "第二版"}),
        actor=None,
    )
    db.session.commit()
    assert pinned() == first  # within the cache's seconds
    clock[0] += 6
    assert pinned() != first


@pytest.mark.parametrize(
    "body",
    [
        {"answers": []},
        {"answers": {"dress.uniform": "pass"}},
        {"answers": {"x" * 41: {"result": "pass"}}},
        {"answers": {f"c{i}": {} for i in range(501)}},
        {"photos": {"dress.uniform": "p1"}},
        {"photos": {"dress.uniform": ["p" * 65]}},
        {"photos": {"dress.uniform": [1]}},
        {"fixed_on_spot": "dress.uniform"},
        {"answers": {"dress.uniform": {"result": "pass", "extra": 1}}},
    ],
)
def test_malformed_answers_are_422_and_change_nothing(inspector, visit, body):
    inspection = start(inspector, visit).get_json()
    response = inspector.patch(f"/api/v1/inspections/{inspection['id']}/answers", json=body)
    assert_problem(response, 422)
    assert fresh(Inspection, inspection["id"]).answers == {}
