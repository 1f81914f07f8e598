"""Decoding has a memory budget and refuses what ends early: what a phone sees for
truncated files, images too large to decode, a busy server; and the memory it costs."""

from __future__ import annotations

import functools
import io
import json
import shutil
import subprocess
import sys
import threading
import time
import uuid

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from accounts.models import Role
from core.db import db
from media import pipeline
from media.models import Photo
from tests import images, media_kinds
from tests.conftest import assert_problem
from tests.media_helpers import fetch, multipart

TRUNCATED = "urn:problem:image-truncated"
TOO_LARGE = "urn:problem:image-too-large"


@pytest.fixture(autouse=True)
def empty_photo_folder(app):
    shutil.rmtree(app.extensions["storage"].root, ignore_errors=True)


@pytest.fixture
def inspector(world, client_for):
    return client_for(world.users[Role.inspector])


def upload(client, content: bytes, owner_id: int, content_type: str = "image/png"):
    form = {"client_id": str(uuid.uuid4()), "owner_type": media_kinds.KIND,
            "owner_id": str(owner_id)}  # fmt: skip
    return client.post("/api/v1/photos", **multipart(form, content, content_type))


def nothing_kept(app) -> bool:
    root = app.extensions["storage"].root
    files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return files == [] and db.session.scalar(select(func.count()).select_from(Photo)) == 0


def gradient(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A cheap picture with content everywhere (the seeded photo-like one is slow at 12 MP)."""
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    pixels = np.empty((height, width, 4), dtype=np.uint8)
    pixels[..., 0], pixels[..., 1], pixels[..., 2] = x, y, (x + y) / 2
    pixels[..., 3] = 128  # half transparent where there is an alpha channel
    return (
        Image.fromarray(pixels, "RGBA").convert(mode)
        if mode != "RGBA"
        else Image.fromarray(pixels, "RGBA")
    )


@functools.cache
def rgba_photo(width: int = 4032, height: int = 3024) -> bytes:
    """A phone-sized RGBA PNG (12 MP: 46.5 MiB decoded), half transparent."""
    return images.encode(gradient(width, height, "RGBA"), "PNG", compress_level=1)


@functools.cache
def huge_rgba_png() -> bytes:
    """The attack: ~343 KB declaring 9400 × 9400 RGBA (353 MB decoded)."""
    return images.png_rows(9400, 9400, colour=6)


@functools.cache
def truncated_cases() -> dict[str, bytes]:
    png = images.encode(images.picture(800, 600), "PNG")
    webp = images.encode(images.picture(800, 600), "WEBP", quality=80)
    heic = images.encode(images.picture(800, 600), "HEIF", quality=60)
    jpeg = images.jpeg(800, 600)
    return {
        "png-stream-ends-after-50-rows": images.png_rows(2000, 1500, rows=50),
        "png-data-cut-in-valid-chunks": images.png_cut_stream(png),
        "png-cut-in-half": png[: len(png) // 2],
        "png-without-its-end": png[:-20],
        "webp-cut-in-half": webp[: len(webp) // 2],
        "webp-last-bytes-missing": webp[:-10],
        "heic-cut": heic[: len(heic) - 200],
        "jpeg-cut-in-half": jpeg[: len(jpeg) // 2],
    }


@pytest.mark.parametrize(
    "name",
    [
        "png-stream-ends-after-50-rows",
        "png-data-cut-in-valid-chunks",
        "png-cut-in-half",
        "png-without-its-end",
        "webp-cut-in-half",
        "webp-last-bytes-missing",
        "heic-cut",
        "jpeg-cut-in-half",
    ],
)
def test_an_image_whose_data_ends_early_is_refused(app, world, inspector, name):
    content = truncated_cases()[name]
    body = assert_problem(upload(inspector, content, world.unit_a.id), 422)
    assert body["type"] == TRUNCATED
    assert "不完整" in body["detail"]
    assert nothing_kept(app)


def test_the_516_byte_9000_square_png_is_refused(app, world, inspector):
    """The issue's file: 9000 × 9000 declared, 50 rows of data. Refused before decoding
    (too large to decode here); with a budget big enough to decode it, as truncated."""
    content = images.png_rows(9000, 9000, rows=50, colour=0)
    assert len(content) < 2000
    body = assert_problem(upload(inspector, content, world.unit_a.id), 413)
    assert body["type"] == TOO_LARGE
    with pytest.raises(pipeline.errors.InvalidInput):
        pipeline.process(io.BytesIO(content), max_pixels=10**9, budget=200 * 2**20)
    assert nothing_kept(app)


def test_an_image_too_large_to_decode_is_refused_before_decoding(app, world, inspector):
    content = huge_rgba_png()
    assert len(content) < 400_000
    body = assert_problem(upload(inspector, content, world.unit_a.id), 413)
    assert body["type"] == TOO_LARGE
    assert "MB" in body["detail"]
    assert "上限" in body["detail"]
    assert nothing_kept(app)


PHONE_PHOTOS = {
    "png-rgba-12mp": lambda: rgba_photo(),  # 12 MP RGBA: at the default budget
    "webp-12mp": lambda: images.encode(gradient(4000, 3000), "WEBP", quality=70),
    "heic-12mp": lambda: images.encode(gradient(4000, 3000), "HEIF", quality=50),
}


@pytest.mark.parametrize("name", list(PHONE_PHOTOS))
def test_a_phone_photo_in_every_format_is_accepted(world, inspector, client, name):
    content = PHONE_PHOTOS[name]()
    content_type = "image/" + name.split("-")[0].replace("heic", "heic")
    size = (4032, 3024) if name.startswith("png") else (4000, 3000)
    response = upload(inspector, content, world.unit_a.id, content_type)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["width"], body["height"]) == size
    status, preview, _ = fetch(client, body["urls"]["preview"])
    assert status == 200
    assert max(Image.open(io.BytesIO(preview)).size) <= pipeline.PREVIEW_MAX_EDGE


def test_transparency_is_flattened_onto_white_in_the_preview(world, inspector, client):
    body = upload(inspector, rgba_photo(), world.unit_a.id).get_json()
    _, preview, _ = fetch(client, body["urls"]["preview"])
    r, g, b = Image.open(io.BytesIO(preview)).convert("RGB").getpixel((0, 0))
    assert r > 120  # black at 50 % alpha over white, not black
    assert g > 120
    assert b > 120


def _grey16(width: int, height: int) -> bytes:
    ramp = np.linspace(0, 65535, width, dtype=np.uint16)[None, :].repeat(height, axis=0)
    return images.encode(Image.fromarray(ramp), "PNG")


def _palette(width: int, height: int) -> bytes:
    return images.encode(gradient(width, height).convert("P", palette=Image.Palette.WEB), "PNG")


def _rgba16(width: int, height: int) -> bytes:
    """16-bit RGBA, opaque, a grey ramp from black to white across."""
    grey = np.linspace(0, 65535, width).astype(">u2")
    pixels = np.stack([grey, grey, grey, np.full(width, 65535, ">u2")], axis=-1)
    return images.png_rows(width, height, colour=6, depth=16, row=pixels.tobytes())


@pytest.mark.parametrize(
    ("make", "mode"),
    [(_grey16, "I;16"), (_palette, "P"), (_rgba16, "RGBA")],
    ids=["grey-16-bit", "palette", "rgba-16-bit"],
)
def test_16_bit_and_palette_pngs_are_accepted_with_a_real_preview(
    world, inspector, client, make, mode
):
    content = make(2400, 1800)  # large enough to be shrunk strip by strip
    assert Image.open(io.BytesIO(content)).mode == mode
    response = upload(inspector, content, world.unit_a.id)
    assert response.status_code == 201, response.get_data(as_text=True)
    _, preview, _ = fetch(client, response.get_json()["urls"]["preview"])
    low, high = Image.open(io.BytesIO(preview)).convert("L").getextrema()
    assert high - low > 100, "the preview lost the picture (clipped to one tone)"


def test_the_budget_counts_bytes_per_pixel_not_only_pixels(app, world, inspector, monkeypatch):
    """1 MB of budget: 800 × 600 grey (0.5 MB) fits, the same in 16-bit (1 MB) does not,
    nor in RGBA (1.9 MB) — the pixel count alone would accept all three."""
    monkeypatch.setitem(app.config, "PHOTO_DECODE_BUDGET_MB", 1)
    grey = images.encode(images.picture(800, 600).convert("L"), "PNG")
    assert upload(inspector, grey, world.unit_a.id).status_code == 201
    for content in (_grey16(800, 656), images.png_rows(800, 600, colour=6)):
        body = assert_problem(upload(inspector, content, world.unit_a.id), 413)
        assert body["type"] == TOO_LARGE


def test_interlaced_pngs_are_counted_right():
    """Pillow cannot write Adam7 PNGs; the seven passes' arithmetic is checked instead."""
    for width, height in [(1, 1), (3, 2), (9, 7), (33, 17), (640, 480)]:
        ihdr = np.array([width, height], dtype=">u4").tobytes() + bytes([8, 2, 0, 0, 1])
        passes = pipeline._png_data_bytes(ihdr)
        expected = sum(
            h * (1 + w * 3)
            for w, h in (
                (-(-(width - x0) // dx) if width > x0 else 0,
                 -(-(height - y0) // dy) if height > y0 else 0)
                for x0, y0, dx, dy in pipeline._ADAM7
            )
            if w and h
        )  # fmt: skip
        assert passes == expected


# -- concurrency --------------------------------------------------------------------------


def test_a_busy_decoder_answers_503_with_retry_after(app, world, inspector, monkeypatch):
    monkeypatch.setitem(app.extensions, "photo_decode_slots", threading.BoundedSemaphore(1))
    monkeypatch.setitem(app.config, "PHOTO_DECODE_WAIT_SECONDS", 0.05)
    slots = app.extensions["photo_decode_slots"]
    assert slots.acquire(blocking=False)  # another request is decoding
    try:
        response = upload(inspector, images.jpeg(), world.unit_a.id, "image/jpeg")
        body = assert_problem(response, 503)
        assert body["type"] == "urn:problem:decoder-busy"
        assert int(response.headers["Retry-After"]) >= 1
    finally:
        slots.release()
    assert nothing_kept(app)
    assert upload(inspector, images.jpeg(), world.unit_a.id, "image/jpeg").status_code == 201


def test_concurrent_uploads_decode_at_most_n_at_a_time(app, world, client_for, monkeypatch):
    monkeypatch.setitem(app.extensions, "photo_decode_slots", threading.BoundedSemaphore(2))
    monkeypatch.setitem(app.config, "PHOTO_DECODE_WAIT_SECONDS", 60)
    load = pipeline._load
    running, peak, lock = [0], [0], threading.Lock()

    def counted(image):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            time.sleep(0.05)  # hold the slot so that the others queue behind it
            load(image)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(pipeline, "_load", counted)
    token = client_for(world.users[Role.inspector]).token
    unit_id = world.unit_a.id
    contents = [images.jpeg(seed=seed) for seed in range(6)]
    statuses: list[int] = []
    start = threading.Barrier(6)

    def send(content: bytes) -> None:
        client = app.test_client()
        start.wait()
        form = {"client_id": str(uuid.uuid4()), "owner_type": media_kinds.KIND,
                "owner_id": str(unit_id)}  # fmt: skip
        response = client.post(
            "/api/v1/photos",
            headers={"Authorization": f"Bearer {token}"},
            **multipart(form, content, "image/jpeg"),
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=(content,)) for content in contents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 6
    assert peak[0] <= 2


# -- memory -------------------------------------------------------------------------------

MEASURE = """
import io, json, sys
from pathlib import Path
from media import pipeline

def rss(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

from PIL import Image
warm = io.BytesIO()
Image.new("RGBA", (1200, 900), (9, 9, 9, 9)).save(warm, "PNG")
pipeline.process(warm, max_pixels=10**8)  # imports (scipy for the phash) are not the photo's
content = Path(sys.argv[1]).read_bytes()
stream = io.BytesIO(content)
Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts from here
before = rss("VmRSS")
try:
    pipeline.process(stream, max_pixels=89_478_485)
    outcome = "accepted"
except Exception as exc:
    outcome = type(exc).__name__
print(json.dumps({"outcome": outcome, "peak_extra": rss("VmHWM") - before}))
"""


def _peak(content: bytes, tmp_path) -> dict:
    """Process one file in a fresh interpreter; its peak memory above where it started."""
    path = tmp_path / "image"
    path.write_bytes(content)
    child = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(child.stdout.strip().splitlines()[-1])


def test_refusing_a_decompression_bomb_costs_no_memory(tmp_path):
    result = _peak(huge_rgba_png(), tmp_path)
    assert result["outcome"] == "PayloadTooLarge"
    assert result["peak_extra"] < 16 * 2**20  # it was 1.1 GiB


def test_a_png_at_the_budget_costs_about_its_decoded_size(tmp_path):
    """The decoded image is the only full-size buffer: no second copy while flattening
    transparency or making the preview."""
    result = _peak(rgba_photo(), tmp_path)
    assert result["outcome"] == "accepted"
    decoded = 4032 * 3024 * 4
    assert result["peak_extra"] < decoded + 24 * 2**20
