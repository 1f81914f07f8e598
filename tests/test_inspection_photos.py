"""Photos of an inspection: uploaded on their own (often after an offline submit), they
turn expected photos into present ones; the secrecy rules cover them too."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Role
from core.db import db
from tests import images
from tests.conftest import assert_problem
from tests.inspection_helpers import ALL_PASS, check_in, make_visit, publish_checklist
from tests.media_helpers import multipart

# The photo folder starts empty for each test (conftest: only where a test takes the app).
pytestmark = pytest.mark.usefixtures("empty_photo_folder")


def upload(client, inspection_id: int, item_code: str, *, seed: int = 1):
    form = {
        "client_id": str(uuid.uuid4()),
        "owner_type": "inspection",
        "owner_id": str(inspection_id),
        "item_code": item_code,
    }
    content = images.jpeg(64, 48, seed=seed)
    return client.post("/api/v1/photos", **multipart(form, content, "image/jpeg"))


@pytest.fixture
def submitted_without_photos(world, make_user, client_for):
    publish_checklist()
    db.session.commit()
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)])
    client = client_for(inspector)
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(world.unit_a),
        "answers": ALL_PASS | {"smoke.none": {"result": "fail"}},
        "photos": {"video.working": ["c-video"], "smoke.none": ["c-smoke"]},
    }
    response = client.post("/api/v1/inspections/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    return client, response.get_json()


def test_photos_arriving_after_submission_clear_the_missing_list(submitted_without_photos):
    client, inspection = submitted_without_photos
    assert inspection["missing_photos"] == ["smoke.none", "video.working"]
    assert upload(client, inspection["id"], "video.working").status_code == 201
    shown = client.get(f"/api/v1/inspections/{inspection['id']}").get_json()
    assert shown["missing_photos"] == ["smoke.none"]
    assert upload(client, inspection["id"], "smoke.none", seed=2).status_code == 201
    shown = client.get(f"/api/v1/inspections/{inspection['id']}").get_json()
    assert shown["missing_photos"] == []


def test_a_photo_already_uploaded_satisfies_the_required_photo_check(world, make_user, client_for):
    publish_checklist()
    db.session.commit()
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)])
    client = client_for(inspector)
    started = client.post(
        "/api/v1/inspections",
        json={
            "client_uuid": str(uuid.uuid4()),
            "visit_id": visit.id,
            "check_in": check_in(world.unit_a),
        },
    ).get_json()
    assert upload(client, started["id"], "video.working").status_code == 201
    done = client.post(f"/api/v1/inspections/{started['id']}/submit", json={"answers": ALL_PASS})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["missing_photos"] == []


def test_photo_uploads_are_checked_against_the_inspection(
    submitted_without_photos, world, client_for, make_user
):
    client, inspection = submitted_without_photos
    unknown_item = upload(client, inspection["id"], "no.such.item")
    assert "item_code" in str(assert_problem(unknown_item, 422)["errors"])
    outsider = client_for(make_user(Role.inspector))
    assert_problem(upload(outsider, inspection["id"], "smoke.none"), 404)
    unit = client_for(world.users[Role.unit_staff])
    listed = unit.get(f"/api/v1/photos?owner_type=inspection&owner_id={inspection['id']}")
    assert_problem(listed, 404)  # the inspection is not published: it does not exist for them
