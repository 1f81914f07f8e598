"""The region tree keeps its shape: a city at the top, every other region below one of a
higher level. A district without its city or a town under a community would fall out of the
offices' scopes and the rankings by area."""

from __future__ import annotations

import pytest

from core.db import db
from org.models import Region, RegionLevel
from tests.conftest import assert_problem, patch_as_read

API = "/api/v1/regions"


@pytest.fixture
def tree(make_region):
    """市 → 县(区) → 乡镇(街道) → 村(社区), and a second district."""
    city = make_region(level=RegionLevel.city)
    district = make_region(level=RegionLevel.district, parent_id=city.id)
    town = make_region(level=RegionLevel.township, parent_id=district.id)
    village = make_region(level=RegionLevel.community, parent_id=town.id)
    other = make_region(level=RegionLevel.district, parent_id=city.id)
    return {"city": city, "district": district, "town": town, "village": village, "other": other}


def stored(tree):
    db.session.expire_all()
    return {
        name: (r.parent_id, r.level)
        for name, r in ((name, db.session.get(Region, r.id)) for name, r in tree.items())
    }


def _new(level, parent=None, **over):
    return (
        {"code": "445281990", "name": "新区域", "level": level}
        | ({"parent_id": parent.id} if parent is not None else {})
        | over
    )


@pytest.mark.parametrize(
    ("level", "under", "field", "says"),
    [
        ("township", None, "parent_id", "乡镇(街道)级区域需要上级区域"),
        ("district", None, "parent_id", "需要上级区域"),
        ("city", "district", "parent_id", "不能挂在县(区)级区域"),
        ("district", "town", "parent_id", "不能挂在乡镇(街道)级区域"),
        ("township", "village", "parent_id", "不能挂在村(社区)级区域"),
        ("community", "village", "parent_id", "不能挂在村(社区)级区域"),
    ],
)
def test_a_new_region_must_sit_below_a_higher_level(office, tree, level, under, field, says):
    parent = tree[under] if under else None
    refused = assert_problem(office.post(API, json=_new(level, parent)), 422)
    assert says in " ".join(refused["errors"][field])
    assert db.session.query(Region).filter_by(code="445281990").first() is None


@pytest.mark.parametrize(
    ("level", "under"),
    [
        ("city", None),
        ("district", "city"),
        ("township", "city"),  # a town straight under a city without districts
        ("township", "district"),
        ("community", "town"),
        ("community", "city"),
    ],
)
def test_a_new_region_below_a_higher_level_is_taken(office, tree, level, under):
    parent = tree[under] if under else None
    made = office.post(API, json=_new(level, parent))
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["parent_id"] == (parent.id if parent else None)


@pytest.mark.parametrize(
    ("moved", "change", "field"),
    [
        ("district", {"parent_id": None}, "parent_id"),  # a district leaves its city
        ("town", {"parent_id": None}, "parent_id"),
        ("town", {"parent_id": "village"}, "parent_id"),  # under its own child: a cycle
        ("other", {"parent_id": "town"}, "parent_id"),  # a district under a town
        ("village", {"level": "city"}, "parent_id"),  # a city may not have a parent
        ("town", {"level": "community"}, "level"),  # its villages would be as high as it
        ("district", {"level": "township"}, "level"),  # its town would be as high as it
        ("district", {"level": "community"}, "level"),
        ("city", {"level": "district"}, "parent_id"),  # then it needs a parent
    ],
)
def test_an_edit_that_breaks_the_tree_is_refused_and_changes_nothing(
    office, tree, moved, change, field
):
    before = stored(tree)
    body = {k: tree[v].id if k == "parent_id" and v else v for k, v in change.items()}
    refused = patch_as_read(office, f"{API}/{tree[moved].id}", body)
    assert field in assert_problem(refused, 422)["errors"]
    assert stored(tree) == before


@pytest.mark.parametrize(
    ("moved", "change", "after"),
    [
        ("town", {"parent_id": "other"}, ("other", RegionLevel.township)),
        ("town", {"parent_id": "city"}, ("city", RegionLevel.township)),
        ("village", {"parent_id": "district"}, ("district", RegionLevel.community)),
        ("other", {"level": "township"}, ("city", RegionLevel.township)),  # no children
        ("village", {"name": "改名社区"}, ("town", RegionLevel.community)),
    ],
)
def test_an_edit_that_keeps_the_tree_is_taken(office, tree, moved, change, after):
    body = {k: tree[v].id if k == "parent_id" else v for k, v in change.items()}
    changed = patch_as_read(office, f"{API}/{tree[moved].id}", body)
    assert changed.status_code == 200, changed.get_json()
    assert stored(tree)[moved] == (tree[after[0]].id, after[1])


def test_a_region_already_out_of_shape_can_still_be_renamed(office, make_region):
    """Rows written before the rule (or by hand) are not refused for other changes."""
    orphan = make_region(level=RegionLevel.township)
    changed = patch_as_read(office, f"{API}/{orphan.id}", {"name": "旧街道"})
    assert changed.status_code == 200
    assert changed.get_json()["name"] == "旧街道"
