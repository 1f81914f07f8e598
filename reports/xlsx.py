"""Writing a ledger sheet: openpyxl's write-only mode (rows go to a temporary file as they
come, so memory stays flat however many there are), Chinese headers, a frozen header row,
an auto filter, column widths, dates as dates and numbers as numbers.

A ledger is printed and filed, so the sheet carries its print setup: A4 landscape, fitted
to one page wide (as many pages down as it takes), the header row repeated on every page,
page numbers in the footer. Nothing a reader needs is cut: a column of a fixed vocabulary
(a status, a severity, 是/否) is as wide as its longest label (`text_width`), and a column
of free text (names, problems, replies, links) wraps within its width.

Every text cell passes `safe_text` first. Unit names, notes and replies are typed by
people (or imported from a spreadsheet) and may start with `=`, `+`, `-`, `@`, a tab or a
carriage return: a spreadsheet program would read such text as a formula when the cell is
edited, or when the sheet is saved as CSV and opened again (`=HYPERLINK(…)` sends the
reader to a site of the writer's choice, `=cmd|' /C calc'!A0` runs a program through DDE).
Such text is written as a text cell with a leading apostrophe (OWASP's advice): the
apostrophe is visible, the formula never runs, and it survives a CSV round trip.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.dimensions import RowDimension
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties

from core.clock import local

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_TEXT = 32_767  # Excel's limit for one cell
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def safe_text(value: str) -> str:
    """Text a spreadsheet shows as it is and never evaluates: characters XML cannot carry
    are dropped, and formula-like or error-code-like text gets a leading apostrophe."""
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    if text.startswith(FORMULA_STARTS) or text in ERROR_CODES:
        text = "'" + text
    return text[:MAX_CELL_TEXT]


PADDING = 2  # a cell's margins, in width units
LINE_HEIGHT = 15  # points: one line of 11 pt text, Chinese included
MAX_ROW_HEIGHT = 409  # points: the tallest row Excel allows
# What a date, a date and time, a row number or a score looks like in a cell.
SAMPLES = {
    "date": ("2026-12-31",),
    "datetime": ("2026-12-31 23:59",),
    "int": ("999999",),
    "float": ("100.0",),
}


# Wide and full-width characters (Unicode's East Asian Width W and F): Hangul Jamo, CJK
# punctuation, kana, CJK ideographs, Hangul, compatibility ideographs, vertical and
# full-width forms, emoji, the supplementary ideographs. A regular expression finds them
# in C, several times faster than asking `unicodedata` character by character.
WIDE = re.compile(
    "[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f"
    "\uff01-\uff60\uffe0-\uffe6\U0001f300-\U0001f64f\U0001f900-\U0001f9ff"
    "\U00020000-\U0003fffd]"
)


def text_width(text: str) -> int:
    """How wide `text` is on one line, in a spreadsheet's column-width units (the width of
    a digit of the default font, 11 pt): a Chinese (wide or full-width) character counts
    2.2 (its glyph is about 15 pixels to a digit's 7), any other character 1, rounded up.
    A label that fits by this rule fits in Excel, WPS and LibreOffice alike."""
    wide = len(WIDE.findall(text))
    return math.ceil(2.2 * wide + (len(text) - wide))


def lines_of(text: str, width: float) -> int:
    """How many lines `text` takes wrapped in a column `width` wide (by `text_width`)."""
    room = max(1, width - PADDING)
    return sum(max(1, math.ceil(text_width(line) / room)) for line in text.split("\n"))


def header_width(header: str) -> int:
    """The width a header needs on at most two lines (the header row wraps)."""
    half = math.ceil(len(header) / 2)
    return max(text_width(header[:half]), text_width(header[half:]))


@dataclass(frozen=True)
class Column:
    header: str  # Chinese, what the reader sees
    width: float = 0  # free text: how wide before it wraps; else fitted to what it holds
    kind: str = "text"  # text | int | float | date | datetime | url
    labels: tuple[str, ...] = field(default=())  # every value of a fixed vocabulary
    wrap: bool = False  # free text, wrapped within `width`

    @property
    def fitted_width(self) -> float:
        """The column's width: every label (or sample value) it can hold on one line, its
        header on two at most, and no narrower than `width`."""
        texts = (*self.labels, *SAMPLES.get(self.kind, ()))
        needed = max([header_width(self.header), *map(text_width, texts)])
        return max(self.width, needed + PADDING)


class LedgerSheet:
    """One worksheet written row by row; `save` closes it into `sink`."""

    def __init__(self, title: str, columns: Sequence[Column]):
        self.columns = list(columns)
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(title=safe_text(title)[:31])
        for index, column in enumerate(self.columns, 1):
            self.sheet.column_dimensions[get_column_letter(index)].width = column.fitted_width
        self._widths = [column.fitted_width for column in self.columns]
        self.sheet.freeze_panes = "A2"
        self._print_setup()
        self.rows = 0
        header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
        middle = Alignment(vertical="center", wrap_text=True)
        header = []
        for column in self.columns:
            cell = WriteOnlyCell(self.sheet, value=safe_text(column.header))
            cell.font, cell.fill, cell.alignment = header_font, header_fill, middle
            header.append(cell)
        self._append(1, header, [lines_of(c.header, c.fitted_width) for c in self.columns])
        # Each column's cell style, made once and copied into every cell: text at the top
        # of its cell (a row is as tall as its longest wrapped text), free text wrapped.
        # Figures and labels are centred, clear of the text beside them.
        top, wrapped = Alignment(vertical="top"), Alignment(vertical="top", wrap_text=True)
        centred = Alignment(vertical="top", horizontal="center")
        self._styles = []
        for column in self.columns:
            proto = WriteOnlyCell(self.sheet)
            if column.wrap:
                proto.alignment = wrapped
            elif column.labels or column.kind in ("int", "float"):
                proto.alignment = centred
            else:
                proto.alignment = top
            if column.kind == "datetime":
                proto.number_format = DATETIME_FORMAT
            elif column.kind == "date":
                proto.number_format = DATE_FORMAT
            self._styles.append(proto._style)

    def _print_setup(self) -> None:
        """A4 landscape, one page wide, the header row on every page, page numbers."""
        sheet = self.sheet
        sheet.page_setup.paperSize = 9  # A4
        sheet.page_setup.orientation = "landscape"
        sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0  # as many pages down as the rows take
        sheet.print_title_rows = "1:1"
        sheet.page_margins = PageMargins(
            left=0.4, right=0.4, top=0.6, bottom=0.6, header=0.3, footer=0.3
        )
        sheet.oddFooter.center.text = "第 &P 页，共 &N 页"

    def append(self, values: Sequence[Any]) -> None:
        cells = [
            self._cell(c, s, v) for c, s, v in zip(self.columns, self._styles, values, strict=True)
        ]
        lines = [
            lines_of(cell.value, width)
            for column, width, cell in zip(self.columns, self._widths, cells, strict=True)
            if column.wrap and cell is not None and isinstance(cell.value, str)
        ]
        self.rows += 1
        self._append(self.rows + 1, cells, lines)  # row 1 is the header

    def _append(self, index: int, cells: list, lines: list[int]) -> None:
        """Write a row as tall as its most wrapped cell. The height is written, not left to
        the reader's program: LibreOffice keeps a row one line high when the file does not
        say otherwise, and wrapped text then runs over the rows below. The row's dimension
        is dropped once the row is written, so memory stays flat."""
        tall = max(lines, default=1) > 1
        if tall:
            height = min(MAX_ROW_HEIGHT, max(lines) * LINE_HEIGHT + 3)
            self.sheet.row_dimensions[index] = RowDimension(
                self.sheet, index=index, ht=height, customHeight=True
            )
        self.sheet.append(cells)
        if tall:
            del self.sheet.row_dimensions[index]

    def extend(self, rows: Iterable[Sequence[Any]]) -> int:
        for values in rows:
            self.append(values)
        return self.rows

    def _cell(self, column: Column, style, value: Any):
        if value is None or value == "":
            return None
        if column.kind == "datetime" and isinstance(value, datetime):
            value = local(value).replace(tzinfo=None)
        elif column.kind == "date" and isinstance(value, date):
            pass
        elif isinstance(value, bool):
            value = "是" if value else "否"
        elif not isinstance(value, int | float):
            value = safe_text(str(value))
        cell = WriteOnlyCell(self.sheet, value=value)
        cell._style = copy(style)
        return cell

    def save(self, sink: IO[bytes]) -> int:
        """Add the filter over everything written and close the workbook into `sink`."""
        last = get_column_letter(len(self.columns))
        self.sheet.auto_filter.ref = f"A1:{last}{self.rows + 1}"
        self.book.save(sink)
        return self.rows
