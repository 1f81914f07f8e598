"""An after-photo sent again in a later round is flagged as a near-duplicate of the one the
office already saw, and the task page links the match (issue: evidence that holds up)."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Role
from core.db import db
from rectification.photos import KIND
from tests import images
from tests.console.conftest import ConsoleClient
from tests.media_helpers import multipart
from tests.rectification_support import open_task

TASKS = "/api/v1/rectification/tasks"


# The photo folder starts empty for each test (conftest: only where a test takes the app).
pytestmark = pytest.mark.usefixtures("empty_photo_folder")


def _upload(client, task_id: int, content: bytes) -> dict:
    form = {"client_id": str(uuid.uuid4()), "owner_type": KIND, "owner_id": str(task_id)}
    response = client.post("/api/v1/photos", **multipart(form, content, "image/jpeg"))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _reply(client, task_id: int, photo_ids: list[int]):
    body = {
        "client_id": str(uuid.uuid4()),
        "description": "已整改，现场照片见附件",
        "photo_ids": photo_ids,
    }
    response = client.post(f"{TASKS}/{task_id}/replies", json=body)
    assert response.status_code == 201, response.get_json()
    return response


def test_an_after_photo_sent_again_in_the_next_round_is_flagged(world, client_for):
    task = open_task(world.unit_a)
    db.session.commit()
    unit = client_for(world.users[Role.unit_staff])
    office = client_for(world.users[Role.office_admin])
    picture = images.picture(800, 600, seed=21)

    first = _upload(unit, task.id, images.encode(picture, quality=90))
    # Two shots of one counter in the same reply are no reuse.
    again_now = _upload(unit, task.id, images.encode(picture, quality=70))
    assert "near_duplicate" not in first["flags"]
    assert "near_duplicate" not in again_now["flags"]
    _reply(unit, task.id, [first["id"], again_now["id"]])
    rejected = office.post(
        f"{TASKS}/{task.id}/verification", json={"decision": "reject", "reason": "标识仍未张贴"}
    )
    assert rejected.status_code == 200, rejected.get_json()

    # Round 2: the same picture, re-encoded smaller.
    reused = _upload(unit, task.id, images.encode(picture.resize((400, 300)), quality=50))
    assert "near_duplicate" in reused["flags"]
    assert reused["near_duplicate_of_id"] == first["id"]
    fresh = _upload(unit, task.id, images.jpeg(800, 600, seed=22))
    assert "near_duplicate" not in fresh["flags"]
    _reply(unit, task.id, [reused["id"], fresh["id"]])

    # The office sees the match on the task page, linked to the earlier photo.
    console = ConsoleClient(office.application.test_client())
    console.sign_in(world.users[Role.office_admin].username)
    page = console.get(f"/console/tasks/{task.id}").get_data(as_text=True)
    assert f'/console/photos/{first["id"]}"' in page
    assert "查看相似照片" in page
