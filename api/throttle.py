"""Sign-in limits, one implementation for every way in: the API's password and WeChat
sign-in and the console's login form.

Three budgets, counted with `limits` (the rate-limit core of flask-limiter, used directly:
only these routes are limited, so no hook runs on every other request) in memory or in
Redis so that several hosts share the counters; docs/sign-in.md explains the choice:

- per client address: every attempt at any sign-in route (password spraying, and the cost
  of a password hash per attempt);
- per account and address: failed attempts, in several windows (a few a minute, more an
  hour), so a typo costs nothing and guessing slows down instead of locking anyone out;
- per account: failed attempts from every address together, checked only where the
  account has not signed in lately, so a sprayer elsewhere slows strangers down but never
  the owner at their usual address.

Unknown accounts count exactly like known ones: the answers do not reveal which exist.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.middleware.proxy_fix import ProxyFix

from accounts import service as accounts
from core import errors

log = logging.getLogger(__name__)

T = TypeVar("T")

ADDRESS = "address"
ACCOUNT_ADDRESS = "account_address"
ACCOUNT = "account"
KNOWN = "known_address"


def client_address() -> str:
    """The caller's address: the socket's peer, or what TRUSTED_PROXIES proxies in front of
    us say (ProxyFix, installed by `init_app`, takes exactly that many X-Forwarded-For
    entries from the right; anything a client adds further left is ignored)."""
    return request.remote_addr or "unknown"


def init_app(app: Flask) -> None:
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    options = {}
    if app.config.get("RATELIMIT_STORAGE_URI", "").startswith(("redis", "rediss")):
        # A dead Redis must cost a sign-in a second, not hang it (redis-py waits forever).
        options = {"socket_timeout": 1, "socket_connect_timeout": 1}
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"], **options)
    app.extensions["sign_in_limits"] = SignInLimits(storage, app.config)


def _digest(value: str) -> str:
    # Account names come from the client: keep keys short and free of separators.
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Exhausted:
    scope: str
    retry_after: int


class SignInLimits:
    def __init__(self, storage: Storage, config) -> None:
        self.storage = storage
        self.strategy = FixedWindowRateLimiter(storage)
        self.enabled = bool(config["RATELIMIT_ENABLED"])
        self.prefix = config.get("RATELIMIT_KEY_PREFIX") or "sign-in"
        self.budgets = {
            ADDRESS: parse_many(config["SIGN_IN_LIMIT_PER_ADDRESS"]),
            ACCOUNT_ADDRESS: parse_many(config["SIGN_IN_LIMIT_PER_ACCOUNT_ADDRESS"]),
            ACCOUNT: parse_many(config["SIGN_IN_LIMIT_PER_ACCOUNT"]),
        }
        self.known_seconds = config["SIGN_IN_KNOWN_ADDRESS_DAYS"] * 86400

    # -- keys ---------------------------------------------------------------------------

    def _ids(self, scope: str, account: str | None) -> tuple[str, ...]:
        address = client_address()
        if scope == ADDRESS:
            return (self.prefix, "sign-in", scope, address)
        if scope == ACCOUNT:
            return (self.prefix, "sign-in", scope, _digest(account or ""))
        return (self.prefix, "sign-in", scope, _digest(account or ""), address)

    def _known_key(self, account: str) -> str:
        return "/".join((self.prefix, "sign-in", KNOWN, _digest(account), client_address()))

    def _retry_after(self, item: RateLimitItem, ids: tuple[str, ...]) -> int:
        reset = self.strategy.get_window_stats(item, *ids).reset_time
        return max(1, math.ceil(reset - time.time()))

    # -- the moments of an attempt -----------------------------------------------------

    def count_attempt(self) -> None:
        """Count an attempt against the caller's address; 429 when it has none left."""
        strategy = self.strategy
        ids = self._ids(ADDRESS, None)
        for item in self.budgets[ADDRESS]:
            if not strategy.hit(item, *ids):
                raise _throttled(self._retry_after(item, ids))

    def check_account(self, account: str) -> None:
        """429 when the account's budgets that apply here are spent."""
        scopes = [ACCOUNT_ADDRESS]
        if not self.storage.get(self._known_key(account)):
            scopes.append(ACCOUNT)
        for scope in scopes:
            ids = self._ids(scope, account)
            for item in self.budgets[scope]:
                if not self.strategy.test(item, *ids):
                    raise _throttled(self._retry_after(item, ids))

    def failed(self, account: str) -> Exhausted | None:
        """Count a failed attempt; say which budget it has just used up, if any (once per
        window: later attempts are refused before they get here)."""
        strategy = self.strategy
        spent = None
        for scope in (ACCOUNT_ADDRESS, ACCOUNT):
            ids = self._ids(scope, account)
            for item in self.budgets[scope]:
                strategy.hit(item, *ids)
                if spent is None and strategy.get_window_stats(item, *ids).remaining == 0:
                    spent = Exhausted(scope, self._retry_after(item, ids))
        return spent

    def succeeded(self, account: str) -> None:
        """The owner got in from here: forgive this address's mistakes, and remember it as
        a usual address of the account (the account-wide budget does not apply there)."""
        strategy = self.strategy
        ids = self._ids(ACCOUNT_ADDRESS, account)
        for item in self.budgets[ACCOUNT_ADDRESS]:
            strategy.clear(item, *ids)
        key = self._known_key(account)
        self.storage.clear(key)  # its lifetime runs from the latest sign-in
        self.storage.incr(key, self.known_seconds)


def _throttled(retry_after: int) -> errors.TooManyRequests:
    wait = f"{retry_after} 秒" if retry_after < 60 else f"{math.ceil(retry_after / 60)} 分钟"
    return errors.TooManyRequests(
        f"登录尝试过于频繁，请 {wait}后再试",
        retry_after=retry_after,
        type="urn:problem:sign-in-throttled",
    )


def _limits() -> SignInLimits | None:
    limits = current_app.extensions["sign_in_limits"]
    return limits if limits.enabled else None


def count_attempt() -> None:
    """Count one sign-in attempt against the caller's address (429 when spent). For
    sign-ins that learn the account only half-way: WeChat's openid comes from WeChat."""
    limits = _limits()
    if limits is not None:
        _unless_store_down(limits.count_attempt)


def guarded(
    account: str,
    attempt: Callable[[], T],
    *,
    audit: dict[str, str],
    address_counted: bool = False,
) -> T:
    """Run one sign-in attempt for `account` under the limits. A refused attempt (401, or
    422 for a bad binding code) counts as a failure; when it spends a budget, the audit
    trail of the person named by `audit` (username= or openid=) says so."""
    limits = _limits()
    if limits is None:
        return attempt()
    if not address_counted:
        _unless_store_down(limits.count_attempt)
    _unless_store_down(limits.check_account, account)
    try:
        result = attempt()
    except (errors.Unauthenticated, errors.InvalidInput) as exc:
        spent = _unless_store_down(limits.failed, account)
        if spent is not None and _audit(spent, audit):
            exc.keep_changes = True  # the attempt is refused, its audit event is kept
        raise
    _unless_store_down(limits.succeeded, account)
    return result


def _audit(spent: Exhausted, audit: dict[str, str]) -> bool:
    address = client_address()
    log.warning("sign-in throttled: %s budget spent from %s", spent.scope, address)
    return accounts.record_sign_in_throttled(
        **audit, scope=spent.scope, address=address, retry_after=spent.retry_after
    )


def _unless_store_down(action: Callable[..., T], *args) -> T | None:
    """Run a limits step; if the store is unreachable, log it and let the attempt through
    (an outage of Redis must not lock every office out)."""
    if g.get("sign_in_limits_down"):
        return None
    try:
        return action(*args)
    except errors.TooManyRequests:
        raise
    except Exception as exc:
        g.sign_in_limits_down = True  # once a request: no more waiting on a dead store
        log.warning("sign-in limits unavailable (%s); attempt allowed", type(exc).__name__)
        return None


# -- the sign-ins themselves, for the API and the console alike -----------------------------


def sign_in_with_password(username: str, password: str):
    return guarded(
        username,
        lambda: accounts.sign_in_with_password(username, password),
        audit={"username": username},
    )


def sign_in_with_wechat(code: str, binding_code: str | None):
    count_attempt()  # before WeChat is asked: a refused address costs us no call
    session = current_app.extensions["wechat"].code_to_session(code)
    return guarded(
        f"wechat:{session.openid}",
        lambda: accounts.sign_in_with_wechat(session.openid, binding_code),
        audit={"openid": session.openid},
        address_counted=True,
    )
