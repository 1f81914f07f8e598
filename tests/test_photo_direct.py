"""Direct upload: a presigned POST to the store, then confirm. The server checks what
actually arrived, because stores (and moto) do not all enforce the POST's conditions."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import Role
from core import errors
from core.clock import utcnow
from core.db import db
from media.models import Photo, PhotoStatus
from tests import images, media_kinds
from tests.conftest import assert_problem
from tests.media_helpers import fetch, post_upload


@pytest.fixture
def inspector(world, client_for):
    return client_for(world.users[Role.inspector])


def start(client, unit_id: int, content: bytes, **over):
    body = {
        "client_id": str(uuid.uuid4()),
        "owner_type": media_kinds.KIND,
        "owner_id": unit_id,
        "content_type": "image/jpeg",
        "size": len(content),
    } | over
    return client.post("/api/v1/photo-uploads", json=body)


def test_presigned_post_then_confirm(storage, world, inspector, client):
    content = images.jpeg(gps=(23.3, 116.17))
    sha256 = hashlib.sha256(content).hexdigest()
    client_id = str(uuid.uuid4())
    started = start(inspector, world.unit_a.id, content, client_id=client_id, sha256=sha256)
    assert started.status_code == 201, started.get_json()
    body = started.get_json()
    assert body["photo"]["status"] == "pending"
    assert body["photo"]["urls"] == {"original": None, "preview": None, "thumb": None}
    assert post_upload(client, body["upload"], content, "image/jpeg") in (200, 201, 204)

    photo_id = body["photo"]["id"]
    confirmed = inspector.post(f"/api/v1/photos/{photo_id}/confirm")
    assert confirmed.status_code == 200, confirmed.get_json()
    photo = confirmed.get_json()
    assert (photo["status"], photo["sha256"], photo["size"]) == ("stored", sha256, len(content))
    assert fetch(client, photo["urls"]["original"])[1] == content
    assert fetch(client, photo["urls"]["thumb"])[0] == 200

    # The presigned POST is still valid, but what it can write is no longer the evidence.
    post_upload(client, body["upload"], images.jpeg(seed=99), "image/jpeg")
    again = inspector.get(f"/api/v1/photos/{photo_id}").get_json()
    assert fetch(client, again["urls"]["original"])[1] == content

    # Retries: confirming again and starting again with the same id return the stored photo.
    assert inspector.post(f"/api/v1/photos/{photo_id}/confirm").get_json()["id"] == photo_id
    again = start(inspector, world.unit_a.id, content, client_id=client_id)
    assert again.status_code == 200
    assert (again.get_json()["photo"]["id"], again.get_json()["upload"]) == (photo_id, None)


@pytest.mark.parametrize(
    ("arrived", "status"),
    [
        (b"<?php system($_GET['c']); ?>", 415),  # not an image, whatever it claimed
        (images.jpeg(800, 600)[:15_000], 422),  # truncated
        (images.png_header_only(12_000, 12_000), 413),  # bomb
        (images.jpeg(1200, 900, quality=98), 413),  # larger than allowed (limit lowered below)
    ],
    ids=["php", "truncated", "bomb", "oversize"],
)
def test_confirm_refuses_what_should_not_have_arrived(
    app, storage, world, inspector, client, monkeypatch, arrived, status
):
    body = start(inspector, world.unit_a.id, arrived).get_json()  # its size announced
    post_upload(client, body["upload"], arrived, "image/jpeg")
    monkeypatch.setitem(app.config, "MAX_PHOTO_BYTES", 150_000)
    photo_id = body["photo"]["id"]
    key = db.session.get(Photo, photo_id).key

    assert_problem(inspector.post(f"/api/v1/photos/{photo_id}/confirm"), status)
    assert storage.head(key) is None, "the refused object is still in the store"
    db.session.expire_all()
    assert db.session.get(Photo, photo_id).status == PhotoStatus.pending  # may upload again


def test_confirm_detects_a_changed_file(storage, world, inspector, client):
    content = images.jpeg()
    claimed = hashlib.sha256(b"something else").hexdigest()
    body = start(inspector, world.unit_a.id, content, sha256=claimed).get_json()
    post_upload(client, body["upload"], content, "image/jpeg")
    response = inspector.post(f"/api/v1/photos/{body['photo']['id']}/confirm")
    assert "sha256" in assert_problem(response, 422)["errors"]


def test_confirm_while_storage_is_down_is_503_and_can_be_retried(
    app, world, inspector, client, monkeypatch
):
    content = images.jpeg()
    body = start(inspector, world.unit_a.id, content).get_json()
    post_upload(client, body["upload"], content, "image/jpeg")
    storage = app.extensions["storage"]
    put = storage.put

    def down(*args, **kwargs):
        raise errors.Unavailable()

    monkeypatch.setattr(storage, "put", down)
    url = f"/api/v1/photos/{body['photo']['id']}/confirm"
    assert_problem(inspector.post(url), 503)
    db.session.expire_all()
    assert db.session.get(Photo, body["photo"]["id"]).status == PhotoStatus.pending
    monkeypatch.setattr(storage, "put", put)
    assert inspector.post(url).get_json()["status"] == "stored"


def test_confirm_before_upload_is_409(storage, world, inspector):
    body = start(inspector, world.unit_a.id, images.jpeg()).get_json()
    assert_problem(inspector.post(f"/api/v1/photos/{body['photo']['id']}/confirm"), 409)


def test_only_the_uploader_confirms(world, inspector, client_for):
    body = start(inspector, world.unit_a.id, images.jpeg()).get_json()
    other = client_for(world.users[Role.office_admin])
    assert_problem(other.post(f"/api/v1/photos/{body['photo']['id']}/confirm"), 404)
    # A pending photo is not visible to anyone yet.
    assert_problem(other.get(f"/api/v1/photos/{body['photo']['id']}"), 404)


@pytest.mark.parametrize(
    ("over", "status"),
    [
        ({"content_type": "text/html"}, 422),
        ({"content_type": "image/gif"}, 422),
        ({"size": 100 * 1024 * 1024}, 413),
        ({"owner_id": 987654}, 404),
    ],
)
def test_bad_upload_requests(world, inspector, over, status):
    assert_problem(start(inspector, world.unit_a.id, b"x", **over), status)


def test_unconfirmed_uploads_expire(app, storage, world, inspector, client, runner):
    content = images.jpeg()
    body = start(inspector, world.unit_a.id, content).get_json()
    post_upload(client, body["upload"], content, "image/jpeg")
    photo = db.session.get(Photo, body["photo"]["id"])
    key = photo.key
    photo.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()

    assert_problem(inspector.post(f"/api/v1/photos/{photo.id}/confirm"), 409)
    result = runner.invoke(args=["media", "expire-uploads"])
    assert result.exit_code == 0, result.output
    assert "removed 1" in result.output
    assert db.session.scalars(select(Photo)).all() == []
    assert storage.head(key) is None
