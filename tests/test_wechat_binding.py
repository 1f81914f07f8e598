"""Binding codes: only the latest works; the office can unbind a person's WeChat."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts.models import ApiToken, Role, User
from core.audit import trail
from core.db import db
from tests.conftest import PASSWORD, assert_problem


def wechat_login(client, code, binding_code=None):
    payload = {"code": code} | ({"binding_code": binding_code} if binding_code else {})
    return client.post("/api/v1/auth/wechat", json=payload)


def openid_of(user) -> str | None:
    return db.session.scalar(select(User.wechat_openid).where(User.id == user.id))


def issue(office, user) -> str:
    response = office.post(f"/api/v1/users/{user.id}/binding-codes")
    assert response.status_code == 201
    return response.get_json()["code"]


def bind(client, wechat, office, user, openid) -> str:
    """Bind `user` to `openid`; returns the WeChat sign-in's token."""
    wechat.codes[f"bind-{openid}"] = openid
    response = wechat_login(client, f"bind-{openid}", issue(office, user))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def unbind(office, user, **headers):
    if "If-Match" not in headers:
        headers["If-Match"] = office.get(f"/api/v1/users/{user.id}").headers["ETag"]
    headers = {k: v for k, v in headers.items() if v is not None}
    return office.delete(f"/api/v1/users/{user.id}/wechat", headers=headers)


def test_a_new_code_revokes_the_earlier_ones(client, office, make_user, wechat):
    inspector = make_user(Role.inspector)
    first, second = issue(office, inspector), issue(office, inspector)
    wechat.codes["c1"] = "openid-1"
    body = assert_problem(wechat_login(client, "c1", first), 422)
    assert "binding_code" in body["errors"]
    wechat.codes["c2"] = "openid-1"
    assert wechat_login(client, "c2", second).status_code == 201
    issued = [e for e in trail("user", inspector.id) if e.action == "binding_code_issued"]
    assert [e.after for e in issued] == [{"earlier_codes_revoked": 0}, {"earlier_codes_revoked": 1}]


def test_codes_of_other_people_stay_valid(client, office, make_user, wechat):
    one, other = make_user(Role.inspector), make_user(Role.inspector)
    code = issue(office, one)
    issue(office, other)
    wechat.codes["c1"] = "openid-1"
    assert wechat_login(client, "c1", code).status_code == 201


def test_the_office_unbinds_a_wechat_account(client, client_for, office, make_user, wechat):
    inspector = make_user(Role.inspector)
    wechat_token = bind(client, wechat, office, inspector, "openid-old-phone")
    password_client = client_for(inspector)

    before = office.get(f"/api/v1/users/{inspector.id}").headers["ETag"]
    response = unbind(office, inspector)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["wechat_bound"] is False
    assert response.headers["ETag"] != before  # a new version
    assert openid_of(inspector) is None
    # Their WeChat sign-in is over at once; a password sign-in is not touched.
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {wechat_token}"})
    assert_problem(me, 401)
    assert password_client.get("/api/v1/auth/me").status_code == 200
    # The old phone is a stranger now.
    wechat.codes["again"] = "openid-old-phone"
    body = assert_problem(wechat_login(client, "again"), 403)
    assert body["type"] == "urn:problem:wechat-binding-required"
    # The audit trail says who did it.
    (event,) = [e for e in trail("user", inspector.id) if e.action == "wechat_unbound"]
    assert event.actor_id is not None
    # And a new code binds a new phone.
    bind(client, wechat, office, inspector, "openid-new-phone")
    assert openid_of(inspector) == "openid-new-phone"


def test_unbinding_needs_if_match(client, office, make_user, wechat):
    inspector = make_user(Role.inspector)
    bind(client, wechat, office, inspector, "openid-1")
    assert_problem(unbind(office, inspector, **{"If-Match": None}), 428)
    assert_problem(unbind(office, inspector, **{"If-Match": '"999"'}), 412)
    assert openid_of(inspector) == "openid-1"


def test_unbinding_an_unbound_person_is_a_conflict(office, make_user):
    assert_problem(unbind(office, make_user(Role.inspector)), 409)


def test_unbinding_an_unknown_person_is_404(office):
    assert_problem(office.delete("/api/v1/users/999/wechat", headers={"If-Match": '"1"'}), 404)


@pytest.mark.parametrize("role", [Role.viewer, Role.inspector, Role.unit_staff])
def test_only_the_office_admin_unbinds(client, client_for, world, office, wechat, role):
    inspector = world.users[Role.inspector]
    bind(client, wechat, office, inspector, "openid-1")
    other = client_for(world.users[role])
    etag = office.get(f"/api/v1/users/{inspector.id}").headers["ETag"]
    response = other.delete(f"/api/v1/users/{inspector.id}/wechat", headers={"If-Match": etag})
    assert_problem(response, 403)
    assert openid_of(inspector) == "openid-1"


def test_unbinding_leaves_the_password_alone(client, office, make_user):
    inspector = make_user(Role.inspector, wechat_openid="openid-9")
    assert unbind(office, inspector).status_code == 200
    login = {"username": inspector.username, "password": PASSWORD}
    assert client.post("/api/v1/auth/login", json=login).status_code == 201
    assert db.session.scalar(select(ApiToken).where(ApiToken.channel == "password"))
