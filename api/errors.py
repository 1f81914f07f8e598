"""Every error leaves as `application/problem+json` (RFC 9457), built here and only here."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from http import HTTPStatus
from typing import Any

import psycopg
from flask import (
    Flask,
    Response,
    current_app,
    g,
    has_app_context,
    has_request_context,
    json,
    request,
)
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from api import problems
from core import errors as domain
from core.db import db

log = logging.getLogger(__name__)

PROBLEM_MIME = "application/problem+json"

# Domain exception → HTTP status. Subclasses inherit their parent's row.
STATUS_OF: dict[type[domain.DomainError], int] = {
    domain.MalformedInput: 400,
    domain.Unauthenticated: 401,
    domain.Forbidden: 403,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.PreconditionFailed: 412,
    domain.PayloadTooLarge: 413,
    domain.UnsupportedMedia: 415,
    domain.InvalidInput: 422,
    domain.PreconditionRequired: 428,
    domain.TooManyRequests: 429,
    domain.BadGateway: 502,
    domain.Unavailable: 503,
}

# Chinese titles for what people read; the status code says the same to machines.
TITLES = {
    400: "请求格式错误",
    401: "未登录或登录已失效",
    403: "无权访问",
    404: "未找到",
    405: "不支持该请求方法",
    409: "状态冲突",
    412: "数据已变更",
    413: "请求体过大",
    415: "不支持的内容类型",
    422: "数据校验未通过",
    428: "缺少前置条件",
    429: "请求过于频繁",
    500: "服务器内部错误",
    502: "上游服务错误",
    503: "服务暂不可用",
}

DETAILS = {
    400: "请求无法解析，请检查 JSON 格式。",
    401: "请先登录。",
    403: "当前账号无权执行此操作。",
    404: "未找到该资源。",
    405: "该地址不支持此请求方法。",
    413: "请求体超过允许的大小。",
    415: "不支持的内容类型。",
    500: "服务器出错了，请稍后重试；问题已记录。",
}


# The database cannot answer (down, unreachable, out of connections, locked): the client
# may retry. Raw driver errors are listed too, for code that talks to a connection directly.
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)
DATABASE_DOWN_MESSAGE = "数据库暂时不可用，请稍后重试"
DATABASE_RETRY_AFTER = 5


def problem(
    status: int,
    detail: str | None = None,
    *,
    type_: str | None = None,
    errors: Any = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    urn = problems.type_for(status, type_)
    known = problems.REGISTRY.get(urn)
    if has_app_context() and current_app.testing and (known is None or known.status != status):
        raise RuntimeError(f"problem type {urn!r} with status {status} is not in api/problems.py")
    body: dict[str, Any] = {
        "type": urn,
        "title": known.title if known else TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or DETAILS.get(status) or HTTPStatus(status).description,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    # Text echoed from a request may hold a lone surrogate: sent as its JSON escape.
    text = json.dumps(body, ensure_ascii=False).encode("utf-8", "backslashreplace")
    response = Response(text, status=status, mimetype=PROBLEM_MIME)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers.setdefault("WWW-Authenticate", bearer_challenge(urn))
    return response


BAD_CREDENTIALS = "urn:problem:bad-credentials"


def bearer_challenge(urn: str) -> str:
    """The challenge every 401 carries (RFC 9110 §15.5.2): the API takes bearer tokens.
    A token that was sent but is unknown, expired or revoked adds `error="invalid_token"`
    (RFC 6750 §3); a request without one gets the bare challenge (§3.1: no error code when
    the request lacked credentials). A failed password sign-in is judged on its body, not on
    a token: it gets the bare challenge too, naming the scheme to use once signed in."""
    if urn != BAD_CREDENTIALS and has_request_context():
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return 'Bearer error="invalid_token"'
    return "Bearer"


def status_of(exc: domain.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def from_http_exception(exc: HTTPException) -> Response:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    headers = dict(data.get("headers") or {})
    # Keep what werkzeug wants to tell the client, e.g. `Allow` on 405.
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            headers.setdefault(name, value)
    detail = data.get("message") or (exc.description if status == 415 else None)
    if status == 400 and errors and "json" in errors:
        detail = "请求体不是合法的 JSON。"
    if status == 422:
        detail = detail or "提交的数据未通过校验，详见 errors。"
    return problem(status, detail, errors=errors, headers=headers)


def keep_changes() -> None:
    """What the request wrote must be committed although it answers an error (a failed
    sign-in is counted). The request edge commits; nothing else does."""
    g.keep_changes = True


def changes_kept() -> bool:
    return bool(g.get("keep_changes"))


def from_domain_error(exc: domain.DomainError) -> Response:
    if exc.keep_changes:
        keep_changes()
    status = status_of(exc)
    headers = {}
    if isinstance(exc, domain.TooManyRequests | domain.Unavailable):
        headers["Retry-After"] = str(exc.retry_after)
    type_ = exc.extra.pop("type", None)
    return problem(
        status, exc.message, type_=type_, errors=exc.errors, headers=headers, **exc.extra
    )


def integrity_conflict() -> Response:
    """A unique or foreign-key constraint refused the write: someone else's row won."""
    return problem(409, "数据与已有记录冲突，请刷新后重试", type_="urn:problem:integrity-conflict")


CONCURRENT_CHANGE_MESSAGE = "记录刚被他人修改，请刷新后重试"


def concurrent_change() -> Response:
    """A version column refused the write: someone changed the row after this request
    read it (`StaleDataError`). Their change stands; this request changed nothing."""
    return problem(409, CONCURRENT_CHANGE_MESSAGE, type_="urn:problem:concurrent-change")


def is_database_down(exc: BaseException) -> bool:
    if isinstance(exc, DATABASE_DOWN):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def rollback_quietly() -> None:
    """Roll back; a connection that is already gone has nothing left to undo."""
    with contextlib.suppress(DATABASE_DOWN):
        db.session.rollback()


def note_database_down(exc: BaseException) -> None:
    """Roll back and log the failure: once per request, a warning without a traceback
    (an outage would otherwise fill the log with identical stack traces)."""
    rollback_quietly()
    cause = getattr(exc, "orig", None) or exc  # the driver's words, without SQL or parameters
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    log.warning(
        "database unavailable: %s %s: %s: %s",
        request.method,
        request.path,
        type(cause).__name__,
        reason[:300],
    )


def database_unavailable(exc: BaseException) -> Response:
    note_database_down(exc)
    return problem(
        503,
        DATABASE_DOWN_MESSAGE,
        type_="urn:problem:database-unavailable",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


def from_unexpected(exc: Exception) -> Response:
    if is_database_down(exc):
        return database_unavailable(exc)
    rollback_quietly()
    if isinstance(exc, IntegrityError):
        # A race the service's own checks could not see, or a check it lacks (logged).
        log.warning("constraint refused a write: %s", exc)
        return integrity_conflict()
    if isinstance(exc, StaleDataError):
        log.info("a version column refused a write: %s", exc)
        return concurrent_change()
    if isinstance(exc, DataError):
        # A value the database cannot hold that validation let through: the client's data,
        # but also a gap in a schema, so it is logged loudly.
        log.error("database refused a value: %s", exc)
        return problem(422, "提交的数据超出允许范围")
    log.exception("unhandled error: %s", exc)
    return problem(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(domain.DomainError, from_domain_error)
    app.register_error_handler(Exception, from_unexpected)
