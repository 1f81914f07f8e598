"""A task that closes settles the extension request still waiting for a decision.

The unit may ask for more time and then reply before the office decides; once the office
accepts the reply (销号) there is nothing left to extend, and no way to decide the request
(a closed task allows no decision). It used to stay `pending` for ever: the task showed
「延期待审批」 and `extension_pending` on a closed task. Now it is marked `lapsed` (已失效)
with the reason, by the person whose acceptance closed the task, in the task's history,
and the unit's 销号 message says so."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts.models import Role
from core.db import db
from inspections.models import VisitKind
from notifications.models import Notification
from rectification import service
from rectification.models import ExtensionRequest, ExtensionStatus
from tests.conftest import assert_problem
from tests.rectification_support import (
    after_photos,
    open_task,
    pending_extension,
    replied_while_extension_waits,
)
from tests.test_covert_inspectors import Case
from tests.test_extension_dates import actions, fresh

TASKS = "/api/v1/rectification/tasks"
LAPSED = "任务已销号，无需延期"


def _messages() -> list[tuple[str, int, str]]:
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.kind.not_in(["tasks_opened", "extension_requested", "responded"]))
        .order_by(Notification.id)
    )
    return [(n.kind, n.recipient_id, n.body) for n in rows]


def _trail(client, task) -> list[dict]:
    return client.get(f"{TASKS}/{task.id}/audit").get_json()


def test_accepting_the_reply_settles_the_pending_extension(world, client_for):
    staff, office_admin = world.users[Role.unit_staff], world.users[Role.office_admin]
    task, extension = replied_while_extension_waits(world.unit_a, staff)
    due_on, version = task.due_on, fresh(task).version
    office = client_for(office_admin)
    response = office.post(f"{TASKS}/{task.id}/verification", json={"decision": "accept"})
    assert response.status_code == 200
    assert response.headers["ETag"] == f'"{version + 1}"'  # one change, one version
    body = response.get_json()
    assert (body["status"], body["extension_pending"], body["due_on"]) == (
        "closed",
        False,
        due_on.isoformat(),
    )
    assert body["allowed_actions"] == []
    (settled,) = body["extensions"]
    assert settled["status"] == "lapsed"
    assert settled["decision_reason"] == LAPSED
    assert settled["decided_by_id"] == office_admin.id
    assert settled["decided_at"] is not None
    assert settled["granted_due_on"] is None

    # The unit's one message (a one-time WeChat subscription allows one) says so.
    ((kind, recipient, text),) = _messages()
    assert (kind, recipient) == ("accepted", staff.id)
    assert "复查通过，已销号" in text
    assert "延期申请随之失效" in text

    # The history: one event for the acceptance (one per transition), which clears the mark.
    *_, accepted = _trail(office, task)
    assert (accepted["action"], accepted["actor_id"]) == ("accept", office_admin.id)
    assert (accepted["before"]["extension_pending"], accepted["after"]) == (
        True,
        {"status": "closed", "round": 1, "due_on": due_on.isoformat(), "extension_pending": False},
    )

    # Nothing is left to decide, and the unit sees the same.
    url = f"{TASKS}/{task.id}/extensions/{extension.id}/decision"
    decided = office.post(url, json={"decision": "approve", "reason": "同意"})
    assert assert_problem(decided, 409)["type"] == "urn:problem:illegal-transition"
    seen = client_for(staff).get(f"{TASKS}/{task.id}").get_json()
    assert (seen["extension_pending"], seen["extensions"][0]["status"]) == (False, "lapsed")
    assert fresh(task).due_on == due_on


def test_a_listing_of_pending_extensions_no_longer_holds_the_closed_task(world, client_for):
    task, _ = replied_while_extension_waits(world.unit_a, world.users[Role.unit_staff])
    office = client_for(world.users[Role.office_admin])
    office.post(f"{TASKS}/{task.id}/verification", json={"decision": "accept"})
    pending = db.session.scalars(
        select(ExtensionRequest).where(ExtensionRequest.status == ExtensionStatus.pending)
    ).all()
    assert pending == []


def test_an_acceptance_with_no_request_waiting_changes_no_request(world, client_for):
    """A request already decided stays as decided; the 销号 message is the usual one."""
    staff = world.users[Role.unit_staff]
    task, extension = replied_while_extension_waits(world.unit_a, staff)
    service.decide_extension(
        task,
        extension,
        approve=False,
        reason="期限足够",
        due_on=None,
        actor=world.users[Role.office_admin],
    )
    db.session.commit()
    office = client_for(world.users[Role.office_admin])
    body = office.post(f"{TASKS}/{task.id}/verification", json={"decision": "accept"}).get_json()
    assert body["extensions"][0]["status"] == "denied"
    assert body["extensions"][0]["decision_reason"] == "期限足够"
    (accepted,) = [m for m in _messages() if m[0] == "accepted"]
    assert "延期" not in accepted[2]


def test_a_task_without_requests_closes_as_before(world, client_for):
    staff = world.users[Role.unit_staff]
    task = open_task(world.unit_a)
    reply = {
        "client_id": uuid.uuid4(),
        "description": "已整改",
        "photo_ids": after_photos(task, staff),
    }
    service.respond(task, reply, actor=staff)
    db.session.commit()
    office = client_for(world.users[Role.office_admin])
    body = office.post(f"{TASKS}/{task.id}/verification", json={"decision": "accept"}).get_json()
    assert (body["status"], body["extension_pending"], body["extensions"]) == ("closed", False, [])
    assert actions(task)[-1] == "accept"


def test_a_rejection_leaves_the_request_to_the_office(world, client_for):
    """Rejected, the task is open again and still needs a deadline: the request waits."""
    staff = world.users[Role.unit_staff]
    task, extension = replied_while_extension_waits(world.unit_a, staff)
    office = client_for(world.users[Role.office_admin])
    body = office.post(
        f"{TASKS}/{task.id}/verification", json={"decision": "reject", "reason": "照片不清晰"}
    ).get_json()
    assert (body["status"], body["extension_pending"]) == ("open", True)
    assert body["extensions"][0]["status"] == "pending"
    assert "approve_extension" in body["allowed_actions"]
    granted = office.post(
        f"{TASKS}/{task.id}/extensions/{extension.id}/decision",
        json={"decision": "approve", "reason": "同意"},
    )
    assert granted.status_code == 200


@pytest.mark.parametrize("verifier", ["inspector", "office_or_inspector"])
def test_an_inspector_accepting_settles_it_too(app, world, client_for, verifier):
    """Whoever the setting lets verify, closing the task settles the request."""
    inspector = world.users[Role.inspector]
    task, _ = replied_while_extension_waits(
        world.unit_a, world.users[Role.unit_staff], inspector_id=inspector.id
    )
    app.config["RECTIFICATION_VERIFIER"] = verifier
    try:
        url = f"{TASKS}/{task.id}/verification"
        body = client_for(inspector).post(url, json={"decision": "accept"}).get_json()
    finally:
        app.config["RECTIFICATION_VERIFIER"] = "office"
    assert (body["status"], body["extension_pending"]) == ("closed", False)
    (settled,) = body["extensions"]
    assert (settled["status"], settled["decided_by_id"]) == ("lapsed", inspector.id)


def test_a_covert_inspector_who_settles_it_stays_unnamed(app, world, make_user, client_for):
    """An unannounced visit's team is never named to the unit (tests/test_covert_inspectors.py):
    nor as the one whose acceptance lapsed the request. The office still sees who."""
    case = Case(world, make_user, VisitKind.unannounced, disclose=False)
    staff, inspector = world.users[Role.unit_staff], case.team[0]
    task = case.task
    pending_extension(task, staff, task.due_on + timedelta(days=7))
    reply = {
        "client_id": uuid.uuid4(),
        "description": "已整改",
        "photo_ids": after_photos(task, staff),
    }
    service.respond(task, reply, actor=staff)
    db.session.commit()
    app.config["RECTIFICATION_VERIFIER"] = "inspector"
    try:
        url = f"{TASKS}/{task.id}/verification"
        assert client_for(inspector).post(url, json={"decision": "accept"}).status_code == 200
    finally:
        app.config["RECTIFICATION_VERIFIER"] = "office"
    for who, named in ((staff, None), (world.users[Role.office_admin], inspector.id)):
        (settled,) = client_for(who).get(f"{TASKS}/{task.id}").get_json()["extensions"]
        assert (settled["status"], settled["decided_by_id"]) == ("lapsed", named)
