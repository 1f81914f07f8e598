"""Faults: an unreachable store is a 503 the phone can retry; a failed derivative never
loses the original; a big upload streams instead of sitting in memory."""

from __future__ import annotations

import gc
import io
import tracemalloc
import uuid

import pytest
from PIL import Image
from werkzeug.test import EnvironBuilder

from accounts.models import Role
from core import errors
from media.s3 import S3Storage
from tests import images, media_kinds
from tests.conftest import assert_problem
from tests.media_helpers import fetch, multipart
from tests.test_photos import photo_count, upload


@pytest.fixture
def inspector(world, client_for):
    return client_for(world.users[Role.inspector])


@pytest.fixture
def swap_storage(app):
    original = app.extensions["storage"]

    def swap(storage):
        app.extensions["storage"] = storage

    yield swap
    app.extensions["storage"] = original


def test_unreachable_storage_is_503_and_the_retry_succeeds(app, world, inspector, swap_storage):
    swap_storage(
        S3Storage.from_config(
            {"S3_ENDPOINT_URL": "http://127.0.0.1:9", "S3_CONNECT_TIMEOUT": 0.5}, bucket="down"
        )
    )
    client_id = str(uuid.uuid4())
    content = images.jpeg()
    response = upload(inspector, content, owner_id=world.unit_a.id, client_id=client_id)
    assert_problem(response, 503)
    assert response.headers["Retry-After"]
    assert photo_count() == 0

    swap_storage(_folder(app))
    retry = upload(inspector, content, owner_id=world.unit_a.id, client_id=client_id)
    assert retry.status_code == 201


def _folder(app):
    from media.storage import from_config

    return from_config(app.config)


def test_failed_derivatives_keep_the_original(app, world, inspector, client, runner, monkeypatch):
    storage = app.extensions["storage"]
    put = storage.put

    def derivatives_fail(key, stream, *, content_type):
        if key.endswith(".jpg"):
            raise errors.Unavailable()
        put(key, stream, content_type=content_type)

    monkeypatch.setattr(storage, "put", derivatives_fail)
    content = images.jpeg()
    response = upload(inspector, content, owner_id=world.unit_a.id)
    assert response.status_code == 201
    urls = response.get_json()["urls"]
    assert (urls["preview"], urls["thumb"]) == (None, None)
    assert fetch(client, urls["original"])[1] == content

    monkeypatch.undo()  # storage is back: the derivatives can be made again
    result = runner.invoke(args=["media", "rebuild-derivatives"])
    assert "rebuilt 1 photo(s); 0 still" in result.output, result.output
    photo_id = response.get_json()["id"]
    urls = inspector.get(f"/api/v1/photos/{photo_id}").get_json()["urls"]
    status, preview, content_type = fetch(client, urls["preview"])
    assert (status, content_type) == (200, "image/jpeg")
    assert Image.open(io.BytesIO(preview)).size == (640, 480)
    assert fetch(client, urls["original"])[1] == content


def test_a_big_upload_is_not_held_in_memory(app, world, client_for):
    """The request body is spooled to disk by werkzeug and streamed to storage in chunks:
    Python never holds the file (Pillow decodes it at 1/4 or 1/8 scale, outside this count)."""
    token_client = client_for(world.users[Role.inspector])
    content = images.jpeg(3000, 2250, quality=99)
    form = {"client_id": str(uuid.uuid4()), "owner_type": media_kinds.KIND}
    form |= {"owner_id": str(world.unit_a.id)}
    builder = EnvironBuilder(
        path="/api/v1/photos",
        method="POST",
        headers={"Authorization": f"Bearer {token_client.token}"},
        **multipart(form, content, "image/jpeg"),
    )
    environ = builder.get_environ()
    del content, builder
    gc.collect()
    client = app.test_client()
    tracemalloc.start()
    try:
        response = client.open(environ)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.get_json()
    size = response.get_json()["size"]
    assert size > 2_000_000
    assert peak < size / 2, f"peak Python memory {peak} for a {size}-byte upload"
