"""Overlapping retries: a phone on a bad network resends while the first request is still
running. Twenty copies of one idempotent write, sent at once from twenty threads (each with
its own client, so each request has its own session and connection), must make one row and
one set of stored objects, and every copy gets a 2xx with the first result.

The replay rule for creates keyed by a client id: 201 for the copy that made the row, 200
with the same body for every other (docs/api.md)."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from core.db import db
from inspections.models import Finding, Inspection
from media.models import Photo
from media.storage import LocalStorage
from rectification.models import ExtensionRequest, TaskReply
from tests import images, media_kinds
from tests.inspection_helpers import ALL_PASS, PHOTOS, check_in, make_visit, publish_checklist
from tests.media_helpers import multipart, post_upload
from tests.rectification_support import after_photos, open_task

COPIES = 20
TASKS = "/api/v1/rectification/tasks"


def overlapping(app, token: str, send: Callable) -> list[tuple[int, dict]]:
    """`send(client)` from COPIES threads released together; (status, body) of each."""
    barrier = threading.Barrier(COPIES)

    def one(_):
        client = app.test_client()
        client.token = token
        barrier.wait(30)
        response = send(client)
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(COPIES) as pool:
        return list(pool.map(one, range(COPIES)))


def assert_one_result(results, *, created: bool = True, ignore=()) -> dict:
    """Every answer 2xx with one body; one 201 and the rest 200 for a create."""
    statuses = sorted(status for status, _ in results)
    expected = [200] * (COPIES - 1) + [201] if created else [200] * COPIES
    assert statuses == expected, results
    bodies = [{k: v for k, v in body.items() if k not in ignore} for _, body in results]
    assert all(body == bodies[0] for body in bodies), bodies
    return results[0][1]


def count(model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def stored_keys(storage) -> set[str]:
    """Every object in the store, however it got there (not through the app's own API)."""
    if isinstance(storage, LocalStorage):
        if not storage.root.exists():
            return set()
        return {str(p.relative_to(storage.root)) for p in storage.root.rglob("*") if p.is_file()}
    keys = set()
    pages = storage.client.get_paginator("list_objects_v2").paginate(
        Bucket=storage.bucket, Prefix=storage.prefix
    )
    for page in pages:
        keys.update(item["Key"].removeprefix(storage.prefix) for item in page.get("Contents", []))
    return keys


def photo_keys(photo: Photo) -> set[str]:
    return {key for key in (photo.key, photo.preview_key, photo.thumb_key) if key}


# -- rectification: replies and extensions ---------------------------------------------------


@pytest.fixture
def staff(world, client_for):
    user = world.users[Role.unit_staff]
    return user, client_for(user)


def test_overlapping_replies_make_one(app, world, staff):
    user, client = staff
    task = open_task(world.unit_a)
    body = {
        "client_id": str(uuid.uuid4()),
        "description": "已张贴禁烟标识",
        "photo_ids": after_photos(task, user),
    }
    url = f"{TASKS}/{task.id}/replies"
    results = overlapping(app, client.token, lambda c: c.post(url, json=body))
    reply = assert_one_result(results)
    assert count(TaskReply) == 1
    assert reply["id"] == db.session.scalar(select(TaskReply.id))
    task_page = client.get(f"{TASKS}/{task.id}").get_json()
    assert task_page["status"] == "responded"
    assert len(task_page["replies"]) == 1


def test_overlapping_extension_requests_make_one(app, world, staff):
    _, client = staff
    task = open_task(world.unit_a)
    body = {
        "client_id": str(uuid.uuid4()),
        "due_on": (task.due_on + timedelta(days=7)).isoformat(),
        "reason": "材料在印刷中",
    }
    url = f"{TASKS}/{task.id}/extensions"
    results = overlapping(app, client.token, lambda c: c.post(url, json=body))
    extension = assert_one_result(results)
    assert count(ExtensionRequest) == 1
    assert extension["status"] == "pending"


def test_a_replayed_reply_or_extension_is_200_with_the_first_body(world, staff):
    user, client = staff
    task = open_task(world.unit_a)
    reply = {"client_id": str(uuid.uuid4()), "description": "已改", "photo_ids": []}
    reply["photo_ids"] = after_photos(task, user)
    first = client.post(f"{TASKS}/{task.id}/replies", json=reply)
    again = client.post(f"{TASKS}/{task.id}/replies", json=reply)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    assert again.headers["ETag"] == first.headers["ETag"]

    other = open_task(world.unit_a)
    extension = {
        "client_id": str(uuid.uuid4()),
        "due_on": (other.due_on + timedelta(days=3)).isoformat(),
        "reason": "材料尚未备齐",
    }
    first = client.post(f"{TASKS}/{other.id}/extensions", json=extension)
    again = client.post(f"{TASKS}/{other.id}/extensions", json=extension)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()


# -- the offline inspection submission --------------------------------------------------------


def test_overlapping_offline_submissions_make_one(app, world, make_user, client_for):
    publish_checklist()
    db.session.commit()
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)])
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(visit.unit),
        "answers": ALL_PASS | {"smoke.none": {"result": "fail", "note": "有人吸烟"}},
        "photos": PHOTOS | {"smoke.none": [str(uuid.uuid4())]},
    }
    db.session.commit()
    token = client_for(inspector).token
    results = overlapping(
        app, token, lambda c: c.post("/api/v1/inspections/submissions", json=body)
    )
    submitted = assert_one_result(results)
    assert submitted["status"] == "submitted"
    assert count(Inspection) == 1
    assert count(Finding) == 1


def test_overlapping_check_ins_make_one(app, world, make_user, client_for):
    publish_checklist()
    db.session.commit()
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)])
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(visit.unit),
    }
    db.session.commit()
    token = client_for(inspector).token
    results = overlapping(app, token, lambda c: c.post("/api/v1/inspections", json=body))
    assert assert_one_result(results)["status"] == "draft"
    assert count(Inspection) == 1


# -- photos: multipart upload, direct upload and confirm -------------------------------------


@pytest.fixture
def inspector(world, client_for):
    return client_for(world.users[Role.inspector])


def test_overlapping_multipart_uploads_store_one_photo(app, storage, world, inspector):
    before = stored_keys(storage)
    content = images.jpeg(seed=7)
    form = {
        "client_id": str(uuid.uuid4()),
        "owner_type": media_kinds.KIND,
        "owner_id": str(world.unit_a.id),
    }
    results = overlapping(
        app,
        inspector.token,
        lambda c: c.post("/api/v1/photos", **multipart(form, content, "image/jpeg")),
    )
    photo = assert_one_result(results, ignore={"urls"})
    assert photo["sha256"] == hashlib.sha256(content).hexdigest()
    assert count(Photo) == 1
    row = db.session.get(Photo, photo["id"])
    assert stored_keys(storage) - before == photo_keys(row)
    assert len(photo_keys(row)) == 3


def test_overlapping_confirms_store_one_original(app, storage, world, inspector, client):
    before = stored_keys(storage)
    content = images.jpeg(seed=8)
    started = inspector.post(
        "/api/v1/photo-uploads",
        json={
            "client_id": str(uuid.uuid4()),
            "owner_type": media_kinds.KIND,
            "owner_id": world.unit_a.id,
            "content_type": "image/jpeg",
            "size": len(content),
        },
    ).get_json()
    assert post_upload(client, started["upload"], content, "image/jpeg") in (200, 201, 204)
    photo_id = started["photo"]["id"]

    results = overlapping(
        app, inspector.token, lambda c: c.post(f"/api/v1/photos/{photo_id}/confirm")
    )
    photo = assert_one_result(results, created=False, ignore={"urls"})
    assert (photo["id"], photo["status"]) == (photo_id, "stored")
    row = db.session.get(Photo, photo_id)
    assert stored_keys(storage) - before == photo_keys(row)  # incoming/ removed, no orphans
    assert len(photo_keys(row)) == 3


def test_overlapping_direct_upload_requests_make_one(app, world, inspector):
    body = {
        "client_id": str(uuid.uuid4()),
        "owner_type": media_kinds.KIND,
        "owner_id": world.unit_a.id,
        "content_type": "image/jpeg",
        "size": 1000,
    }
    results = overlapping(
        app, inspector.token, lambda c: c.post("/api/v1/photo-uploads", json=body)
    )
    assert sorted(status for status, _ in results) == [200] * (COPIES - 1) + [201], results
    # Each answer carries a freshly signed upload form for the one photo.
    assert len({body["photo"]["id"] for _, body in results}) == 1
    assert count(Photo) == 1


def test_a_retry_with_the_first_if_match_is_a_replay_not_412(world, staff):
    user, client = staff
    task = open_task(world.unit_a)
    etag = client.get(f"{TASKS}/{task.id}").headers["ETag"]
    reply = {
        "client_id": str(uuid.uuid4()),
        "description": "已改",
        "photo_ids": after_photos(task, user),
    }
    url = f"{TASKS}/{task.id}/replies"
    first = client.post(url, json=reply, headers={"If-Match": etag})
    again = client.post(url, json=reply, headers={"If-Match": etag})
    assert (first.status_code, again.status_code) == (201, 200), again.get_json()
    assert again.get_json() == first.get_json()
