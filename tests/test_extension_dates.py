"""An extension gives the unit time: the new deadline must lie after today on the city's
clock (Asia/Shanghai), not only after the old one. An overdue task moved to a date that has
already passed would be overdue the moment the extension is approved: the unit would be told
"extended" and "overdue" at once, and the office escalated to again. A refused request or
decision stores nothing and tells nobody."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from core.audit import trail
from core.db import db
from notifications.models import Notification
from rectification.models import ExtensionRequest, ExtensionStatus, RectificationTask
from tests.conftest import assert_problem
from tests.rectification_support import local_today, open_task, overdue_task, pending_extension

TASKS = "/api/v1/rectification/tasks"


def fresh(task: RectificationTask) -> RectificationTask:
    db.session.expire_all()
    return db.session.get(RectificationTask, task.id)


def messages(kind: str) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == kind))


def actions(task: RectificationTask) -> list[str]:
    return [e.action for e in trail("rectification_task", task.id)]


def assert_undecided(task: RectificationTask, extension: ExtensionRequest, *, version: int):
    """A refused decision: the request still waits, the deadline and version are as they
    were, no audit event, no message to the unit."""
    after = fresh(task)
    assert (after.due_on, after.version, after.extension_pending) == (task.due_on, version, True)
    row = db.session.get(ExtensionRequest, extension.id)
    assert (row.status, row.granted_due_on, row.decided_at) == (ExtensionStatus.pending, None, None)
    assert messages("extension_decided") == 0
    assert "approve_extension" not in actions(task)


def _ask(client, task: RectificationTask, due_on: date):
    return client.post(
        f"{TASKS}/{task.id}/extensions",
        json={
            "client_id": str(uuid.uuid4()),
            "due_on": due_on.isoformat(),
            "reason": "需要采购设备",
        },
    )


# -- the unit's request -------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-1, 0], ids=["yesterday", "today"])
def test_an_overdue_task_cannot_be_extended_to_a_day_already_due(world, client_for, offset):
    task = overdue_task(world.unit_a)
    version = task.version
    unit = client_for(world.users[Role.unit_staff])
    wanted = local_today() + timedelta(days=offset)  # after the old deadline, not after today
    body = assert_problem(_ask(unit, task, wanted), 422)
    assert body["errors"] == {"due_on": [f"应晚于今天 {local_today()}"]}
    after = fresh(task)
    assert (after.extension_pending, after.version, after.extensions) == (False, version, [])
    assert messages("extension_requested") == 0
    assert actions(task) == ["open"]


def test_an_overdue_task_may_be_extended_to_tomorrow(world, client_for):
    task = overdue_task(world.unit_a)
    unit = client_for(world.users[Role.unit_staff])
    tomorrow = local_today() + timedelta(days=1)
    response = _ask(unit, task, tomorrow)
    assert response.status_code == 201
    assert response.get_json()["requested_due_on"] == tomorrow.isoformat()
    assert fresh(task).extension_pending is True
    assert messages("extension_requested") == 1


def test_an_overdue_task_asked_before_its_old_deadline_names_today(world, client_for):
    """Both bounds fail: the later one (today) is named, so one correction is enough."""
    task = overdue_task(world.unit_a)
    unit = client_for(world.users[Role.unit_staff])
    body = assert_problem(_ask(unit, task, task.due_on - timedelta(days=1)), 422)
    assert body["errors"] == {"due_on": [f"应晚于今天 {local_today()}"]}


def test_a_task_not_yet_due_names_its_deadline_when_asked_too_early(world, client_for):
    """Before the deadline the current deadline is the later bound, and it is the one named."""
    task = open_task(world.unit_a)
    assert task.due_on > local_today()
    unit = client_for(world.users[Role.unit_staff])
    for wanted in (local_today(), task.due_on):
        body = assert_problem(_ask(unit, task, wanted), 422)
        assert body["errors"] == {"due_on": [f"应晚于当前期限 {task.due_on}"]}


# -- the office's decision ----------------------------------------------------------------


def _decide(client, task, extension, **body):
    return client.post(
        f"{TASKS}/{task.id}/extensions/{extension.id}/decision",
        json={"decision": "approve", "reason": "同意延期"} | body,
    )


@pytest.mark.parametrize("offset", [-1, 0], ids=["yesterday", "today"])
def test_the_office_cannot_grant_a_day_already_due(world, client_for, offset):
    task = overdue_task(world.unit_a)
    staff = world.users[Role.unit_staff]
    extension = pending_extension(task, staff, local_today() + timedelta(days=5))
    version = fresh(task).version
    office = client_for(world.users[Role.office_admin])
    granted = local_today() + timedelta(days=offset)
    body = assert_problem(_decide(office, task, extension, due_on=granted.isoformat()), 422)
    assert body["errors"] == {"due_on": [f"应晚于今天 {local_today()}"]}
    assert_undecided(task, extension, version=version)


@pytest.mark.parametrize("offset", [-1, 0], ids=["yesterday", "today"])
def test_a_requested_day_that_has_come_cannot_be_approved_as_asked(world, client_for, offset):
    """The unit asked in time, the office decides later: approving without a date of its
    own would set a deadline already due. The office is asked for one."""
    task = overdue_task(world.unit_a)
    asked = local_today() + timedelta(days=offset)
    extension = pending_extension(task, world.users[Role.unit_staff], asked)
    version = fresh(task).version
    office = client_for(world.users[Role.office_admin])
    body = assert_problem(_decide(office, task, extension), 422)
    assert body["errors"] == {
        "due_on": [f"申请延至的日期 {asked} 已到期，请另定期限，应晚于今天 {local_today()}"]
    }
    assert_undecided(task, extension, version=version)
    # Denying needs no date: the request can still be settled.
    denied = _decide(office, task, extension, decision="deny", reason="逾期已久，不予延期")
    assert denied.status_code == 200
    assert denied.get_json()["status"] == "denied"


@pytest.mark.parametrize("own_date", [False, True], ids=["as-asked", "office-date"])
def test_the_office_grants_tomorrow(world, client_for, own_date):
    task = overdue_task(world.unit_a)
    tomorrow = local_today() + timedelta(days=1)
    extension = pending_extension(task, world.users[Role.unit_staff], tomorrow)
    office = client_for(world.users[Role.office_admin])
    body = {"due_on": tomorrow.isoformat()} if own_date else {}
    response = _decide(office, task, extension, **body)
    assert response.status_code == 200
    assert response.get_json()["granted_due_on"] == tomorrow.isoformat()
    after = fresh(task)
    assert (after.due_on, after.overdue, after.extension_pending) == (tomorrow, False, False)
    assert messages("extension_decided") == 1
