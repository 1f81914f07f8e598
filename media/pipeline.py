"""The Pillow pipeline: read what the file really is, decode once, make the derivatives.

Speed comes from decoding JPEGs at the scale the derivatives need: `draft()` makes
libjpeg's DCT scaling hand back 1/2, 1/4 or 1/8 of the pixels, and the preview size is
chosen so that a phone's 12 MP photo (4000 × 3000 or 4032 × 3024) decodes at 1/4. The
thumbnail and the perceptual hash are made from the preview, never from the full image.
Decoding is also the validation: a truncated file fails in `load()` (`verify()` passes it).
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import BinaryIO

import imagehash
import pillow_heif
from PIL import Image, UnidentifiedImageError

from core import errors

pillow_heif.register_heif_opener()
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
    """Hash a file in chunks from its start; leaves it rewound."""
    stream.seek(0)
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
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


def process(stream: BinaryIO, *, max_pixels: int) -> Processed:
    """Validate and process one image file; raises a 4xx domain error for bad input."""
    image = open_image(stream, max_pixels=max_pixels)
    fmt = image.format
    exif = image.getexif()
    # pillow-heif applies the container's rotation itself: applying EXIF too would rotate twice.
    orientation = 1 if fmt == "HEIF" else exif.get(0x0112, 1)
    upright = (image.height, image.width) if orientation in (5, 6, 7, 8) else image.size
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if fmt in ("JPEG", "MPO"):
                # DCT scaling: libjpeg hands back 1/2, 1/4 or 1/8 of the pixels.
                scale = dct_scale(*image.size)
                image.draft("RGB", (image.width // scale, image.height // scale))
            image.load()
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise _bomb() from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise errors.UnsupportedMedia("图片文件不完整或已损坏，请重新上传") from exc

    width, height = upright
    taken_at = _exif_time(exif)
    latitude, longitude = _exif_gps(exif)
    try:
        preview = _rgb(image)
        if max(preview.size) > PREVIEW_MAX_EDGE:  # not a JPEG, or too large even at 1/8
            target = fit(*preview.size, PREVIEW_EDGE)
            preview = preview.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)
        if orientation in _TRANSPOSE:
            preview = preview.transpose(_TRANSPOSE[orientation])
        thumb_size = fit(*preview.size, THUMB_EDGE)
        thumb = preview.resize(thumb_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
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


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
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
    return local.replace(tzinfo=tz).astimezone(UTC)


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
