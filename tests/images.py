"""Test images made with Pillow: real JPEG/PNG/WebP/HEIC bytes with the EXIF phones write."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime

import numpy as np
import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()


def picture(width: int = 640, height: int = 480, *, seed: int = 1) -> Image.Image:
    """A photo-like image: gradients, shapes and noise, different for each seed."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, height)[:, None]
    x = np.linspace(0, 1, width)[None, :]
    phase = rng.uniform(0, 6.28, 3)
    channels = [
        127 + 100 * np.sin(6 * x * (1 + c) + 4 * y + phase[c]) * np.cos(3 * y + phase[c])
        for c in range(3)
    ]
    arr = np.stack(channels, axis=-1) + rng.normal(0, 12, (height, width, 3))
    # A bright block in one corner makes the picture asymmetric: orientation is testable.
    arr[: height // 4, : width // 4] = 250
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def exif_for(
    *,
    taken_at: datetime | None = None,
    offset: str | None = None,
    gps: tuple[float, float] | None = None,
    orientation: int | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if taken_at:
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        if offset:
            sub[0x9011] = offset
    if gps:
        lat, lon = gps
        exif.get_ifd(0x8825).update(
            {1: "N" if lat >= 0 else "S", 2: _dms(lat), 3: "E" if lon >= 0 else "W", 4: _dms(lon)}
        )
    return exif


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


def encode(image: Image.Image, fmt: str = "JPEG", *, exif: Image.Exif | None = None, **kw) -> bytes:
    out = io.BytesIO()
    if exif is not None:
        kw["exif"] = exif.tobytes()
    image.save(out, fmt, **kw)
    return out.getvalue()


def jpeg(width: int = 640, height: int = 480, *, seed: int = 1, quality: int = 90, **exif) -> bytes:
    return encode(picture(width, height, seed=seed), "JPEG", exif=exif_for(**exif), quality=quality)


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims `width × height` pixels: what a decompression bomb looks like
    before it is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return struct.pack(">I", len(data)) + kind + data + crc


def png_rows(
    width: int,
    height: int,
    *,
    rows: int | None = None,
    colour: int = 2,
    depth: int = 8,
    row: bytes | None = None,
) -> bytes:
    """A PNG of `width × height` (colour type 0 grey, 2 RGB, 6 RGBA) whose compressed
    stream holds only `rows` scanlines (all of them by default) and then ends cleanly:
    what Pillow used to decode as a whole image with blank rows. Each scanline is `row`
    (default: zeros), compressed one at a time, so huge declared sizes cost little memory."""
    samples = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row = row if row is not None else bytes(width * samples * depth // 8)
    assert len(row) == width * samples * depth // 8
    packer = zlib.compressobj(9)
    scanline = b"\x00" + row
    data = b"".join(packer.compress(scanline) for _ in range(height if rows is None else rows))
    data += packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")
    )


def png_cut_stream(content: bytes) -> bytes:
    """A whole PNG re-wrapped so that its compressed data stops halfway, in valid chunks
    (CRCs right, IEND present): only inflating the data shows that rows are missing."""
    assert Image.open(io.BytesIO(content)).format == "PNG"
    raw = b"".join(content[pos + 8 : pos + 8 + length] for pos, length in _chunks(content, b"IDAT"))
    ihdr_pos, ihdr_len = next(_chunks(content, b"IHDR"))
    ihdr = content[ihdr_pos + 8 : ihdr_pos + 8 + ihdr_len]
    scanlines = zlib.decompress(raw)
    half = scanlines[: len(scanlines) // 2]
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(half))
        + _chunk(b"IEND", b"")
    )


def _chunks(content: bytes, kind: bytes):
    pos = 8
    while pos < len(content):
        length, found = struct.unpack(">I4s", content[pos : pos + 8])
        if found == kind:
            yield pos, length
        pos += 12 + length
