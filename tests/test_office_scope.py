"""District and town offices: an office account bound to a region sees that region's
subtree of units, a city-wide one sees every unit (issue: offices at every level)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.models import Role
from core import errors
from core.db import db
from org import policy
from org.models import RegionLevel, Unit


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
