"""Scores follow the office's review: a dismissed finding's item counts as passed for the
reviewed score, the score at submission stays as it was, and each re-score is in the
inspection's history with both figures and the reviewer's reason."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Role
from checklists import scoring
from checklists.content import normalise
from core.audit import trail
from core.db import db
from inspections.models import Inspection, Visit
from tests.conftest import assert_problem
from tests.inspection_helpers import ALL_PASS, PHOTOS, check_in, make_visit, publish_checklist

# Two failures: 5 + 10 points lost from 100 → 85 良好.
FAILING = ALL_PASS | {
    "dress.uniform": {"result": "fail", "note": "一名工作人员未穿工装"},
    "smoke.none": {"result": "fail", "note": "大厅后门有人吸烟"},
}
# A 一票否决 item and a 10-point item fail: 80, 不合格 whatever the score.
CRITICAL = ALL_PASS | {
    "video.working": {"result": "fail", "note": "监控黑屏"},
    "smoke.none": {"result": "fail", "note": "大厅后门有人吸烟"},
}
FAILING_PHOTOS = PHOTOS | {"dress.uniform": ["p-uniform"], "smoke.none": ["p-smoke"]}


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


def submit(inspector, visit, answers) -> dict:
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(visit.unit),
        "answers": answers,
        "photos": FAILING_PHOTOS,
    }
    response = inspector.post("/api/v1/inspections/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def review(office, finding_id: int, **body):
    url = f"/api/v1/findings/{finding_id}"
    etag = office.get(url).headers["ETag"]
    response = office.patch(url, json=body, headers={"If-Match": etag})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def finding_id(result: dict, code: str) -> int:
    return next(f["id"] for f in result["findings"] if f["item_code"] == code)


def detail(client, inspection_id: int) -> dict:
    response = client.get(f"/api/v1/inspections/{inspection_id}")
    assert response.status_code == 200
    return response.get_json()


def figures(body: dict) -> tuple:
    return (
        body["score"],
        body["grade"],
        body["critical_failed"],
        body["reviewed_score"],
        body["reviewed_grade"],
        body["reviewed_critical_failed"],
    )


def test_before_any_review_the_reviewed_figures_are_null(inspector, visit, office):
    result = submit(inspector, visit, FAILING)
    assert figures(detail(office, result["id"])) == (85, "良好", False, None, None, None)
    assert detail(office, result["id"])["score_history"] == []


def test_dismissing_a_finding_raises_the_reviewed_score_and_can_change_the_grade(
    inspector, visit, office
):
    result = submit(inspector, visit, FAILING)
    review(
        office, finding_id(result, "smoke.none"), status="dismissed", reason="照片显示为室外吸烟区"
    )
    # The score at submission is untouched; the reviewed one gains the item's 10 points.
    shown = detail(office, result["id"])
    assert figures(shown) == (85, "良好", False, 95, "优秀", False)
    stored = db.session.get(Inspection, result["id"])
    assert (stored.score, stored.grade, stored.reviewed_score, stored.reviewed_grade) == (
        85,
        "良好",
        95,
        "优秀",
    )

    # Confirming the other one changes no figure and adds no event of its own.
    review(office, finding_id(result, "dress.uniform"), status="confirmed")
    assert figures(detail(office, result["id"])) == (85, "良好", False, 95, "优秀", False)

    [event] = [e for e in trail("inspection", result["id"]) if e.action == "rescore"]
    assert event.before == {"score": 85, "grade": "良好", "critical_failed": False}
    assert event.after["score"] == 95
    assert event.after["grade"] == "优秀"
    assert event.after["submitted_score"] == 85
    assert event.reason == "照片显示为室外吸烟区"
    [history] = detail(office, result["id"])["score_history"]
    assert history["before"]["score"] == 85
    assert history["after"]["score"] == 95
    assert history["reason"] == "照片显示为室外吸烟区"
    assert history["actor_name"]


def test_dismissing_the_only_critical_finding_lifts_the_fail(inspector, visit, office):
    result = submit(inspector, visit, CRITICAL)
    assert (result["score"], result["grade"], result["critical_failed"]) == (80, "不合格", True)
    review(office, finding_id(result, "video.working"), status="dismissed", reason="监控当时在维护")
    assert figures(detail(office, result["id"])) == (80, "不合格", True, 90, "优秀", False)


def test_dismissing_a_non_critical_finding_leaves_the_critical_fail(inspector, visit, office):
    result = submit(inspector, visit, CRITICAL)
    review(office, finding_id(result, "smoke.none"), status="dismissed", reason="室外吸烟区")
    assert figures(detail(office, result["id"])) == (80, "不合格", True, 90, "不合格", True)


def test_confirming_leaves_the_reviewed_score_equal_to_the_submitted(inspector, visit, office):
    result = submit(inspector, visit, FAILING)
    review(office, finding_id(result, "smoke.none"), status="confirmed")
    assert figures(detail(office, result["id"])) == (85, "良好", False, 85, "良好", False)
    [event] = [e for e in trail("inspection", result["id"]) if e.action == "rescore"]
    assert event.before["score"] == event.after["score"] == 85


def test_a_dismissal_taken_back_restores_the_score(inspector, visit, office):
    result = submit(inspector, visit, FAILING)
    smoke = finding_id(result, "smoke.none")
    review(office, smoke, status="dismissed", reason="照片误判")
    review(office, smoke, status="confirmed", reason="复看照片，确属室内")
    assert figures(detail(office, result["id"])) == (85, "良好", False, 85, "良好", False)
    events = [e for e in trail("inspection", result["id"]) if e.action == "rescore"]
    assert [(e.before["score"], e.after["score"]) for e in events] == [(85, 95), (95, 85)]
    assert events[-1].reason == "复看照片，确属室内"


def test_a_severity_change_does_not_move_the_score(inspector, visit, office):
    """Points do not depend on severity (docs/scoring.md): the figures stay."""
    result = submit(inspector, visit, FAILING)
    review(
        office,
        finding_id(result, "smoke.none"),
        status="confirmed",
        severity="severe",
        reason="屡查屡犯",
    )
    assert figures(detail(office, result["id"])) == (85, "良好", False, 85, "良好", False)


def test_a_refused_review_leaves_the_figures(inspector, visit, office):
    result = submit(inspector, visit, FAILING)
    url = f"/api/v1/findings/{finding_id(result, 'smoke.none')}"
    etag = office.get(url).headers["ETag"]
    refused = office.patch(url, json={"status": "dismissed"}, headers={"If-Match": etag})
    assert "reason" in assert_problem(refused, 422)["errors"]
    assert figures(detail(office, result["id"]))[3:] == (None, None, None)


def test_lists_filter_on_the_reviewed_score(inspector, visit, office):
    result = submit(inspector, visit, FAILING)
    listed = office.get("/api/v1/inspections?score_min=90").get_json()
    assert [i["id"] for i in listed["items"]] == []
    review(office, finding_id(result, "smoke.none"), status="dismissed", reason="室外吸烟区")
    listed = office.get("/api/v1/inspections?score_min=90").get_json()
    assert [(i["id"], i["score"], i["reviewed_score"]) for i in listed["items"]] == [
        (result["id"], 85, 95)
    ]


def test_the_unit_sees_both_figures_but_not_the_reviewers_history(
    inspector, visit, office, world, client_for
):
    result = submit(inspector, visit, FAILING)
    review(office, finding_id(result, "smoke.none"), status="dismissed", reason="室外吸烟区")
    review(office, finding_id(result, "dress.uniform"), status="confirmed")
    published = office.post(
        f"/api/v1/inspections/{result['id']}/publish",
        json={"missing_photos_reason": "照片由检查组另行报送"},
    )
    assert published.status_code == 200
    shown = detail(client_for(world.users[Role.unit_staff]), result["id"])
    assert (shown["score"], shown["reviewed_score"]) == (85, 95)
    assert shown["score_history"] == []


# -- the pure rule ----------------------------------------------------------------------------

TWO_CRITICAL = {
    "name": "两项否决",
    "sections": [
        {
            "code": "s",
            "title": "一",
            "items": [
                {"code": "a", "kind": "pass_fail", "title": "A", "points": 10, "critical": True},
                {"code": "b", "kind": "pass_fail", "title": "B", "points": 10, "critical": True},
                {"code": "c", "kind": "score", "title": "C", "points": 20, "max": 5},
            ],
        }
    ],
}


@pytest.mark.parametrize("method", ["deduction", "weighted"])
def test_cleared_items_count_as_passed(method):
    content, errors = normalise(TWO_CRITICAL | {"scoring": {"method": method}}, for_publish=True)
    assert not errors
    answers = {"a": {"result": "fail"}, "b": {"result": "fail"}, "c": {"value": 2}}
    base = scoring.score(content, answers)
    assert base.critical_failed
    assert base.failed_codes == ["a", "b", "c"]
    one = scoring.score(content, answers, cleared={"a"})
    assert one.critical_failed
    assert one.grade == "不合格"
    assert one.failed_codes == ["b", "c"]
    both = scoring.score(content, answers, cleared={"a", "b", "c"})
    assert not both.critical_failed
    assert both.failed_codes == []
    assert both.score == 100
    assert both.grade == "优秀"
    # The pure function does not change what it was given.
    assert scoring.score(content, answers) == base
