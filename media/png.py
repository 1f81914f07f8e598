"""PNGs decoded in horizontal strips, never as one full-size buffer.

Pillow decodes a PNG into one image of width × height × 4 bytes (48 MiB for a 12 MP
RGBA photo). Here the IDAT stream is inflated in bounded pieces and cut into strips of
whole scanlines (a filter byte and the row's bytes each). Each strip is unfiltered by
Pillow's own PNG decoder (C, the "zip" codec): it is handed a stream of the strip's rows
behind one extra row with filter 0 (None) holding the previous strip's last row as it was
after unfiltering. The decoder keeps that row as "the row above", so the Up, Average and
Paeth filters of the strip's first real row see exactly what a whole-image decode would;
the extra row is dropped afterwards. The stream is wrapped in stored (level 0) deflate
blocks, which the decoder inflates at memcpy speed.

Only what Pillow unpacks without loss can seed the next strip: 8-bit samples of every
colour type (grey, RGB, palette, grey + alpha, RGBA), not interlaced. Interlaced PNGs
(Adam7 rows are spread over seven passes), 16-bit and 1, 2, 4-bit samples are decoded
whole by the caller, under a smaller budget.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

MIB = 1024 * 1024
STRIP_BYTES = 256 * 1024  # scanline bytes decoded at a time (at least one row)
_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


class Broken(ValueError):
    """The image data does not decode (an unknown filter type, for instance)."""


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    depth: int
    colour: int
    interlaced: bool

    @classmethod
    def parse(cls, ihdr: bytes) -> Header:
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr)
        return cls(width, height, depth, colour, bool(interlace))

    @property
    def row_bytes(self) -> int:
        return (self.width * _SAMPLES[self.colour] * self.depth + 7) // 8

    @property
    def strippable(self) -> bool:
        return self.depth == 8 and self.colour in _SAMPLES and not self.interlaced


def read_header(stream: BinaryIO) -> Header:
    stream.seek(8)
    length, kind = struct.unpack(">I4s", stream.read(8))
    if kind != b"IHDR" or length != 13:
        raise Broken("no IHDR")
    header = Header.parse(stream.read(13))
    stream.seek(0)
    return header


def _idat_pieces(stream: BinaryIO) -> Iterator[bytes]:
    """The IDAT chunks' bytes, at most 1 MiB at a time (the file was checked complete)."""
    stream.seek(8)
    while True:
        header = stream.read(8)
        if len(header) < 8:
            return
        length, kind = struct.unpack(">I4s", header)
        if kind == b"IEND":
            return
        if kind != b"IDAT":
            stream.seek(length + 4, 1)
            continue
        while length:
            piece = stream.read(min(length, MIB))
            if not piece:
                return
            length -= len(piece)
            yield piece
        stream.seek(4, 1)  # CRC


def strips(stream: BinaryIO, image: Image.Image, rows: int) -> Iterator[Image.Image]:
    """The opened (not loaded) PNG `image` read from `stream` as images of `rows` full
    rows each (the last may be shorter), in the image's own mode, palette and
    transparency attached. Only for `read_header(stream).strippable` files."""
    header = read_header(stream)
    mode, rawmode = image.mode, image.tile[0].args
    rawmode = rawmode[0] if isinstance(rawmode, tuple) else rawmode
    line = 1 + header.row_bytes
    above = b"\x00" + bytes(header.row_bytes)  # the decoder's own start: a black row
    inflater = zlib.decompressobj()
    pending = bytearray()
    done = 0
    pieces = _idat_pieces(stream)
    while done < header.height:
        count = min(rows, header.height - done)
        want = count * line
        while len(pending) < want:
            source = inflater.unconsumed_tail or next(pieces, b"")
            out = inflater.decompress(source, max(want - len(pending), 64 * 1024))
            if not source and not out:
                raise Broken("image data ends early")
            pending += out
        block = bytes(pending[:want])
        del pending[:want]
        strip = _decode(mode, rawmode, header.width, count, above + block)
        above = b"\x00" + strip.crop((0, count, header.width, count + 1)).tobytes("raw", rawmode)
        strip = strip.crop((0, 1, header.width, count + 1))
        if mode == "P":
            strip.putpalette(image.palette.tobytes(), image.palette.mode)
        if "transparency" in image.info:
            strip.info["transparency"] = image.info["transparency"]
        done += count
        yield strip


def _decode(mode: str, rawmode: str, width: int, count: int, data: bytes) -> Image.Image:
    try:
        return Image.frombytes(mode, (width, count + 1), zlib.compress(data, 0), "zip", rawmode)
    except (ValueError, OSError) as exc:
        raise Broken(str(exc)) from exc


class Shrinker:
    """Makes a preview of `size` from full-width RGB strips of a `width × height` image
    that arrive top to bottom, holding only a strip and a few reduced rows at a time.

    Each strip is first shrunk by whole factors (`Image.reduce`, box averages: strips of a
    multiple of the vertical factor join without seams), then the reduced rows are
    resampled to `size` with LANCZOS, a band of output rows at a time. A band is made from
    the reduced rows its filter reaches, with rows above and below kept for context, so it
    comes out as a whole-image resize would (Pillow's `box=` resize reads outside the box
    up to the image's edge)."""

    def __init__(self, width: int, height: int, *, factor: int, size: tuple[int, int],
                 row_bytes: int) -> None:  # fmt: skip
        fits = max(1, STRIP_BYTES // max(1, row_bytes))
        self.fx, self.fy = factor, max(1, min(factor, fits))
        self.rows = self.fy * max(1, fits // self.fy)  # rows a strip must have
        self.width = math.ceil(width / self.fx)
        self.height = math.ceil(height / self.fy)
        self.size = size
        self.preview = Image.new("RGB", size)
        self.scale = self.height / size[1]
        self.support = 3.0 * max(1.0, self.scale)  # LANCZOS reaches 3 × the scale
        self.held: Image.Image | None = None
        self.held_top = 0  # reduced row index of held's first row
        self.made = 0  # output rows made
        self.received = 0  # reduced rows received

    def add(self, strip: Image.Image) -> None:
        small = strip if (self.fx, self.fy) == (1, 1) else strip.reduce((self.fx, self.fy))
        top = self.received
        self.received += small.height
        if (self.width, self.height) == self.size:
            self.preview.paste(small, (0, top))
            return
        if self.held is None:
            self.held, self.held_top = small, top
        else:
            joined = Image.new("RGB", (self.width, self.held.height + small.height))
            joined.paste(self.held, (0, 0))
            joined.paste(small, (0, self.held.height))
            self.held = joined
        self._emit(last=self.received >= self.height)

    def _emit(self, *, last: bool) -> None:
        assert self.held is not None
        bottom = self.held_top + self.held.height
        end = (
            self.size[1]
            if last
            else min(self.size[1], max(self.made, int((bottom - self.support - 2) / self.scale)))
        )
        if end > self.made:
            box = (0, self.made * self.scale - self.held_top, self.width,
                   end * self.scale - self.held_top)  # fmt: skip
            band = self.held.resize(
                (self.size[0], end - self.made), Image.Resampling.LANCZOS, box=box
            )
            self.preview.paste(band, (0, self.made))
            self.made = end
        # Keep the rows the next output row's filter reaches (from its first tap on).
        first = max(self.held_top, int((self.made + 0.5) * self.scale - self.support) - 2)
        if first > self.held_top:
            self.held = self.held.crop((0, first - self.held_top, self.width, self.held.height))
            self.held_top = first
