"""The demo: publication opened tasks, and the units whose staff sign in have tasks in
each situation the office meets."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import db
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
