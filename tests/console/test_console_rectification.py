"""The office verifies rectification in the console: the list with counts, one task with
before and after side by side, accept and send back through the one state machine."""

from __future__ import annotations

import uuid

from accounts.models import Role
from core.db import db
from rectification import service
from rectification.models import RectificationTask, TaskStatus
from tests.rectification_support import after_photos, open_task


def _responded(world) -> RectificationTask:
    task = open_task(world.unit_a)
    staff = world.users[Role.unit_staff]
    service.respond(
        task,
        {
            "client_id": uuid.uuid4(),
            "description": "已张贴",
            "photo_ids": after_photos(task, staff),
        },
        actor=staff,
    )
    db.session.commit()
    return task


def test_the_office_sees_counts_and_sends_back_then_accepts(office_console, world):
    task = _responded(world)
    open_task(world.unit_b)
    page = office_console.get("/console/rectification").get_data(as_text=True)
    assert "共 2 项" in page
    assert task.title in page
    detail = office_console.get(f"/console/rectification/{task.id}").get_data(as_text=True)
    assert "整改前后对照" in detail
    assert "复查通过，销号" in detail

    url = f"/console/rectification/{task.id}/verification"
    refused = office_console.post(url, {"decision": "reject"}, follow_redirects=True)
    assert "退回整改需要说明理由" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(RectificationTask, task.id).status == TaskStatus.responded

    office_console.post(url, {"decision": "reject", "reason": "照片模糊"})
    db.session.expire_all()
    assert db.session.get(RectificationTask, task.id).status == TaskStatus.open
    again = office_console.post(url, {"decision": "accept"}, follow_redirects=True)
    assert "不能复查通过" in again.get_data(as_text=True)  # 409: nothing to verify now


def test_a_viewer_reads_but_cannot_verify(console, world):
    task = _responded(world)
    console.sign_in(world.users[Role.viewer].username)
    detail = console.get(f"/console/rectification/{task.id}").get_data(as_text=True)
    assert "复查通过，销号" not in detail
    response = console.post(
        f"/console/rectification/{task.id}/verification", {"decision": "accept"}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(RectificationTask, task.id).status == TaskStatus.responded


def test_the_office_decides_an_extension(office_console, world):
    task = open_task(world.unit_a)
    extension = world._extension(task, world.users[Role.unit_staff])
    url = f"/console/rectification/{task.id}/extensions/{extension.id}/decision"
    office_console.get(f"/console/rectification/{task.id}")
    office_console.post(url, {"decision": "approve"})
    db.session.expire_all()
    assert db.session.get(RectificationTask, task.id).due_on == extension.requested_due_on
