"""Originals are written once: no route, token or key collision replaces stored evidence."""

from __future__ import annotations

import hashlib
import io
import threading
import uuid

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from core.db import db
from media import service as media_service
from media.models import Photo
from media.s3 import S3Storage
from media.storage import ObjectExists
from tests import images, media_kinds
from tests.conftest import assert_problem
from tests.media_helpers import multipart, post_upload

# The photo folder starts empty for each test (conftest: only where a test takes the app).
pytestmark = pytest.mark.usefixtures("empty_photo_folder")


@pytest.fixture
def inspector(world, client_for):
    return client_for(world.users[Role.inspector])


def upload(client, content: bytes, owner_id: int):
    form = {"client_id": str(uuid.uuid4()), "owner_type": media_kinds.KIND,
            "owner_id": str(owner_id)}  # fmt: skip
    return client.post("/api/v1/photos", **multipart(form, content, "image/jpeg"))


def stored_bytes(storage, key: str) -> bytes:
    sink = io.BytesIO()
    storage.get_to(key, sink)
    return sink.getvalue()


def test_a_second_post_to_an_original_key_is_refused(app, world, inspector, client):
    """The forged-token attack on the folder backend: whoever holds a valid upload token
    for the key of a stored original cannot change its bytes."""
    first = images.jpeg(seed=1)
    body = upload(inspector, first, world.unit_a.id).get_json()
    photo = db.session.get(Photo, body["id"])
    storage = app.extensions["storage"]
    post = storage.presigned_post(
        photo.key, content_type="image/jpeg", max_bytes=10**7, expires_in=60
    )
    other = images.jpeg(seed=2)
    response = client.post(post.url, **multipart(post.fields, other, "image/jpeg"))
    # The target serves only the key of a pending upload; a stored original's is closed.
    assert assert_problem(response, 409)["type"] == "urn:problem:upload-closed"
    assert stored_bytes(storage, photo.key) == first
    assert hashlib.sha256(first).hexdigest() == photo.sha256


def test_a_resent_direct_upload_is_what_confirm_checks_and_then_the_target_closes(
    app, world, inspector, client
):
    """While its photo is pending the folder target takes a resend (a phone retrying, as
    with a presigned POST to S3) and confirm checks what arrived last; once confirmed, the
    target writes nothing and the original keeps its bytes."""
    content = images.jpeg(seed=3)
    started = inspector.post(
        "/api/v1/photo-uploads",
        json={"client_id": str(uuid.uuid4()), "owner_type": media_kinds.KIND,
              "owner_id": world.unit_a.id, "content_type": "image/jpeg",
              "size": len(content)},
    ).get_json()  # fmt: skip
    assert post_upload(client, started["upload"], images.jpeg(seed=4), "image/jpeg") == 204
    assert post_upload(client, started["upload"], content, "image/jpeg") == 204
    confirmed = inspector.post(f"/api/v1/photos/{started['photo']['id']}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.get_json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert post_upload(client, started["upload"], images.jpeg(seed=4), "image/jpeg") == 409
    photo = db.session.get(Photo, started["photo"]["id"])
    assert stored_bytes(app.extensions["storage"], photo.key) == content


@pytest.mark.parametrize("route", ["multipart", "direct"])
def test_a_new_photo_never_lands_on_a_stored_original(
    storage, world, inspector, client, monkeypatch, route
):
    """Whatever makes a key collide with a stored original (a bug, a forged key), the
    upload is refused with its own problem and the original keeps its bytes."""
    first = images.jpeg(seed=5)
    body = upload(inspector, first, world.unit_a.id).get_json()
    key = db.session.get(Photo, body["id"]).key
    monkeypatch.setattr(media_service, "_photo_key", lambda: key)
    other = images.jpeg(seed=6)
    if route == "multipart":
        response = upload(inspector, other, world.unit_a.id)
    else:
        started = inspector.post(
            "/api/v1/photo-uploads",
            json={"client_id": str(uuid.uuid4()), "owner_type": media_kinds.KIND,
                  "owner_id": world.unit_a.id, "content_type": "image/jpeg",
                  "size": len(other)},
        ).get_json()  # fmt: skip
        assert post_upload(client, started["upload"], other, "image/jpeg") in (200, 204)
        response = inspector.post(f"/api/v1/photos/{started['photo']['id']}/confirm")
    # The photo row claims its key before any byte is written: the database refuses the
    # collision first, the store's write-once check would refuse it next.
    assert_problem(response, 409)
    assert stored_bytes(storage, key) == first
    stored = select(func.count()).select_from(Photo).where(Photo.sha256.is_not(None))
    assert db.session.scalar(stored) == 1


@pytest.mark.parametrize("conditional", [True, False])
def test_s3_puts_never_replace(app, s3_config, conditional):
    config = app.config | s3_config("moto") | {"S3_CONDITIONAL_WRITES": conditional}
    from media.storage import from_config

    storage = from_config(config)
    assert isinstance(storage, S3Storage)
    key = f"photos/test/{uuid.uuid4().hex}"
    storage.put(key, io.BytesIO(b"first"), content_type="image/jpeg")
    with pytest.raises(ObjectExists):
        storage.put(key, io.BytesIO(b"second"), content_type="image/jpeg")
    assert stored_bytes(storage, key) == b"first"


def test_concurrent_writers_to_one_key_leave_one_whole_object(storage):
    """Eight writers race for one new key: exactly one wins, the rest are refused, and the
    object is one writer's bytes entire."""
    key = f"photos/race/{uuid.uuid4().hex}"
    contents = [bytes([i]) * 300_000 for i in range(8)]
    start = threading.Barrier(len(contents))
    outcomes: list[str] = []

    def write(content: bytes) -> None:
        start.wait()
        try:
            storage.put(key, io.BytesIO(content), content_type="image/jpeg")
            outcomes.append("stored")
        except ObjectExists:
            outcomes.append("exists")

    threads = [threading.Thread(target=write, args=(c,)) for c in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if isinstance(storage, S3Storage):
        # The condition is the store's to enforce atomically: S3 does, but moto checks
        # If-None-Match and writes without a lock, so under load two writers can both pass
        # it there. What the app guarantees on any store: every writer is answered, and the
        # object is one writer's bytes entire.
        assert "stored" in outcomes
        assert len(outcomes) == len(contents)
    else:
        assert sorted(outcomes) == ["exists"] * 7 + ["stored"]
    assert stored_bytes(storage, key) in contents


@pytest.mark.parametrize("lost", ["thumb only", "answer of the preview"])
def test_rebuilding_derivatives_keeps_what_is_already_stored(
    app, world, inspector, client, runner, monkeypatch, lost
):
    """Objects are never replaced, derivatives included: a rebuild after a partial failure
    (or a put whose answer was lost) keeps the stored derivative and adds the missing one."""
    storage = app.extensions["storage"]
    put = storage.put

    def flaky(key, stream, *, content_type):
        if key.endswith(".thumb.jpg"):
            raise media_service.errors.Unavailable()
        if key.endswith(".preview.jpg") and lost != "thumb only":
            put(key, stream, content_type=content_type)
            raise media_service.errors.Unavailable()
        put(key, stream, content_type=content_type)

    monkeypatch.setattr(storage, "put", flaky)
    body = upload(inspector, images.jpeg(seed=7), world.unit_a.id).get_json()
    monkeypatch.undo()
    result = runner.invoke(args=["media", "rebuild-derivatives"])
    assert "rebuilt 1 photo(s); 0 still" in result.output, result.output
    urls = inspector.get(f"/api/v1/photos/{body['id']}").get_json()["urls"]
    assert urls["preview"]
    assert urls["thumb"]
