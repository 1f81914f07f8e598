"""In the console, a task accepted while an extension request waits no longer shows
「延期待审批」 and drops out of the pending-extension filter; its request reads 已失效 with
the reason (tests/test_extension_settled_on_close.py has the API's side)."""

from __future__ import annotations

import html

from accounts.models import Role
from rectification.models import ExtensionStatus
from tests.console.test_bulk_pages import bulk_accept
from tests.rectification_support import replied_while_extension_waits
from tests.test_extension_dates import fresh

TITLE = "消防通道堆放杂物"


def _page(console, url: str) -> str:
    return html.unescape(console.get(url).get_data(as_text=True))


def _waiting(world):
    return replied_while_extension_waits(world.unit_a, world.users[Role.unit_staff], title=TITLE)


def test_the_filter_lists_the_task_until_it_is_accepted(office_console, world):
    task, extension = _waiting(world)
    pending = "/console/tasks?view=all&extension=1"
    assert TITLE in _page(office_console, pending)
    page = _page(office_console, f"/console/tasks/{task.id}")
    assert "延期待审批" in page

    response = office_console.post(
        f"/console/tasks/{task.id}/verify", {"decision": "accept", "version": task.version}
    )
    assert "复查通过，任务已销号" in _page(office_console, response.headers["Location"])
    page = _page(office_console, f"/console/tasks/{task.id}")
    assert "延期待审批" not in page
    row = page.split(f'id="extension-{extension.id}"', 1)[1].split("</tr>", 1)[0]
    assert "已失效" in row
    assert "任务已销号，无需延期" in row
    assert "批准</button>" not in row
    assert TITLE not in _page(office_console, pending)
    assert fresh(task).extensions[0].status == ExtensionStatus.lapsed


def test_accepting_several_settles_each_request(office_console, world):
    tasks = [_waiting(world)[0], _waiting(world)[0]]
    for task in tasks:
        office_console.get(f"/console/tasks/{task.id}")  # opened: may be accepted in bulk
    response = office_console.post("/console/tasks/accept?view=responded", bulk_accept(tasks))
    assert "均已销号" in _page(office_console, response.headers["Location"])
    for task in tasks:
        after = fresh(task)
        assert after.extension_pending is False
        assert [e.status for e in after.extensions] == [ExtensionStatus.lapsed]
    assert TITLE not in _page(office_console, "/console/tasks?view=all&extension=1")
