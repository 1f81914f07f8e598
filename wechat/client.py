"""WeChat server APIs over HTTP. The base URL is configuration, so tests use a local fake.

WeChat answers HTTP 200 with `errcode` in the body; a success may omit `errcode`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from core import errors
from core.clock import utcnow
from core.db import db
from wechat.models import WeChatAccessToken

log = logging.getLogger(__name__)

BUSY = -1
INVALID_CODE = 40029
CODE_USED = 40163  # a wx.login code works once
INVALID_CODES = {INVALID_CODE, CODE_USED}
RATE_LIMITED = 45011
RISKY_USER = 40226
INVALID_TOKEN = 40001
EXPIRED_TOKEN = 42001
TOKEN_ERRORS = {INVALID_TOKEN, EXPIRED_TOKEN, 40014}  # 40014: malformed token
USER_REFUSED = 43101
# Renew a token this long before WeChat says it expires; stable_token overlaps old and new.
TOKEN_MARGIN = timedelta(minutes=5)


class WeChatError(errors.BadGateway):
    """WeChat refused a call. The client reads a Chinese sentence and the errcode; WeChat's
    own errmsg (English, sometimes with request ids) stays in our log."""

    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"微信服务拒绝了请求（错误码 {errcode}），请稍后重试", errcode=errcode)
        self.errcode = errcode
        self.errmsg = errmsg


# The query strings of WeChat calls carry the AppSecret, the user's login code and access
# tokens, and urllib3 logs request lines at DEBUG (and requests' exceptions quote the URL):
# what reaches a log is the path alone.
_QUERY = re.compile(r"\?[^\s'\"()]*")
URLLIB3_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
)


class HideQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = _QUERY.sub("?…", message), ()
        return True


def hide_query_strings_in_http_logs() -> None:
    for name in URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, HideQueryStrings) for f in logger.filters):
            logger.addFilter(HideQueryStrings())


def _describe(exc: Exception) -> str:
    """What went wrong, without the URL that requests puts in its messages."""
    response = getattr(exc, "response", None)
    if response is not None:
        return f"HTTP {response.status_code}"
    return type(exc).__name__


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    unionid: str | None
    # session_key is deliberately not kept: it never leaves WeChat and us, and we need none.


class WeChatClient:
    def __init__(self, *, base_url: str, app_id: str, app_secret: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.app_id = app_id
        self.app_secret = app_secret
        self.timeout = timeout
        self.http = requests.Session()
        hide_query_strings_in_http_logs()

    @classmethod
    def from_config(cls, config) -> WeChatClient:
        return cls(
            base_url=config["WECHAT_API_BASE"],
            app_id=config["WECHAT_APP_ID"],
            app_secret=config["WECHAT_APP_SECRET"],
            timeout=config["WECHAT_TIMEOUT"],
        )

    def _get(self, path: str, params: dict) -> dict:
        return self._call("GET", path, params=params)

    def _call(self, method: str, path: str, *, params=None, json=None) -> dict:
        try:
            response = self.http.request(
                method, self.base_url + path, params=params, json=json, timeout=self.timeout
            )
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("wechat %s failed: %s", path, _describe(exc))
            # Not chained: the cause's message holds the URL, secret and all.
            raise errors.Unavailable("暂时无法连接微信服务，请稍后重试") from None
        return body

    # -- access token: one per app, shared by every process through the database ----------

    def access_token(self, *, force_refresh: bool = False) -> str:
        """A valid access token, from the shared cache unless it is within 5 minutes of
        expiring. The cache is read and written on a connection of its own, in its own
        short transaction: other workers see a new token at once, and the caller's
        transaction is neither committed nor rolled back by it."""
        if not self.app_id or not self.app_secret:
            raise errors.Unavailable("未配置微信小程序 AppID/AppSecret", retry_after=3600)
        with db.engine.connect() as conn:
            cached = conn.execute(
                select(WeChatAccessToken.token, WeChatAccessToken.expires_at).where(
                    WeChatAccessToken.app_id == self.app_id
                )
            ).first()
        if cached and not force_refresh and cached.expires_at - TOKEN_MARGIN > utcnow():
            return cached.token
        body = self._call(
            "POST",
            "/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self.app_secret,
                "force_refresh": force_refresh,
            },
        )
        errcode = int(body.get("errcode") or 0)
        if errcode or not body.get("access_token"):
            log.warning("stable_token refused: %s %s", errcode, body.get("errmsg"))
            if errcode == BUSY:
                raise errors.Unavailable("微信服务繁忙，请稍后重试", retry_after=2)
            raise WeChatError(errcode, str(body.get("errmsg", "no access_token")))
        now = utcnow()
        values = {
            "app_id": self.app_id,
            "token": body["access_token"],
            "fetched_at": now,
            "expires_at": now + timedelta(seconds=int(body.get("expires_in") or 7200)),
        }
        # Upsert: two workers renewing at once both store (stable_token hands out the same
        # token within its validity, so either write is right).
        with db.engine.begin() as conn:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            statement = insert(WeChatAccessToken).values(**values)
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["app_id"],
                    set_={k: statement.excluded[k] for k in ("token", "fetched_at", "expires_at")},
                )
            )
        return values["token"]

    def _forget_token(self, token: str) -> None:
        """Drop a token WeChat refused, unless another process already replaced it."""
        with db.engine.begin() as conn:
            conn.execute(
                delete(WeChatAccessToken).where(
                    WeChatAccessToken.app_id == self.app_id, WeChatAccessToken.token == token
                )
            )

    # -- subscribe messages ---------------------------------------------------------------

    def send_subscribe_message(self, openid: str, payload: dict[str, Any]) -> None:
        """POST /cgi-bin/message/subscribe/send. Raises WeChatError with WeChat's errcode
        (43101: the person refused or has no subscription left) or Unavailable.

        A refused token (expired, or renewed elsewhere with force_refresh) is renewed and
        the message retried once.
        """
        body = {"touser": openid, **payload}
        for attempt in (1, 2):
            token = self.access_token(force_refresh=attempt == 2)
            answer = self._call(
                "POST", "/cgi-bin/message/subscribe/send", params={"access_token": token}, json=body
            )
            errcode = int(answer.get("errcode") or 0)
            if errcode == 0:
                return
            if errcode in TOKEN_ERRORS and attempt == 1:
                log.info("wechat refused the access token (%s); renewing it", errcode)
                self._forget_token(token)
                continue
            raise WeChatError(errcode, str(answer.get("errmsg", "")))

    def code_to_session(self, code: str) -> WeChatSession:
        """Exchange a `wx.login` code for the user's openid (code2Session)."""
        if not self.app_id or not self.app_secret:
            raise errors.Unavailable("未配置微信小程序 AppID/AppSecret", retry_after=3600)
        body = self._get(
            "/sns/jscode2session",
            {
                "appid": self.app_id,
                "secret": self.app_secret,
                "js_code": code,
                "grant_type": "authorization_code",
            },
        )
        errcode = int(body.get("errcode") or 0)
        if errcode == 0 and body.get("openid"):
            return WeChatSession(openid=body["openid"], unionid=body.get("unionid"))
        errmsg = str(body.get("errmsg", ""))
        log.info("code2Session refused: %s %s", errcode, errmsg)
        if errcode == BUSY:
            raise errors.Unavailable("微信服务繁忙，请稍后重试", retry_after=2)
        if errcode in INVALID_CODES:
            raise errors.InvalidInput(
                "登录凭证无效或已使用，请重新进入小程序",
                errors={"code": ["微信登录凭证无效"]},
                type="urn:problem:wechat-invalid-code",
            )
        if errcode == RATE_LIMITED:
            raise errors.TooManyRequests("登录过于频繁，请一分钟后再试", retry_after=60)
        if errcode == RISKY_USER:
            raise errors.Forbidden(
                "微信判定该账号存在风险，已拒绝登录", type="urn:problem:wechat-risky-user"
            )
        raise WeChatError(errcode, errmsg or "no openid")
