"""What the docs promise a client, as the API answers it: a deadline of 0 days, the
visit's `visible_from`, absolute photo URLs that a forged Host cannot redirect."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from accounts import service as accounts
from accounts.models import Role
from core.clock import DISPLAY_TZ, utcnow
from core.db import db
from rectification.models import RectificationTask
from tests import media_kinds
from tests.conftest import assert_problem
from tests.images import jpeg
from tests.inspection_helpers import ALL_PASS, PHOTOS, make_visit, submitted
from tests.media_helpers import multipart


def test_deadline_of_zero_days_means_by_the_end_of_the_day(app, world, make_user, client_for):
    world.inspections  # noqa: B018 - a published checklist
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)], starts_in_days=-1)
    answers = ALL_PASS | {"dress.badge": {"result": "fail", "note": "未佩戴工作牌"}}
    inspection = submitted(visit, inspector, answers, photos=PHOTOS)
    (finding,) = [f for f in inspection.findings if f.item_code == "dress.badge"]
    db.session.commit()
    office = client_for(world.users[Role.office_admin])

    url = f"/api/v1/findings/{finding.id}"
    etag = office.get(url).headers["ETag"]
    minus = office.patch(url, json={"deadline_days": -1}, headers={"If-Match": etag})
    assert_problem(minus, 422)
    review = office.patch(
        url,
        json={"status": "confirmed", "deadline_days": 0, "reason": "当场可改"},
        headers={"If-Match": etag},
    )
    assert review.status_code == 200, review.get_json()
    assert review.get_json()["deadline_days"] == 0

    published = office.post(
        f"/api/v1/inspections/{inspection.id}/publish",
        json={"missing_photos_reason": "照片另行报送，已与检查组核实"},
    )
    assert published.status_code == 200, published.get_json()
    task = db.session.scalar(
        select(RectificationTask).where(RectificationTask.finding_id == finding.id)
    )
    today = utcnow().astimezone(DISPLAY_TZ).date()
    assert (task.deadline_days, task.due_on) == (0, today)
    body = office.get(f"/api/v1/rectification/tasks/{task.id}").get_json()
    assert body["due_on"] == today.isoformat()


def test_visits_say_from_when_the_inspectors_see_them(world, make_user, client_for):
    world.inspections  # noqa: B018
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)], starts_in_days=-1)
    db.session.commit()
    body = client_for(inspector).get(f"/api/v1/visits/{visit.id}").get_json()
    assert body["visible_from"] is not None
    assert body["visible_from"] <= body["window_start"]


# -- photo URLs ----------------------------------------------------------------------------


def _photo_urls(client, headers=None) -> list[str]:
    owner = client.owner_id
    """Upload one photo and return every URL the answers hold (upload answer and a read)."""
    form = {"client_id": str(uuid.uuid4()), "owner_type": media_kinds.KIND, "owner_id": str(owner)}
    made = client.post(
        "/api/v1/photos", headers=headers or {}, **multipart(form, jpeg(seed=3), "image/jpeg")
    )
    assert made.status_code == 201, made.get_json()
    read = client.get(f"/api/v1/photos/{made.get_json()['id']}", headers=headers or {})
    direct = client.post(
        "/api/v1/photo-uploads",
        headers=headers or {},
        json={
            "client_id": str(uuid.uuid4()),
            "owner_type": media_kinds.KIND,
            "owner_id": owner,
            "content_type": "image/jpeg",
            "size": 1000,
        },
    )
    assert direct.status_code == 201, direct.get_json()
    return [
        *made.get_json()["urls"].values(),
        *read.get_json()["urls"].values(),
        direct.get_json()["upload"]["url"],
    ]


@pytest.fixture
def signed_in(make_app, world):
    """`signed_in(**settings)`: a client of an app with those settings, as the inspector."""
    raw, _ = accounts.issue_token(world.users[Role.inspector], "password")
    db.session.commit()

    def make(**settings):
        client = make_app(**settings).test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
        client.owner_id = world.unit_a.id  # the photos' owner (tests/media_kinds.py)
        return client

    return make


FORGED = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}


def test_photo_urls_are_absolute_on_the_requests_host(signed_in):
    urls = _photo_urls(signed_in(), headers=FORGED)
    assert len(urls) == 7
    assert all(u.startswith("http://localhost/api/v1/media/") for u in urls), urls


def test_forwarded_headers_count_behind_a_trusted_proxy(signed_in):
    urls = _photo_urls(signed_in(TRUSTED_PROXIES=1), headers=FORGED)
    assert all(u.startswith("https://evil.example/api/v1/media/") for u in urls), urls


def test_an_absolute_media_base_url_wins(signed_in):
    client = signed_in(MEDIA_BASE_URL="https://photos.example.gov.cn/media", TRUSTED_PROXIES=1)
    urls = _photo_urls(client, headers=FORGED)
    assert all(u.startswith("https://photos.example.gov.cn/media/") for u in urls), urls


def test_a_host_outside_trusted_hosts_is_refused(signed_in):
    client = signed_in(TRUSTED_HOSTS=["api.example.gov.cn"])
    assert_problem(client.get("/api/v1/auth/me", headers={"Host": "evil.example"}), 400)
    assert client.get("/api/v1/auth/me", headers={"Host": "api.example.gov.cn"}).status_code == 200
