"""The demo: publication opened tasks, and the units whose staff sign in have tasks in
each situation the office meets."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.clock import DISPLAY_TZ, local
from core.db import db
from demo.evidence import _after_photo_time
from media.models import Photo
from notifications.models import Notification
from rectification.models import ExtensionRequest, RectificationTask
from tests.conftest import PASSWORD


def test_demo_tasks_cover_each_situation(runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(RectificationTask.id))) > 0
    assert db.session.scalar(select(func.count(ExtensionRequest.id))) > 0

    signed_in = client.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})
    client.token = signed_in.get_json()["token"]
    counts = client.get("/api/v1/rectification/tasks/counts").get_json()
    assert counts["overdue"] > 0
    assert counts["by_status"]["responded"] > 0

    db.session.remove()
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    escalated = select(func.count()).where(Notification.kind == "escalated")
    assert db.session.scalar(escalated.select_from(Notification)) > 0


def test_demo_after_photos_are_never_taken_before_their_task_opened(runner):
    """Whatever the hour the demo is loaded, no after-photo is dated before its task opened
    (it would be flagged as taken outside the task's time), and the photos stay in daytime
    (tests/console/test_office_day.py)."""
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    after_photos = db.session.scalars(
        select(Photo).where(Photo.owner_type == "rectification_task")
    ).all()
    assert after_photos
    assert not [p.id for p in after_photos if p.flag_outside_window or p.flag_outside_session]


@pytest.mark.parametrize("hour", [2, 9, 12, 23])
def test_an_after_photo_time_is_in_office_hours_unless_the_task_is_newer(hour):
    now = datetime(2026, 11, 30, hour, 30, tzinfo=DISPLAY_TZ)
    opened = now - timedelta(seconds=40)
    taken = _after_photo_time(opened, now, 0)
    assert opened <= taken <= now
    long_open = _after_photo_time(now - timedelta(days=5), now, 0)
    assert 9 <= local(long_open).hour < 17
    assert long_open <= now
