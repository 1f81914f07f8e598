"""The rectification flow as its users see it: tasks from findings, replies round by round,
verification, extensions, who sees what, filters and counts, the audit trail."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from accounts.models import Role
from core import errors
from core.clock import utcnow
from core.db import db
from media.models import Photo
from notifications.models import Notification
from rectification import service
from rectification.models import RectificationTask, TaskStatus
from tests.conftest import assert_problem
from tests.inspection_helpers import make_plan
from tests.rectification_support import after_photos, counting, finding, open_task

TASKS = "/api/v1/rectification/tasks"


def _reply(client, task_id, photos, *, client_id=None, text="已张贴禁烟标识"):
    return client.post(
        f"{TASKS}/{task_id}/replies",
        json={
            "client_id": client_id or str(uuid.uuid4()),
            "description": text,
            "photo_ids": list(photos),
        },
    )


def _ids(photos: list[dict]) -> list[int]:
    return [p["id"] for p in photos]


def _overdue(task: RectificationTask, days: int = 1) -> None:
    task.due_on = (utcnow() - timedelta(days=days + 1)).date()
    task.due_at = utcnow() - timedelta(days=days)
    db.session.commit()


# -- opening tasks ----------------------------------------------------------------------


def test_each_confirmed_finding_opens_one_task_and_tells_the_unit(app, world):
    staff = world.users[Role.unit_staff]
    first = finding(world.unit_a, severity="severe")
    findings = [
        first,
        finding(world.unit_a, severity="general", deadline_days=5, inspection=first.inspection),
        finding(world.unit_a, status="dismissed", inspection=first.inspection),
        finding(world.unit_a, status="pending", inspection=first.inspection),
    ]
    tasks = service.open_tasks_for_findings(findings, actor=world.users[Role.office_admin])
    db.session.commit()
    assert [t.finding_id for t in tasks] == [findings[0].id, findings[1].id]
    assert [t.deadline_days for t in tasks] == [3, 5]  # the severity; the finding's own
    assert all(t.status == TaskStatus.open and t.due_on > utcnow().date() for t in tasks)

    again = service.open_tasks_for_findings(findings, actor=None)  # publication retried
    db.session.commit()
    assert [t.id for t in again] == [t.id for t in tasks]
    assert db.session.scalar(select(func.count(RectificationTask.id))) == 2
    # One message for the inspection's two problems, opening the one due first.
    (message,) = db.session.scalars(select(Notification).where(Notification.kind == "tasks_opened"))
    assert (message.recipient_id, message.subject_id) == (staff.id, tasks[0].id)
    assert "检查发现2个问题" in message.body


def test_fixed_on_the_spot_is_closed_at_once_and_never_open_work(app, world, client_for):
    inspector = world.users[Role.inspector]
    task = open_task(world.unit_a, fixed_on_spot=True, inspector_id=inspector.id, before_photos=2)
    assert task.status == TaskStatus.closed
    assert task.fixed_on_spot
    assert task.closed_by_id == inspector.id
    assert db.session.scalar(select(func.count(Notification.id))) == 0  # nobody is chased
    unit = client_for(world.users[Role.unit_staff])
    assert unit.get(TASKS, query_string={"status": "open"}).get_json()["total"] == 0
    assert unit.get(f"{TASKS}/counts").get_json()["by_status"]["closed"] == 1
    detail = unit.get(f"{TASKS}/{task.id}").get_json()
    assert detail["allowed_actions"] == []
    review = detail["review"]
    assert len(review["before"]) == 2
    assert _ids(review["after"]) == _ids(review["before"])  # the inspector's photos
    assert review["verdict"] == "accepted"
    trail = unit.get(f"{TASKS}/{task.id}/audit").get_json()
    assert [e["action"] for e in trail] == ["closed_on_spot"]


# -- replies, rounds, verification ------------------------------------------------------


def test_reject_then_accept_keeps_every_round_and_the_trail(app, world, client_for):
    task = open_task(world.unit_a, before_photos=2)
    staff = world.users[Role.unit_staff]
    unit = client_for(staff)
    office = client_for(world.users[Role.office_admin])

    first = _reply(unit, task.id, after_photos(task, staff))
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["round"] == 1
    assert_problem(office.post(f"{TASKS}/{task.id}/verification", json={"decision": "reject"}), 422)
    rejected = office.post(
        f"{TASKS}/{task.id}/verification", json={"decision": "reject", "reason": "照片看不清标识"}
    )
    assert rejected.status_code == 200
    assert rejected.get_json()["status"] == "open"
    assert rejected.get_json()["round"] == 2
    assert rejected.get_json()["rejections"] == 1

    second_photos = after_photos(task, staff, count=2)
    second = _reply(unit, task.id, second_photos, text="已重新张贴并拍摄近景")
    assert second.get_json()["round"] == 2
    # The verifier sees before and after side by side, the latest round's after-photos,
    # each with its signed URLs and evidence flags.
    review = office.get(f"{TASKS}/{task.id}").get_json()["review"]
    assert len(review["before"]) == 2
    assert {p["owner_type"] for p in review["before"]} == {"inspection"}
    assert _ids(review["after"]) == second_photos
    assert review["after"][0]["urls"]["original"]
    assert review["round"] == 2
    accepted = office.post(f"{TASKS}/{task.id}/verification", json={"decision": "accept"})
    assert accepted.get_json()["status"] == "closed"
    assert accepted.get_json()["allowed_actions"] == []

    replies = unit.get(f"{TASKS}/{task.id}/replies").get_json()
    assert [(r["round"], r["verdict"], r["verdict_reason"]) for r in replies] == [
        (1, "rejected", "照片看不清标识"),
        (2, "accepted", None),
    ]
    trail = unit.get(f"{TASKS}/{task.id}/audit").get_json()
    assert [
        (e["action"], e["before"] and e["before"]["status"], e["after"]["status"]) for e in trail
    ] == [
        ("open", None, "open"),
        ("respond", "open", "responded"),
        ("reject", "responded", "open"),
        ("respond", "open", "responded"),
        ("accept", "responded", "closed"),
    ]
    office_name = world.users[Role.office_admin].display_name
    unit_name = world.users[Role.unit_staff].display_name
    assert [e["actor_name"] for e in trail[1:]] == [unit_name, office_name, unit_name, office_name]
    assert trail[2]["reason"] == "照片看不清标识"
    assert all(e["at"] for e in trail)


def test_a_retried_reply_returns_the_first_and_stores_one(app, world, client_for):
    task, other = open_task(world.unit_a), open_task(world.unit_a)
    staff = world.users[Role.unit_staff]
    unit = client_for(staff)
    key = str(uuid.uuid4())
    photos = after_photos(task, staff)
    first = _reply(unit, task.id, photos, client_id=key)
    retry = _reply(unit, task.id, photos, client_id=key, text="重试")
    assert retry.get_json()["id"] == first.get_json()["id"]
    assert retry.get_json()["description"] == "已张贴禁烟标识"
    assert len(unit.get(f"{TASKS}/{task.id}/replies").get_json()) == 1
    assert_problem(_reply(unit, other.id, after_photos(other, staff), client_id=key), 409)


def test_a_reply_needs_text_and_its_own_after_photos(app, world, client_for):
    task, other = open_task(world.unit_a), open_task(world.unit_a)
    staff = world.users[Role.unit_staff]
    unit = client_for(staff)
    body = assert_problem(_reply(unit, task.id, []), 422)
    assert "photo_ids" in body["errors"]["json"]
    assert_problem(_reply(unit, task.id, after_photos(task, staff), text=""), 422)
    # Photos of another task, of the inspection, or that do not exist are refused.
    before = db.session.scalar(select(func.min(Photo.id)).where(Photo.owner_type == "inspection"))
    for wrong in (after_photos(other, staff), [before], [987654]):
        body = assert_problem(_reply(unit, task.id, after_photos(task, staff) + wrong), 422)
        assert list(body["errors"]) == ["photo_ids"]
    assert unit.get(f"{TASKS}/{task.id}").get_json()["status"] == "open"


def test_a_stale_if_match_is_refused(app, world, client_for):
    task = open_task(world.unit_a)
    unit = client_for(world.users[Role.unit_staff])
    etag = unit.get(f"{TASKS}/{task.id}").headers["ETag"]
    service.request_extension(
        task,
        {
            "client_id": uuid.uuid4(),
            "due_on": task.due_on + timedelta(days=3),
            "reason": "材料尚未备齐",
        },
        actor=world.users[Role.unit_staff],
    )
    db.session.commit()
    response = unit.post(
        f"{TASKS}/{task.id}/replies",
        json={
            "client_id": str(uuid.uuid4()),
            "description": "好了",
            "photo_ids": after_photos(task, world.users[Role.unit_staff]),
        },
        headers={"If-Match": etag},
    )
    assert_problem(response, 412)


# -- extensions -------------------------------------------------------------------------


def test_extension_approved_moves_the_deadline(app, world, client_for):
    task = open_task(world.unit_a)
    unit = client_for(world.users[Role.unit_staff])
    office = client_for(world.users[Role.office_admin])
    old_due = task.due_on
    too_early = {
        "client_id": str(uuid.uuid4()),
        "due_on": old_due.isoformat(),
        "reason": "材料尚未备齐",
    }
    assert_problem(unit.post(f"{TASKS}/{task.id}/extensions", json=too_early), 422)
    too_late = too_early | {"due_on": (old_due + timedelta(days=400)).isoformat()}
    assert_problem(unit.post(f"{TASKS}/{task.id}/extensions", json=too_late), 422)
    wanted = old_due + timedelta(days=10)
    asked = unit.post(
        f"{TASKS}/{task.id}/extensions",
        json={
            "client_id": str(uuid.uuid4()),
            "due_on": wanted.isoformat(),
            "reason": "需定制标识牌",
        },
    )
    assert asked.status_code == 201
    ext_id = asked.get_json()["id"]
    granted = old_due + timedelta(days=7)
    decided = office.post(
        f"{TASKS}/{task.id}/extensions/{ext_id}/decision",
        json={"decision": "approve", "due_on": granted.isoformat(), "reason": "给一周"},
    )
    assert decided.status_code == 200
    assert decided.get_json()["granted_due_on"] == granted.isoformat()
    detail = unit.get(f"{TASKS}/{task.id}").get_json()
    assert detail["due_on"] == granted.isoformat()
    assert detail["extension_pending"] is False
    assert detail["extensions"][0]["previous_due_on"] == old_due.isoformat()


def test_an_extension_is_denied_only_with_a_reason(app, world, client_for):
    task = open_task(world.unit_a)
    ext = world._extension(task, world.users[Role.unit_staff])
    office = client_for(world.users[Role.office_admin])
    url = f"{TASKS}/{task.id}/extensions/{ext.id}/decision"
    assert_problem(office.post(url, json={"decision": "deny"}), 422)
    assert office.post(url, json={"decision": "deny", "reason": "期限足够"}).status_code == 200
    assert_problem(office.post(url, json={"decision": "approve"}), 409)
    other = open_task(world.unit_a)  # an extension is found only under its own task
    assert_problem(
        office.post(
            f"{TASKS}/{other.id}/extensions/{ext.id}/decision",
            json={"decision": "deny", "reason": "材料尚未备齐"},
        ),
        404,
    )


# -- who sees what ------------------------------------------------------------------------


def test_a_unit_cannot_read_reply_to_or_count_another_units_tasks(app, world, client_for):
    task_a = open_task(world.unit_a)
    open_task(world.unit_b)
    unit_b = client_for(world.unit_staff_b)
    for path in ("", "/audit", "/replies"):
        assert_problem(unit_b.get(f"{TASKS}/{task_a.id}{path}"), 404)
    assert_problem(_reply(unit_b, task_a.id, after_photos(task_a, world.unit_staff_b)), 404)
    extension = {"client_id": str(uuid.uuid4()), "due_on": "2099-01-01", "reason": "材料尚未备齐"}
    assert_problem(unit_b.post(f"{TASKS}/{task_a.id}/extensions", json=extension), 404)
    assert_problem(unit_b.get(f"{TASKS}/counts", query_string={"unit_id": world.unit_a.id}), 404)
    assert_problem(unit_b.get(TASKS, query_string={"unit_id": world.unit_a.id}), 404)
    listed = unit_b.get(TASKS).get_json()
    assert [t["unit_id"] for t in listed["items"]] == [world.unit_b.id]
    assert unit_b.get(f"{TASKS}/counts").get_json()["total"] == 1
    assert (
        db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.kind == "responded")
        )
        == 0
    )


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        (Role.office_admin, {"a", "b"}),
        (Role.viewer, {"a", "b"}),
        (Role.lead_unit_staff, {"a"}),  # sector A only
        (Role.unit_staff, {"a"}),
        (Role.inspector, {"b"}),  # the findings they made
    ],
)
def test_each_role_sees_its_scope(app, world, client_for, role, sees):
    tasks = {
        "a": open_task(world.unit_a),
        "b": open_task(world.unit_b, inspector_id=world.users[Role.inspector].id),
    }
    listed = client_for(world.users[role]).get(TASKS).get_json()
    assert {t["id"] for t in listed["items"]} == {tasks[k].id for k in sees}


def test_office_filters_and_counts(app, world, client_for, make_unit):
    late = open_task(world.unit_a, severity="severe")
    _overdue(late)
    plan = make_plan([world.unit_a], [world.users[Role.inspector]])
    answered = open_task(world.unit_a, plan_id=plan.id)
    staff = world.users[Role.unit_staff]
    service.respond(
        answered,
        {
            "client_id": uuid.uuid4(),
            "description": "已改",
            "photo_ids": after_photos(answered, staff),
        },
        actor=staff,
    )
    db.session.commit()
    other = open_task(world.unit_b, severity="general")
    office = client_for(world.users[Role.office_admin])

    def ids(**query):
        response = office.get(TASKS, query_string=query)
        assert response.status_code == 200, response.get_json()
        return {t["id"] for t in response.get_json()["items"]}

    assert ids(overdue="true") == {late.id}
    assert ids(overdue="false") == {answered.id, other.id}
    assert ids(status="responded") == {answered.id}
    assert ids(status=["open", "responded"]) == {late.id, answered.id, other.id}
    assert ids(sector_id=world.sector_b.id) == {other.id}
    assert ids(region_id=world.unit_a.region_id) == {late.id, answered.id}
    assert ids(unit_id=world.unit_b.id) == {other.id}
    assert ids(plan_id=plan.id) == {answered.id}
    assert ids(severity="severe") == {late.id}
    assert ids(due_to=late.due_on.isoformat()) == {late.id}
    assert ids(due_from=other.due_on.isoformat()) >= {other.id}
    assert_problem(office.get(TASKS, query_string={"colour": "red"}), 422)

    counts = office.get(f"{TASKS}/counts").get_json()
    assert counts == {
        "total": 3,
        "overdue": 1,
        "by_status": {"open": 2, "responded": 1, "closed": 0},
        "capped": [],  # every figure is below the bound (1 000): exact
    }
    sector_a = office.get(f"{TASKS}/counts", query_string={"sector_id": world.sector_a.id})
    assert sector_a.get_json()["total"] == 2
    listed = office.get(TASKS).get_json()["items"]
    assert [t["overdue"] for t in listed if t["id"] == late.id] == [True]


def test_two_verifiers_at_once_one_wins_the_other_gets_409(app, world):
    task = open_task(world.unit_a)
    staff, office = world.users[Role.unit_staff], world.users[Role.office_admin]
    service.respond(
        task,
        {"client_id": uuid.uuid4(), "description": "已改", "photo_ids": after_photos(task, staff)},
        actor=staff,
    )
    db.session.commit()
    # Another office worker accepts it between our read and our write.
    with db.engine.begin() as other:
        other.execute(
            update(RectificationTask)
            .where(RectificationTask.id == task.id)
            .values(status="closed", version=RectificationTask.version + 1)
        )
    with pytest.raises(errors.Conflict):
        service.verify(task, accept=False, reason="照片不合格", actor=office)
    db.session.rollback()
    assert db.session.get(RectificationTask, task.id).status == TaskStatus.closed


@pytest.mark.parametrize("role", [Role.office_admin, Role.lead_unit_staff, Role.unit_staff])
def test_list_queries_do_not_grow_with_the_page(app, world, client_for, role):
    for _ in range(12):
        open_task(world.unit_a)
    client = client_for(world.users[role])
    counts = {}
    for per_page in (2, 12):
        with counting() as statements:
            response = client.get(TASKS, query_string={"per_page": per_page})
        assert len(response.get_json()["items"]) == per_page
        counts[per_page] = len(statements)
    # Token, count, page; units and lead units one more: the 暗访 teams not to name.
    assert counts[2] == counts[12] <= (3 if role == Role.office_admin else 4), counts
    with counting() as statements:
        client.get(f"{TASKS}/counts", query_string={"overdue": "false"})
    assert len(statements) <= 2  # token, one grouped count
