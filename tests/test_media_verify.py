"""`flask media verify` and the worker's rolling check find every original that no longer
matches the database: changed bytes, another size, a missing object."""

from __future__ import annotations

import io
import threading
import uuid

import pytest
from sqlalchemy import select

from accounts.models import Role
from core import errors
from core.audit import AuditEvent
from core.db import db
from media.models import Photo
from media.s3 import S3Storage
from media.verify import verify_media
from notifications.cli import run_cycle
from tests import images, media_kinds
from tests.media_helpers import multipart

# The photo folder starts empty for each test (conftest: only where a test takes the app).
pytestmark = pytest.mark.usefixtures("empty_photo_folder")


def upload_photos(client_for, world, count: int) -> list[Photo]:
    client = client_for(world.users[Role.inspector])
    for seed in range(count):
        form = {"client_id": str(uuid.uuid4()), "owner_type": media_kinds.KIND,
                "owner_id": str(world.unit_a.id)}  # fmt: skip
        response = client.post(
            "/api/v1/photos", **multipart(form, images.jpeg(seed=seed), "image/jpeg")
        )
        assert response.status_code == 201
    return list(db.session.scalars(select(Photo).order_by(Photo.id)))


def replace_behind_our_back(storage, key: str, content: bytes) -> None:
    """What an outsider with write access to the store does: bypasses the app entirely."""
    if isinstance(storage, S3Storage):
        storage.client.put_object(Bucket=storage.bucket, Key=storage._key(key), Body=content)
    else:
        storage.path_of(key).write_bytes(content)


def remove_behind_our_back(storage, key: str) -> None:
    if isinstance(storage, S3Storage):
        storage.client.delete_object(Bucket=storage.bucket, Key=storage._key(key))
    else:
        storage.path_of(key).unlink()


def failures() -> list[tuple[int, str]]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "verify_failed").order_by(AuditEvent.id)
    )
    return [(event.entity_id, event.after["problem"]) for event in events]


def test_verify_passes_when_every_original_is_intact(storage, world, client_for, runner):
    upload_photos(client_for, world, 2)
    result = runner.invoke(args=["media", "verify"])
    assert result.exit_code == 0, result.output
    assert "checked 2 original(s); 0 problem(s)" in result.output


def test_verify_reports_every_changed_or_missing_original(storage, world, client_for, runner):
    photos = upload_photos(client_for, world, 4)
    original = io.BytesIO()
    storage.get_to(photos[0].key, original)
    same_size = bytearray(original.getvalue())
    same_size[-100] ^= 0xFF  # one byte changed, the size kept
    replace_behind_our_back(storage, photos[0].key, bytes(same_size))
    replace_behind_our_back(storage, photos[1].key, images.jpeg(seed=99))
    remove_behind_our_back(storage, photos[2].key)

    result = runner.invoke(args=["media", "verify"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[-1] == "checked 4 original(s); 3 problem(s)"
    assert lines[0].startswith(f"photo {photos[0].id} {photos[0].key}: sha256")
    assert lines[1].startswith(f"photo {photos[1].id} {photos[1].key}: size")
    assert lines[2] == f"photo {photos[2].id} {photos[2].key}: missing"
    assert failures() == [(photos[0].id, "sha256"), (photos[1].id, "size"),
                          (photos[2].id, "missing")]  # fmt: skip


def test_verify_exits_2_when_the_store_cannot_be_read(app, world, client_for, runner, monkeypatch):
    upload_photos(client_for, world, 1)
    storage = app.extensions["storage"]

    def down(*args, **kwargs):
        raise errors.Unavailable()

    monkeypatch.setattr(storage, "get_to", down)
    result = runner.invoke(args=["media", "verify"])
    assert result.exit_code == 2
    assert failures() == []


def test_the_worker_checks_a_rolling_slice_and_resumes(
    app, storage, world, client_for, monkeypatch
):
    monkeypatch.setitem(app.config, "MEDIA_VERIFY_BATCH", 2)
    monkeypatch.setitem(app.config, "MEDIA_VERIFY_SECONDS", 3600)
    photos = upload_photos(client_for, world, 5)
    ids = [photo.id for photo in photos]
    remove_behind_our_back(storage, photos[3].key)
    db.session.commit()

    assert verify_media() == {"checked": 2, "mismatches": 0, "first_id": ids[0],
                                   "last_id": ids[1]}  # fmt: skip
    assert verify_media() == {"skipped": "not due"}
    monkeypatch.setitem(app.config, "MEDIA_VERIFY_SECONDS", 0)
    third = verify_media()
    assert (third["first_id"], third["last_id"], third["mismatches"]) == (ids[2], ids[3], 1)
    assert verify_media()["first_id"] == ids[4]
    assert verify_media()["first_id"] == ids[0]  # from the top again
    assert failures() == [(ids[3], "missing")]


def test_the_worker_runs_the_check_from_its_cycle(app, world, client_for, monkeypatch):
    assert verify_media in app.extensions["worker_jobs"]
    upload_photos(client_for, world, 1)
    db.session.commit()
    report = run_cycle()
    assert report["verify_media"]["checked"] == 1


def test_two_workers_never_check_the_same_slice(app, world, client_for, monkeypatch):
    monkeypatch.setitem(app.config, "MEDIA_VERIFY_BATCH", 2)
    monkeypatch.setitem(app.config, "MEDIA_VERIFY_SECONDS", 0)
    upload_photos(client_for, world, 4)
    db.session.commit()
    verify_media()  # the cursor row exists; both workers now race to move it
    start = threading.Barrier(2)
    reports: list[dict] = []

    def worker():
        with app.app_context():
            start.wait()
            reports.append(verify_media())
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    slices = [(r["first_id"], r["last_id"]) for r in reports if "first_id" in r]
    assert len(set(slices)) == len(slices), f"one slice checked twice: {reports}"
