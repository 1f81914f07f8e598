"""Writing a ledger sheet: openpyxl's write-only mode (rows go to a temporary file as they
come, so memory stays flat however many there are), Chinese headers, a frozen header row,
an auto filter, column widths, dates as dates and numbers as numbers.

Every text cell passes `safe_text` first. Unit names, notes and replies are typed by
people (or imported from a spreadsheet) and may start with `=`, `+`, `-`, `@`, a tab or a
carriage return: a spreadsheet program would read such text as a formula when the cell is
edited, or when the sheet is saved as CSV and opened again (`=HYPERLINK(…)` sends the
reader to a site of the writer's choice, `=cmd|' /C calc'!A0` runs a program through DDE).
Such text is written as a text cell with a leading apostrophe (OWASP's advice): the
apostrophe is visible, the formula never runs, and it survives a CSV round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

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


@dataclass(frozen=True)
class Column:
    header: str  # Chinese, what the reader sees
    width: float = 12
    kind: str = "text"  # text | int | float | date | datetime | url


class LedgerSheet:
    """One worksheet written row by row; `save` closes it into `sink`."""

    def __init__(self, title: str, columns: Sequence[Column]):
        self.columns = list(columns)
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(title=safe_text(title)[:31])
        for index, column in enumerate(self.columns, 1):
            self.sheet.column_dimensions[get_column_letter(index)].width = column.width
        self.sheet.freeze_panes = "A2"
        self.rows = 0
        header_font, header_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
        middle = Alignment(vertical="center")
        header = []
        for column in self.columns:
            cell = WriteOnlyCell(self.sheet, value=safe_text(column.header))
            cell.font, cell.fill, cell.alignment = header_font, header_fill, middle
            header.append(cell)
        self.sheet.append(header)

    def append(self, values: Sequence[Any]) -> None:
        self.sheet.append([self._cell(c, v) for c, v in zip(self.columns, values, strict=True)])
        self.rows += 1

    def extend(self, rows: Iterable[Sequence[Any]]) -> int:
        for values in rows:
            self.append(values)
        return self.rows

    def _cell(self, column: Column, value: Any):
        if value is None or value == "":
            return None
        if column.kind == "datetime" and isinstance(value, datetime):
            cell = WriteOnlyCell(self.sheet, value=local(value).replace(tzinfo=None))
            cell.number_format = DATETIME_FORMAT
            return cell
        if column.kind == "date" and isinstance(value, date):
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.number_format = DATE_FORMAT
            return cell
        if isinstance(value, bool):
            return "是" if value else "否"
        if isinstance(value, int | float):
            return value
        return safe_text(str(value))

    def save(self, sink: IO[bytes]) -> int:
        """Add the filter over everything written and close the workbook into `sink`."""
        last = get_column_letter(len(self.columns))
        self.sheet.auto_filter.ref = f"A1:{last}{self.rows + 1}"
        self.book.save(sink)
        return self.rows
