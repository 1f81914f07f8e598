"""How the pipeline reads an upload does not change what it records: the hash and size of
the whole original, whatever holds it."""

from __future__ import annotations

import functools
import hashlib
import io
import random
import shutil
import tempfile
import uuid

import pytest

from accounts.models import Role
from media import pipeline
from tests import images, media_kinds
from tests.media_helpers import fetch, multipart

MIB = 1024 * 1024


def _stream(kind: str, content: bytes):
    if kind == "bytes":
        return io.BytesIO(content)
    if kind == "temporary-file":
        stream = tempfile.TemporaryFile()  # noqa: SIM115 (the caller closes it)
    else:  # a direct upload's confirmation reads the stored object into one of these
        limit = 10 * len(content) if kind == "spooled-in-memory" else MIB
        stream = tempfile.SpooledTemporaryFile(max_size=limit)  # noqa: SIM115 (likewise)
    stream.write(content)
    return stream


@pytest.mark.parametrize(
    "kind", ["bytes", "temporary-file", "spooled-in-memory", "spooled-on-disk"]
)
def test_hash_and_size_are_those_of_the_whole_file_whatever_holds_it(kind):
    content = random.Random(7).randbytes(3 * MIB + 17)  # not a multiple of any buffer
    with _stream(kind, content) as stream:
        stream.seek(12345)  # wherever the last reader left it
        digest = hashlib.sha256(content).hexdigest()
        assert pipeline.sha256_and_size(stream) == (digest, len(content))
        assert stream.tell() == 0  # rewound for the decoder
    with _stream(kind, b"") as empty:
        assert pipeline.sha256_and_size(empty) == (hashlib.sha256().hexdigest(), 0)


@functools.cache
def phone_jpeg(width: int, height: int) -> bytes:
    """Held upright (orientation 6), with time and position, as a phone writes it."""
    return images.encode(
        images.picture(width, height, seed=width),
        "JPEG",
        exif=images.exif_for(orientation=6, gps=(23.2951, 116.1498)),
        quality=95,
    )


def test_the_recorded_hash_is_that_of_the_stored_original(app, world, client_for, client):
    """A phone-sized upload reaches the app as a temporary file (werkzeug spools bodies over
    500 KB to disk): its recorded hash and size are those of the bytes stored."""
    shutil.rmtree(app.extensions["storage"].root, ignore_errors=True)
    content = phone_jpeg(2200, 1650)
    assert len(content) > 500 * 1024
    form = {"client_id": str(uuid.uuid4()), "owner_type": media_kinds.KIND,
            "owner_id": str(world.unit_a.id)}  # fmt: skip
    inspector = client_for(world.users[Role.inspector])
    response = inspector.post("/api/v1/photos", **multipart(form, content, "image/jpeg"))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    status, stored, _ = fetch(client, body["urls"]["original"])
    assert status == 200
    assert stored == content
    assert body["sha256"] == hashlib.sha256(stored).hexdigest()
    assert body["size"] == len(stored)
