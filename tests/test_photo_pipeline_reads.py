"""How the pipeline reads an upload does not change what it records: the hash and size of
the whole original whatever holds it, and the same derivatives, pixel for pixel, whether
a JPEG's compressed data reaches the decoder in one piece or in Pillow's 64 KiB pieces."""

from __future__ import annotations

import functools
import hashlib
import io
import random
import shutil
import tempfile
import uuid

import pytest
from PIL import Image

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


class CountingReads(io.BytesIO):
    def __init__(self, content: bytes):
        super().__init__(content)
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(size)


@functools.cache
def phone_jpeg(width: int, height: int) -> bytes:
    """Held upright (orientation 6), with time and position, as a phone writes it."""
    return images.encode(
        images.picture(width, height, seed=width),
        "JPEG",
        exif=images.exif_for(orientation=6, gps=(23.2951, 116.1498)),
        quality=95,
    )


@pytest.mark.parametrize("size", [(4032, 3024), (2200, 1650), (640, 480)], ids=str)
def test_a_jpeg_read_in_one_piece_has_the_derivatives_of_a_piecewise_read(size, monkeypatch):
    content = phone_jpeg(*size)
    stream = CountingReads(content)
    whole = pipeline.process(stream, max_pixels=10**8)
    one_piece_reads = stream.reads

    monkeypatch.setattr(pipeline, "JPEG_READ_MAX", 0)  # larger than this: Pillow's pieces
    stream = CountingReads(content)
    pieces = pipeline.process(stream, max_pixels=10**8)

    assert whole == pieces  # preview and thumbnail bytes, phash, size, EXIF: all equal
    assert whole.preview is not None
    assert whole.thumb is not None
    upright = (size[1], size[0])
    assert (whole.width, whole.height) == upright
    assert Image.open(io.BytesIO(whole.thumb)).size == pipeline.fit(*upright, 250)
    if len(content) > 4 * 65536:
        assert stream.reads - one_piece_reads >= len(content) // 65536 - 2


def test_a_jpeg_above_the_one_piece_size_is_still_decoded(monkeypatch):
    content = phone_jpeg(2200, 1650)
    expected = pipeline.process(io.BytesIO(content), max_pixels=10**8)
    monkeypatch.setattr(pipeline, "JPEG_READ_MAX", len(content) - 1)
    assert pipeline.process(io.BytesIO(content), max_pixels=10**8) == expected


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
