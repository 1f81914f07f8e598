"""Every transition × every state × every role, through the API.

The legal ones work and move the task where the state machine says; every illegal one is
refused (403 for the role, 404 for another unit, 409 for the state) and changes nothing:
not the task, not its replies or extensions, not the audit trail, not the outbox.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from core.audit import AuditEvent
from core.db import db
from notifications.models import Notification
from rectification import service
from rectification.models import ExtensionRequest, RectificationTask, TaskReply, TaskStatus
from rectification.states import RULES, Action
from tests.conftest import assert_problem
from tests.rectification_support import after_photos, open_task

STATES = ["open", "open+extension", "responded", "responded+extension", "closed"]
ACTORS = [
    "office_admin",
    "viewer",
    "inspector",  # the one who found it
    "other_inspector",
    "unit_staff",
    "unit_staff_b",  # another unit: the task must look missing
    "lead_unit_staff",
]


def _arrange(world, state: str, make_user) -> tuple[RectificationTask, dict]:
    """A task of unit A in `state`, with one denied extension (so an extension id exists
    even when none is pending), and everyone who might act on it."""
    people = {role.value: user for role, user in world.users.items()}
    people["unit_staff_b"] = world.unit_staff_b
    people["other_inspector"] = make_user(Role.inspector)
    unit_staff, office = people["unit_staff"], people["office_admin"]
    task = open_task(world.unit_a, inspector_id=people["inspector"].id)

    def ask_extension():
        return service.request_extension(
            task,
            {
                "client_id": uuid.uuid4(),
                "due_on": task.due_on + timedelta(days=5),
                "reason": "材料尚未备齐",
            },
            actor=unit_staff,
        )[0]

    old = ask_extension()
    service.decide_extension(
        task, old, approve=False, reason="期限内可完成", due_on=None, actor=office
    )
    # An extension is asked while the task is open; the unit may reply while it waits.
    extension = ask_extension() if state.endswith("+extension") else old
    if state.startswith("responded") or state == "closed":
        service.respond(
            task,
            {
                "client_id": uuid.uuid4(),
                "description": "已整改",
                "photo_ids": after_photos(task, unit_staff),
            },
            actor=unit_staff,
        )
    if state == "closed":
        service.verify(task, accept=True, reason=None, actor=office)
    people["photo_ids"] = after_photos(task, unit_staff)  # for a reply under test
    db.session.commit()
    return task, people | {"extension": extension}


def _request(action: Action, task: RectificationTask, extension: ExtensionRequest, photos):
    base = f"/api/v1/rectification/tasks/{task.id}"
    later = (task.due_on + timedelta(days=30)).isoformat()
    return {
        Action.respond: (
            f"{base}/replies",
            {"client_id": str(uuid.uuid4()), "description": "已张贴", "photo_ids": photos},
        ),
        Action.accept: (f"{base}/verification", {"decision": "accept"}),
        Action.reject: (f"{base}/verification", {"decision": "reject", "reason": "照片不清晰"}),
        Action.request_extension: (
            f"{base}/extensions",
            {"client_id": str(uuid.uuid4()), "due_on": later, "reason": "需采购标识牌"},
        ),
        Action.approve_extension: (
            f"{base}/extensions/{extension.id}/decision",
            {"decision": "approve"},
        ),
        Action.deny_extension: (
            f"{base}/extensions/{extension.id}/decision",
            {"decision": "deny", "reason": "期限内可完成"},
        ),
    }[action]


def _snapshot(task_id: int) -> dict:
    db.session.expire_all()
    task = db.session.get(RectificationTask, task_id)

    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    return {
        "task": task.snapshot() | {"version": task.version, "rejections": task.rejections},
        "replies": count(TaskReply, TaskReply.task_id == task_id),
        "extensions": [
            (e.id, e.status.value)
            for e in db.session.scalars(
                select(ExtensionRequest).where(ExtensionRequest.task_id == task_id)
            )
        ],
        "audit": count(AuditEvent),
        "outbox": count(Notification),
    }


def _state_allows(action: Action, state: str) -> bool:
    rule = RULES[action]
    status = TaskStatus(state.split("+")[0])
    pending = state.endswith("+extension")
    if status not in rule.sources:
        return False
    return rule.extension_pending is None or rule.extension_pending == pending


LEGAL_ACTOR = {
    Action.respond: "unit_staff",
    Action.accept: "office_admin",  # RECTIFICATION_VERIFIER=office (the default)
    Action.reject: "office_admin",
    Action.request_extension: "unit_staff",
    Action.approve_extension: "office_admin",
    Action.deny_extension: "office_admin",
}


def _expected(actor: str, action: Action, state: str) -> int:
    if actor == "unit_staff_b":  # the role is refused outright; where it is admitted,
        # the other unit's task looks missing
        return 404 if LEGAL_ACTOR[action] == "unit_staff" else 403
    if actor == "other_inspector" and action in (Action.accept, Action.reject):
        return 404  # the route admits inspectors, but this one cannot see the task
    if actor != LEGAL_ACTOR[action]:
        return 403
    return 409 if not _state_allows(action, state) else 0


def _conflict_type(action: Action, state: str) -> str:
    """The task's status is checked first, then whether an extension is pending."""
    rule = RULES[action]
    if TaskStatus(state.split("+")[0]) not in rule.sources:
        return "urn:problem:illegal-transition"
    if rule.extension_pending:
        return "urn:problem:no-pending-extension"
    return "urn:problem:extension-pending"


# 督办 changes no state (it needs an overdue task): tests/test_scope_rectification.py.
TRANSITIONS = [action for action in Action if action is not Action.chase]


@pytest.mark.parametrize("action", TRANSITIONS, ids=str)
@pytest.mark.parametrize("state", STATES)
def test_every_transition_for_every_role(app, world, make_user, client_for, state, action):
    task, people = _arrange(world, state, make_user)
    url, body = _request(action, task, people["extension"], people["photo_ids"])
    before = _snapshot(task.id)

    # Everyone who may not do it now is refused and changes nothing.
    for actor in ACTORS:
        expected = _expected(actor, action, state)
        if expected == 0:
            continue
        problem = assert_problem(client_for(people[actor]).post(url, json=body), expected)
        if expected == 409:
            assert problem["type"] == _conflict_type(action, state)
            assert "不能" in problem["detail"] or "延期申请" in problem["detail"]
        assert _snapshot(task.id) == before, (actor, action, state)

    # The one who may, when the state allows it, succeeds and moves the task as ruled.
    if not _state_allows(action, state):
        return
    response = client_for(people[LEGAL_ACTOR[action]]).post(url, json=body)
    assert response.status_code in (200, 201), response.get_json()
    after = _snapshot(task.id)
    rule = RULES[action]
    expected_status = (rule.target or TaskStatus(state.split("+")[0])).value
    assert after["task"]["status"] == expected_status
    assert after["audit"] == before["audit"] + 1
    assert after["task"]["version"] == before["task"]["version"] + 1


@pytest.mark.parametrize(
    ("setting", "inspector_may", "office_may"),
    [("office", False, True), ("inspector", True, False), ("office_or_inspector", True, True)],
)
def test_who_verifies_is_configuration(
    app, world, make_user, client_for, setting, inspector_may, office_may
):
    app.config["RECTIFICATION_VERIFIER"] = setting
    try:
        for who, may in (("inspector", inspector_may), ("office_admin", office_may)):
            task, people = _arrange(world, "responded", make_user)
            url = f"/api/v1/rectification/tasks/{task.id}/verification"
            response = client_for(people[who]).post(url, json={"decision": "accept"})
            assert response.status_code == (200 if may else 403), (who, response.get_json())
            if inspector_may:  # only the inspector who made the finding, never another
                other = client_for(people["other_inspector"])
                assert_problem(
                    other.post(url, json={"decision": "reject", "reason": "材料尚未备齐"}), 404
                )
    finally:
        app.config["RECTIFICATION_VERIFIER"] = "office"
