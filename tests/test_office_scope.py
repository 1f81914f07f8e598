"""District and town offices: an office account bound to a region sees that region's
subtree of units, a city-wide one sees every unit (issue: offices at every level)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from accounts.models import Role
from core import errors
from core.db import db
from org import policy
from org.models import LeadUnit, Region, RegionLevel, Unit
from tests.conftest import assert_problem


@pytest.fixture
def tree(make_region):
    """普宁市 → 流沙东街道 → 社区; 普宁市 → 占陇镇."""
    city = make_region(level=RegionLevel.city)
    liusha = make_region(level=RegionLevel.township, parent_id=city.id)
    community = make_region(level=RegionLevel.community, parent_id=liusha.id)
    zhanlong = make_region(level=RegionLevel.township, parent_id=city.id)
    return city, liusha, community, zhanlong


def test_a_subtree_holds_the_region_and_everything_below(tree):
    city, liusha, community, zhanlong = tree
    below = set(db.session.scalars(policy.region_subtree(liusha.id)))
    assert below == {liusha.id, community.id}
    assert set(db.session.scalars(policy.region_subtree(city.id))) == {
        city.id,
        liusha.id,
        community.id,
        zhanlong.id,
    }
    assert set(db.session.scalars(policy.region_subtree(zhanlong.id))) == {zhanlong.id}


@pytest.mark.parametrize("role", [Role.office_admin, Role.viewer])
def test_a_scoped_office_sees_the_units_of_its_subtree_only(tree, make_unit, make_user, role):
    _, liusha, community, zhanlong = tree
    in_street = make_unit(region_id=liusha.id)
    in_community = make_unit(region_id=community.id)
    elsewhere = make_unit(region_id=zhanlong.id)
    scoped = make_user(role, region_id=liusha.id)
    city_wide = make_user(role)

    def visible(user):
        return set(db.session.scalars(select(Unit.id).where(policy.unit_filter(user))))

    assert visible(scoped) == {in_street.id, in_community.id}
    assert visible(city_wide) >= {in_street.id, in_community.id, elsewhere.id}
    assert policy.visible_unit(in_community.id, actor=scoped) == in_community
    assert policy.can_view_unit(scoped, in_street)
    assert not policy.can_view_unit(scoped, elsewhere)
    with pytest.raises(errors.NotFound) as foreign:
        policy.visible_unit(elsewhere.id, actor=scoped)
    with pytest.raises(errors.NotFound) as missing:
        policy.visible_unit(987654, actor=scoped)
    assert foreign.value.message == missing.value.message


def test_a_region_on_someone_who_is_not_an_office_scopes_nothing(tree, make_unit, make_user):
    _, liusha, _, zhanlong = tree
    unit = make_unit(region_id=zhanlong.id)
    inspector = make_user(Role.inspector)
    inspector.region_id = liusha.id
    db.session.commit()
    assert inspector.office_region_id is None
    assert policy.can_view_unit(inspector, unit)


def test_the_unit_api_follows_the_scope(tree, make_unit, make_user, client_for):
    _, liusha, _, zhanlong = tree
    mine = make_unit(region_id=liusha.id)
    other = make_unit(region_id=zhanlong.id)
    office = client_for(make_user(Role.office_admin, region_id=liusha.id))
    listed = office.get("/api/v1/units").get_json()
    assert [u["id"] for u in listed["items"]] == [mine.id]
    assert listed["total"] == 1
    assert office.get(f"/api/v1/units/{mine.id}").status_code == 200
    foreign = office.get(f"/api/v1/units/{other.id}")
    missing = office.get("/api/v1/units/987654")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_json() == missing.get_json()


def test_one_statement_may_name_a_scope_twice(tree, make_unit, make_user):
    """Visits and units of one office in one query: the subtree is one CTE, not two."""
    _, liusha, community, _ = tree
    unit = make_unit(region_id=community.id)
    office = make_user(Role.office_admin, region_id=liusha.id)
    twice = select(Unit.id).where(policy.office_scope(office, Unit.id), policy.unit_filter(office))
    assert list(db.session.scalars(twice)) == [unit.id]


# -- acting on units, regions and reference data -------------------------------------------


def _unit_body(make_sector, region_id: int, name: str = "流沙东便民服务中心") -> dict:
    return {
        "name": name,
        "sector_id": make_sector().id,
        "region_id": region_id,
        "address": "流沙大道",
        "latitude": 23.3,
        "longitude": 116.17,
    }


def test_a_scoped_office_creates_units_in_its_subtree_only(
    tree, make_user, make_sector, client_for
):
    _, liusha, community, zhanlong = tree
    office = client_for(make_user(Role.office_admin, region_id=liusha.id))
    made = office.post("/api/v1/units", json=_unit_body(make_sector, community.id))
    assert made.status_code == 201, made.get_json()

    for region_id in (zhanlong.id, 987654):  # another region reads like a missing one
        body = _unit_body(make_sector, region_id, name="占陇镇便民服务中心")
        problem = assert_problem(office.post("/api/v1/units", json=body), 422)
        assert problem["errors"] == {"region_id": ["所属区域不存在"]}
    assert db.session.scalar(select(Unit).where(Unit.name == "占陇镇便民服务中心")) is None


def test_a_scoped_office_does_not_move_its_unit_out_of_its_subtree(
    tree, make_unit, make_user, client_for
):
    _, liusha, community, zhanlong = tree
    unit = make_unit(region_id=liusha.id)
    office = client_for(make_user(Role.office_admin, region_id=liusha.id))

    def move(region_id):
        etag = office.get(f"/api/v1/units/{unit.id}").headers["ETag"]
        url = f"/api/v1/units/{unit.id}"
        return office.patch(url, json={"region_id": region_id}, headers={"If-Match": etag})

    assert assert_problem(move(zhanlong.id), 422)["errors"] == {"region_id": ["所属区域不存在"]}
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).region_id == liusha.id
    assert move(community.id).status_code == 200


def test_a_scoped_office_imports_units_of_its_subtree_only(
    tree, make_user, make_sector, client_for
):
    _, liusha, _, zhanlong = tree
    sector = make_sector()
    office = client_for(make_user(Role.office_admin, region_id=liusha.id))
    header = "名称,地址,纬度,经度,行业领域,所属区域"

    def upload(*rows):
        text = "\n".join([header, *rows]).encode("utf-8-sig")
        data = {"file": (io.BytesIO(text), "units.csv")}
        return office.post("/api/v1/units/import", data=data, content_type="multipart/form-data")

    row = f"{{}},流沙大道,23.3,116.17,{sector.code},{{}}"
    refused = upload(row.format("镇外单位", zhanlong.code), row.format("街道单位", liusha.code))
    assert_problem(refused, 422)
    assert "不存在" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Unit).where(Unit.name == "街道单位")) is None
    assert upload(row.format("街道单位", liusha.code)).status_code == 201


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        (
            "POST",
            "/api/v1/regions",
            lambda t: {
                "code": "445281999",
                "name": "新社区",
                "level": "community",
                "parent_id": t[1].id,
            },
        ),
        (
            "PATCH",
            "/api/v1/regions/{zhanlong}",
            lambda t: {"parent_id": t[1].id, "level": "community"},
        ),
        ("PATCH", "/api/v1/regions/{liusha}", lambda t: {"name": "改名街道"}),
        ("POST", "/api/v1/sectors", lambda t: {"code": "new_sector", "name": "新领域"}),
        ("PATCH", "/api/v1/sectors/{sector}", lambda t: {"name": "改名领域"}),
        ("POST", "/api/v1/lead-units", lambda t: {"name": "新牵头单位", "sector_id": t[4].id}),
        ("PATCH", "/api/v1/lead-units/{lead}", lambda t: {"name": "改名牵头单位"}),
    ],
    ids=[
        "new-region",
        "take-over-a-region",
        "rename-own-region",
        "new-sector",
        "rename-sector",
        "new-lead-unit",
        "rename-lead-unit",
    ],
)
def test_regions_sectors_and_lead_units_are_the_city_offices(
    tree, make_user, make_sector, client_for, office, method, url, body
):
    """The region tree, sectors and lead units hold for the whole city: a town office that
    could re-parent a region under its own would take over that region's units."""
    _, liusha, _, zhanlong = tree
    sector = make_sector()
    lead = LeadUnit(name="测试牵头单位", sector_id=sector.id)
    db.session.add(lead)
    db.session.commit()
    things = (*tree, sector)
    url = url.format(zhanlong=zhanlong.id, liusha=liusha.id, sector=sector.id, lead=lead.id)
    scoped = client_for(make_user(Role.office_admin, region_id=liusha.id))
    refused = scoped.open(url, method=method, json=body(things))
    assert assert_problem(refused, 403)["type"] == "urn:problem:city-office-only"
    db.session.expire_all()
    assert db.session.get(Region, zhanlong.id).parent_id == tree[0].id
    # the city office's own change, as any update: with the ETag it read
    headers = {"If-Match": office.get(url).headers["ETag"]} if method == "PATCH" else {}
    assert office.open(url, method=method, json=body(things), headers=headers).status_code in (
        200,
        201,
    )
