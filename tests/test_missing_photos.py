"""Required photos must have arrived: an offline submission may name photos still on the
phone, but only a stored photo of the inspection (uploaded for the item, or carrying a
client id the submission names for it) counts; publishing without one needs a reason."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Role
from core.audit import trail
from core.db import db
from inspections.models import Inspection
from media.models import Photo, PhotoStatus
from tests import images
from tests.conftest import assert_problem
from tests.inspection_helpers import ALL_PASS, check_in, make_visit, publish_checklist
from tests.media_helpers import multipart

VIDEO, SMOKE = str(uuid.uuid4()), str(uuid.uuid4()).upper()  # phones send either case
TITLES = {"smoke.none": "服务区域无人吸烟", "video.working": "监控设备正常运行"}


# The photo folder starts empty for each test (conftest: only where a test takes the app).
pytestmark = pytest.mark.usefixtures("empty_photo_folder")


@pytest.fixture
def team(world, make_user):
    publish_checklist()
    db.session.commit()
    return world.users[Role.inspector], make_user(Role.inspector)


@pytest.fixture
def inspector(team, client_for):
    return client_for(team[0])


@pytest.fixture
def submission(world, team, inspector):
    """Submitted offline, naming two required photos that have not been uploaded."""
    visit = make_visit(world.unit_a, list(team))
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(world.unit_a),
        "answers": ALL_PASS | {"smoke.none": {"result": "fail", "note": "有人吸烟"}},
        "photos": {"video.working": [VIDEO], "smoke.none": [SMOKE]},
    }
    response = inspector.post("/api/v1/inspections/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def upload(client, inspection_id: int, *, client_id: str, item_code: str | None, seed: int):
    form = {"client_id": client_id, "owner_type": "inspection", "owner_id": str(inspection_id)}
    if item_code is not None:
        form["item_code"] = item_code
    content = images.jpeg(64, 48, seed=seed)
    return client.post("/api/v1/photos", **multipart(form, content, "image/jpeg"))


def confirm_findings(office, inspection_id: int) -> None:
    for finding in office.get(f"/api/v1/inspections/{inspection_id}").get_json()["findings"]:
        url = f"/api/v1/findings/{finding['id']}"
        etag = office.get(url).headers["ETag"]
        done = office.patch(url, json={"status": "confirmed"}, headers={"If-Match": etag})
        assert done.status_code == 200, done.get_json()


def publish(office, inspection_id: int, **body):
    return office.post(f"/api/v1/inspections/{inspection_id}/publish", json=body)


def test_named_photos_that_never_arrived_are_missing(submission, inspector):
    assert submission["missing_photos"] == ["smoke.none", "video.working"]
    shown = inspector.get(f"/api/v1/inspections/{submission['id']}").get_json()
    assert shown["missing_photos"] == ["smoke.none", "video.working"]
    assert shown["missing_photos_reason"] is None


def test_a_photo_counts_by_the_client_id_the_submission_named(submission, inspector):
    # Uploaded without an item code: the submission's reference says which item it shows.
    done = upload(inspector, submission["id"], client_id=SMOKE.lower(), item_code=None, seed=3)
    assert done.status_code == 201, done.get_json()
    shown = inspector.get(f"/api/v1/inspections/{submission['id']}").get_json()
    assert shown["missing_photos"] == ["video.working"]
    done = upload(inspector, submission["id"], client_id=str(uuid.uuid4()), item_code=None, seed=4)
    assert done.status_code == 201  # a photo named nowhere and of no item proves nothing
    shown = inspector.get(f"/api/v1/inspections/{submission['id']}").get_json()
    assert shown["missing_photos"] == ["video.working"]


def test_a_photo_not_stored_or_of_another_owner_does_not_count(submission, world, team):
    for status, owner_id in (
        (PhotoStatus.pending, submission["id"]),  # announced, never confirmed
        (PhotoStatus.stored, submission["id"] + 1000),  # someone else's inspection
    ):
        db.session.add(
            Photo(
                client_id=VIDEO,
                status=status,
                owner_type="inspection",
                owner_id=owner_id,
                item_code="video.working",
                evidence_group=f"inspection:{owner_id}",
                unit_id=world.unit_a.id,
                key=f"photos/test/{uuid.uuid4().hex}",
                content_type="image/jpeg",
                uploaded_by_id=team[1].id if owner_id == submission["id"] else team[0].id,
            )
        )
        db.session.commit()
    inspection = db.session.get(Inspection, submission["id"])
    from inspections.findings import missing_photo_codes

    assert missing_photo_codes(inspection) == ["smoke.none", "video.working"]


def test_publishing_with_photos_missing_is_refused_and_names_them(submission, office):
    confirm_findings(office, submission["id"])
    for body in ({}, {"missing_photos_reason": "   "}):
        problem = assert_problem(publish(office, submission["id"], **body), 409)
        assert problem["type"] == "urn:problem:missing-photos"
        listed = problem["missing_photos"]
        assert [(m["code"], m["title"]) for m in listed] == list(TITLES.items())
        for missing in listed:  # the item as people know it: its number and title, no code
            assert missing["label"] == f"{missing['number']} {missing['title']}"
            assert missing["label"] in problem["detail"]
            assert missing["code"] not in problem["detail"]
    problem = assert_problem(publish(office, submission["id"], missing_photos_reason="没拍"), 422)
    assert "missing_photos_reason" in problem["errors"]
    assert office.get(f"/api/v1/inspections/{submission['id']}").get_json()["status"] == (
        "submitted"
    )


def test_photos_that_arrive_later_let_the_result_be_published(submission, inspector, office):
    assert upload(inspector, submission["id"], client_id=VIDEO, item_code=None, seed=5).status_code
    done = upload(
        inspector, submission["id"], client_id=str(uuid.uuid4()), item_code="smoke.none", seed=6
    )
    assert done.status_code == 201
    confirm_findings(office, submission["id"])
    published = publish(office, submission["id"])
    assert published.status_code == 200, published.get_json()
    assert published.get_json()["missing_photos"] == []
    assert published.get_json()["missing_photos_reason"] is None


def test_publishing_with_a_reason_stores_it_in_the_inspection_and_its_audit(submission, office):
    confirm_findings(office, submission["id"])
    reason = "检查时监控机房上锁，无法拍照，已电话核实"
    published = publish(office, submission["id"], missing_photos_reason=f"  {reason} ")
    assert published.status_code == 200, published.get_json()
    body = published.get_json()
    assert body["status"] == "published"
    assert body["missing_photos_reason"] == reason
    assert body["missing_photos"] == ["smoke.none", "video.working"]
    db.session.expire_all()
    assert db.session.get(Inspection, submission["id"]).missing_photos_reason == reason
    event = trail("inspection", submission["id"])[-1]
    assert (event.action, event.reason) == ("publish", reason)
    assert event.after["missing_photos"] == ["smoke.none", "video.working"]
    # A retry of the publication changes nothing, reason or not.
    again = publish(office, submission["id"])
    assert again.status_code == 200
    assert again.get_json()["missing_photos_reason"] == reason
