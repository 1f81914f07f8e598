"""Decoding has a memory budget and refuses what ends early: what a phone sees for
truncated files, images too large to decode, a busy server; and the memory it costs."""

from __future__ import annotations

import functools
import io
import json
import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from datetime import UTC, datetime

import imagehash
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


# The photo folder starts empty for each test (conftest: only where a test takes the app).
pytestmark = pytest.mark.usefixtures("empty_photo_folder")


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


@functools.cache  # encoded once per test process, not once per database (HEIC: 2 s)
def _phone_photo(name: str) -> bytes:
    return PHONE_PHOTOS[name]()


@pytest.mark.parametrize("name", list(PHONE_PHOTOS))
def test_a_phone_photo_in_every_format_is_accepted(world, inspector, client, name):
    content = _phone_photo(name)
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
    # Decoded whole (16-bit) under PHOTO_PNG_FULL_DECODE_BUDGET_MB: above 1100 px, so shrunk
    content = {"I;16": (1400, 1000), "P": (2400, 1800), "RGBA": (1200, 800)}[mode]
    content = make(*content)
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


# -- PNGs decoded in strips ---------------------------------------------------------------


def _reference_preview(content: bytes) -> Image.Image:
    """What a plain whole-image Pillow decode gives: flattened onto white, reduced by the
    whole factor, then LANCZOS to PREVIEW_EDGE when still above PREVIEW_MAX_EDGE."""
    image = Image.open(io.BytesIO(content))
    image.load()
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
    else:
        flat = image.convert("RGB")
    factor = max(1, max(image.size) // pipeline.PREVIEW_EDGE)
    small = flat.reduce(factor)
    if max(small.size) > pipeline.PREVIEW_MAX_EDGE:
        small = small.resize(
            pipeline.fit(*small.size, pipeline.PREVIEW_EDGE), Image.Resampling.LANCZOS
        )
    return small


def _assert_same_preview(content: bytes) -> pipeline.Processed:
    processed = pipeline.process(io.BytesIO(content), max_pixels=10**8)
    ours = np.asarray(Image.open(io.BytesIO(processed.preview)).convert("RGB"), dtype=int)
    expected = np.asarray(
        Image.open(io.BytesIO(pipeline._jpeg(_reference_preview(content)))), dtype=int
    )
    assert ours.shape == expected.shape
    difference = np.abs(ours - expected)
    # Bands resampled with LANCZOS (images of 1100-2000 px) differ from one whole-image
    # resize by a few levels at most; the rest are equal before JPEG encoding.
    assert difference.mean() < 1.5, difference.mean()
    assert difference.max() <= 24
    reference_thumb = _reference_preview(content)
    reference_thumb = reference_thumb.resize(
        pipeline.fit(*reference_thumb.size, pipeline.THUMB_EDGE),
        Image.Resampling.LANCZOS,
        reducing_gap=3.0,
    )
    # A near-duplicate is within 10 bits; the same picture must be far closer than that.
    assert imagehash.hex_to_hash(processed.phash) - imagehash.phash(reference_thumb) <= 4
    return processed


@functools.cache  # drawn once per size in a test process, not once per case (0.7 s each)
def _noisy(width: int, height: int, seed: int = 3) -> np.ndarray:
    """Photo-like RGBA pixels (noise, so that every PNG filter type gets chosen somewhere;
    shapes, so that the perceptual hash is stable), alpha varying across. Read-only."""
    pixels = np.empty((height, width, 4), np.uint8)
    pixels[..., :3] = np.asarray(images.picture(width, height, seed=seed))
    pixels[..., 3] = 135 + np.arange(width)[None, :] % 120
    pixels.flags.writeable = False
    return pixels


@functools.cache  # a median cut of 3 MP takes 1.5 s: each case once per test process
def _in_mode(size: tuple[int, int], mode: str) -> Image.Image:
    """`_noisy` at `size` in `mode`; shared, so not to be changed."""
    image = Image.fromarray(_noisy(*size), "RGBA")
    if mode == "P":
        return image.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=200)
    if mode == "P-tRNS":
        paletted = _in_mode(size, "P").copy()
        paletted.info["transparency"] = bytes(range(0, 200))  # every entry its own alpha
        return paletted
    return image.convert(mode)


@pytest.mark.parametrize("size", [(2100, 1500), (1300, 900), (700, 1500)], ids=str)
@pytest.mark.parametrize("mode", ["L", "RGB", "P", "P-tRNS", "LA", "RGBA"])
@pytest.mark.parametrize(
    "settings", [{"compress_level": 1}, {"optimize": True}], ids=["fast", "optimize"]
)
def test_a_png_decoded_in_strips_has_the_preview_of_a_whole_decode(size, mode, settings):
    image = _in_mode(size, mode)
    kw = dict(settings)
    if mode == "P-tRNS":
        kw["transparency"] = image.info["transparency"]
    content = images.encode(image, "PNG", **kw)
    assert pipeline.png.read_header(io.BytesIO(content)).strippable
    _assert_same_preview(content)


def _filtered(raw: np.ndarray, bpp: int) -> bytes:
    """Scanlines of `raw` (rows × bytes, uint8), row y with PNG filter y % 5."""
    raw = raw.astype(np.int16)
    out = []
    prior = np.zeros(raw.shape[1], np.int16)
    for y, row in enumerate(raw):
        left = np.concatenate([np.zeros(bpp, np.int16), row[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int16), prior[:-bpp]])
        kind = y % 5
        if kind == 0:
            line = row
        elif kind == 1:
            line = row - left
        elif kind == 2:
            line = row - prior
        elif kind == 3:
            line = row - (left + prior) // 2
        else:
            p = left + prior - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - prior), np.abs(p - upleft)
            predictor = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prior, upleft))
            line = row - predictor
        out.append(bytes([kind]) + (line % 256).astype(np.uint8).tobytes())
        prior = row
    return b"".join(out)


def _hand_built_png(pixels: np.ndarray, colour: int, *, after_idat: bytes = b"") -> bytes:
    height, width = pixels.shape[:2]
    bpp = pixels.shape[2] if pixels.ndim == 3 else 1
    data = _filtered(pixels.reshape(height, -1), bpp)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + images._chunk(b"IHDR", ihdr)
        + images._chunk(b"IDAT", zlib.compress(data, 6))
        + after_idat
        + images._chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("colour", [0, 2, 4, 6], ids=["grey", "rgb", "grey-alpha", "rgba"])
def test_every_png_filter_type_survives_the_strip_boundaries(colour):
    """Rows cycle through None, Sub, Up, Average and Paeth, so every filter meets a strip's
    first row (whose 'row above' comes from the strip before) for many strip heights."""
    pixels = _noisy(2100, 1100)
    pixels = {0: pixels[..., 0], 2: pixels[..., :3], 4: pixels[..., [0, 3]], 6: pixels}[colour]
    content = _hand_built_png(np.ascontiguousarray(pixels), colour)
    assert Image.open(io.BytesIO(content)).tobytes() == np.ascontiguousarray(pixels).tobytes()
    _assert_same_preview(content)


def test_a_late_exif_chunk_is_read_without_decoding_the_whole_png():
    """eXIf after the image data (allowed by the PNG spec): time, GPS and orientation are
    read from the chunk walk, and the preview is turned upright."""
    exif = images.exif_for(
        taken_at=datetime(2026, 11, 20, 9, 30, tzinfo=UTC), gps=(23.3, 116.17), orientation=6
    )
    pixels = _noisy(2100, 1100)
    content = _hand_built_png(pixels, 6, after_idat=images._chunk(b"eXIf", exif.tobytes()))
    processed = pipeline.process(io.BytesIO(content), max_pixels=10**8)
    assert (processed.width, processed.height) == (1100, 2100)
    assert processed.exif_taken_at == datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    assert processed.exif_latitude == pytest.approx(23.3, abs=1e-3)
    assert processed.exif_longitude == pytest.approx(116.17, abs=1e-3)
    assert Image.open(io.BytesIO(processed.preview)).size == (550, 1050)


def test_an_unknown_filter_type_is_refused_as_damaged(app, world, inspector):
    pixels = _noisy(300, 200)
    scanlines = bytearray(_filtered(pixels.reshape(200, -1), 4))
    scanlines[150 * (1 + 300 * 4)] = 7  # row 150: filter type 7 does not exist
    ihdr = struct.pack(">IIBBBBB", 300, 200, 8, 6, 0, 0, 0)
    content = (
        b"\x89PNG\r\n\x1a\n"
        + images._chunk(b"IHDR", ihdr)
        + images._chunk(b"IDAT", zlib.compress(bytes(scanlines)))
        + images._chunk(b"IEND", b"")
    )
    body = assert_problem(upload(inspector, content, world.unit_a.id), 415)
    assert "损坏" in body["detail"]
    assert nothing_kept(app)


def test_a_16_bit_png_above_the_whole_decode_budget_is_refused_with_a_hint(app, world, inspector):
    body = assert_problem(upload(inspector, _rgba16(1200, 1000), world.unit_a.id), 413)
    assert body["type"] == TOO_LARGE
    assert "8 位" in body["detail"]
    assert nothing_kept(app)


WORST_STRIPS = 16 * 2**20  # 4 × the 20 MB JPEG's ~3.5 MB through the API, with room


def test_a_12_mp_rgba_png_at_the_budget_is_decoded_in_strips(tmp_path):
    """It was ~57 MB (the whole decoded image and more); now a strip and the preview."""
    result = _peak(rgba_photo(), tmp_path)
    assert result["outcome"] == "accepted"
    assert result["peak_extra"] < WORST_STRIPS


def test_the_largest_png_decoded_whole_stays_within_the_same_bound(tmp_path):
    result = _peak(_rgba16(1024, 1024), tmp_path)  # 4 MiB decoded: the whole-decode budget
    assert result["outcome"] == "accepted"
    assert result["peak_extra"] < WORST_STRIPS
