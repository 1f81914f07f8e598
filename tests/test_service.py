"""The service as an operator meets it: health, API docs offline, config, demo data."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from accounts.models import Role, User
from api import config, create_app
from api.auth import public
from api.etag import check_if_match
from api.health import register_check
from core.db import db
from org.models import Unit
from tests.conftest import PASSWORD, assert_problem


def test_healthz_reports_each_component(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["database"] == "ok"


def test_healthz_names_what_is_down(make_app):
    app = make_app()

    def broken():
        raise ConnectionError("refused")

    register_check(app, "storage", broken)
    response = app.test_client().get("/healthz")
    body = assert_problem(response, 503)
    assert body["checks"] == {"database": "ok", "storage": "down"}
    assert "storage" in body["detail"]


def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/units" in spec["paths"]
    assert spec["paths"]["/api/v1/auth/login"]["post"]["security"] == []


def test_openapi_document_says_which_updates_need_if_match(client):
    spec = client.get("/api/v1/openapi.json").get_json()

    def if_match(operation):
        for parameter in operation.get("parameters", []):
            if "$ref" in parameter:
                parameter = spec["components"]["parameters"][parameter["$ref"].split("/")[-1]]
            if parameter["name"] == "If-Match":
                return parameter
        return None

    for path, method in [
        ("/api/v1/units/{unit_id}", "patch"),
        ("/api/v1/checklist-versions/{version_id}/publish", "post"),
        ("/api/v1/findings/{finding_id}", "patch"),
    ]:
        operation = spec["paths"][path][method]
        assert if_match(operation)["required"] is True, path
        assert {"412", "428"} <= operation["responses"].keys(), path
    reply = spec["paths"]["/api/v1/rectification/tasks/{task_id}/replies"]["post"]
    assert if_match(reply)["required"] is False
    assert "412" in reply["responses"]
    assert "428" not in reply["responses"]
    assert if_match(spec["paths"]["/api/v1/units/{unit_id}"]["get"]) is None


def test_a_view_checking_if_match_must_say_so_in_the_docs(make_app):
    app = make_app()

    @public
    def update():
        check_if_match(1)
        return {}

    app.add_url_rule("/api/v1/undocumented", "undocumented", update, methods=["PATCH"])
    response = app.test_client().patch("/api/v1/undocumented", headers={"If-Match": '"1"'})
    assert response.status_code == 500


def test_docs_page_works_offline(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert "https://" not in page
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200
    assert len(asset.data) > 100_000
    asset.close()


@pytest.mark.parametrize("secret", [None, "", "short"])
def test_production_refuses_a_weak_secret(monkeypatch, secret):
    monkeypatch.setenv("APP_ENV", "production")
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_starts_with_a_real_secret(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db/x", "postgresql+psycopg://u:p@db/x"),
        ("postgresql://u@db/x", "postgresql+psycopg://u@db/x"),
        ("sqlite:///a.db", "sqlite:///a.db"),
    ],
)
def test_database_urls_are_normalised(given, used):
    assert config.normalise_database_url(given) == used


def test_demo_loads_a_city_once(runner, client):
    result = runner.invoke(args=["demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "admin" in result.output
    units = db.session.scalar(select(func.count(Unit.id)))
    assert units >= 30
    roles = set(db.session.scalars(select(User.role)))
    assert roles == set(Role)
    again = runner.invoke(args=["demo", "--if-empty"])
    assert "already" in again.output
    assert db.session.scalar(select(func.count(Unit.id))) == units
    signed_in = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    assert signed_in.status_code == 201


def test_the_entry_point_puts_the_apps_startup_out_of_the_collectors_sight(tmp_path):
    """gunicorn's workers import `wsgi`. What the app's startup made stays for the worker's
    life, and a full collection would walk all of it again: ~100 ms, a latency spike every
    hundred requests or so (bench/submit.py, list_100k_p99_ms). The entry point freezes it
    (gc.freeze)."""
    env = os.environ | {
        "APP_ENV": "testing",
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "STORAGE_URL": f"file://{tmp_path / 'photos'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 50_000  # the app's models, schemas and OpenAPI document
