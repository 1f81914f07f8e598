"""The console's extension decision refuses a deadline already due, as the API does
(tests/test_extension_dates.py): the office is told why and nothing changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.models import Role
from tests.rectification_support import local_today, overdue_task, pending_extension
from tests.test_extension_dates import assert_undecided, fresh


def _decide(console, task, extension, due_on: str):
    response = console.post(
        f"/console/tasks/{task.id}/extensions/{extension.id}",
        {"version": fresh(task).version, "decision": "approve", "due_on": due_on},
    )
    assert response.status_code == 303
    return console.get(response.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (-1, "应晚于今天"),
        (0, "应晚于今天"),
        (None, "申请延至的日期"),  # the form's date cleared: the requested day, which has come
    ],
    ids=["yesterday", "today", "as-asked"],
)
def test_the_console_refuses_a_day_already_due(office_console, world, offset, message):
    task = overdue_task(world.unit_a)
    extension = pending_extension(task, world.users[Role.unit_staff], local_today())
    version = fresh(task).version
    due_on = "" if offset is None else str(local_today() + timedelta(days=offset))
    page = _decide(office_console, task, extension, due_on)
    assert message in page
    assert "已批准延期" not in page
    assert_undecided(task, extension, version=version)


def test_the_console_grants_tomorrow(office_console, world):
    task = overdue_task(world.unit_a)
    extension = pending_extension(task, world.users[Role.unit_staff], local_today())
    tomorrow = local_today() + timedelta(days=1)
    assert "已批准延期" in _decide(office_console, task, extension, str(tomorrow))
    assert fresh(task).due_on == tomorrow
