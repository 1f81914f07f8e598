"""The photo pipeline on realistic 12 MP JPEGs, against a naive Pillow pipeline and a bare
decode at the same scale (same run, same files); and peak memory while a 20 MB photo goes
through the API upload (a child process, so its memory high-water mark is its own).

Lines: photo_ms_per_12mp (baseline: naive ms), photo_per_second,
photo_speedup_vs_naive (target ≥ 6), photo_ratio_vs_scaled_decode (target ≤ 1.5),
upload_20mb_peak_memory_ratio (peak extra RSS ÷ file size; target < 2),
photo_worst_png_peak_mb (peak extra RSS while the API takes the worst PNG any decode path
accepts: the larger of an 8-bit RGBA image of exactly PHOTO_DECODE_BUDGET_MB, decoded in
strips, and a 16-bit RGBA image of exactly PHOTO_PNG_FULL_DECODE_BUDGET_MB, decoded whole;
baseline: the 20 MB JPEG's peak in the same run; target ≤ 4 × baseline).
"""

from __future__ import annotations

import io
import json
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from media import pipeline

ROUNDS = 7
MAX_PIXELS = 89_478_485
BUDGET_MB = 48  # PHOTO_DECODE_BUDGET_MB's default
FULL_BUDGET_MB = 4  # PHOTO_PNG_FULL_DECODE_BUDGET_MB's default


def _photo_pixels(width: int, height: int, *, seed: int, bands: int = 3, noise: float = 9):
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    out = np.empty((height, width, bands), dtype=np.uint8)
    for c in range(bands):
        f1, f2, phase = rng.uniform(2, 9), rng.uniform(2, 9), rng.uniform(0, 6.3)
        channel = 110 + 60 * np.sin(f1 * x + phase) * np.cos(f2 * y) + 50 * (x - y)
        channel += 25 * np.sign(np.sin(37 * x + 23 * y + phase))  # edges
        channel += rng.normal(0, noise, (height, width)).astype(np.float32)  # sensor noise
        out[..., c] = np.clip(channel, 0, 255)
    return out


def realistic_jpeg(width: int, height: int, *, seed: int, quality: int = 92) -> bytes:
    """Gradients, soft shapes and sensor-like noise: decodes like a phone photo (a flat
    colour would decode unrealistically fast). Carries EXIF time, GPS and orientation."""
    out = _photo_pixels(width, height, seed=seed)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2026:11:20 09:30:00"
    exif.get_ifd(0x8825).update({1: "N", 2: (23.0, 18.0, 0.0), 3: "E", 4: (116.0, 10.0, 12.0)})
    buffer = io.BytesIO()
    Image.fromarray(out).save(buffer, "JPEG", quality=quality, exif=exif.tobytes())
    return buffer.getvalue()


# -- the three ways of handling one photo -------------------------------------------------


def ours(content: bytes) -> None:
    stream = io.BytesIO(content)
    pipeline.sha256_and_size(stream)
    pipeline.process(stream, max_pixels=MAX_PIXELS)


def naive(content: bytes) -> None:
    """What one writes first: decode everything, resize the full image for each size."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(content)))
    for edge in (pipeline.PREVIEW_EDGE, pipeline.THUMB_EDGE):
        size = pipeline.fit(*image.size, edge)
        image.resize(size, Image.Resampling.LANCZOS).save(io.BytesIO(), "JPEG", quality=82)


def scaled_decode(content: bytes) -> None:
    """Only the decode, at the scale the pipeline asks libjpeg for."""
    image = Image.open(io.BytesIO(content))
    scale = pipeline.dct_scale(*image.size)
    image.draft("RGB", (image.width // scale, image.height // scale))
    image.load()


def timed(func: Callable[[bytes], None], photos: list[bytes]) -> float:
    """Median ms per photo over ROUNDS passes (interleaving is done by the caller)."""
    start = time.perf_counter()
    for content in photos:
        func(content)
    return (time.perf_counter() - start) * 1000 / len(photos)


def run() -> Iterator[dict]:
    photos = [realistic_jpeg(4032, 3024, seed=seed) for seed in range(3)]
    for func in (ours, naive, scaled_decode):  # warm up: imports, plugin init, caches
        func(photos[0])
    samples: dict[str, list[float]] = {"ours": [], "naive": [], "decode": []}
    for _ in range(ROUNDS):
        samples["ours"].append(timed(ours, photos))
        samples["naive"].append(timed(naive, photos))
        samples["decode"].append(timed(scaled_decode, photos))
    ms = {name: statistics.median(values) for name, values in samples.items()}
    mb = statistics.mean(len(p) for p in photos) / 1e6
    common = {"photo_mb": round(mb, 2), "pixels": "4032x3024"}
    yield {
        "name": "photo_ms_per_12mp",
        "value": round(ms["ours"], 1),
        "unit": "ms",
        "baseline": round(ms["naive"], 1),
        **common,
    }
    yield {
        "name": "photo_per_second",
        "value": round(1000 / ms["ours"], 1),
        "unit": "photos/s",
        "baseline": round(1000 / ms["naive"], 1),
    }
    yield {
        "name": "photo_speedup_vs_naive",
        "value": round(ms["naive"] / ms["ours"], 2),
        "unit": "x",
        "baseline": 1.0,
        "target": ">= 6",
    }
    yield {
        "name": "photo_ratio_vs_scaled_decode",
        "value": round(ms["ours"] / ms["decode"], 2),
        "unit": "x",
        "baseline": 1.0,
        "decode_ms": round(ms["decode"], 1),
        "target": "<= 1.5",
    }
    yield from upload_memory()


# -- peak memory of an API upload of a 20 MB photo ----------------------------------------


def worst_png() -> bytes:
    """The largest PNG the default decode budget accepts: RGBA, exactly BUDGET_MB decoded
    (4096 × 3072 × 4 bytes), photo-like with light noise so that it stays under the
    25 MB upload limit."""
    width, height = 4096, 3072
    assert width * height * 4 == BUDGET_MB * 1024 * 1024
    pixels = _photo_pixels(width, height, seed=11, bands=4, noise=2)
    pixels[..., 3] = np.maximum(pixels[..., 3], 128)  # partly transparent: flattened
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


def worst_whole_png() -> bytes:
    """The largest PNG the whole-decode budget accepts: 16-bit RGBA (Pillow keeps 4 bytes
    a pixel), exactly FULL_BUDGET_MB decoded (1024 × 1024), which strips cannot take."""
    width, height = 1024, 1024
    assert width * height * 4 == FULL_BUDGET_MB * 1024 * 1024
    pixels = _photo_pixels(width, height, seed=12, bands=4, noise=2).astype(">u2") * 257
    pixels[..., 3] = np.maximum(pixels[..., 3], 128 * 257)
    rows = np.concatenate(
        [np.zeros((height, 1), np.uint8), pixels.reshape(height, -1).view(np.uint8)], axis=1
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6))
        + chunk(b"IEND", b"")
    )


def _child_peak(content: bytes, name: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / name
        photo.write_bytes(content)
        child = subprocess.run(
            [sys.executable, "-m", "bench.photos", "--upload-memory", str(photo), tmp],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(child.stdout.strip().splitlines()[-1])


def upload_memory() -> Iterator[dict]:
    jpeg = _child_peak(realistic_jpeg(6000, 4000, seed=9, quality=99), "big.jpg")
    yield {
        "name": "upload_20mb_peak_memory_ratio",
        "value": round(jpeg["peak_extra"] / jpeg["size"], 3),
        "unit": "x file size",
        "baseline": 1.0,  # holding the file in memory once
        "file_mb": round(jpeg["size"] / 1e6, 1),
        "peak_extra_mb": round(jpeg["peak_extra"] / 1e6, 1),
        "target": "< 2",
    }
    strips = _child_peak(worst_png(), "worst.png")
    whole = _child_peak(worst_whole_png(), "worst-16bit.png")
    jpeg_mb = jpeg["peak_extra"] / 1e6
    strips_mb, whole_mb = strips["peak_extra"] / 1e6, whole["peak_extra"] / 1e6
    png_mb = max(strips_mb, whole_mb)
    yield {
        "name": "photo_worst_png_peak_mb",
        "value": round(png_mb, 1),
        "unit": "MB",
        "baseline": round(jpeg_mb, 1),  # the 20 MB JPEG above, same run
        "ratio": round(png_mb / jpeg_mb, 2),
        "in_strips_mb": round(strips_mb, 1),  # 4096x3072 RGBA 8-bit, BUDGET_MB decoded
        "in_strips_file_mb": round(strips["size"] / 1e6, 1),
        "whole_mb": round(whole_mb, 1),  # 1024x1024 RGBA 16-bit, FULL_BUDGET_MB decoded
        "target": "<= 4x baseline",
    }


def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _measure_upload(photo: Path, tmp: str) -> None:
    """Child process: an app on a scratch SQLite and folder, one warm-up upload, then the
    big one with the RSS high-water mark reset just before it."""
    import logging

    from flask_migrate import upgrade
    from werkzeug.test import EnvironBuilder, encode_multipart

    from accounts import service as accounts
    from accounts.models import Role
    from api import create_app
    from core.db import db
    from media.kinds import Attachment, AttachmentKind, register_kind
    from org.models import Region, RegionLevel, Sector, Unit

    logging.disable(logging.WARNING)
    app = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "bench-secret-" + "x" * 32,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db",
            "STORAGE_URL": f"file://{tmp}/photos",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    register_kind(
        app,
        AttachmentKind(
            "bench",
            view=lambda owner_id, actor: Attachment(unit_id=owner_id, group="bench"),
            attach=lambda owner_id, actor, item: Attachment(unit_id=owner_id, group="bench"),
        ),
    )
    with app.app_context():
        upgrade()
        sector = Sector(code="bench", name="基准")
        region = Region(code="445200001", name="基准街道", level=RegionLevel.township)
        db.session.add_all([sector, region])
        db.session.flush()
        unit = Unit(name="基准单位", sector_id=sector.id, region_id=region.id)
        db.session.add(unit)
        db.session.flush()
        user = accounts.create_user(
            {"username": "bench", "display_name": "基准", "role": Role.inspector,
             "password": "photo-memory-7q2k"},
            actor=None,
        )  # fmt: skip
        token, _ = accounts.issue_token(user, "password")
        db.session.commit()
        unit_id = unit.id

    client = app.test_client()

    def request_for(path: Path) -> dict:
        content_type = "image/png" if path.suffix == ".png" else "image/jpeg"
        fields = {"client_id": str(uuid.uuid4()), "owner_type": "bench", "owner_id": str(unit_id)}
        boundary, head = encode_multipart(fields)
        # Stream the body from disk like a phone's connection: form fields, then the file.
        body = Path(tmp) / f"body-{uuid.uuid4().hex}"
        closing = f"--{boundary}--\r\n".encode()
        with body.open("wb") as out:
            out.write(head[: -len(closing)])
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{path.name}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            )
            out.write(path.read_bytes())
            out.write(b"\r\n" + closing)
        return EnvironBuilder(
            path="/api/v1/photos",
            method="POST",
            headers={"Authorization": f"Bearer {token}"},
            input_stream=body.open("rb"),
            content_length=body.stat().st_size,
            content_type=f"multipart/form-data; boundary={boundary}",
        ).get_environ()

    small = Path(tmp) / "small.jpg"
    small.write_bytes(realistic_jpeg(320, 240, seed=1))  # warms imports, not buffers
    warm = client.open(request_for(small))
    assert warm.status_code == 201, warm.get_data(as_text=True)

    environ = request_for(photo)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _rss("VmRSS")
    response = client.open(environ)
    peak = _rss("VmHWM")
    assert response.status_code == 201, response.get_data(as_text=True)
    size = photo.stat().st_size
    print(json.dumps({"size": size, "peak_extra": max(0, peak - before)}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--upload-memory"]:
        _measure_upload(Path(sys.argv[2]), sys.argv[3])
    else:
        for line in run():
            print(json.dumps(line, ensure_ascii=False))
