"""WeChat server APIs over HTTP. The base URL is configuration, so tests use a local fake.

WeChat answers HTTP 200 with `errcode` in the body; a success may omit `errcode`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests

from core import errors

log = logging.getLogger(__name__)

BUSY = -1
INVALID_CODE = 40029
RATE_LIMITED = 45011
RISKY_USER = 40226


class WeChatError(errors.BadGateway):
    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"微信接口返回错误 {errcode}: {errmsg}", errcode=errcode)
        self.errcode = errcode


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

    @classmethod
    def from_config(cls, config) -> WeChatClient:
        return cls(
            base_url=config["WECHAT_API_BASE"],
            app_id=config["WECHAT_APP_ID"],
            app_secret=config["WECHAT_APP_SECRET"],
            timeout=config["WECHAT_TIMEOUT"],
        )

    def _get(self, path: str, params: dict) -> dict:
        try:
            response = self.http.get(self.base_url + path, params=params, timeout=self.timeout)
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("wechat %s failed: %s", path, exc)
            raise errors.Unavailable("暂时无法连接微信服务，请稍后重试") from exc
        return body

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
        if errcode == INVALID_CODE:
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
