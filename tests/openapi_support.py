"""Walking the OpenAPI document, the one way the tests do it: fetch it, visit each
operation, find the Flask rule behind a documented path, resolve a response `$ref`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask
from werkzeug.routing import Rule

METHODS = frozenset({"get", "post", "put", "patch", "delete"})
_ARGUMENT = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def document(app: Flask) -> dict[str, Any]:
    """The document as a client downloads it."""
    return app.test_client().get("/api/v1/openapi.json").get_json()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation, in the document's order."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def openapi_path(rule: str) -> str:
    """A Flask rule written as the document writes paths: `<int:task_id>` → `{task_id}`."""
    return _ARGUMENT.sub(r"{\1}", rule)


def rules(app: Flask) -> dict[str, Rule]:
    """The app's rules by their documented path."""
    return {openapi_path(r.rule): r for r in app.url_map.iter_rules()}


def response(spec: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """A response object, its `$ref` to components/responses followed."""
    if "$ref" in answer:
        return spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[1]]
    return answer
