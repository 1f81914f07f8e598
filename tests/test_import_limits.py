"""Unit import against hostile files: what a file declares is not what is read, memory
stays bounded, and every refusal is a 4xx problem that names the limit.

The workbooks are written by hand (zipfile), so that their sheet XML says what an attacker
wants: a huge <dimension>, a row a million lines down, a DTD, a part that unpacks to far
more than the upload.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core.db import db
from org import importer
from org.models import Unit
from tests.conftest import assert_problem
from tests.test_unit_import import HEADER, post

SHEET = "xl/worksheets/sheet1.xml"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MB = 1024 * 1024


def _cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _row(number: int, values: list[str], first_column: str = "A") -> str:
    columns = [chr(ord(first_column) + i) for i in range(len(values))]
    cells = "".join(_cell(f"{c}{number}", v) for c, v in zip(columns, values, strict=True))
    return f'<row r="{number}">{cells}</row>'


def _sheet(rows: str, *, dimension: str = "A1:I2", prolog: str = "", padding: str = "") -> str:
    return (
        f'{prolog}<worksheet xmlns="{MAIN}"><dimension ref="{dimension}"/>'
        f"<sheetData>{rows}</sheetData>{padding}</worksheet>"
    )


def handmade_xlsx(sheet_xml: str | bytes, *, replace: dict[str, bytes] | None = None):
    """A workbook openpyxl wrote, with its sheet (and any other part) replaced."""
    book = Workbook()
    base = io.BytesIO()
    book.save(base)
    parts = {SHEET: sheet_xml.encode() if isinstance(sheet_xml, str) else sheet_xml}
    parts |= replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            dst.writestr(name, parts.get(name, src.read(name)))
    out.seek(0)
    return out, "units.xlsx"


def _good_row(refs, number: int, name: str = "导入的窗口单位") -> str:
    values = [name, "", "", "", refs["sector"], refs["region"], "", "", ""]
    return _row(number, [v for v in values])


@pytest.fixture
def refs(world):
    return {"sector": world.sector_a.name, "region": world.unit_a.region.code}


def _unit_count() -> int:
    return db.session.scalar(select(func.count(Unit.id)))


def _post_measured(office, upload):
    """The answer, and the peak memory the request allocated (MB)."""
    tracemalloc.start()
    try:
        response = post(office, upload)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak / MB


@pytest.mark.parametrize(
    "dimension", ["A1:XFD1048576", "A1:CV100000", "A1048576:XFD1048576", "A1:A1"]
)
def test_a_declared_dimension_is_not_what_is_read(office, refs, dimension):
    rows = _row(1, HEADER) + _good_row(refs, 2)
    upload = handmade_xlsx(_sheet(rows, dimension=dimension))
    response, peak = _post_measured(office, upload)
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"created": 1}
    assert peak < 20


def test_cells_far_to_the_right_are_not_padded_into_memory(office, refs):
    """Each row ends with a cell in the last column Excel has (XFD): 16 384 cells a row."""
    rows = _row(1, HEADER) + "".join(
        _good_row(refs, n, f"单位{n}")[: -len("</row>")] + _cell(f"XFD{n}", "") + "</row>"
        for n in range(2, 300)
    )
    response, peak = _post_measured(office, handmade_xlsx(_sheet(rows)))
    assert response.status_code == 201, response.get_json()
    assert peak < 30


def test_a_row_a_million_lines_down_stops_the_reading_at_the_limit(office, refs):
    rows = _row(1, HEADER) + _good_row(refs, 2) + _good_row(refs, 1_048_576, "最后一行")
    before = _unit_count()
    response, peak = _post_measured(office, handmade_xlsx(_sheet(rows, dimension="A1:XFD1048576")))
    body = assert_problem(response, 413)
    assert str(importer.MAX_ROWS) in body["detail"]
    assert peak < 20
    assert _unit_count() == before


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_more_rows_than_the_limit_are_refused_naming_it(office, refs, kind):
    count = importer.MAX_ROWS + 1
    if kind == "xlsx":
        rows = _row(1, HEADER) + "".join(
            _good_row(refs, n, f"单位{n}") for n in range(2, count + 2)
        )
        upload = handmade_xlsx(_sheet(rows))
    else:
        lines = [",".join(HEADER)] + [
            f"单位{n},,,,{refs['sector']},{refs['region']},,," for n in range(count)
        ]
        upload = (io.BytesIO("\n".join(lines).encode()), "units.csv")
    body = assert_problem(post(office, upload), 413)
    assert str(importer.MAX_ROWS) in body["detail"]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_more_columns_than_the_limit_are_refused_naming_it(office, refs, kind):
    if kind == "xlsx":
        # Column 51 (AY) holds data; cells past it are never read, whatever they hold.
        wide = _good_row(refs, 2)[: -len("</row>")] + _cell("AY2", "多余") + "</row>"
        upload = handmade_xlsx(_sheet(_row(1, HEADER) + wide))
    else:
        line = f"单位,,,,{refs['sector']},{refs['region']},,," + ",x" * 60
        upload = (io.BytesIO(f"{','.join(HEADER)}\n{line}".encode()), "units.csv")
    body = assert_problem(post(office, upload), 413)
    assert str(importer.MAX_COLUMNS) in body["detail"]


def test_a_sheet_that_unpacks_beyond_the_limit_is_refused_before_parsing(office, refs):
    """30 MB of whitespace compresses to a few dozen KB: under the upload limit."""
    padding = " " * (30 * MB)
    upload = handmade_xlsx(_sheet(_row(1, HEADER) + _good_row(refs, 2), padding=padding))
    assert upload[0].getbuffer().nbytes < 1 * MB
    response, peak = _post_measured(office, upload)
    body = assert_problem(response, 413)
    assert "MB" in body["detail"]
    assert peak < 20


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
    '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
    '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
    '<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">'
    '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">'
    '<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">'
    '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>'
)


@pytest.mark.parametrize(
    "case",
    ["billion laughs in the sheet", "utf-16 sheet", "external entity", "dtd in workbook.xml"],
)
def test_a_workbook_with_a_dtd_is_refused(office, refs, case):
    rows = _row(1, HEADER) + _row(2, ["&lol9;", "", "", "", refs["sector"], refs["region"]])
    replace = {}
    if case == "billion laughs in the sheet":
        sheet = _sheet(rows, prolog=LAUGHS)
    elif case == "utf-16 sheet":
        prolog = LAUGHS.replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
        sheet = ("\ufeff" + _sheet(rows, prolog=prolog)).encode("utf-16-le")
    elif case == "external entity":
        prolog = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY lol9 SYSTEM "file:///etc/passwd">]>'
        sheet = _sheet(rows, prolog=prolog)
    else:
        sheet = _sheet(_row(1, HEADER) + _good_row(refs, 2))
        book = handmade_xlsx(sheet)[0]
        workbook_xml = zipfile.ZipFile(book).read("xl/workbook.xml").decode()
        replace["xl/workbook.xml"] = ('<!DOCTYPE wb [<!ENTITY a "b">]>' + workbook_xml).encode()
    before = _unit_count()
    response, peak = _post_measured(office, handmade_xlsx(sheet, replace=replace))
    body = assert_problem(response, 422)
    assert "DTD" in body["detail"]
    assert peak < 20
    assert _unit_count() == before


def test_a_csv_field_over_the_csv_limit_is_refused_naming_the_line(office, refs):
    long_address = "路" * (130 * 1024)
    text = f"{','.join(HEADER)}\n单位,{long_address},,,{refs['sector']},{refs['region']},,,\n"
    body = assert_problem(post(office, (io.BytesIO(text.encode()), "units.csv")), 422)
    assert "第 2 行" in body["detail"]
    assert "KB" in body["detail"]


@pytest.mark.parametrize(
    ("column", "value"),
    [(0, "名" * 101), (1, "址" * 201), (7, "人" * 41), (8, "1" * 31), (0, "有\x00空字符")],
)
def test_values_the_columns_cannot_hold_are_named_per_row(office, refs, column, value):
    row = ["单位甲", "", "", "", refs["sector"], refs["region"], "", "", ""]
    row[column] = value
    text = f"{','.join(HEADER)}\n{','.join(row)}\n"
    body = assert_problem(post(office, (io.BytesIO(text.encode()), "units.csv")), 422)
    assert [p["line"] for p in body["errors"]["rows"]] == [2]
