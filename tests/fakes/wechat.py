"""A fake of the WeChat server APIs we call, with WeChat's real shapes and error codes.

Tests script it: `fake.codes["abc"] = "openid-1"` makes `wx.login` code "abc" valid once;
`fake.next_errors` queues errcodes; `fake.down = True` answers HTTP 502 (`fake.status`
another HTTP error), `fake.garbage = True` a body that is not JSON, `fake.delay` seconds
of silence before answering.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response


@dataclass
class FakeWeChat:
    app_id: str = "wx-test-app"
    app_secret: str = "test-secret"
    codes: dict[str, str] = field(default_factory=dict)
    next_errors: list[int] = field(default_factory=list)
    down: bool = False
    status: int = 502
    garbage: bool = False
    delay: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    refused_openids: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    generation: int = 0  # bumped by reset(): a request from an earlier test touches nothing

    def reset(self) -> None:
        with self.lock:
            self.generation += 1
            self.codes.clear()
            self.next_errors.clear()
            self.calls.clear()
            self.sent.clear()
            self.refused_openids.clear()
            self.tokens.clear()
            self.down = False
            self.status = 502
            self.garbage = False
            self.delay = 0.0

    def __call__(self, environ, start_response):
        request = Request(environ)
        generation = self.generation
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            if generation != self.generation:
                # A slow answer the client of an earlier test gave up on: it must not take
                # the errors or codes the current test has queued.
                return Response("stale", status=504)(environ, start_response)
            self.calls.append({"path": request.path, "args": dict(request.args)})
            if self.down:
                return Response("bad gateway", status=self.status)(environ, start_response)
            if self.garbage:
                return Response("<html>busy</html>", mimetype="text/html")(environ, start_response)
            body = self._answer(request)
        return Response(json.dumps(body), mimetype="application/json")(environ, start_response)

    def _error(self) -> dict | None:
        if self.next_errors:
            code = self.next_errors.pop(0)
            return {"errcode": code, "errmsg": f"fake error {code}"}
        return None

    def _answer(self, request: Request) -> dict:
        if request.path == "/sns/jscode2session":
            return self._code2session(request.args)
        if request.path == "/cgi-bin/stable_token":
            return self._stable_token(request.get_json(silent=True) or {})
        if request.path == "/cgi-bin/message/subscribe/send":
            return self._subscribe_send(request.args, request.get_json(silent=True) or {})
        return {"errcode": 404, "errmsg": "unknown path"}

    def _code2session(self, args) -> dict:
        if args.get("appid") != self.app_id or args.get("secret") != self.app_secret:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        error = self._error()
        if error:
            return error
        openid = self.codes.pop(args.get("js_code", ""), None)  # a code works once
        if openid is None:
            return {"errcode": 40029, "errmsg": "invalid code"}
        # Success omits errcode, as WeChat's sometimes does.
        return {"openid": openid, "session_key": secrets.token_hex(8)}

    def _stable_token(self, body: dict) -> dict:
        if body.get("appid") != self.app_id or body.get("secret") != self.app_secret:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        error = self._error()
        if error:
            return error
        token = secrets.token_hex(16)
        self.tokens.add(token)
        return {"access_token": token, "expires_in": 7200}

    def _subscribe_send(self, args, body: dict) -> dict:
        if args.get("access_token") not in self.tokens:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        error = self._error()
        if error:
            return error
        if body.get("touser") in self.refused_openids:
            return {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
        self.sent.append(body)
        return {"errcode": 0, "errmsg": "ok"}
