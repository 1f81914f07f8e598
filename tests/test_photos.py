"""Photo uploads through the API: what a phone sends, what is stored, what comes back."""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from accounts.models import Role
from core.db import db
from media.models import Photo
from tests import images, media_kinds
from tests.conftest import assert_problem
from tests.media_helpers import fetch, multipart

UNIT_POSITION = (23.3, 116.17)  # where make_unit puts every unit


def upload(client, content: bytes, *, owner_id, content_type="image/jpeg", **fields):
    """POST /photos the way wx.uploadFile does: form fields and a `file` part."""
    form = {
        "client_id": str(uuid.uuid4()),
        "owner_type": media_kinds.KIND,
        "owner_id": str(owner_id),
    } | {name: str(value) for name, value in fields.items()}
    return client.post("/api/v1/photos", **multipart(form, content, content_type))


# The photo folder starts empty for each test (conftest: only where a test takes the app).
pytestmark = pytest.mark.usefixtures("empty_photo_folder")


@pytest.fixture
def inspector(world, client_for):
    return client_for(world.users[Role.inspector])


def stored_files(app) -> list[str]:
    root = app.extensions["storage"].root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def photo_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Photo))


# -- what is stored ---------------------------------------------------------------------


def test_upload_keeps_the_original_and_its_evidence(storage, world, inspector, client):
    taken = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    content = images.jpeg(
        640,
        480,
        taken_at=taken + timedelta(hours=8),  # EXIF local time, Asia/Shanghai
        # GPS (WGS-84) a few dozen metres from the unit's GCJ-02 23.3, 116.17.
        gps=(23.30299, 116.16553),
        orientation=6,  # the phone was held upright: display is 480 × 640
    )
    response = upload(
        inspector,
        content,
        owner_id=world.unit_a.id,
        item_code="A-01",
        taken_at="2026-11-20T09:31:00+00:00",
        latitude=23.30259,
        longitude=116.16543,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["content_type"] == "image/jpeg"
    assert (body["width"], body["height"]) == (480, 640)
    assert body["size"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert len(body["phash"]) == 16
    assert datetime.fromisoformat(body["exif_taken_at"]) == taken
    assert body["exif_latitude"] == pytest.approx(23.30299, abs=1e-5)
    assert body["exif_longitude"] == pytest.approx(116.16553, abs=1e-5)
    assert datetime.fromisoformat(body["client_taken_at"]) == datetime(
        2026, 11, 20, 9, 31, tzinfo=UTC
    )
    assert (body["client_latitude"], body["client_longitude"]) == (23.30259, 116.16543)
    assert body["received_at"]
    assert body["uploaded_by_id"] == world.users[Role.inspector].id
    assert (body["owner_type"], body["owner_id"], body["item_code"]) == (
        media_kinds.KIND,
        world.unit_a.id,
        "A-01",
    )
    assert body["flags"] == []
    assert body["distance_m"] < 100

    # The original is stored byte for byte; the derivatives are upright and carry no EXIF.
    status, original, _ = fetch(client, body["urls"]["original"])
    assert (status, original) == (200, content)
    status, preview, content_type = fetch(client, body["urls"]["preview"])
    assert (status, content_type) == (200, "image/jpeg")
    preview_image = Image.open(io.BytesIO(preview))
    assert preview_image.size == (480, 640)
    assert not preview_image.getexif()
    assert preview_image.getpixel((470, 10))[0] > 200, "the bright corner moved: not upright"
    _, thumb, _ = fetch(client, body["urls"]["thumb"])
    assert max(Image.open(io.BytesIO(thumb)).size) == 250


@pytest.mark.parametrize(
    ("fmt", "found", "options"),
    [
        ("PNG", "image/png", {}),
        ("WEBP", "image/webp", {"quality": 80}),
        ("HEIF", "image/heic", {"quality": 60}),
    ],
)
def test_other_formats_are_recognised_by_their_content(world, inspector, fmt, found, options):
    content = images.encode(images.picture(320, 240), fmt, **options)
    response = upload(inspector, content, owner_id=world.unit_a.id, content_type="image/jpeg")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["content_type"], body["width"], body["height"]) == (found, 320, 240)
    assert body["flags"] == ["exif_missing"]


def test_heic_rotation_is_applied_once(world, inspector, client):
    """pillow-heif applies the container's rotation; the EXIF orientation must not rotate
    the picture a second time."""
    content = images.encode(
        images.picture(320, 240), "HEIF", exif=images.exif_for(orientation=6), quality=60
    )
    body = upload(inspector, content, owner_id=world.unit_a.id).get_json()
    assert (body["content_type"], body["width"], body["height"]) == ("image/heic", 240, 320)
    preview = Image.open(io.BytesIO(fetch(client, body["urls"]["preview"])[1]))
    assert preview.size == (240, 320)
    assert preview.getpixel((230, 10))[0] > 200, "the bright corner moved: rotated twice"


def test_declared_type_is_not_trusted(world, inspector):
    """A JPEG sent as image/png is stored as what it is; the claim is kept for review."""
    response = upload(inspector, images.jpeg(), owner_id=world.unit_a.id, content_type="image/png")
    assert response.status_code == 201
    assert response.get_json()["content_type"] == "image/jpeg"
    assert db.session.scalar(select(Photo.declared_type)) == "image/png"


# -- bad input --------------------------------------------------------------------------

TRUNCATED = images.jpeg(800, 600)[:20_000]


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"<html><script>alert(1)</script></html>", "image/jpeg", 415),  # not an image
        (b"%PDF-1.7\n" + b"0" * 5000, "application/pdf", 415),
        (b"GIF89a" + b"\x00" * 100, "image/gif", 415),
        (TRUNCATED, "image/jpeg", 422),  # half a JPEG: only decoding finds out
        (b"", "image/jpeg", 415),
        (images.png_header_only(10_000, 9_000), "image/png", 413),  # bomb: over Pillow's warning
        (images.png_header_only(30_000, 30_000), "image/png", 413),  # bomb: over its error
    ],
    ids=["html", "pdf", "gif", "truncated", "empty", "bomb-warning", "bomb-error"],
)
def test_bad_files_are_refused_and_nothing_is_kept(
    app, world, inspector, content, content_type, status
):
    response = upload(inspector, content, owner_id=world.unit_a.id, content_type=content_type)
    assert_problem(response, status)
    assert photo_count() == 0
    assert stored_files(app) == []


def test_oversize_upload_is_413(app, world, inspector, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_PHOTO_BYTES", 200_000)
    content = images.jpeg(1600, 1200, quality=98)
    assert len(content) > 300_000
    assert_problem(upload(inspector, content, owner_id=world.unit_a.id), 413)
    assert photo_count() == 0


def test_a_photo_larger_than_the_json_limit_is_accepted(app, world, inspector):
    content = images.jpeg(2400, 1800, quality=97)
    assert len(content) > app.config["MAX_CONTENT_LENGTH"]
    assert upload(inspector, content, owner_id=world.unit_a.id).status_code == 201


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"owner_type": "no_such_kind"}, "owner_type"),
        ({"owner_id": "1.5"}, "owner_id"),
        ({"owner_id": "5e-324"}, "owner_id"),
        ({"client_id": "not-a-uuid"}, "client_id"),
        ({"latitude": "91"}, "latitude"),
        ({"taken_at": "2026-11-20T09:31:00"}, "taken_at"),  # no time zone
        ({"sha256": "abc"}, "sha256"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_form_fields_are_422(world, inspector, form, field):
    response = upload(inspector, images.jpeg(), **({"owner_id": world.unit_a.id} | form))
    body = assert_problem(response, 422)
    assert field in str(body["errors"])
    assert photo_count() == 0


def test_missing_file_part_is_422(world, inspector):
    form = {"client_id": str(uuid.uuid4()), "owner_type": media_kinds.KIND}
    form |= {"owner_id": str(world.unit_a.id)}
    response = inspector.post("/api/v1/photos", data=form, content_type="multipart/form-data")
    assert "file" in str(assert_problem(response, 422)["errors"])


def test_client_sha256_that_does_not_match_is_422(world, inspector):
    response = upload(inspector, images.jpeg(), owner_id=world.unit_a.id, sha256="0" * 64)
    assert "sha256" in assert_problem(response, 422)["errors"]


def test_retry_returns_the_first_photo(app, world, inspector):
    client_id = str(uuid.uuid4())
    content = images.jpeg()
    first = upload(inspector, content, owner_id=world.unit_a.id, client_id=client_id)
    files = stored_files(app)
    again = upload(inspector, content, owner_id=world.unit_a.id, client_id=client_id)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert photo_count() == 1
    assert stored_files(app) == files  # no second copy
    elsewhere = upload(inspector, content, owner_id=world.unit_b.id, client_id=client_id)
    assert_problem(elsewhere, 409)


# -- who may see and attach -------------------------------------------------------------


def test_foreign_photo_is_404(world, inspector, client_for):
    photo_id = upload(inspector, images.jpeg(), owner_id=world.unit_a.id).get_json()["id"]
    own_unit = client_for(world.users[Role.unit_staff])
    foreign_unit = client_for(world.unit_staff_b)
    assert own_unit.get(f"/api/v1/photos/{photo_id}").status_code == 200
    assert_problem(foreign_unit.get(f"/api/v1/photos/{photo_id}"), 404)
    query = f"/api/v1/photos?owner_type={media_kinds.KIND}&owner_id={world.unit_a.id}"
    assert_problem(foreign_unit.get(query), 404)
    assert own_unit.get(query).get_json()["total"] == 1


def test_unit_staff_cannot_attach_to_another_unit(world, client_for):
    staff_b = client_for(world.unit_staff_b)
    assert_problem(upload(staff_b, images.jpeg(), owner_id=world.unit_a.id), 404)
    assert photo_count() == 0


def test_lists_across_owners_are_for_the_office(world, inspector):
    upload(inspector, images.jpeg(), owner_id=world.unit_a.id)
    assert_problem(inspector.get("/api/v1/photos"), 422)


def test_signed_urls_expire_and_cannot_be_forged(app, world, inspector, client, monkeypatch):
    body = upload(inspector, images.jpeg(), owner_id=world.unit_a.id).get_json()
    url = body["urls"]["original"]
    assert_problem(client.get(url[:-3] + "abc"), 404)
    monkeypatch.setitem(app.config, "PHOTO_URL_TTL_SECONDS", -1)
    expired = inspector.get(f"/api/v1/photos/{body['id']}").get_json()["urls"]["original"]
    assert_problem(client.get(expired), 404)
