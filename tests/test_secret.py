"""No constant secret signs anything: without SECRET_KEY an installation makes its own."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from api import config, create_app
from media.storage import LocalStorage


@pytest.fixture
def instance(monkeypatch, tmp_path) -> Path:
    """A development start with no SECRET_KEY in the environment, in a scratch instance/."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.setattr(config, "INSTANCE", tmp_path / "instance")
    return tmp_path / "instance"


def _app(tmp: Path):
    return create_app(
        {"SQLALCHEMY_DATABASE_URI": "sqlite://", "STORAGE_URL": f"file://{tmp}/photos"}
    )


def test_without_a_secret_the_instance_makes_its_own_and_keeps_it(instance):
    first = _app(instance.parent)
    secret = first.config["SECRET_KEY"]
    path = instance / config.SECRET_FILE
    assert path.read_text().strip() == secret
    assert len(secret) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A restart (or another worker) signs with the same secret.
    assert _app(instance.parent).config["SECRET_KEY"] == secret


def test_two_installations_never_share_a_secret(instance, tmp_path, monkeypatch):
    one = _app(instance.parent).config["SECRET_KEY"]
    monkeypatch.setattr(config, "INSTANCE", tmp_path / "other")
    other = _app(tmp_path).config["SECRET_KEY"]
    assert one != other


def test_a_token_signed_by_another_installation_is_refused(instance, tmp_path, monkeypatch):
    """The forged-upload attack: a token made with a secret from elsewhere (e.g. one that
    used to be in the source) does not open this installation's upload route."""
    app = _app(instance.parent)
    outsider = LocalStorage(
        tmp_path / "x", secret="dev-only-secret-not-for-production", base_url="/api/v1/media"
    )
    post = outsider.presigned_post(
        "photos/2026/01/abc", content_type="image/jpeg", max_bytes=1000, expires_in=60
    )
    response = app.test_client().post(post.url, data={"file": (b"x", "x.jpg")})
    assert response.status_code == 404


def test_workers_starting_together_agree_on_one_secret(tmp_path):
    folder = tmp_path / "instance"
    start = threading.Barrier(8)
    found: list[str] = []

    def worker():
        start.wait()
        found.append(config.instance_secret(folder))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(found) == 8
    assert len(set(found)) == 1
    assert [p.name for p in folder.iterdir()] == [config.SECRET_FILE]  # no temporary left


def test_an_empty_secret_file_is_refused_not_used(instance):
    instance.mkdir()
    (instance / config.SECRET_FILE).write_text("")
    with pytest.raises(config.ConfigError, match="secret"):
        _app(instance.parent)


def test_production_never_makes_its_own(instance, monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        _app(instance.parent)
    assert not (instance / config.SECRET_FILE).exists()
