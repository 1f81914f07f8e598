"""Direct uploads are checked and single-use: the announced size is a promise the stored
original keeps, the upload target works only while its photo waits, and what is left
behind (unconfirmed uploads, stray objects under incoming/) is swept by the worker on its
own schedule."""

from __future__ import annotations

import hashlib
import io
import os
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import Role
from core.clock import utcnow
from core.db import db
from media.models import Photo, PhotoStatus
from media.storage import LocalStorage
from notifications.cli import run_cycle
from tests import images, media_kinds
from tests.conftest import assert_problem
from tests.media_helpers import fetch, post_upload


@pytest.fixture
def inspector(world, client_for):
    return client_for(world.users[Role.inspector])


def start(client, unit_id: int, **over):
    body = {
        "client_id": str(uuid.uuid4()),
        "owner_type": media_kinds.KIND,
        "owner_id": unit_id,
        "content_type": "image/jpeg",
        "size": 1000,
    } | over
    return client.post("/api/v1/photo-uploads", json=body)


def uploaded(client, inspector, unit_id: int, content: bytes, *, announced: int | None = None):
    """A direct upload announced as `announced` bytes (default: the truth), then sent."""
    body = start(inspector, unit_id, size=announced or len(content)).get_json()
    assert post_upload(client, body["upload"], content, "image/jpeg") in (200, 201, 204)
    return body


# -- the announced size -----------------------------------------------------------------------


@pytest.mark.parametrize("size", [-5, 0, 1.5, "1000", True, None])
def test_the_announced_size_is_a_positive_integer(world, inspector, size):
    body = assert_problem(start(inspector, world.unit_a.id, size=size), 422)
    assert "size" in body["errors"]["json"]


def test_more_than_the_limit_is_413(app, world, inspector):
    limit = app.config["MAX_PHOTO_BYTES"]
    assert start(inspector, world.unit_a.id, size=limit).status_code == 201
    assert_problem(start(inspector, world.unit_a.id, size=limit + 1), 413)


@pytest.mark.parametrize("claim_sha256", [False, True], ids=["no-sha256", "with-sha256"])
@pytest.mark.parametrize("factor", [0.5, 18], ids=["smaller", "larger"])
def test_an_object_of_another_size_is_refused_and_removed(
    storage, world, inspector, client, factor, claim_sha256
):
    announced = images.jpeg(seed=3)
    sent = images.jpeg(1600, 1200, seed=4, quality=98) if factor > 1 else announced[:5000]
    body = start(
        inspector,
        world.unit_a.id,
        size=len(announced),
        **({"sha256": hashlib.sha256(announced).hexdigest()} if claim_sha256 else {}),
    ).get_json()
    post_upload(client, body["upload"], sent, "image/jpeg")
    photo_id = body["photo"]["id"]
    key = db.session.get(Photo, photo_id).key

    problem = assert_problem(inspector.post(f"/api/v1/photos/{photo_id}/confirm"), 422)
    assert problem["type"] == "urn:problem:upload-size-mismatch"
    assert "传输中损坏" not in problem["detail"]
    assert str(len(announced)) in problem["detail"]
    assert str(len(sent)) in problem["detail"]
    assert storage.head(key) is None, "the wrong object is still in the store"
    db.session.expire_all()
    assert db.session.get(Photo, photo_id).status == PhotoStatus.pending

    # The upload stays pending: the right bytes to the same target, and it confirms.
    post_upload(client, body["upload"], announced, "image/jpeg")
    confirmed = inspector.post(f"/api/v1/photos/{photo_id}/confirm")
    assert confirmed.status_code == 200, confirmed.get_json()
    assert confirmed.get_json()["size"] == len(announced)
    assert confirmed.get_json()["sha256"] == hashlib.sha256(announced).hexdigest()


def test_a_retry_announcing_another_size_is_what_confirm_checks(world, inspector, client):
    content = images.jpeg(seed=5)
    client_id = str(uuid.uuid4())
    start(inspector, world.unit_a.id, client_id=client_id, size=10)
    again = start(inspector, world.unit_a.id, client_id=client_id, size=len(content))
    assert again.status_code == 200
    post_upload(client, again.get_json()["upload"], content, "image/jpeg")
    confirmed = inspector.post(f"/api/v1/photos/{again.get_json()['photo']['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.get_json()


# -- single use -------------------------------------------------------------------------------


def stored_keys(storage) -> set[str]:
    from tests.test_overlapping_retries import stored_keys as keys

    return keys(storage)


def test_after_confirm_the_target_cannot_change_the_original(storage, world, inspector, client):
    content = images.jpeg(seed=6)
    body = uploaded(client, inspector, world.unit_a.id, content)
    photo_id = body["photo"]["id"]
    confirmed = inspector.post(f"/api/v1/photos/{photo_id}/confirm").get_json()
    before = stored_keys(storage)

    other = images.jpeg(seed=7)
    status = post_upload(client, body["upload"], other, "image/jpeg")
    if isinstance(storage, LocalStorage):
        # The app serves the folder's target itself: spent, it refuses and writes nothing.
        assert status == 409
        assert stored_keys(storage) == before
    else:
        # A presigned S3 POST cannot be revoked: it lands under incoming/, which nothing
        # refers to any more, and the sweep removes it.
        assert all(key.startswith("incoming/") for key in stored_keys(storage) - before)
    again = inspector.get(f"/api/v1/photos/{photo_id}").get_json()
    assert again["sha256"] == confirmed["sha256"] == hashlib.sha256(content).hexdigest()
    assert fetch(client, again["urls"]["original"])[1] == content
    # Confirming again changes nothing either.
    replay = inspector.post(f"/api/v1/photos/{photo_id}/confirm")
    assert replay.status_code == 200
    assert {k: v for k, v in replay.get_json().items() if k != "urls"} == {
        k: v for k, v in again.items() if k != "urls"
    }
    db.session.expire_all()
    assert db.session.get(Photo, photo_id).sha256 == hashlib.sha256(content).hexdigest()


def test_the_folder_target_refuses_an_expired_upload(app, world, inspector, client):
    body = start(inspector, world.unit_a.id).get_json()
    photo = db.session.get(Photo, body["photo"]["id"])
    photo.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.post(
        body["upload"]["url"],
        data={"file": (io.BytesIO(b"x" * 1000), "p.jpg", "image/jpeg")},
    )
    assert assert_problem(response, 409)["type"] == "urn:problem:upload-closed"
    assert app.extensions["storage"].head(photo.key) is None


# -- the sweep --------------------------------------------------------------------------------


def age(storage, key: str, seconds: int) -> None:
    """Make an object look `seconds` old (moto cannot be told; rewrite its time)."""
    if isinstance(storage, LocalStorage):
        path = storage.path_of(key)
        then = time.time() - seconds
        os.utime(path, (then, then))
    else:
        pytest.skip("object times cannot be set on S3")


def test_the_worker_sweeps_on_its_own_schedule(app, storage, world, inspector, client):
    content = images.jpeg(seed=9)
    waiting = uploaded(client, inspector, world.unit_a.id, content)
    stale = uploaded(client, inspector, world.unit_a.id, content)
    confirmed = uploaded(client, inspector, world.unit_a.id, content)
    inspector.post(f"/api/v1/photos/{confirmed['photo']['id']}/confirm")
    stale_row = db.session.get(Photo, stale["photo"]["id"])
    stale_row.expires_at = utcnow() - timedelta(minutes=1)
    stale_key = stale_row.key
    waiting_key = db.session.get(Photo, waiting["photo"]["id"]).key
    db.session.commit()
    # A re-POST after confirm that landed anyway (S3 cannot refuse it): put it there.
    stray = f"incoming/{uuid.uuid4().hex}"
    storage.put(stray, io.BytesIO(content), content_type="image/jpeg")

    app.extensions.pop("media_sweep", None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(app.config, "MEDIA_SWEEP_SECONDS", 3600)
        if isinstance(storage, LocalStorage):
            age(storage, stray, app.config["PHOTO_UPLOAD_TTL_SECONDS"] + 60)
            age(storage, waiting_key, app.config["PHOTO_UPLOAD_TTL_SECONDS"] + 60)
        else:
            patch.setitem(app.config, "PHOTO_UPLOAD_TTL_SECONDS", -60)  # everything is old
        swept = run_cycle()["sweep_uploads"]
        # (Strays of earlier tests in this session's store may go too.)
        assert swept["expired_uploads"] == 1, swept
        assert swept["stray_objects"] >= 1, swept
        db.session.expire_all()
        assert db.session.get(Photo, stale["photo"]["id"]) is None
        assert storage.head(stale_key) is None
        assert storage.head(stray) is None
        # A waiting upload keeps its object, however old; the stored photo is untouched.
        assert storage.head(waiting_key) == len(content)
        assert db.session.get(Photo, confirmed["photo"]["id"]).status == PhotoStatus.stored

        # Not due again until MEDIA_SWEEP_SECONDS have passed.
        waiting_id = waiting["photo"]["id"]
        db.session.get(Photo, waiting_id).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        assert run_cycle()["sweep_uploads"] is None
        assert db.session.scalar(select(Photo.id).where(Photo.id == waiting_id)) is not None

        patch.setitem(app.config, "MEDIA_SWEEP_SECONDS", 0)
        assert run_cycle()["sweep_uploads"]["expired_uploads"] == 1
    app.extensions.pop("media_sweep", None)
