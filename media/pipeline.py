"""The Pillow pipeline: read what the file really is, decode once, make the derivatives.

Speed comes from decoding JPEGs at the scale the derivatives need: `draft()` makes
libjpeg's DCT scaling hand back 1/2, 1/4 or 1/8 of the pixels, and the preview size is
chosen so that a phone's 12 MP photo (4000 × 3000 or 4032 × 3024) decodes at 1/4. The
thumbnail and the perceptual hash are made from the preview, never from the full image.

Memory: PNG, WebP and HEIC have no scaled decode, so a small file can ask for a huge
buffer (a 343 KB PNG declaring 9400 × 9400 RGBA needs 353 MB). Before anything is decoded
the header says what `load()` will allocate (`decode_bytes`), and more than
PHOTO_DECODE_BUDGET_MB is refused (413). Decodes run in at most PHOTO_DECODE_CONCURRENCY
slots per process; a request that finds them busy waits PHOTO_DECODE_WAIT_SECONDS, then
gets 503. 8-bit non-interlaced PNGs are decoded in strips (media/png.py) and never exist
at full size; other PNGs are decoded whole under PHOTO_PNG_FULL_DECODE_BUDGET_MB. Other
previews are made strip by strip from the decoded image (docs/photos.md: measured peaks).

Completeness: decoding is the validation (`verify()` passes a half JPEG), but Pillow ends a
PNG quietly when its compressed stream ends early, leaving the missing rows blank. A PNG's
chunks are therefore walked and its image data inflated and counted before it is accepted;
WebP and HEIC containers must be as long as they declare. Whatever ends early is 422
`urn:problem:image-truncated`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import BinaryIO

import imagehash
import pillow_heif
from flask import current_app, has_app_context
from PIL import Image, ImageFile, UnidentifiedImageError

from core import clock, errors
from media import png

pillow_heif.register_heif_opener()
# Never accept an image whose data ends early (Pillow's default; nothing may turn it on).
ImageFile.LOAD_TRUNCATED_IMAGES = False
log = logging.getLogger(__name__)

# A JPEG's preview is the image as libjpeg decodes it at the smallest DCT scale (1/1, 1/2,
# 1/4, 1/8) whose long edge fits PREVIEW_MAX_EDGE: a 12 MP phone photo (4000 or 4032 wide)
# decodes at 1/4 straight into a 1000–1008 px preview, with no resampling pass. Other
# formats (and JPEGs too large even at 1/8) are resized to PREVIEW_EDGE.
PREVIEW_EDGE = 1000
PREVIEW_MAX_EDGE = 1100
THUMB_EDGE = 250
DERIVATIVE_QUALITY = 82
CONTENT_TYPES = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png",
                 "WEBP": "image/webp", "HEIF": "image/heic"}  # fmt: skip
ACCEPTED_TYPES = frozenset(CONTENT_TYPES.values()) | {"image/heif", "image/jpg"}
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")  # EXIF times without an offset
MIB = 1024 * 1024
DEFAULT_BUDGET = 48 * MIB  # PHOTO_DECODE_BUDGET_MB when no app is around (bench, scripts)
# PNGs that cannot be decoded in strips (interlaced, 16-bit, 1/2/4-bit) are decoded whole:
# PHOTO_PNG_FULL_DECODE_BUDGET_MB when no app is around.
FULL_BUDGET = 4 * MIB

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _OFFSET_ORIGINAL, _DATETIME = 0x9003, 0x9011, 0x0132


@dataclass
class Processed:
    content_type: str
    width: int  # as displayed (after EXIF orientation)
    height: int
    phash: str | None
    exif_taken_at: datetime | None
    exif_latitude: float | None
    exif_longitude: float | None
    preview: bytes | None  # JPEG, no metadata; None when making it failed
    thumb: bytes | None


def sha256_and_size(stream: BinaryIO) -> tuple[str, int]:
    """Hash a file from its start; leaves it rewound. `hashlib.file_digest` reads into one
    reused buffer (an in-memory file is hashed in place), so no chunk is copied twice."""
    stream.seek(0)
    digest = hashlib.file_digest(stream, "sha256")
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    return digest.hexdigest(), size


def fit(width: int, height: int, edge: int) -> tuple[int, int]:
    """The size of `width × height` scaled to fit `edge` on its long side (never enlarged)."""
    scale = min(1.0, edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def dct_scale(width: int, height: int) -> int:
    """The smallest JPEG DCT scale denominator that brings the long edge within bounds."""
    for scale in (1, 2, 4, 8):
        if max(width, height) / scale <= PREVIEW_MAX_EDGE:
            return scale
    return 8


def open_image(stream: BinaryIO, *, max_pixels: int) -> Image.Image:
    """Open (not decode) an image, refusing non-images and decompression bombs."""
    _check_container(stream)
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise _bomb() from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise errors.UnsupportedMedia("文件不是可识别的图片（支持 JPEG、PNG、WebP、HEIC）") from exc
    if image.format not in CONTENT_TYPES:
        raise errors.UnsupportedMedia(
            f"不支持的图片格式 {image.format}，请上传 JPEG、PNG、WebP 或 HEIC"
        )
    if image.width * image.height > max_pixels:
        raise _bomb()
    return image


def _bomb() -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        "图片像素过多，疑似解压炸弹，已拒收", type="urn:problem:image-bomb"
    )


def _truncated() -> errors.InvalidInput:
    return errors.InvalidInput(
        "图片数据不完整（文件提前结束），请重新上传原图", type="urn:problem:image-truncated"
    )


def decode_bytes(image: Image.Image) -> int:
    """The memory `load()` will take for this opened (not decoded) image: its pixels at
    the size it will decode to (a JPEG's draft scale) × the bytes Pillow keeps per pixel
    (bands × bytes per sample; three- and two-band images are padded to four bytes).
    A progressive JPEG also holds every DCT coefficient of the full image (2 bytes each)."""
    if image.mode in ("1", "L", "P"):
        per_pixel = 1
    elif image.mode.startswith("I;16"):
        per_pixel = 2
    else:
        per_pixel = 4
    need = image.width * image.height * per_pixel
    if image.format in ("JPEG", "MPO") and image.info.get("progressive"):
        need = max(need, _coefficient_bytes(image))
    return need


def _coefficient_bytes(image: Image.Image) -> int:
    width, height = getattr(image, "_full_size", image.size)
    layers = getattr(image, "layer", None) or [("", 1, 1, 0)] * 3
    h_max = max(layer[1] for layer in layers)
    v_max = max(layer[2] for layer in layers)
    return sum(
        math.ceil(width * h / h_max / 8) * 8 * math.ceil(height * v / v_max / 8) * 8 * 2
        for _, h, v, _ in layers
    )


def _budget() -> int:
    if has_app_context():
        return current_app.config.get("PHOTO_DECODE_BUDGET_MB", DEFAULT_BUDGET // MIB) * MIB
    return DEFAULT_BUDGET


def check_budget(image: Image.Image, budget: int | None = None, *, whole: bool = False) -> None:
    """Refuse an image whose decode needs more than `budget` bytes. `whole`: a PNG that
    must be decoded in one piece (interlaced, 16-bit or fewer than 8 bits a sample)."""
    need, budget = decode_bytes(image), budget if budget is not None else _budget()
    if need > budget:
        hint = (
            "隔行扫描、16 位或低位深的 PNG 需整图解码，请另存为普通 8 位 PNG 或 JPEG"
            if whole
            else "请缩小尺寸（如 1200 万像素以内）后再上传"
        )
        raise errors.PayloadTooLarge(
            f"图片解码需要约 {math.ceil(need / MIB)} MB 内存，超过 {budget // MIB} MB 上限；{hint}",
            type="urn:problem:image-too-large",
        )


_SLOTS_LOCK = threading.Lock()


@contextmanager
def decode_slot() -> Iterator[None]:
    """One of the process's PHOTO_DECODE_CONCURRENCY decode slots, or 503 after waiting
    PHOTO_DECODE_WAIT_SECONDS. Outside an app (bench, scripts) decodes are not bounded."""
    if not has_app_context():
        yield
        return
    app = current_app._get_current_object()
    with _SLOTS_LOCK:
        slots = app.extensions.get("photo_decode_slots")
        if slots is None:
            slots = app.extensions["photo_decode_slots"] = threading.BoundedSemaphore(
                app.config.get("PHOTO_DECODE_CONCURRENCY", 2)
            )
    wait = app.config.get("PHOTO_DECODE_WAIT_SECONDS", 10)
    if not slots.acquire(timeout=wait):
        log.warning("all photo decode slots busy for %ss; refused", wait)
        raise errors.Unavailable(
            "服务器正在处理其他照片，请稍后重试",
            retry_after=max(1, math.ceil(wait)),
            type="urn:problem:decoder-busy",
        )
    try:
        yield
    finally:
        slots.release()


# -- completeness: data that ends early is refused ----------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXIF_MAX = 256 * 1024  # an eXIf chunk larger than this is not read (a phone's is < 64 KB)
_PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → samples per pixel
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))  # fmt: skip


def _length(stream: BinaryIO) -> int:
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _check_container(stream: BinaryIO) -> None:
    """A WebP (RIFF) or HEIC (ISO boxes) file must be as long as its header says."""
    size = _length(stream)
    head = stream.read(16)
    stream.seek(0)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        if struct.unpack("<I", head[4:8])[0] + 8 > size:
            raise _truncated()
    elif head[4:8] == b"ftyp":
        _check_boxes(stream, size)


def _check_boxes(stream: BinaryIO, size: int) -> None:
    position = 0
    while position < size:
        stream.seek(position)
        header = stream.read(16)
        if len(header) < 8:
            raise _truncated()
        length = struct.unpack(">I", header[:4])[0]
        if length == 1:
            if len(header) < 16:
                raise _truncated()
            length = struct.unpack(">Q", header[8:16])[0]
        elif length == 0:  # the last box runs to the end of the file
            break
        if length < 8 or position + length > size:
            raise _truncated()
        position += length
    stream.seek(0)


def check_png_complete(stream: BinaryIO) -> bytes | None:
    """Walk a PNG's chunks to IEND (critical chunks' CRCs checked), and inflate its image
    data in bounded pieces: it must hold exactly the rows the header declares. Pillow would
    stop quietly where the compressed stream ends and leave the rest of the image blank.
    Returns the eXIf chunk's data (up to EXIF_MAX bytes; a larger one is ignored)."""
    stream.seek(0)
    if stream.read(8) != _PNG_SIGNATURE:
        raise _truncated()
    expected: int | None = None
    inflater = zlib.decompressobj()
    inflated = 0
    exif: bytes | None = None
    while True:
        header = stream.read(8)
        if len(header) < 8:
            raise _truncated()  # no IEND: the file ends early
        length, kind = struct.unpack(">I4s", header)
        crc = zlib.crc32(kind)
        remaining = length
        data = b""
        while remaining:
            piece = stream.read(min(remaining, MIB))
            if not piece:
                raise _truncated()
            remaining -= len(piece)
            crc = zlib.crc32(piece, crc)
            if kind == b"IHDR" or (kind == b"eXIf" and length <= EXIF_MAX):
                data += piece
            elif kind == b"IDAT":
                if expected is None:
                    raise _truncated()
                inflated = _inflate(inflater, piece, inflated, expected)
        stored_crc = stream.read(4)
        if len(stored_crc) < 4:
            raise _truncated()
        if kind in (b"IHDR", b"IDAT", b"IEND") and struct.unpack(">I", stored_crc)[0] != crc:
            raise _truncated()
        if kind == b"IHDR":
            expected = _png_data_bytes(data)
        elif kind == b"eXIf" and exif is None and data:
            exif = data
        elif kind == b"IEND":
            break
    if expected is None or not inflater.eof or inflated != expected:
        raise _truncated()
    stream.seek(0)
    return exif


def _inflate(inflater, piece: bytes, inflated: int, expected: int) -> int:
    while piece and not inflater.eof:
        out = inflater.decompress(piece, MIB)
        inflated += len(out)
        if inflated > expected:
            raise _truncated()  # more rows than declared: not a PNG we understand
        piece = inflater.unconsumed_tail
    return inflated


def _png_data_bytes(ihdr: bytes) -> int:
    """Bytes of filtered scanlines a PNG with this IHDR must inflate to."""
    if len(ihdr) != 13:
        raise _truncated()
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
    if colour not in _PNG_SAMPLES:
        raise _truncated()
    bits = _PNG_SAMPLES[colour] * depth

    def rows(w: int, h: int) -> int:
        return 0 if w == 0 or h == 0 else h * (1 + (w * bits + 7) // 8)

    if not interlace:
        return rows(width, height)
    return sum(
        rows(max(0, math.ceil((width - x0) / dx)), max(0, math.ceil((height - y0) / dy)))
        for x0, y0, dx, dy in _ADAM7
    )


def process(
    stream: BinaryIO,
    *,
    max_pixels: int,
    budget: int | None = None,
    full_budget: int | None = None,
) -> Processed:
    """Validate and process one image file; raises a 4xx domain error for bad input.
    `budget` (bytes) defaults to the app's PHOTO_DECODE_BUDGET_MB, `full_budget` (for
    PNGs that cannot be decoded in strips) to PHOTO_PNG_FULL_DECODE_BUDGET_MB."""
    image = open_image(stream, max_pixels=max_pixels)
    fmt = image.format
    size = image.size
    if fmt in ("JPEG", "MPO"):
        # DCT scaling: libjpeg hands back 1/2, 1/4 or 1/8 of the pixels.
        image._full_size = size  # for the coefficient count of progressive JPEGs
        scale = dct_scale(*size)
        image.draft("RGB", (image.width // scale, image.height // scale))
    in_strips = fmt == "PNG" and png.read_header(stream).strippable
    if fmt == "PNG" and not in_strips:
        whole = full_budget if full_budget is not None else _full_budget()
        check_budget(image, min(whole, budget if budget is not None else _budget()), whole=True)
    else:
        check_budget(image, budget)
    exif_chunk = check_png_complete(stream) if fmt == "PNG" else None
    with decode_slot():
        if in_strips:
            exif = _png_exif(image, exif_chunk)
            preview = _decoded(lambda: _strip_preview(stream, image))
        else:
            _load(image)
            # Only now: a PNG's getexif() decodes the whole image to look for a late eXIf.
            exif = image.getexif()
            preview = None
        # pillow-heif applies the container's rotation itself: EXIF too would rotate twice.
        orientation = 1 if fmt == "HEIF" else exif.get(0x0112, 1)
        upright = (size[1], size[0]) if orientation in (5, 6, 7, 8) else size
        return _derive(image, fmt, exif, orientation, upright, preview)


def _full_budget() -> int:
    if has_app_context():
        return current_app.config.get("PHOTO_PNG_FULL_DECODE_BUDGET_MB", FULL_BUDGET // MIB) * MIB
    return FULL_BUDGET


def _png_exif(image: Image.Image, chunk: bytes | None) -> Image.Exif:
    """The EXIF of a PNG decoded in strips: its eXIf chunk wherever it is (found while
    checking the file), without Pillow's getexif(), which would decode the whole image
    to look for one after the image data."""
    if chunk is not None and "exif" not in image.info:
        image.info["exif"] = b"Exif\x00\x00" + chunk.removeprefix(b"Exif\x00\x00")
    return Image.Image.getexif(image)


def _decoded(make):
    """Run a decode that is also the validation: failures are the uploader's file."""
    try:
        return make()
    except png.Broken as exc:
        raise errors.UnsupportedMedia("图片文件不完整或已损坏，请重新上传") from exc


def _load(image: Image.Image) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise _bomb() from exc
    except EOFError as exc:
        raise _truncated() from exc
    except (OSError, ValueError, SyntaxError) as exc:
        if "truncated" in str(exc):
            raise _truncated() from exc
        raise errors.UnsupportedMedia("图片文件不完整或已损坏，请重新上传") from exc


def _derive(
    image: Image.Image, fmt: str, exif, orientation: int, upright, preview=None
) -> Processed:
    width, height = upright
    taken_at = _exif_time(exif)
    latitude, longitude = _exif_gps(exif)
    try:
        if preview is None:
            preview = _preview(image)
        if orientation in _TRANSPOSE:
            preview = preview.transpose(_TRANSPOSE[orientation])
        thumb_size = fit(*preview.size, THUMB_EDGE)
        # Pillow's thumbnail() default: halve by averaging, then LANCZOS. Half the time of
        # LANCZOS over every preview pixel, 0.02 dB from it once encoded (docs/photos.md).
        thumb = preview.resize(thumb_size, Image.Resampling.LANCZOS, reducing_gap=2.0)
        phash = str(imagehash.phash(thumb))
        preview_bytes, thumb_bytes = _jpeg(preview), _jpeg(thumb)
    except (OSError, ValueError, MemoryError):
        # The image decoded, so it is evidence: keep the original even without derivatives.
        log.exception("derivatives failed for a %s image", fmt)
        phash, preview_bytes, thumb_bytes = None, None, None
    return Processed(
        content_type=CONTENT_TYPES[fmt],
        width=width,
        height=height,
        phash=phash,
        exif_taken_at=taken_at,
        exif_latitude=latitude,
        exif_longitude=longitude,
        preview=preview_bytes,
        thumb=thumb_bytes,
    )


def _preview(image: Image.Image) -> Image.Image:
    """The preview of a decoded image, in RGB, at most PREVIEW_MAX_EDGE on its long side.
    A JPEG decoded at its DCT scale usually is one already. Anything else is flattened
    onto white and shrunk strip by strip, so no second full-size image exists."""
    factor, size = preview_size(*image.size)
    if image.mode == "RGB" and size == image.size:
        return image
    shrinker = png.Shrinker(*image.size, factor=factor, size=size, row_bytes=image.width * 4)
    for top in range(0, image.height, shrinker.rows):
        bottom = min(image.height, top + shrinker.rows)
        shrinker.add(_rgb(image.crop((0, top, image.width, bottom))))
    return shrinker.preview


def _strip_preview(stream: BinaryIO, image: Image.Image) -> Image.Image:
    """The preview of a PNG decoded strip by strip (media/png.py): the full image never
    exists, only a strip of about 1 MiB of rows at a time."""
    factor, size = preview_size(*image.size)
    row_bytes = png.read_header(stream).row_bytes
    shrinker = png.Shrinker(*image.size, factor=factor, size=size, row_bytes=row_bytes)
    for strip in png.strips(stream, image, shrinker.rows):
        shrinker.add(_rgb(strip))
    return shrinker.preview


def preview_size(width: int, height: int) -> tuple[int, tuple[int, int]]:
    """The whole factor an image is first reduced by, and the preview's size: the reduced
    image, or that fitted to PREVIEW_EDGE when its long side exceeds PREVIEW_MAX_EDGE."""
    factor = max(1, max(width, height) // PREVIEW_EDGE)
    reduced = (-(-width // factor), -(-height // factor))
    if max(reduced) > PREVIEW_MAX_EDGE:
        return factor, fit(*reduced, PREVIEW_EDGE)
    return factor, reduced


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I;16") or image.mode == "I":
        # 16-bit samples: keep the top eight bits (convert would clip everything to white).
        image = image.convert("I").point(lambda v: v * (1 / 256))
    if image.mode in ("RGBA", "LA", "P", "PA") and (
        image.mode != "P" or "transparency" in image.info
    ):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    """Re-encode without metadata (no exif=, no icc_profile=): derivatives carry no GPS."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=DERIVATIVE_QUALITY, optimize=False)
    return out.getvalue()


def _exif_time(exif: Image.Exif) -> datetime | None:
    sub = exif.get_ifd(_EXIF_IFD)
    raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not isinstance(raw, str):
        return None
    try:
        local = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007
    except ValueError:
        return None
    offset = sub.get(_OFFSET_ORIGINAL)
    tz: timezone = CHINA
    if isinstance(offset, str) and len(offset) >= 6 and offset[0] in "+-":
        try:
            sign = 1 if offset[0] == "+" else -1
            tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
        except ValueError:
            tz = CHINA
    taken = local.replace(tzinfo=tz)
    # A camera whose clock was never set writes any year: outside the application's years
    # (where the conversion to UTC may overflow) the photo has no EXIF time, as without one.
    return taken.astimezone(UTC) if clock.instant_in_range(taken) else None


def _exif_gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(_GPS_IFD)
    try:
        latitude = _degrees(gps[2], gps.get(1, "N"), "S")
        longitude = _degrees(gps[4], gps.get(3, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None, None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None, None
    return latitude, longitude


def _degrees(dms, ref, negative: str) -> float:
    degrees, minutes, seconds = (float(v) for v in dms)
    value = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    return -value if str(ref).strip("\x00 ").upper() == negative else value
