"""Bulk import of units: every bad row is named, and a bad file imports nothing."""

import io

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core.db import db
from org.models import Unit
from tests.conftest import assert_problem

HEADER = ["名称", "地址", "纬度", "经度", "行业领域", "所属区域", "牵头单位", "联系人", "联系电话"]


@pytest.fixture
def refs(world):
    region = world.unit_a.region
    return {"sector": world.sector_a.name, "region": region.code, "lead": world.lead_unit_a.name}


def csv_file(rows, encoding="utf-8-sig"):
    text = "\n".join(",".join(str(c) for c in row) for row in [HEADER, *rows])
    return (io.BytesIO(text.encode(encoding)), "units.csv")


def xlsx_file(rows):
    book = Workbook()
    sheet = book.active
    for row in [HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return (out, "units.xlsx")


def unit_count():
    return db.session.scalar(select(func.count(Unit.id)))


def post(office, upload):
    return office.post(
        "/api/v1/units/import", data={"file": upload}, content_type="multipart/form-data"
    )


@pytest.mark.parametrize("make_file", [csv_file, xlsx_file])
def test_good_file_imports_every_row(office, refs, make_file):
    before = unit_count()
    rows = [
        [
            "普宁市税务局办税服务厅",
            "流沙大道",
            23.29,
            116.16,
            refs["sector"],
            refs["region"],
            refs["lead"],
            "陈先生",
            "0663-1",
        ],
        ["池尾街道社保服务窗口", "池尾大道", "", "", refs["sector"], refs["region"], "", "", ""],
    ]
    response = post(office, make_file(rows))
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"created": 2}
    assert unit_count() == before + 2
    stored = db.session.scalar(select(Unit).where(Unit.name == "池尾街道社保服务窗口"))
    assert stored.latitude is None


def test_gbk_csv_from_excel_is_read(office, refs):
    rows = [["流沙邮政代办点", "", "", "", refs["sector"], refs["region"], "", "", ""]]
    assert post(office, csv_file(rows, encoding="gbk")).status_code == 201


@pytest.mark.parametrize("make_file", [csv_file, xlsx_file])
def test_bad_rows_are_all_named_and_nothing_is_imported(office, refs, world, make_file):
    before = unit_count()
    rows = [
        ["好的一行", "", "", "", refs["sector"], refs["region"], "", "", ""],  # line 2: fine
        ["", "", "", "", refs["sector"], refs["region"], "", "", ""],  # 3: no name
        ["坐标错", "", "north", 200, refs["sector"], refs["region"], "", "", ""],  # 4
        ["领域错", "", "", "", "不存在的领域", refs["region"], "", "", ""],  # 5
        ["好的一行", "", "", "", refs["sector"], refs["region"], "", "", ""],  # 6: dup of 2
        [world.unit_a.name, "", "", "", refs["sector"], refs["region"], "", "", ""],  # 7
        ["牵头错", "", "", "", refs["sector"], "999999", "无此牵头单位", "", ""],  # 8
    ]
    body = assert_problem(post(office, make_file(rows)), 422)
    problems = {p["line"]: p["reasons"] for p in body["errors"]["rows"]}
    assert sorted(problems) == [3, 4, 5, 6, 7, 8]
    assert problems[3] == ["名称不能为空"]
    assert any("纬度" in r for r in problems[4])
    assert any("经度" in r for r in problems[4])
    assert any("不存在的领域" in r for r in problems[5])
    assert problems[6] == ["与第 2 行重复"]
    assert problems[7] == ["该区域已存在同名窗口单位"]
    assert len(problems[8]) == 2
    assert unit_count() == before


def test_wrong_header_is_refused(office):
    upload = (io.BytesIO("单位,电话\n某单位,123\n".encode()), "units.csv")
    body = assert_problem(post(office, upload), 422)
    assert any("单位" in m for m in body["errors"]["header"])


@pytest.mark.parametrize(
    ("content", "filename", "status"),
    [
        (b"%PDF-1.4 not a sheet", "units.pdf", 415),
        (b"PK\x03\x04 broken", "units.xlsx", 422),
        (b"", "units.csv", 422),
    ],
)
def test_unreadable_files(office, content, filename, status):
    assert_problem(post(office, (io.BytesIO(content), filename)), status)


def test_missing_file_part(office):
    body = assert_problem(
        office.post("/api/v1/units/import", data={}, content_type="multipart/form-data"), 422
    )
    assert "file" in body["errors"]["files"]
