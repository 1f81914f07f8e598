"""Sign-in limits: per client address and per account, on every sign-in route.

The suite's app runs with the limits off (every test client is 127.0.0.1); these tests
build an app with them on, small budgets, and a key prefix of their own so that parallel
runs sharing a Redis never count each other's attempts.
"""

from __future__ import annotations

import logging
import os
import uuid

import pytest
from sqlalchemy import select

from accounts import service as accounts_service
from accounts.models import Role
from core.audit import AuditEvent
from core.db import db
from tests.conftest import PASSWORD, ApiClient, IsolatedClient, assert_problem
from tests.console.conftest import ConsoleClient

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def limited(make_app):
    """`limited(**settings)`: an app on the test database with the sign-in limits on."""

    def make(**over):
        settings = {
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "SIGN_IN_LIMIT_PER_ADDRESS": "20/hour",
            "SIGN_IN_LIMIT_PER_ACCOUNT_ADDRESS": "3/hour",
            "SIGN_IN_LIMIT_PER_ACCOUNT": "6/hour",
        } | over
        other = make_app(**settings)
        other.test_client_class = ApiClient
        return other

    return make


def login(client, username, password=PASSWORD, address="10.0.0.7", **headers):
    return client.post(
        "/api/v1/auth/login",
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )


def assert_throttled(response) -> dict:
    body = assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    assert "登录尝试过于频繁" in body["detail"]
    return body


def throttle_events(user_id: int) -> list[AuditEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "user",
                AuditEvent.entity_id == user_id,
                AuditEvent.action == "sign_in_throttled",
            )
        )
    )


def test_a_stranger_cannot_lock_the_owner_out(limited, make_user):
    client = limited().test_client()
    owner = make_user()
    for _ in range(10):
        response = login(client, owner.username, "wrong password", address="203.0.113.66")
        assert response.status_code in (401, 429)
    assert_throttled(login(client, owner.username, address="203.0.113.66"))
    # The owner, at their own address, is not locked out by the stranger.
    assert login(client, owner.username, address="10.0.0.7").status_code == 201


@pytest.mark.parametrize("who", ["existing", "unknown"])
def test_failures_slow_down_known_and_unknown_accounts_alike(limited, make_user, who):
    client = limited().test_client()
    make_user(username="existing")
    for _ in range(3):
        assert_problem(login(client, who, "wrong password"), 401)
    # Now even the right password waits, and the answer does not say whether "who" exists.
    body = assert_throttled(login(client, who))
    assert body["type"] == "urn:problem:sign-in-throttled"
    assert set(body) == {"type", "title", "status", "detail"}


def test_the_answer_to_a_throttled_account_reveals_nothing(limited, make_user):
    client = limited().test_client()
    make_user(username="existing")
    answers = []
    for name in ("existing", "unknown"):
        for _ in range(3):
            login(client, name, "wrong password")
        response = login(client, name)
        answers.append((response.status_code, response.get_json(), response.headers["Retry-After"]))
    (status_a, body_a, _), (status_b, body_b, _) = answers
    assert (status_a, body_a) == (status_b, body_b)


def test_spraying_from_one_address_is_limited(limited, make_user):
    client = limited().test_client()
    victim = make_user()
    for n in range(20):
        assert_problem(login(client, f"guess{n}", "password123", address="198.51.100.9"), 401)
    # The address has spent its budget: another name, even with the right password, waits.
    assert_throttled(login(client, victim.username, address="198.51.100.9"))
    # Other addresses are not affected.
    assert login(client, victim.username, address="198.51.100.10").status_code == 201


def test_the_owner_at_a_usual_address_outlasts_a_distributed_attack(limited, make_user):
    client = limited().test_client()
    owner = make_user()
    assert login(client, owner.username, address="10.0.0.7").status_code == 201  # usual address
    for n in range(6):  # one failure from each of many addresses: the account's budget
        assert_problem(login(client, owner.username, "wrong", address=f"192.0.2.{n + 1}"), 401)
    # From an address the account never signed in from, the attack slows everyone down...
    assert_throttled(login(client, owner.username, address="192.0.2.200"))
    # ...but not the owner where they usually sign in.
    assert login(client, owner.username, address="10.0.0.7").status_code == 201


def test_a_success_forgives_earlier_mistakes_at_that_address(limited, make_user):
    client = limited().test_client()
    user = make_user()
    for _ in range(2):
        assert_problem(login(client, user.username, "wrong"), 401)
    assert login(client, user.username).status_code == 201
    for _ in range(2):
        assert_problem(login(client, user.username, "wrong"), 401)
    assert login(client, user.username).status_code == 201


def test_throttling_is_audited_once(limited, make_user):
    client = limited().test_client()
    user = make_user()
    for _ in range(3):
        login(client, user.username, "wrong", address="203.0.113.5")
    for _ in range(3):
        assert_throttled(login(client, user.username, "wrong", address="203.0.113.5"))
    (event,) = throttle_events(user.id)
    assert event.actor_id is None
    assert event.after["scope"] == "account_address"
    assert event.after["address"] == "203.0.113.5"
    assert event.after["retry_after"] > 0


def test_the_account_wide_budget_is_audited(limited, make_user):
    client = limited().test_client()
    user = make_user()
    for n in range(6):
        login(client, user.username, "wrong", address=f"192.0.2.{n + 1}")
    (event,) = throttle_events(user.id)
    assert event.after["scope"] == "account"


def test_forwarded_for_is_ignored_without_trusted_proxies(limited, make_user):
    client = limited().test_client()
    user = make_user()
    for n in range(3):
        forwarded = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert_problem(login(client, user.username, "wrong", **forwarded), 401)
    # A new X-Forwarded-For each time does not buy new attempts.
    assert_throttled(login(client, user.username, **{"X-Forwarded-For": "198.51.100.99"}))


def test_forwarded_for_from_a_trusted_proxy_names_the_client(limited, make_user):
    client = limited(TRUSTED_PROXIES=1).test_client()
    user = make_user()
    proxy = "10.9.9.9"
    spoofed_and_real = {"X-Forwarded-For": "1.1.1.1, 203.0.113.7"}
    for _ in range(3):
        login(client, user.username, "wrong", address=proxy, **spoofed_and_real)
    assert_throttled(login(client, user.username, address=proxy, **spoofed_and_real))
    # The proxy's other clients are someone else: the rightmost entry is the client.
    other = {"X-Forwarded-For": "203.0.113.7, 203.0.113.8"}
    assert login(client, user.username, address=proxy, **other).status_code == 201


def test_console_and_api_share_one_budget(limited, make_user):
    app = limited()
    api = app.test_client()
    user = make_user(Role.office_admin)
    for _ in range(3):
        assert_problem(login(api, user.username, "wrong", address="127.0.0.1"), 401)
    app.test_client_class = IsolatedClient
    console = ConsoleClient(app.test_client())
    response = console.sign_in(user.username)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    page = response.get_data(as_text=True)
    assert "登录尝试过于频繁" in page
    assert "<form" in page  # still the login page, not an error page


def test_console_failures_count_for_the_api(limited, make_user):
    app = limited()
    app.test_client_class = IsolatedClient
    console = ConsoleClient(app.test_client())
    user = make_user(Role.office_admin)
    for _ in range(3):
        assert console.sign_in(user.username, "wrong").status_code == 401
    assert console.sign_in(user.username).status_code == 429
    app.test_client_class = ApiClient
    assert_throttled(login(app.test_client(), user.username, address="127.0.0.1"))


def wechat_login(client, code, binding_code=None, address="10.0.0.7"):
    payload = {"code": code} | ({"binding_code": binding_code} if binding_code else {})
    return client.post("/api/v1/auth/wechat", json=payload, environ_base={"REMOTE_ADDR": address})


def test_wechat_sign_in_is_limited_per_address(limited, wechat):
    client = limited(SIGN_IN_LIMIT_PER_ADDRESS="3/hour").test_client()
    for n in range(3):
        assert_problem(wechat_login(client, f"bad-{n}"), 422)
    calls = len(wechat.calls)
    assert_throttled(wechat_login(client, "another"))
    assert len(wechat.calls) == calls  # refused before asking WeChat


def test_password_and_wechat_share_the_address_budget(limited, make_user, wechat):
    client = limited(SIGN_IN_LIMIT_PER_ADDRESS="3/hour").test_client()
    for n in range(3):
        assert_problem(login(client, f"guess{n}", "wrong"), 401)
    assert_throttled(wechat_login(client, "any"))


def test_binding_code_guesses_are_limited_per_wechat_account(limited, wechat, make_user):
    client = limited().test_client()
    make_user(Role.inspector)
    for n in range(3):
        wechat.codes[f"c{n}"] = "openid-guesser"
        body = assert_problem(wechat_login(client, f"c{n}", f"WRONG{n:04d}"), 422)
        assert "binding_code" in body["errors"]
    wechat.codes["c9"] = "openid-guesser"
    assert_throttled(wechat_login(client, "c9", "WRONG9999"))


def test_counters_are_shared_between_hosts_through_redis(limited, make_user):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")
    prefix = f"test-{uuid.uuid4().hex}"
    settings = {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    host_a, host_b = limited(**settings).test_client(), limited(**settings).test_client()
    user = make_user()
    for host in (host_a, host_b, host_a):
        assert_problem(login(host, user.username, "wrong"), 401)
    assert_throttled(login(host_b, user.username))
    keys = redis.Redis.from_url(REDIS_URL).keys(f"*{prefix}*")
    assert keys  # the counters live in Redis, under this test's own prefix
    # An app with another prefix (another deployment, another test) counts on its own.
    other = limited(RATELIMIT_STORAGE_URI=REDIS_URL).test_client()
    assert login(other, user.username).status_code == 201


def test_a_dead_limit_store_does_not_stop_sign_in(limited, make_user, caplog):
    client = limited(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0").test_client()
    user = make_user()
    with caplog.at_level(logging.WARNING):
        assert login(client, user.username).status_code == 201
    assert "sign-in limits unavailable" in caplog.text


# -- the same answer, and the same work, whoever asks ----------------------------------------


@pytest.fixture
def hash_checks(monkeypatch):
    checked: list[str] = []
    real = accounts_service.check_password_hash

    def counting(pwhash, password):
        checked.append(password)
        return real(pwhash, password)

    monkeypatch.setattr(accounts_service, "check_password_hash", counting)
    return checked


@pytest.mark.parametrize("case", ["wrong_password", "unknown", "disabled", "no_password"])
def test_unknown_disabled_and_wrong_look_and_cost_the_same(client, make_user, hash_checks, case):
    if case == "disabled":
        user = make_user(active=False)
        password = PASSWORD  # the right one: it must not be confirmed
    elif case == "no_password":
        user = make_user(Role.inspector, username="wechat_only", password=None)
        password = PASSWORD
    else:
        user = make_user()
        password = "wrong password" if case == "wrong_password" else PASSWORD
    username = "nobody_here" if case == "unknown" else user.username
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    body = assert_problem(response, 401)
    assert body == {
        "type": "urn:problem:bad-credentials",
        "title": "用户名或密码错误",  # the type's title (api/problems.py)
        "status": 401,
        "detail": "用户名或密码错误",
    }
    assert hash_checks == [password]  # one password hash checked, whoever it was
