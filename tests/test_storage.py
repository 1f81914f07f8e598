"""The storage contract, on the folder backend and on S3 over HTTP (moto's server)."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest

from accounts.models import Role
from core import errors
from core.clock import utcnow
from core.db import db
from media.models import Photo, PhotoStatus
from media.s3 import S3Storage
from media.storage import LocalStorage
from tests import media_kinds
from tests.media_helpers import fetch, post_upload


def pending_photo(world, key: str) -> Photo:
    unit = world.unit_a
    photo = Photo(
        client_id=str(uuid.uuid4()),
        status=PhotoStatus.pending,
        owner_type=media_kinds.KIND,
        owner_id=unit.id,
        evidence_group=f"{media_kinds.KIND}:{unit.id}",
        unit_id=unit.id,
        key=key,
        uploaded_by_id=world.users[Role.inspector].id,
        expires_at=utcnow() + timedelta(minutes=5),
    )
    db.session.add(photo)
    db.session.commit()
    return photo


class Exploding(io.BytesIO):
    def read(self, size=-1):
        if self.tell() > 10:
            raise OSError("client went away")
        return super().read(min(size, 4) if size and size > 0 else 4)


def test_put_head_get_delete(storage):
    content = b"evidence" * 1000
    storage.put("photos/t/one", io.BytesIO(content), content_type="image/jpeg")
    assert storage.head("photos/t/one") == len(content)
    sink = io.BytesIO()
    storage.get_to("photos/t/one", sink)
    assert sink.getvalue() == content
    storage.delete("photos/t/one")
    assert storage.head("photos/t/one") is None
    with pytest.raises(errors.NotFound):
        storage.get_to("photos/t/one", io.BytesIO())


def test_signed_url_serves_the_bytes_with_the_type_given(storage, client):
    key = f"photos/t/signed-{uuid.uuid4().hex}"  # the S3 bucket outlives the test: keys are once
    storage.put(key, io.BytesIO(b"\xff\xd8 jpeg"), content_type="image/jpeg")
    url = storage.signed_url(key, content_type="image/jpeg", expires_in=60)
    status, body, content_type = fetch(client, url)
    assert (status, body, content_type) == (200, b"\xff\xd8 jpeg", "image/jpeg")


def test_presigned_post_puts_the_object(storage, client, world):
    # The folder backend's target writes only the key of a photo waiting for its upload.
    key = pending_photo(world, "incoming/t-direct").key
    post = storage.presigned_post(key, content_type="image/png", max_bytes=1000, expires_in=60)
    status = post_upload(client, {"url": post.url, "fields": post.fields}, b"png!", "image/png")
    assert status in (200, 201, 204)
    assert storage.head(key) == 4


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "photos//x", "Photos/X", "a/../../b"])
def test_unsafe_keys_are_refused(storage, key):
    with pytest.raises(ValueError, match="unsafe"):
        storage.put(key, io.BytesIO(b"x"), content_type="image/jpeg")


def test_folder_write_is_atomic(tmp_path):
    storage = LocalStorage(tmp_path, secret="s" * 32, base_url="/m")
    with pytest.raises(errors.Unavailable):
        storage.put("photos/t/half", Exploding(b"x" * 100), content_type="image/jpeg")
    assert storage.head("photos/t/half") is None
    assert not any(p.is_file() for p in tmp_path.rglob("*")), "a partial file was left behind"


@pytest.mark.parametrize("token", ["garbage", "eyJvcCI6ImdldCJ9.forged"])
def test_folder_urls_refuse_forged_tokens(app, client, token):
    from tests.conftest import assert_problem

    assert_problem(client.get(f"/api/v1/media/files/{token}"), 404)


def test_unreachable_s3_is_unavailable():
    storage = S3Storage.from_config(
        {"S3_ENDPOINT_URL": "http://127.0.0.1:9", "S3_CONNECT_TIMEOUT": 0.5},
        bucket="nowhere",
    )
    with pytest.raises(errors.Unavailable):
        storage.put("photos/t/x", io.BytesIO(b"x"), content_type="image/jpeg")
    with pytest.raises(errors.Unavailable):
        storage.head("photos/t/x")


def test_health_reports_storage(app, client):
    body = client.get("/healthz").get_json()
    assert body["checks"]["storage"] == "ok"
    original = app.extensions["storage"]
    app.extensions["storage"] = S3Storage.from_config(
        {"S3_ENDPOINT_URL": "http://127.0.0.1:9", "S3_CONNECT_TIMEOUT": 0.5}, bucket="nowhere"
    )
    try:
        response = client.get("/healthz")
    finally:
        app.extensions["storage"] = original
    assert response.status_code == 503
    assert response.get_json()["checks"]["storage"] == "down"
