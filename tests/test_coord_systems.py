"""Map datums through the API: units, check-ins and photos say which coordinate system their
numbers use, and every distance converts first (issue 16, point 1).

In Puning WGS-84 23.2951, 116.1498 is GCJ-02 23.29263, 116.15451: about 554 m apart, more
than the 500 m check-in radius. Compared as one system, an inspector at the door reads as far
away; converted, they are metres apart."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Role
from core.db import db
from core.geo import gcj02_to_wgs84
from inspections.models import Inspection
from org.models import Unit
from tests import images
from tests.conftest import assert_problem
from tests.inspection_helpers import ALL_PASS, PHOTOS, make_visit, publish_checklist
from tests.test_photos import upload
from tests.test_unit_import import HEADER, csv_file, post, xlsx_file

PUNING_WGS84 = (23.2951, 116.1498)
PUNING_GCJ02 = (23.29263, 116.15451)


@pytest.fixture
def inspector(world, client_for):
    publish_checklist()
    db.session.commit()
    return client_for(world.users[Role.inspector])


def unit_at(make_unit, world, point, system):
    return make_unit(
        sector_id=world.sector_a.id,
        latitude=point[0],
        longitude=point[1],
        **({"coord_system": system} if system else {}),
    )


def check_in_at(client, unit, point, **extra):
    reading = {"latitude": point[0], "longitude": point[1], "accuracy_m": 15.0} | extra
    body = {"client_uuid": str(uuid.uuid4()), "unit_id": unit.id, "check_in": reading}
    return client.post("/api/v1/inspections", json=body)


# -- the acceptance line: either system at a unit of the other ------------------------------


@pytest.mark.parametrize(
    ("unit_point", "unit_system", "reading", "reading_type"),
    [
        # wx.getLocation's default (WGS-84, no `type` sent) at a unit copied from a map picker
        # (GCJ-02, the default of a unit created without a system).
        (PUNING_GCJ02, None, PUNING_WGS84, None),
        (PUNING_GCJ02, "gcj02", PUNING_WGS84, "wgs84"),
        # The reverse: wx.getLocation({type: 'gcj02'}) at a unit surveyed by GPS.
        (PUNING_WGS84, "wgs84", PUNING_GCJ02, "gcj02"),
        # The same system on both sides still works.
        (PUNING_GCJ02, "gcj02", PUNING_GCJ02, "gcj02"),
        (PUNING_WGS84, "wgs84", PUNING_WGS84, "wgs84"),
    ],
    ids=["wgs84-default-at-gcj02", "wgs84-at-gcj02", "gcj02-at-wgs84", "gcj02-gcj02", "wgs-wgs"],
)
def test_a_check_in_at_the_door_is_within_30_m_whatever_the_systems(
    world, make_unit, inspector, unit_point, unit_system, reading, reading_type
):
    unit = unit_at(make_unit, world, unit_point, unit_system)
    extra = {"type": reading_type} if reading_type else {}
    response = check_in_at(inspector, unit, reading, **extra)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["checkin_distance_m"] < 30
    assert body["checkin_far"] is False
    assert body["checkin_imprecise"] is False
    assert body["checkin_coord_system"] == (reading_type or "wgs84")
    stored = db.session.get(Inspection, body["id"])
    assert stored.checkin_coord_system == (reading_type or "wgs84")


def test_a_reading_that_matches_the_units_numbers_in_the_wrong_system_is_far(
    world, make_unit, inspector
):
    """The fake that used to hide in the error: GPS numbers equal to the unit's GCJ-02 numbers
    are ~554 m from the unit on the ground."""
    unit = unit_at(make_unit, world, PUNING_GCJ02, "gcj02")
    body = check_in_at(inspector, unit, PUNING_GCJ02, type="wgs84").get_json()
    assert 540 < body["checkin_distance_m"] < 570
    assert body["checkin_far"] is True


def test_check_in_type_outside_the_enum_is_refused(world, make_unit, inspector):
    unit = unit_at(make_unit, world, PUNING_GCJ02, None)
    problem = assert_problem(check_in_at(inspector, unit, PUNING_WGS84, type="bd09"), 422)
    assert "type" in problem["errors"]["json"]["check_in"]


# -- accuracy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("north_deg", "accuracy_m", "far", "imprecise"),
    [
        (0.01, 12.0, True, False),  # ~1.1 km, a sharp reading: far
        (0.01, 800.0, False, True),  # ~1.1 km, but ±800 m: cannot tell, 定位精度不足
        (0.0, 800.0, False, True),  # at the door, ±800 m: still imprecise
        (0.0, 500.0, False, False),  # exactly the radius is precise enough
        (0.0, None, False, False),  # no accuracy reported: judged on the distance
    ],
)
def test_a_reading_coarser_than_the_radius_is_imprecise_not_far(
    world, make_unit, inspector, north_deg, accuracy_m, far, imprecise
):
    unit = unit_at(make_unit, world, PUNING_GCJ02, "gcj02")
    here = (PUNING_GCJ02[0] + north_deg, PUNING_GCJ02[1])
    response = check_in_at(inspector, unit, here, type="gcj02", accuracy_m=accuracy_m)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["checkin_far"], body["checkin_imprecise"]) == (far, imprecise)
    assert body["checkin_distance_m"] is not None
    read = inspector.get(f"/api/v1/inspections/{body['id']}").get_json()
    assert (read["checkin_far"], read["checkin_imprecise"]) == (far, imprecise)


def test_an_offline_submission_converts_and_flags_the_same_way(world, inspector):
    visit = make_visit(world.unit_a, [world.users[Role.inspector]])
    spot = gcj02_to_wgs84(world.unit_a.latitude, world.unit_a.longitude)
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": {"latitude": spot[0], "longitude": spot[1], "accuracy_m": 900.0},
        "answers": ALL_PASS,
        "photos": PHOTOS,
    }
    response = inspector.post("/api/v1/inspections/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    result = response.get_json()
    assert result["checkin_distance_m"] < 30
    assert (result["checkin_far"], result["checkin_imprecise"]) == (False, True)


# -- photos: EXIF GPS is WGS-84 --------------------------------------------------------------


def test_a_photo_with_exif_gps_at_the_units_gcj02_spot_is_not_far(world, client_for):
    inspector = client_for(world.users[Role.inspector])
    unit = world.unit_a  # GCJ-02 23.3, 116.17
    at_the_door = gcj02_to_wgs84(unit.latitude, unit.longitude)
    body = upload(inspector, images.jpeg(gps=at_the_door), owner_id=unit.id).get_json()
    assert body["flags"] == []
    assert body["distance_m"] < 30

    # The unit's own numbers written into EXIF are ~550 m away on the ground.
    misread = upload(
        inspector, images.jpeg(gps=(unit.latitude, unit.longitude), seed=3), owner_id=unit.id
    ).get_json()
    assert "far_from_unit" in misread["flags"]
    assert 500 < misread["distance_m"] < 600


def test_a_photos_client_position_carries_its_system(world, client_for):
    """The phone's own reading sent with a photo says its system as check-in does: a GCJ-02
    reading at the door is near, the same numbers read as WGS-84 are ~550 m off."""
    inspector = client_for(world.users[Role.inspector])
    unit = world.unit_a  # GCJ-02 23.3, 116.17
    spot = {"latitude": unit.latitude, "longitude": unit.longitude}
    said = upload(
        inspector, images.jpeg(seed=4), owner_id=unit.id, coord_system="gcj02", **spot
    ).get_json()
    assert said["flags"] == ["exif_missing"]
    assert said["distance_m"] < 1
    assert said["client_coord_system"] == "gcj02"
    unsaid = upload(inspector, images.jpeg(seed=5), owner_id=unit.id, **spot).get_json()
    assert unsaid["client_coord_system"] == "wgs84"  # wx.getLocation's default
    assert "far_from_unit" in unsaid["flags"]
    wrong = upload(inspector, images.jpeg(seed=6), owner_id=unit.id, coord_system="bd09", **spot)
    assert "coord_system" in str(assert_problem(wrong, 422)["errors"])


def test_a_photo_at_a_wgs84_unit_compares_without_conversion(world, client_for, make_unit):
    inspector = client_for(world.users[Role.inspector])
    unit = unit_at(make_unit, world, PUNING_WGS84, "wgs84")
    body = upload(inspector, images.jpeg(gps=PUNING_WGS84), owner_id=unit.id).get_json()
    assert body["flags"] == []
    assert body["distance_m"] < 1


# -- the unit API --------------------------------------------------------------------------


def unit_payload(world, **over):
    return {
        "name": f"普宁市流沙服务厅{uuid.uuid4().hex[:6]}",
        "latitude": PUNING_GCJ02[0],
        "longitude": PUNING_GCJ02[1],
        "sector_id": world.sector_a.id,
        "region_id": world.unit_a.region_id,
    } | over


def test_unit_api_records_the_coordinate_system(office, world):
    default = office.post("/api/v1/units", json=unit_payload(world))
    assert default.status_code == 201, default.get_json()
    assert default.get_json()["coord_system"] == "gcj02"

    gps = office.post("/api/v1/units", json=unit_payload(world, coord_system="wgs84"))
    assert gps.status_code == 201, gps.get_json()
    url = f"/api/v1/units/{gps.get_json()['id']}"
    assert office.get(url).get_json()["coord_system"] == "wgs84"
    assert db.session.get(Unit, gps.get_json()["id"]).coord_system == "wgs84"

    etag = office.get(url).headers["ETag"]
    patched = office.patch(url, json={"coord_system": "gcj02"}, headers={"If-Match": etag})
    assert patched.status_code == 200, patched.get_json()
    assert office.get(url).get_json()["coord_system"] == "gcj02"


@pytest.mark.parametrize("value", ["bd09", "WGS-84", "", None])
def test_unit_api_refuses_an_unknown_system(office, world, value):
    problem = assert_problem(
        office.post("/api/v1/units", json=unit_payload(world, coord_system=value)), 422
    )
    assert "coord_system" in problem["errors"]["json"]


def test_the_openapi_document_names_the_systems(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert schemas["Unit"]["properties"]["coord_system"]["enum"] == ["wgs84", "gcj02"]
    assert schemas["CheckIn"]["properties"]["type"]["enum"] == ["wgs84", "gcj02"]


# -- the unit import -----------------------------------------------------------------------

IMPORT_HEADER = [*HEADER, "坐标系"]


def import_row(refs, name, system):
    return [name, "流沙大道", 23.29, 116.16, refs["sector"], refs["region"], "", "", "", system]


@pytest.fixture
def refs(world):
    return {"sector": world.sector_a.name, "region": world.unit_a.region.code}


@pytest.fixture
def with_system_column(monkeypatch):
    monkeypatch.setattr("tests.test_unit_import.HEADER", IMPORT_HEADER)


@pytest.mark.parametrize("make_file", [csv_file, xlsx_file])
def test_import_reads_the_coordinate_system_column(office, refs, with_system_column, make_file):
    spellings = {
        "WGS-84": "wgs84",
        "wgs84": "wgs84",
        "GPS": "wgs84",
        "gps": "wgs84",
        "GCJ-02": "gcj02",
        "gcj02": "gcj02",
        "火星坐标": "gcj02",
        "": "gcj02",
    }
    rows = [import_row(refs, f"导入单位{i}", text) for i, text in enumerate(spellings)]
    response = post(office, make_file(rows))
    assert response.status_code == 201, response.get_json()
    for i, system in enumerate(spellings.values()):
        stored = db.session.scalar(db.select(Unit).where(Unit.name == f"导入单位{i}"))
        assert stored.coord_system == system, (i, system)


def test_import_without_the_column_stores_gcj02(office, refs):
    rows = [["导入单位默认", "", 23.29, 116.16, refs["sector"], refs["region"], "", "", ""]]
    assert post(office, csv_file(rows)).status_code == 201
    stored = db.session.scalar(db.select(Unit).where(Unit.name == "导入单位默认"))
    assert stored.coord_system == "gcj02"


def test_import_names_every_row_with_an_unknown_system(office, refs, with_system_column):
    rows = [
        import_row(refs, "好单位", "GPS"),
        import_row(refs, "百度单位", "BD-09"),
        import_row(refs, "乱填单位", "北京54"),
    ]
    problem = assert_problem(post(office, csv_file(rows)), 422)
    named = {row["line"]: row for row in problem["errors"]["rows"]}
    assert set(named) == {3, 4}
    assert "坐标系“BD-09”无法识别" in named[3]["reasons"][0]
    assert "坐标系“北京54”无法识别" in named[4]["reasons"][0]
    assert db.session.scalar(db.select(Unit).where(Unit.name == "好单位")) is None
