"""ETags from version columns; If-Match on updates (428 missing, 412 stale).

An update that needs If-Match says so with `@if_match`, which puts the header and the
412/428 answers in the API docs; `check_if_match` refuses to run in a view without it, so
the docs cannot forget an endpoint.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, request

from api.auth import handler_of
from api.operation_docs import ETAG_ATTR
from core import errors

DOC_KEY = "if_match"


def if_match(func: Callable | None = None, *, required: bool = True):
    """Mark a view method as checking If-Match: `@if_match`, or `@if_match(required=False)`
    where the header is optional (documented by api.extensions.Blueprint)."""

    def mark(func: Callable) -> Callable:
        func.__dict__.setdefault("_apidoc", {})[DOC_KEY] = "required" if required else "optional"
        return func

    return mark(func) if func is not None else mark


def sends_etag(func: Callable) -> Callable:
    """Mark a view whose 2xx answers carry the resource's ETag: documented in the answers'
    headers (api.operation_docs); tests/test_generated_requests.py holds the two equal."""
    setattr(func, ETAG_ATTR, True)
    return func


def etag_of(version: int | str) -> str:
    return f'"{version}"'


def check_if_match(current_version: int | str) -> None:
    """Refuse an update unless the client proves it saw the current version. Whether the
    header is required comes from the view's `@if_match` mark (one place, also the docs):
    required, a missing one is 428; optional, only a stale one is refused (412)."""
    marked = getattr(handler_of(current_app, request.endpoint, request.method), "_apidoc", {})
    need = marked.get(DOC_KEY)
    if need is None:
        raise RuntimeError(f"{request.method} {request.url_rule} checks If-Match: add @if_match")
    if not request.headers.get("If-Match"):
        if need == "required":
            raise errors.PreconditionRequired()
        return
    if not request.if_match.contains(str(current_version)) and "*" not in request.if_match:
        raise errors.PreconditionFailed()


def with_etag(response: Response, version: int | str) -> Response:
    response.set_etag(str(version))
    return response
