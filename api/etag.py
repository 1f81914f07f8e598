"""ETags from version columns; If-Match on updates (428 missing, 412 stale)."""

from __future__ import annotations

from flask import Response, request

from core import errors


def etag_of(version: int | str) -> str:
    return f'"{version}"'


def check_if_match(current_version: int | str) -> None:
    """Refuse an update unless the client proves it saw the current version."""
    if not request.headers.get("If-Match"):
        raise errors.PreconditionRequired()
    if not request.if_match.contains(str(current_version)) and "*" not in request.if_match:
        raise errors.PreconditionFailed()


def with_etag(response: Response, version: int | str) -> Response:
    response.set_etag(str(version))
    return response
