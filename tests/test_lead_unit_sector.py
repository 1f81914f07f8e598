"""A lead unit supervises one sector: a unit's lead unit is of the unit's sector, on
create, update, import, and when the lead unit itself moves."""

from __future__ import annotations

import io

from core.db import db
from org.models import LeadUnit, Unit
from tests.conftest import assert_problem, patch_as_read

API = "/api/v1"


def _lead_of_b(world) -> LeadUnit:
    lead = LeadUnit(name="测试牵头单位B", sector_id=world.sector_b.id)
    db.session.add(lead)
    db.session.commit()
    return lead


def test_a_units_lead_unit_is_of_its_sector(office, world):
    lead_b = _lead_of_b(world)
    body = {"name": "审计单位", "sector_id": world.sector_a.id, "region_id": world.region_a}
    refused = office.post(f"{API}/units", json=body | {"lead_unit_id": lead_b.id})
    assert assert_problem(refused, 422)["errors"] == {
        "lead_unit_id": ["牵头单位不负责该单位的行业领域"]
    }
    created = office.post(f"{API}/units", json=body | {"lead_unit_id": world.lead_unit_a.id})
    assert created.status_code == 201

    # Update: another sector's lead unit; or another sector keeping the old lead unit.
    url = f"{API}/units/{world.unit_a.id}"
    for change in ({"lead_unit_id": lead_b.id}, {"sector_id": world.sector_b.id}):
        etag = office.get(url).headers["ETag"]
        response = office.patch(url, json=change, headers={"If-Match": etag})
        assert "lead_unit_id" in assert_problem(response, 422)["errors"]
    etag = office.get(url).headers["ETag"]
    both = {"sector_id": world.sector_b.id, "lead_unit_id": lead_b.id}
    assert office.patch(url, json=both, headers={"If-Match": etag}).status_code == 200


def test_the_import_checks_the_lead_units_sector(office, world):
    lead_b = _lead_of_b(world)
    text = (
        "名称,行业领域,所属区域,牵头单位\n"
        f"导入审计单位,{world.sector_a.name},{world.unit_a.region.code},{lead_b.name}\n"
    )
    response = office.post(
        f"{API}/units/import",
        data={"file": (io.BytesIO(text.encode()), "units.csv")},
        content_type="multipart/form-data",
    )
    assert "不负责该行业领域" in str(assert_problem(response, 422))
    assert db.session.scalar(db.select(Unit.id).where(Unit.name == "导入审计单位")) is None


def test_a_lead_unit_with_units_keeps_its_sector(office, world):
    url = f"{API}/lead-units/{world.lead_unit_a.id}"
    moved = patch_as_read(office, url, {"sector_id": world.sector_b.id})
    assert "sector_id" in assert_problem(moved, 422)["errors"]
