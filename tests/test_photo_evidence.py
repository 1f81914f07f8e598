"""Evidence checks: flags on the photo that inform reviewers and never block the upload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from accounts.models import Role
from core.db import db
from core.geo import gcj02_to_wgs84
from media import service as media
from media.kinds import Attachment
from media.models import Photo
from tests import images, media_kinds
from tests.conftest import assert_problem
from tests.test_photos import upload

VISIT = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
# The unit stands at GCJ-02 23.3, 116.17 (as offices copy it from a map picker); a phone at
# the door reads WGS-84, which EXIF and the form's coordinates carry.
UNIT = gcj02_to_wgs84(23.3, 116.17)
FAR = (23.32, 116.17)  # about 2 km north


@pytest.fixture
def inspector(world, client_for):
    return client_for(world.users[Role.inspector])


@pytest.fixture
def visit_window(world):
    media_kinds.WINDOWS[world.unit_a.id] = (VISIT, VISIT + timedelta(hours=2))
    yield
    media_kinds.WINDOWS.clear()


@pytest.mark.parametrize(
    ("exif", "form", "flags"),
    [
        ({"taken_at": VISIT + timedelta(hours=9), "gps": UNIT}, {}, []),  # EXIF local time
        ({"taken_at": VISIT + timedelta(hours=8 + 5), "gps": UNIT}, {}, ["outside_window"]),
        (
            {"taken_at": VISIT + timedelta(hours=1), "offset": "+00:00", "gps": UNIT},
            {},
            [],
        ),
        (
            {},
            {"taken_at": (VISIT - timedelta(days=1)).isoformat()},
            ["outside_window", "exif_missing"],
        ),
        ({"taken_at": VISIT + timedelta(hours=9), "gps": FAR}, {}, ["far_from_unit"]),
        (
            {"taken_at": VISIT + timedelta(hours=9)},
            {"latitude": FAR[0], "longitude": FAR[1]},
            ["far_from_unit"],
        ),
        ({}, {"latitude": UNIT[0], "longitude": UNIT[1]}, ["exif_missing"]),
    ],
    ids=[
        "inside",
        "exif-late",
        "exif-offset",
        "client-early",
        "exif-far",
        "client-far",
        "no-exif",
    ],
)
def test_time_place_and_exif_flags(world, inspector, visit_window, exif, form, flags):
    content = images.jpeg(**exif)
    response = upload(inspector, content, owner_id=world.unit_a.id, **form)
    assert response.status_code == 201, response.get_json()  # flags never block
    body = response.get_json()
    assert body["flags"] == flags
    if "far_from_unit" in flags:
        assert 2000 < body["distance_m"] < 2400


def test_near_duplicates_across_owners_are_flagged(world, inspector):
    picture = images.picture(800, 600, seed=7)
    first = upload(inspector, images.encode(picture, quality=92), owner_id=world.unit_a.id)
    same_owner = upload(inspector, images.encode(picture, quality=60), owner_id=world.unit_a.id)
    assert same_owner.get_json()["flags"] == ["exif_missing"]  # one visit may repeat a shot

    # Re-encoded smaller and at low quality, sent as evidence for another unit.
    reused = images.encode(picture.resize((400, 300)), quality=40)
    second = upload(inspector, reused, owner_id=world.unit_b.id).get_json()
    assert "near_duplicate" in second["flags"]
    assert second["near_duplicate_of_id"] == first.get_json()["id"]

    other = upload(inspector, images.jpeg(800, 600, seed=8), owner_id=world.unit_b.id)
    assert "near_duplicate" not in other.get_json()["flags"]


def test_reassess_after_the_window_moves(world, inspector):
    content = images.jpeg(taken_at=VISIT + timedelta(hours=9), gps=UNIT)
    photo_id = upload(inspector, content, owner_id=world.unit_a.id).get_json()["id"]
    later = (VISIT + timedelta(days=1), VISIT + timedelta(days=1, hours=2))
    attachment = Attachment(unit_id=world.unit_a.id, group="moved", window=later)
    media.reassess(media_kinds.KIND, world.unit_a.id, attachment)
    db.session.commit()
    assert media.flags_of(db.session.get(Photo, photo_id)) == ["outside_window"]


def test_flags_are_queryable(world, inspector, office):
    picture = images.picture(seed=3)
    upload(inspector, images.encode(picture), owner_id=world.unit_a.id)
    upload(inspector, images.encode(picture, quality=50), owner_id=world.unit_b.id)
    page = office.get("/api/v1/photos?flag=near_duplicate").get_json()
    assert [p["owner_id"] for p in page["items"]] == [world.unit_b.id]
    both = office.get("/api/v1/photos?flag=near_duplicate&flag=exif_missing").get_json()
    assert both["total"] == 1
    assert office.get("/api/v1/photos?flag=exif_missing").get_json()["total"] == 2
    assert_problem(office.get("/api/v1/photos?flag=pretty"), 422)


def test_listing_photos_takes_the_same_queries_for_any_page_size(world, inspector, office):
    url = f"/api/v1/photos?owner_type={media_kinds.KIND}&owner_id={world.unit_a.id}"

    def queries() -> int:
        count = 0

        def seen(*_):
            nonlocal count
            count += 1

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            assert office.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        return count

    for seed in range(2):
        upload(inspector, images.jpeg(seed=seed), owner_id=world.unit_a.id)
    few = queries()
    for seed in range(2, 6):
        upload(inspector, images.jpeg(seed=seed), owner_id=world.unit_a.id)
    assert queries() == few
