"""Offices at every level, the accounts side: a city-wide office admin binds an office
account to a region or makes it city-wide again (API, audited); a scoped office reads only
its subtree's people and manages nobody; the demo city has a town office and a street
viewer (issue: offices at every level, points 5 and 6)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.models import Role, User
from core.audit import AuditEvent
from core.db import db
from org.models import Region, RegionLevel
from tests.conftest import assert_problem


@pytest.fixture
def tree(make_region):
    """普宁市 → 流沙东街道 → 社区; 普宁市 → 占陇镇."""
    city = make_region(level=RegionLevel.city)
    liusha = make_region(level=RegionLevel.township, parent_id=city.id)
    community = make_region(level=RegionLevel.community, parent_id=liusha.id)
    zhanlong = make_region(level=RegionLevel.township, parent_id=city.id)
    return city, liusha, community, zhanlong


def patch_user(client, user_id: int, body: dict):
    etag = client.get(f"/api/v1/users/{user_id}").headers.get("ETag", '"1"')
    return client.patch(f"/api/v1/users/{user_id}", json=body, headers={"If-Match": etag})


def region_events(user_id: int) -> list[AuditEvent]:
    return [
        event
        for event in db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "user", AuditEvent.entity_id == user_id)
            .order_by(AuditEvent.id)
        )
        if "region_id" in (event.after or {})
    ]


# -- setting and clearing a region ----------------------------------------------------------


@pytest.mark.parametrize("role", [Role.office_admin, Role.viewer])
def test_a_city_admin_sets_and_clears_an_office_region(office, make_user, tree, role):
    *_, zhanlong = tree
    person = make_user(role)
    response = patch_user(office, person.id, {"region_id": zhanlong.id})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["region_id"] == zhanlong.id
    db.session.expire_all()
    assert db.session.get(User, person.id).region_id == zhanlong.id

    response = patch_user(office, person.id, {"region_id": None})
    assert response.status_code == 200
    assert response.get_json()["region_id"] is None
    db.session.expire_all()
    assert db.session.get(User, person.id).region_id is None

    events = region_events(person.id)
    assert [(e.before["region_id"], e.after["region_id"]) for e in events[-2:]] == [
        (None, zhanlong.id),
        (zhanlong.id, None),
    ]
    assert all(e.actor_id is not None for e in events[-2:])


def test_a_city_admin_creates_a_scoped_office(office, tree):
    _, liusha, _, _ = tree
    response = office.post(
        "/api/v1/users",
        json={
            "username": "liusha_office",
            "display_name": "流沙东街道督查办",
            "role": "office_admin",
            "region_id": liusha.id,
        },
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["region_id"] == liusha.id
    created = db.session.scalar(select(User).where(User.username == "liusha_office"))
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.entity_id == created.id, AuditEvent.action == "create")
    )
    assert event.after["region_id"] == liusha.id


@pytest.mark.parametrize("role", [Role.inspector, Role.unit_staff, Role.lead_unit_staff])
def test_a_region_is_only_for_office_accounts(office, world, tree, role):
    _, liusha, _, _ = tree
    person = world.users[role]
    body = assert_problem(patch_user(office, person.id, {"region_id": liusha.id}), 422)
    assert "region_id" in body["errors"]
    db.session.expire_all()
    assert db.session.get(User, person.id).region_id is None

    new = {"display_name": "新人", "role": role.value, "region_id": liusha.id}
    new |= {"unit_id": world.unit_a.id} if role == Role.unit_staff else {}
    new |= {"sector_id": world.sector_a.id} if role == Role.lead_unit_staff else {}
    body = assert_problem(office.post("/api/v1/users", json=new), 422)
    assert "region_id" in body["errors"]


def test_clearing_a_region_is_fine_for_anyone(office, world):
    """null is "no region": harmless on any account, so a form may always send it."""
    person = world.users[Role.inspector]
    assert patch_user(office, person.id, {"region_id": None}).status_code == 200


@pytest.mark.parametrize("role", [Role.unit_staff, Role.lead_unit_staff, Role.inspector])
def test_renaming_a_unit_or_lead_unit_account_is_not_refused(office, world, role):
    """The region check before the change must judge the account as it will be (its unit
    or sector kept), not as if it had none."""
    person = world.users[role]
    response = patch_user(office, person.id, {"display_name": "改名的人员"})
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    assert db.session.get(User, person.id).display_name == "改名的人员"


def test_a_missing_region_is_refused(office, make_user):
    person = make_user(Role.viewer)
    body = assert_problem(patch_user(office, person.id, {"region_id": 987654}), 422)
    assert "region_id" in body["errors"]


def test_an_office_that_becomes_another_role_loses_its_region(office, make_user, tree):
    _, liusha, _, _ = tree
    person = make_user(Role.viewer, region_id=liusha.id)
    response = patch_user(office, person.id, {"role": "inspector"})
    assert response.status_code == 200
    assert response.get_json()["region_id"] is None


# -- a scoped office and the people -----------------------------------------------------------


def test_a_scoped_admin_manages_nobody(client_for, make_user, make_unit, tree, world):
    _, liusha, community, zhanlong = tree
    scoped = client_for(make_user(Role.office_admin, region_id=liusha.id))
    colleague = make_user(Role.viewer, region_id=community.id)
    staff = make_user(Role.unit_staff, unit_id=make_unit(region_id=liusha.id).id)
    outsider = make_user(Role.viewer, region_id=zhanlong.id)

    for person in (colleague, staff):
        for body in ({"region_id": None}, {"region_id": liusha.id}, {"display_name": "改名"}):
            refused = assert_problem(patch_user(scoped, person.id, body), 403)
            assert refused["type"] == "urn:problem:city-office-only"
        assert_problem(scoped.post(f"/api/v1/users/{person.id}/binding-codes"), 403)
    db.session.expire_all()
    assert db.session.get(User, colleague.id).region_id == community.id

    # Another region's person answers exactly like a missing one.
    foreign = patch_user(scoped, outsider.id, {"region_id": None})
    missing = scoped.patch("/api/v1/users/987654", json={}, headers={"If-Match": '"1"'})
    assert assert_problem(foreign, 404) == assert_problem(missing, 404)
    assert scoped.get(f"/api/v1/users/{outsider.id}").status_code == 404

    new = {"display_name": "新人", "role": "viewer", "region_id": liusha.id}
    assert_problem(scoped.post("/api/v1/users", json=new), 403)


@pytest.mark.parametrize("role", [Role.office_admin, Role.viewer])
def test_a_scoped_office_lists_its_subtrees_people_only(
    client_for, make_user, make_unit, tree, world, role
):
    _, liusha, community, zhanlong = tree
    me = make_user(role, region_id=liusha.id)
    colleague = make_user(Role.viewer, region_id=community.id)
    staff = make_user(Role.unit_staff, unit_id=make_unit(region_id=community.id).id)
    make_user(Role.office_admin, region_id=zhanlong.id)
    make_user(Role.unit_staff, unit_id=make_unit(region_id=zhanlong.id).id)
    listed = client_for(me).get("/api/v1/users?per_page=100").get_json()
    assert {u["id"] for u in listed["items"]} == {me.id, colleague.id, staff.id}
    assert listed["total"] == 3


def test_a_city_office_lists_everyone(office, make_user, tree):
    _, liusha, *_ = tree
    people = {make_user(Role.viewer, region_id=liusha.id).id, make_user(Role.inspector).id}
    listed = office.get("/api/v1/users?per_page=100").get_json()
    assert people <= {u["id"] for u in listed["items"]}
    assert listed["total"] == db.session.query(User).count()


# -- the demo city ----------------------------------------------------------------------------


def test_the_demo_has_a_town_office_and_a_street_viewer(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    expected = {
        "office_zhanlong": (Role.office_admin, "占陇镇"),
        "viewer_liushadong": (Role.viewer, "流沙东街道"),
        "admin": (Role.office_admin, None),
        "viewer": (Role.viewer, None),
        "lead_medical": (Role.lead_unit_staff, None),
    }
    for username, (role, region) in expected.items():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None, username
        assert user.role == role
        name = db.session.get(Region, user.region_id).name if user.region_id else None
        assert name == region, username
        assert username in result.output
