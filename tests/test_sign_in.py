"""Sign-in: passwords with lockout, bearer tokens with expiry and revocation, WeChat."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import ApiToken, Role, User
from core.clock import utcnow
from core.db import db
from tests.conftest import PASSWORD, assert_problem

INVALID_TOKEN = 'Bearer error="invalid_token"'


def login(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def test_password_sign_in_gives_a_working_token(client, make_user):
    user = make_user(Role.inspector)
    response = login(client, user.username)
    assert response.status_code == 201
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["user"]["role"] == "inspector"
    assert body["user"]["role_label"] == "督查员"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.get_json()["id"] == user.id
    # Only a hash of the token is stored.
    assert db.session.scalar(select(ApiToken.token_hash)) != body["token"]


@pytest.mark.parametrize("username", ["nobody", "EXISTING"])
def test_wrong_credentials_look_the_same(client, make_user, username):
    make_user(username="existing")
    name = "existing" if username == "EXISTING" else username
    refused = login(client, name, "wrong password")
    body = assert_problem(refused, 401)
    assert body["detail"] == "用户名或密码错误"
    # Every 401 carries a challenge (RFC 9110 §15.5.2); no token was judged, so no error.
    assert refused.headers["WWW-Authenticate"] == "Bearer"


def test_failures_never_lock_the_account(client, make_user):
    """Throttling is per address and account (tests/test_sign_in_limits.py); no number of
    failures locks the owner out for everyone."""
    user = make_user()
    for _ in range(10):
        assert_problem(login(client, user.username, "wrong"), 401)
    assert login(client, user.username).status_code == 201


def test_sign_out_revokes_the_token(client, make_user):
    token = login(client, make_user().username).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    revoked = client.get("/api/v1/auth/me", headers=headers)
    assert_problem(revoked, 401)
    assert revoked.headers["WWW-Authenticate"] == INVALID_TOKEN


def test_disabling_a_user_kills_their_tokens(client_for, make_user, office):
    user = make_user(Role.inspector)
    theirs = client_for(user)
    assert theirs.get("/api/v1/auth/me").status_code == 200
    etag = office.get(f"/api/v1/users/{user.id}").headers["ETag"]
    response = office.patch(
        f"/api/v1/users/{user.id}", json={"active": False}, headers={"If-Match": etag}
    )
    assert response.status_code == 200, response.get_json()
    refused = theirs.get("/api/v1/auth/me")
    assert_problem(refused, 401)
    assert refused.headers["WWW-Authenticate"] == INVALID_TOKEN
    # The right password of a disabled account is not confirmed: the same 401 as a wrong one.
    body = assert_problem(login(theirs, user.username), 401)
    assert body["detail"] == "用户名或密码错误"


def test_expired_token_is_refused(client_for, make_user):
    theirs = client_for(make_user())
    token = db.session.scalar(select(ApiToken))
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expired = theirs.get("/api/v1/auth/me")
    assert_problem(expired, 401)
    assert expired.headers["WWW-Authenticate"] == INVALID_TOKEN


@pytest.mark.parametrize(
    ("header", "challenge"),
    [
        ("Bearer", "Bearer"),  # no token at all: the bare challenge (RFC 6750 §3.1)
        ("Bearer   ", "Bearer"),
        ("Basic abc", "Bearer"),  # another scheme: this one is what the API takes
        ("Bearer not-a-token", INVALID_TOKEN),
    ],
)
def test_malformed_or_unknown_tokens(client, header, challenge):
    response = client.get("/api/v1/auth/me", headers={"Authorization": header})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == challenge


def test_a_failed_sign_in_with_an_old_token_is_about_the_password(client, make_user):
    """The bad-credentials 401 judges the body, not the Authorization header a client may
    still send: the challenge names no token error."""
    refused = client.post(
        "/api/v1/auth/login",
        json={"username": make_user().username, "password": "wrong"},
        headers={"Authorization": "Bearer an-old-token"},
    )
    assert assert_problem(refused, 401)["type"] == "urn:problem:bad-credentials"
    assert refused.headers["WWW-Authenticate"] == "Bearer"


# -- WeChat ---------------------------------------------------------------------------------


def wechat_login(client, code, binding_code=None):
    payload = {"code": code} | ({"binding_code": binding_code} if binding_code else {})
    return client.post("/api/v1/auth/wechat", json=payload)


def test_first_wechat_sign_in_binds_with_a_one_time_code(client, office, make_user, wechat):
    inspector = make_user(Role.inspector)
    issued = office.post(f"/api/v1/users/{inspector.id}/binding-codes")
    assert issued.status_code == 201
    code = issued.get_json()["code"]

    wechat.codes["c1"] = "openid-1"
    body = assert_problem(wechat_login(client, "c1"), 403)
    assert body["type"] == "urn:problem:wechat-binding-required"

    wechat.codes["c2"] = "openid-1"
    response = wechat_login(client, "c2", code.lower())
    assert response.status_code == 201
    assert response.get_json()["user"]["id"] == inspector.id
    assert "session_key" not in response.get_data(as_text=True)
    db.session.refresh(inspector)
    assert inspector.wechat_openid == "openid-1"

    # Bound: later sign-ins need no code.
    wechat.codes["c3"] = "openid-1"
    assert wechat_login(client, "c3").status_code == 201
    # The binding code was single use.
    wechat.codes["c4"] = "openid-2"
    assert_problem(wechat_login(client, "c4", code), 422)


def test_expired_binding_code_is_refused(client, office, make_user, wechat, app):
    inspector = make_user(Role.inspector)
    code = office.post(f"/api/v1/users/{inspector.id}/binding-codes").get_json()["code"]
    from accounts.models import BindingCode

    row = db.session.scalar(select(BindingCode))
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    wechat.codes["c1"] = "openid-9"
    body = assert_problem(wechat_login(client, "c1", code), 422)
    assert "binding_code" in body["errors"]
    assert db.session.get(User, inspector.id).wechat_openid is None


@pytest.mark.parametrize(
    ("errcode", "status", "retry_after"),
    [
        (40029, 422, None),
        (45011, 429, "60"),
        (40226, 403, None),
        (-1, 503, "2"),
        (40163, 422, None),  # a code used twice
    ],
)
def test_wechat_errors_become_clear_problems(client, wechat, errcode, status, retry_after):
    wechat.next_errors.append(errcode)
    response = wechat_login(client, "any")
    assert_problem(response, status)
    assert response.headers.get("Retry-After") == retry_after


def test_wechat_unreachable_is_503(client, wechat):
    wechat.down = True
    response = wechat_login(client, "any")
    assert_problem(response, 503)
    assert response.headers["Retry-After"]


def test_a_wechat_code_works_once(client, wechat, make_user, office):
    inspector = make_user(Role.inspector)
    code = office.post(f"/api/v1/users/{inspector.id}/binding-codes").get_json()["code"]
    wechat.codes["once"] = "openid-3"
    assert wechat_login(client, "once", code).status_code == 201
    assert_problem(wechat_login(client, "once"), 422)
