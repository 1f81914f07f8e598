"""Organisation: office maintenance, scoped reads, filters, pagination, If-Match."""

import pytest
from sqlalchemy import func, select

from accounts.models import Role, User
from core.audit import AuditEvent
from core.db import db
from org.models import LeadUnit, Region, Sector, Unit
from tests.conftest import assert_problem, patch_as_read


def test_office_creates_and_reads_a_unit(office, world):
    payload = {
        "name": "普宁市不动产登记中心",
        "address": "流沙大道中段",
        "latitude": 23.3,
        "longitude": 116.17,
        "sector_id": world.sector_a.id,
        "region_id": world.unit_a.region_id,
        "lead_unit_id": world.lead_unit_a.id,
        "contact_phone": "0663-1234567",
    }
    created = office.post("/api/v1/units", json=payload)
    assert created.status_code == 201
    body = created.get_json()
    assert body["sector_name"] == world.sector_a.name
    assert body["lead_unit_name"] == "测试牵头单位A"
    stored = db.session.get(Unit, body["id"])
    assert stored.name == "普宁市不动产登记中心"
    assert (
        db.session.scalar(
            select(func.count()).where(
                AuditEvent.entity_type == "unit", AuditEvent.action == "create"
            )
        )
        == 1
    )


def test_duplicate_unit_name_in_a_region_is_a_conflict(office, world):
    payload = {
        "name": world.unit_a.name,
        "sector_id": world.sector_a.id,
        "region_id": world.unit_a.region_id,
    }
    assert_problem(office.post("/api/v1/units", json=payload), 409)


def test_unit_references_must_exist(office, world):
    payload = {"name": "某窗口", "sector_id": 9999, "region_id": world.unit_a.region_id}
    body = assert_problem(office.post("/api/v1/units", json=payload), 422)
    assert "sector_id" in body["errors"]


def test_update_needs_the_current_etag(office, world):
    url = f"/api/v1/units/{world.unit_a.id}"
    etag = office.get(url).headers["ETag"]
    assert_problem(office.patch(url, json={"address": "新地址"}), 428)
    assert_problem(office.patch(url, json={"address": "新地址"}, headers={"If-Match": '"99"'}), 412)
    updated = office.patch(url, json={"address": "新地址"}, headers={"If-Match": etag})
    assert updated.status_code == 200
    assert updated.headers["ETag"] != etag
    # The old ETag is now stale: a second writer who read before loses, loudly.
    assert_problem(office.patch(url, json={"address": "另一个"}, headers={"If-Match": etag}), 412)
    db.session.expire_all()
    assert db.session.get(Unit, world.unit_a.id).address == "新地址"


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        (Role.office_admin, {"a", "b"}),
        (Role.viewer, {"a", "b"}),
        (Role.inspector, {"a", "b"}),
        (Role.lead_unit_staff, {"a"}),
        (Role.unit_staff, {"a"}),
    ],
)
def test_units_are_scoped_by_role(world, client_for, role, sees):
    body = client_for(world.users[role]).get("/api/v1/units").get_json()
    ids = {item["id"] for item in body["items"]}
    expected = {{"a": world.unit_a.id, "b": world.unit_b.id}[k] for k in sees}
    assert ids == expected
    assert body["total"] == len(expected)


def test_unit_list_filters_and_pages(office, world, make_unit):
    for _ in range(5):
        make_unit(sector_id=world.sector_b.id)
    page = office.get(f"/api/v1/units?sector_id={world.sector_b.id}&per_page=2&page=2").get_json()
    assert page["total"] == 6
    assert page["pages"] == 3
    assert len(page["items"]) == 2
    assert all(item["sector_id"] == world.sector_b.id for item in page["items"])
    found = office.get("/api/v1/units?q=" + world.unit_a.name).get_json()
    assert [item["id"] for item in found["items"]] == [world.unit_a.id]


def test_region_filter_includes_the_subtree(office, world, make_region, make_unit):
    district = make_region(level="district")
    street = make_region(parent_id=district.id)
    inside = make_unit(region_id=street.id)
    body = office.get(f"/api/v1/units?region_id={district.id}").get_json()
    assert [item["id"] for item in body["items"]] == [inside.id]


def test_per_page_is_bounded(office, world):
    body = assert_problem(office.get("/api/v1/units?per_page=1000"), 422)
    assert "per_page" in body["errors"]["query"]


def test_region_cannot_become_its_own_ancestor(office, make_region):
    parent = make_region()
    child = make_region(parent_id=parent.id)
    response = patch_as_read(office, f"/api/v1/regions/{parent.id}", {"parent_id": child.id})
    assert_problem(response, 422)


def test_sectors_and_lead_units(office):
    sector = office.post("/api/v1/sectors", json={"code": "tax", "name": "税务"})
    assert sector.status_code == 201
    assert_problem(office.post("/api/v1/sectors", json={"code": "tax2", "name": "税务"}), 409)
    lead = office.post(
        "/api/v1/lead-units", json={"name": "市税务局", "sector_id": sector.get_json()["id"]}
    )
    assert lead.status_code == 201
    assert "市税务局" in [lu["name"] for lu in office.get("/api/v1/lead-units").get_json()]


def test_users_are_created_with_their_binding(office, world):
    response = office.post(
        "/api/v1/users",
        json={
            "username": "newstaff",
            "display_name": "新员工",
            "role": "unit_staff",
            "password": "long enough password",
        },
    )
    body = assert_problem(response, 422)
    assert "unit_id" in body["errors"]
    response = office.post(
        "/api/v1/users",
        json={
            "username": "newstaff",
            "display_name": "新员工",
            "role": "unit_staff",
            "unit_id": world.unit_b.id,
            "password": "long enough password",
        },
    )
    assert response.status_code == 201
    assert "password" not in response.get_json()


def test_renaming_a_user_to_a_taken_username_is_a_conflict(office, world):
    viewer = world.users[Role.viewer]
    taken = world.users[Role.inspector].username
    url = f"/api/v1/users/{viewer.id}"
    etag = office.get(url).headers["ETag"]
    body = assert_problem(
        office.patch(url, json={"username": taken}, headers={"If-Match": etag}), 409
    )
    assert "username" in body["errors"]
    assert db.session.scalar(select(User.username).where(User.id == viewer.id)) != taken
    # Keeping one's own name is no conflict.
    response = office.patch(url, json={"username": viewer.username}, headers={"If-Match": etag})
    assert response.status_code == 200


# -- regions, sectors and lead units take If-Match like every other update --------------

REFERENCE = {
    "regions": (
        lambda w: w.unit_a.region_id,
        {"name": "改名街道"},
        {"name": "另一个名字"},
        Region,
    ),
    "sectors": (lambda w: w.sector_a.id, {"name": "改名领域"}, {"name": "另一个领域"}, Sector),
    "lead-units": (
        lambda w: w.lead_unit_a.id,
        {"name": "改名牵头单位"},
        {"name": "另一个牵头单位"},
        LeadUnit,
    ),
}


@pytest.mark.parametrize("kind", sorted(REFERENCE))
def test_reference_data_updates_need_the_current_etag(office, world, kind):
    """Re-parenting a region moves every unit below it; renaming a sector or lead unit
    changes every ledger: two offices editing at once must not silently overwrite."""
    ident, first, second, model = REFERENCE[kind]
    url = f"/api/v1/{kind}/{ident(world)}"
    read = office.get(url)
    etag = read.headers["ETag"]
    assert etag == f'"{read.get_json()["version"]}"'
    assert_problem(office.patch(url, json=first), 428)
    assert_problem(office.patch(url, json=first, headers={"If-Match": '"99"'}), 412)
    updated = office.patch(url, json=first, headers={"If-Match": etag})
    assert updated.status_code == 200
    assert updated.headers["ETag"] not in (None, etag)
    assert updated.headers["ETag"] == office.get(url).headers["ETag"]
    # A second writer who read before the first wrote loses, loudly, and changes nothing.
    assert_problem(office.patch(url, json=second, headers={"If-Match": etag}), 412)
    db.session.expire_all()
    assert db.session.get(model, ident(world)).name == first["name"]


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("regions", lambda w: {"code": "445299001", "name": "新社区", "level": "community"}),
        ("sectors", lambda w: {"code": "tax", "name": "税务"}),
        ("lead-units", lambda w: {"name": "市税务局", "sector_id": w.sector_a.id}),
    ],
)
def test_a_new_reference_row_answers_its_etag(office, world, kind, body):
    data = body(world)
    if kind == "regions":
        data["parent_id"] = world.unit_a.region_id
    created = office.post(f"/api/v1/{kind}", json=data)
    assert created.status_code == 201, created.get_json()
    assert created.headers["ETag"] == '"1"'
    assert created.get_json()["version"] == 1
    url = f"/api/v1/{kind}/{created.get_json()['id']}"
    assert office.get(url).headers["ETag"] == created.headers["ETag"]


def test_the_docs_list_if_match_on_the_reference_updates(office):
    spec = office.get("/api/v1/openapi.json").get_json()
    for path in ("/regions/{region_id}", "/sectors/{sector_id}", "/lead-units/{lead_unit_id}"):
        patch = spec["paths"][f"/api/v1{path}"]["patch"]
        assert {"$ref": "#/components/parameters/IF_MATCH"} in patch["parameters"], path
        assert {"412", "428"} <= set(patch["responses"]), path
        get = spec["paths"][f"/api/v1{path}"]["get"]
        assert "ETag" in get["responses"]["200"].get("headers", {}), path
