"""Numbers written as text are ASCII, and a unit's spot is both coordinates or none.

Python's int() and float() read full-width and Arabic-Indic digits and underscores
("１２", "٢٣.５", "1_16"): a query string, a form or a JSON string holding one was taken as
the number. A unit with one coordinate had every distance check silently turned off.
"""

from __future__ import annotations

import io

import pytest

from tests.conftest import assert_problem

API = "/api/v1"
NOT_ASCII = ["２３.５", "٢٣.٥", "2_3.5", "23.５"]


@pytest.mark.parametrize("value", NOT_ASCII)
def test_a_coordinate_in_other_digits_is_refused(office, world, value):
    body = {"name": "数字测试窗口", "sector_id": world.sector_a.id, "region_id": world.region_a}
    body |= {"latitude": value, "longitude": "116.17"}
    problem = assert_problem(office.post(f"{API}/units", json=body), 422)
    assert "latitude" in problem["errors"]["json"]
    assert office.post(f"{API}/units", json=body | {"latitude": "23.5"}).status_code == 201


@pytest.mark.parametrize(
    ("path", "name"),
    [("/units", "page"), ("/inspections", "score_min"), ("/inspections", "per_page")],
)
@pytest.mark.parametrize("value", ["１", "٣", "1_0"])
def test_a_query_number_in_other_digits_is_refused(office, path, name, value):
    problem = assert_problem(office.get(f"{API}{path}", query_string={name: value}), 422)
    assert name in problem["errors"]["query"]


def test_a_unit_has_both_coordinates_or_none(office, world):
    body = {"name": "坐标测试窗口", "sector_id": world.sector_a.id, "region_id": world.region_a}
    only_one = office.post(f"{API}/units", json=body | {"latitude": 23.3})
    assert "longitude" in assert_problem(only_one, 422)["errors"]
    unit = world.unit_a
    tag = office.get(f"{API}/units/{unit.id}").headers["ETag"]
    dropped = office.patch(
        f"{API}/units/{unit.id}", json={"latitude": None}, headers={"If-Match": tag}
    )
    assert "latitude" in assert_problem(dropped, 422)["errors"]
    both = office.patch(
        f"{API}/units/{unit.id}",
        json={"latitude": None, "longitude": None},
        headers={"If-Match": tag},
    )
    assert both.status_code == 200, both.get_json()


def test_the_unit_import_refuses_other_digits_and_half_a_spot(office, world):
    sector, region = world.sector_a.name, world.unit_a.region.code
    rows = [
        "名称,行业领域,所属区域,纬度,经度",
        f"全角纬度,{sector},{region},２３.５,116.1",
        f"只有纬度,{sector},{region},23.5,",
    ]
    response = office.post(
        f"{API}/units/import",
        data={"file": (io.BytesIO("\n".join(rows).encode()), "units.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.get_json()
    text = str(response.get_json())
    assert "不是数字" in text
    assert "同时填写" in text
