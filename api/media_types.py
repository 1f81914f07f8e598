"""Which body each API operation reads, refused with 415 before any work when another
arrives: one rule for every route, from what the view already declares.

- A view with `@blp.arguments(..., location="json")` reads JSON: `application/json`, or
  `application/merge-patch+json` (RFC 7396: what our PATCH bodies already are, the fields
  given replace theirs). Other `+json` types are refused: `application/json-patch+json`
  is a list of operations we would misread as fields.
- A view with arguments in `files` or `form` reads `multipart/form-data` (wx.uploadFile).
- A view with no body arguments (publish, logout, …) ignores a body; it takes JSON (a
  client's `{}`), nothing else. A view that reads the request itself declares its types
  with `@accepts`.
- JSON is UTF-8 (RFC 8259 §8.1): a `charset` other than utf-8 is refused (415) rather than
  read as UTF-8 behind the client's back.

Requests without a body (GET, DELETE, a bodiless POST) are never checked: there is nothing
to misread. The console (`/console`, forms) is not the API's and is not checked here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Flask, request
from werkzeug.exceptions import UnsupportedMediaType

from api.auth import handler_of, route_methods

JSON = ("application/json", "application/merge-patch+json")
MULTIPART = ("multipart/form-data",)
ACCEPTS_ATTR = "_accepts"
UTF8 = {"utf-8", "utf8"}

NAMES = {JSON: "JSON（application/json）", MULTIPART: "文件上传（multipart/form-data）"}


def accepts(*types: str) -> Callable:
    """Declare the body types of a view that reads the request itself (no arguments)."""

    def mark(func: Callable) -> Callable:
        setattr(func, ACCEPTS_ATTR, tuple(types))
        return func

    return mark


def body_types(handler: Callable | None) -> tuple[str, ...]:
    """The media types `handler` reads its body as (see the module doc)."""
    marked = getattr(handler, ACCEPTS_ATTR, None)
    if marked:
        return marked
    arguments = getattr(handler, "_apidoc", {}).get("arguments", {})
    locations = {p.get("in") for p in arguments.get("parameters", []) if isinstance(p, Mapping)}
    if locations & {"files", "form"}:
        return MULTIPART
    return JSON


def init_app(app: Flask) -> None:
    """Map every API route and method to its body types, once the routes are registered."""
    app.extensions["body_types"] = {
        (endpoint, method): body_types(handler_of(app, endpoint, method))
        for rule, method, endpoint in route_methods(app)
        if rule.startswith("/api/")
    }


def _has_body() -> bool:
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def check_body() -> None:
    """415 unless the request's body, if any, is of a type its route reads (a before_request
    of the API; 404 and 405 answers have no route and are left to routing)."""
    if not _has_body() or request.endpoint is None:
        return
    accepted = _types_of(request.endpoint, request.method)
    if accepted is None:
        return
    mimetype = request.mimetype
    if mimetype not in accepted:
        wanted = NAMES.get(accepted, "、".join(accepted))
        got = f"（收到 {mimetype}）" if mimetype else "（未声明 Content-Type）"
        raise UnsupportedMediaType(f"该接口的请求体须为{wanted}{got}")
    charset = request.mimetype_params.get("charset")
    if accepted == JSON and charset is not None and charset.lower() not in UTF8:
        raise UnsupportedMediaType(
            f"JSON 请求体须为 UTF-8 编码（charset=utf-8 或不写），收到 charset={charset}"
        )


def _types_of(endpoint: str, method: str) -> tuple[str, ...] | None:
    from flask import current_app

    table = current_app.extensions.get("body_types", {})
    if method == "HEAD":
        method = "GET"
    return table.get((endpoint, method))
