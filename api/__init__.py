"""The HTTP edge: the application factory, read top to bottom as a table of contents."""

from __future__ import annotations

import logging

from flask import Flask, request, send_from_directory
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from swagger_ui_bundle import swagger_ui_path

from api import auth, config, errors, media_types, photos, throttle
from api.extensions import api, csrf, db, migrate
from api.schemas import IdConverter
from core.db import ping_when_idle
from wechat.client import WeChatClient

log = logging.getLogger(__name__)


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=str(config.INSTANCE))
    app.url_map.converters["int"] = IdConverter  # before any route is added

    # Configuration: the environment, then what the caller (tests) overrides.
    app.config.from_mapping(config.from_environment())
    app.config.from_mapping(overrides or {})
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", config.engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # the console opts in, not the API
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "/docs")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "/api/v1/docs/assets/")
    config.check(app.config)
    config.INSTANCE.mkdir(exist_ok=True)
    app.json.ensure_ascii = False  # Chinese stays readable on the wire
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    # Extensions.
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            ping_when_idle(db.engine, app.config["DATABASE_PING_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"))
    api.init_app(app)
    csrf.init_app(app)
    errors.init_app(app)
    app.extensions["wechat"] = WeChatClient.from_config(app.config)
    throttle.init_app(app)  # sign-in limits and trusted proxies
    photos.init_app(app)  # photo storage (folder or S3) and its health check

    # One transaction per request, opened by the first query and ended here; the security
    # headers are added last (after_request runs in reverse), to whatever answer results.
    app.before_request(_authenticate)
    app.after_request(_security_headers)
    app.after_request(_finish_transaction)

    _register_blueprints(app)
    _init_packages(app)
    media_types.init_app(app)  # which body each API route reads (415 for any other)

    # Last: refuse to start if any route skipped the permission policy.
    auth.verify_policies(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from api import (
        checklists,
        health,
        inbox,
        inspections,
        org,
        plans,
        rectification,
        reports,
        reports_documents,
        sessions,
        users,
        visits,
    )

    app.register_blueprint(health.blp)
    app.add_url_rule("/api/v1/docs/assets/<path:filename>", "docs_assets", _docs_asset)
    for module in (
        sessions,
        users,
        org,
        checklists,
        photos,
        plans,
        visits,
        inspections,
        rectification,
        reports,
        inbox,
        reports_documents,
    ):
        api.register_blueprint(module.blp)


def _init_packages(app: Flask) -> None:
    """Each package registers on this app what others call back: CLI commands, photo
    owner kinds, publish hooks, worker jobs, demo hooks, console pages and panels.
    Nothing is registered by importing a module: a package left out here is not wired.

    The order is the order of the demo data (checklists, inspections, rectification, then
    the evidence that illustrates both) and of the console's navigation."""
    import accounts
    import checklists
    import console
    import demo
    import evidence
    import inspections
    import media
    import notifications
    import rectification
    import reports

    for package in (
        accounts,  # `flask create-admin`
        media,  # photo owner kinds, `flask media`, the sweep of unconfirmed uploads
        notifications,  # `flask worker` and its periodic jobs
        checklists,  # `flask checklists`, the default library
        inspections,  # inspections as photo owners, the publish hooks
        evidence,  # seals of submitted inspections, `flask evidence verify`
        rectification,  # tasks opened on publication, deadline scans
        reports,  # ledgers (台账) and their export jobs
        demo,  # `flask demo`, the demo evidence last
        console,  # the office's pages, navigation and dashboard panels
    ):
        package.init_app(app)


@auth.public
def _docs_asset(filename: str):
    """Swagger UI's files, served from the installed package: the docs work offline."""
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


def _authenticate() -> None:
    if not request.path.startswith("/api/"):
        return
    media_types.check_body()  # a body of a type the route does not read: 415, before any work
    auth.load_user()


def _finish_transaction(response):
    """The one place a request's transaction ends: commit what a successful request did
    (or what an error chose to keep, see `errors.keep_changes`); roll back everything else."""
    if response.status_code >= 400 and not errors.changes_kept():
        errors.rollback_quietly()
        return response
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("commit refused by a constraint", exc_info=True)
        return errors.integrity_conflict()
    except StaleDataError:
        db.session.rollback()
        log.info("commit refused by a version column", exc_info=True)
        return errors.concurrent_change()
    except Exception as exc:
        if not errors.is_database_down(exc):
            raise
        return errors.database_unavailable(exc)
    return response


# On every answer, errors and files included. The console is never framed (one click there
# approves a rectification); the CSP says only that, so Swagger UI and the console's own
# scripts and styles load as before.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
FRAME_ANCESTORS = "frame-ancestors 'none'"


def _is_static(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if "Cache-Control" not in response.headers and not _is_static(request.endpoint):
        # Answers are someone's data (a console page, a 通报 marked internal, a task):
        # kept by no cache, neither a proxy's nor the browser of a shared office PC after
        # sign-out. Routes that may be cached say so themselves (photo URLs, checklists).
        response.headers["Cache-Control"] = "no-store"
    policy = response.headers.get("Content-Security-Policy")
    if not policy:
        response.headers["Content-Security-Policy"] = FRAME_ANCESTORS
    elif "frame-ancestors" not in policy:
        response.headers["Content-Security-Policy"] = f"{policy}; {FRAME_ANCESTORS}"
    return response
