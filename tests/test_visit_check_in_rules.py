"""What changed after the draw still counts at check-in: a visit to a unit deactivated
since, or by an inspector who has since joined that unit, is refused in both forms (a
check-in, and an offline submission), and nothing is stored. Also: 立行立改 only for
failed items, and a reviewer's reason belongs to the review that gave it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from core.audit import trail
from core.clock import local
from core.db import db
from inspections.models import Inspection, Visit, VisitStatus
from tests.conftest import assert_problem
from tests.inspection_helpers import ALL_PASS, PHOTOS, check_in, make_visit, publish_checklist

FAILING = ALL_PASS | {"dress.uniform": {"result": "fail", "note": "一名工作人员未穿工装"}}
FAILING_PHOTOS = PHOTOS | {"dress.uniform": ["p-uniform"]}


@pytest.fixture
def team(world, make_user):
    publish_checklist()
    db.session.commit()
    return world.users[Role.inspector], make_user(Role.inspector)


@pytest.fixture
def visit(world, team) -> Visit:
    return make_visit(world.unit_a, list(team))


def patch(client, url, body):
    etag = client.get(url).headers["ETag"]
    response = client.patch(url, json=body, headers={"If-Match": etag})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def start(client, visit):
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(visit.unit),
    }
    return client.post("/api/v1/inspections", json=body)


def submit_offline(client, visit, **over):
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(visit.unit),
        "answers": FAILING,
        "photos": FAILING_PHOTOS,
    } | over
    return client.post("/api/v1/inspections/submissions", json=body)


def inspections_of(visit) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count(Inspection.id)).where(Inspection.visit_id == visit.id)
    )


FORMS = pytest.mark.parametrize("send", [start, submit_offline], ids=["check-in", "offline"])


@FORMS
def test_a_unit_deactivated_after_the_draw_takes_no_check_in(office, visit, team, client_for, send):
    patch(office, f"/api/v1/units/{visit.unit_id}", {"active": False})
    for inspector in team:
        refused = send(client_for(inspector), visit)
        assert assert_problem(refused, 409)["type"] == "urn:problem:unit-inactive"
        assert "已停用" in refused.get_json()["detail"]
    assert inspections_of(visit) == 0
    assert db.session.get(Visit, visit.id).status == VisitStatus.planned

    patch(office, f"/api/v1/units/{visit.unit_id}", {"active": True})  # reopened: it counts
    assert send(client_for(team[0]), visit).status_code == 201


@FORMS
def test_an_inspector_who_joined_the_unit_after_the_draw_must_recuse(
    office, visit, team, client_for, send
):
    moved, teammate = team
    patch(office, f"/api/v1/users/{moved.id}", {"unit_id": visit.unit_id})
    refused = send(client_for(moved), visit)
    assert assert_problem(refused, 409)["type"] == "urn:problem:own-unit-recusal"
    assert "改派" in refused.get_json()["detail"]
    assert inspections_of(visit) == 0
    assert send(client_for(teammate), visit).status_code == 201  # the rest of the team may


# -- 立行立改 only for what failed ------------------------------------------------------------


@pytest.fixture
def draft(visit, team, client_for):
    inspector = client_for(team[0])
    made = start(inspector, visit)
    assert made.status_code == 201
    return inspector, made.get_json()["id"]


def test_a_passed_item_cannot_be_fixed_on_the_spot_in_a_save(draft):
    inspector, inspection_id = draft
    url = f"/api/v1/inspections/{inspection_id}/answers"
    refused = inspector.patch(
        url,
        json={"answers": {"dress.uniform": {"result": "pass"}}, "fixed_on_spot": ["dress.uniform"]},
    )
    assert "fixed_on_spot.dress.uniform" in assert_problem(refused, 422)["errors"]
    assert db.session.get(Inspection, inspection_id).fixed_on_spot == []
    # Marked while unanswered (the inspector fixes it first), the answer decides later.
    assert inspector.patch(url, json={"fixed_on_spot": ["dress.uniform"]}).status_code == 200
    passed = inspector.patch(url, json={"answers": {"dress.uniform": {"result": "pass"}}})
    assert "fixed_on_spot.dress.uniform" in assert_problem(passed, 422)["errors"]


@pytest.mark.parametrize("answer", [{"result": "pass"}, None], ids=["passed", "unanswered"])
def test_a_submission_fixing_an_item_that_did_not_fail_is_refused(draft, answer):
    inspector, inspection_id = draft
    url = f"/api/v1/inspections/{inspection_id}"
    assert (
        inspector.patch(f"{url}/answers", json={"fixed_on_spot": ["dress.uniform"]}).status_code
        == 200
    )
    answers = (
        ALL_PASS | {"dress.uniform": answer}
        if answer
        else {code: a for code, a in ALL_PASS.items() if code != "dress.uniform"}
    )
    refused = inspector.post(f"{url}/submit", json={"answers": answers, "photos": PHOTOS})
    assert "fixed_on_spot.dress.uniform" in assert_problem(refused, 422)["errors"]
    assert db.session.get(Inspection, inspection_id).status == "draft"


def test_an_offline_submission_fixing_a_passed_item_is_refused(visit, team, client_for):
    inspector = client_for(team[0])
    refused = submit_offline(
        inspector, visit, answers=ALL_PASS, photos=PHOTOS, fixed_on_spot=["dress.uniform"]
    )
    assert "fixed_on_spot.dress.uniform" in assert_problem(refused, 422)["errors"]
    assert inspections_of(visit) == 0
    fixed = submit_offline(inspector, visit, fixed_on_spot=["dress.uniform"])
    assert fixed.status_code == 201
    [finding] = fixed.get_json()["findings"]
    assert finding["fixed_on_spot"] is True


# -- a review's reason --------------------------------------------------------------------


def test_a_finding_confirmed_again_loses_the_dismissal_reason(visit, team, client_for, office):
    submitted = submit_offline(client_for(team[0]), visit).get_json()
    [finding] = submitted["findings"]
    url = f"/api/v1/findings/{finding['id']}"
    assert patch(office, url, {"status": "dismissed", "reason": "现场核实不属实"})["reason"] == (
        "现场核实不属实"
    )
    assert patch(office, url, {"status": "confirmed"})["reason"] is None
    assert office.get(url).get_json()["reason"] is None
    again = patch(office, url, {"status": "dismissed", "reason": "复看照片仍不属实"})
    assert again["reason"] == "复看照片仍不属实"
    confirmed = patch(office, url, {"status": "confirmed", "reason": "复核后确认存在问题"})
    assert confirmed["reason"] == "复核后确认存在问题"
    # A severity change with its reason replaces the reason; the history keeps every one.
    assert patch(office, url, {"severity": "major", "reason": "屡查屡犯升级"})["reason"] == (
        "屡查屡犯升级"
    )
    reasons = [e.reason for e in trail("finding", finding["id"]) if e.action == "review"]
    assert reasons == [
        "现场核实不属实",
        None,
        "复看照片仍不属实",
        "复核后确认存在问题",
        "屡查屡犯升级",
    ]


# -- the window a refused check-in names --------------------------------------------------


@pytest.mark.parametrize("send", [start, submit_offline], ids=["check-in", "offline"])
def test_a_check_in_outside_the_window_names_the_window(visit, team, client_for, send):
    """The phone shows `detail`: the inspector learns when to come, in Beijing time."""
    early = (visit.window_start - timedelta(days=2)).isoformat()
    body_at = check_in(visit.unit, at=early)
    client = client_for(team[0])
    if send is start:
        refused = client.post(
            "/api/v1/inspections",
            json={"client_uuid": str(uuid.uuid4()), "visit_id": visit.id, "check_in": body_at},
        )
    else:
        refused = submit_offline(client, visit, check_in=body_at)
    problem = assert_problem(refused, 409)
    assert problem["type"] == "urn:problem:outside-visit-window"
    first, last = local(visit.window_start), local(visit.window_end)
    window = f"{first.month}月{first.day}日 00:00至{last.month}月{last.day}日 00:00"
    assert f"（{window}，北京时间）" in problem["detail"]
    assert inspections_of(visit) == 0


def test_a_retry_answers_the_first_body_whatever_offset_the_time_was_sent_with(
    visit, team, client_for
):
    """Times are loaded as UTC, as stored: the 201 and the replayed 200 write the moment
    the same way (the first answer used to echo +08:00, the replay +00:00)."""
    at = local(visit.window_start + timedelta(hours=1)).isoformat()
    assert at.endswith("+08:00")
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(visit.unit, at=at),
    }
    client = client_for(team[0])
    first = client.post("/api/v1/inspections", json=body)
    again = client.post("/api/v1/inspections", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json() == again.get_json()
    assert first.get_json()["started_at"].endswith("+00:00")
