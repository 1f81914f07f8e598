"""Liveness for load balancers and operators: the database and photo storage."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import text

from api.auth import public
from core.db import db

log = logging.getLogger(__name__)
blp = Blueprint("health", __name__)


def register_check(app: Flask, name: str, check: Callable[[], None]) -> None:
    """Components (storage, …) add a check that raises when they are down."""
    app.extensions.setdefault("health_checks", {})[name] = check


def _database() -> None:
    db.session.execute(text("SELECT 1"))


@blp.get("/healthz")
@public
def healthz():
    checks = {"database": _database, **current_app.extensions.get("health_checks", {})}
    status = {}
    for name, check in checks.items():
        try:
            check()
            status[name] = "ok"
        except Exception as exc:  # a health check reports every failure, whatever its kind
            log.warning("health check %s failed: %s", name, exc)
            status[name] = "down"
    down = [name for name, state in status.items() if state != "ok"]
    if down:
        db.session.rollback()
        body = {
            "type": "urn:problem:unhealthy",
            "title": "服务暂不可用",
            "status": 503,
            "detail": "不可用的组件: " + ", ".join(down),
            "checks": status,
        }
        response = jsonify(body)
        response.status_code = 503
        response.mimetype = "application/problem+json"
        return response
    return jsonify({"status": "ok", "checks": status})
