"""The HTTP edge: the application factory, read top to bottom as a table of contents."""

from __future__ import annotations

import logging

from flask import Flask, request, send_from_directory
from sqlalchemy.exc import IntegrityError, OperationalError
from swagger_ui_bundle import swagger_ui_path
from werkzeug.exceptions import UnsupportedMediaType

from api import auth, config, errors, photos
from api.extensions import api, csrf, db, migrate
from api.schemas import IdConverter
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
    migrate.init_app(app, db, directory=str(config.ROOT / "migrations"))
    api.init_app(app)
    api.ERROR_SCHEMA = _problem_schema()
    csrf.init_app(app)
    errors.init_app(app)
    app.extensions["wechat"] = WeChatClient.from_config(app.config)
    photos.init_app(app)  # photo storage (folder or S3) and its health check

    # One transaction per request, opened by the first query and ended here.
    app.before_request(_authenticate)
    app.after_request(_finish_transaction)

    _register_blueprints(app)
    _register_commands(app)

    # Last: refuse to start if any route skipped the permission policy.
    auth.verify_policies(app)
    return app


def _problem_schema():
    from api.schemas import ProblemSchema

    return ProblemSchema


def _register_blueprints(app: Flask) -> None:
    from api import (
        checklists,
        health,
        inbox,
        inspections,
        org,
        plans,
        rectification,
        sessions,
        users,
        visits,
    )
    from console import checklists as checklist_pages  # noqa: F401 - adds its pages
    from console import panels, review, tasks  # noqa: F401 - the same
    from console import plans as plan_pages  # noqa: F401
    from console import views as console_views

    app.register_blueprint(health.blp)
    app.add_url_rule("/api/v1/docs/assets/<path:filename>", "docs_assets", _docs_asset)
    app.register_blueprint(console_views.bp)
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
        inbox,
    ):
        api.register_blueprint(module.blp)


def _register_commands(app: Flask) -> None:
    import media
    import rectification
    from checklists.library import checklists_cli, install_default
    from demo.cli import demo_command
    from demo.evidence import load_demo_evidence
    from inspections.demo import load_demo as load_inspections_demo
    from media.cli import media_command
    from notifications.cli import worker_command

    app.cli.add_command(demo_command)
    app.cli.add_command(media_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(checklists_cli)
    app.extensions.setdefault("demo_hooks", []).append(install_default)
    app.extensions["demo_hooks"].append(load_inspections_demo)
    rectification.init_app(app)  # its demo builds on the inspections'
    media.init_app(app)  # the worker's re-verification of originals
    app.extensions["demo_hooks"].append(load_demo_evidence)  # photos and replies: after both


@auth.public
def _docs_asset(filename: str):
    """Swagger UI's files, served from the installed package: the docs work offline."""
    return send_from_directory(swagger_ui_path, filename, max_age=86400)


BODY_TYPES = {"application/json", "multipart/form-data"}


def _authenticate() -> None:
    if not request.path.startswith("/api/"):
        return
    if request.content_length and not (
        request.mimetype in BODY_TYPES or request.mimetype.endswith("+json")
    ):
        raise UnsupportedMediaType(
            "请求体须为 JSON（application/json）或文件上传（multipart/form-data）"
        )
    auth.load_user()


def _finish_transaction(response):
    """Commit what a successful request did; roll back everything else."""
    if response.status_code >= 400:
        db.session.rollback()
        return response
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        log.info("commit refused by a constraint", exc_info=True)
        return errors.integrity_conflict()
    except OperationalError:
        db.session.rollback()
        log.exception("commit failed")
        return errors.problem(503, "数据库暂时不可用，请稍后重试", headers={"Retry-After": "5"})
    return response
