"""From a published inspection to a closed task, through the real inspections hand-off and
the real photo pipeline: the office publishes, the unit uploads after-photos and replies,
the office sees before and after and closes the task."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from accounts.models import Role
from core.db import db
from inspections.findings import publish_inspection
from rectification.models import RectificationTask, TaskStatus
from tests.conftest import assert_problem
from tests.images import jpeg
from tests.inspection_helpers import ALL_PASS, PHOTOS, make_visit, submitted
from tests.media_helpers import multipart
from tests.rectification_support import photo

TASKS = "/api/v1/rectification/tasks"


def _upload(client, task_id: int, *, seed: int):
    form = {
        "client_id": str(uuid.uuid4()),
        "owner_type": "rectification_task",
        "owner_id": str(task_id),
    }
    return client.post("/api/v1/photos", **multipart(form, jpeg(seed=seed), "image/jpeg"))


def test_publication_opens_tasks_and_the_unit_closes_one_with_photos(
    app, world, make_user, client_for
):
    world.inspections  # noqa: B018 - a published checklist and the ordinary objects
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector, make_user(Role.inspector)], starts_in_days=-1)
    answers = ALL_PASS | {
        "dress.badge": {"result": "fail", "note": "2号窗口未佩戴工作牌"},
        "smoke.none": {"result": "fail", "note": "大厅有人吸烟"},
        "dress.uniform": {"result": "fail", "note": "未统一着装，已当场整改"},
    }
    refs = {code: [str(uuid.uuid4())] for code in ("dress.uniform", "smoke.none")}
    inspection = submitted(
        visit, inspector, answers, photos=PHOTOS | refs, fixed_on_spot=["dress.uniform"]
    )
    for code in ("dress.badge", "dress.uniform"):  # the photos that arrived for each item
        photo("inspection", inspection.id, world.unit_a.id, inspector.id, code)
    for finding in inspection.findings:  # the office disagrees about smoking
        finding.status = "dismissed" if finding.item_code == "smoke.none" else "confirmed"
    publish_inspection(  # the hook runs; video.working's named photo never arrived
        inspection, actor=world.users[Role.office_admin], missing_photos_reason="监控照片另行报送"
    )
    db.session.commit()

    tasks = db.session.scalars(
        select(RectificationTask)
        .where(RectificationTask.inspection_id == inspection.id)
        .order_by(RectificationTask.item_code)
    ).all()
    assert [(t.item_code, t.status, t.fixed_on_spot) for t in tasks] == [
        ("dress.badge", TaskStatus.open, False),
        ("dress.uniform", TaskStatus.closed, True),
    ]
    badge = tasks[0]
    assert badge.inspector_id == inspector.id
    assert badge.plan_id == visit.plan_id
    assert badge.description == "2号窗口未佩戴工作牌"
    assert badge.deadline_days == 15  # the item's default for a general finding
    assert badge.created_by_id == world.users[Role.office_admin].id  # who published
    on_spot = tasks[1]
    assert len(on_spot.replies[0].photo_ids) == 1  # the inspector's photo closes it

    staff = world.users[Role.unit_staff]
    unit = client_for(staff)
    queue = unit.get(TASKS, query_string={"status": "open", "inspection_id": inspection.id})
    assert [t["id"] for t in queue.get_json()["items"]] == [badge.id]
    # world.inspections published one at unit A too: its finding became a task as well.
    earlier = world.inspections.finding_a
    assert unit.get(TASKS, query_string={"status": "open"}).get_json()["total"] == 2
    assert db.session.scalar(
        select(RectificationTask.id).where(RectificationTask.finding_id == earlier.id)
    )

    uploaded = _upload(unit, badge.id, seed=7)
    assert uploaded.status_code == 201, uploaded.get_json()
    photo_id = uploaded.get_json()["id"]
    # Nobody else may add to the task, nor see its photos.
    assert_problem(_upload(client_for(world.unit_staff_b), badge.id, seed=8), 404)
    assert_problem(client_for(world.unit_staff_b).get(f"/api/v1/photos/{photo_id}"), 404)
    assert_problem(_upload(client_for(inspector), badge.id, seed=9), 403)

    reply = unit.post(
        f"{TASKS}/{badge.id}/replies",
        json={
            "client_id": str(uuid.uuid4()),
            "description": "已补发工作牌",
            "photo_ids": [photo_id],
        },
    )
    assert reply.status_code == 201, reply.get_json()
    # Once replied, no more photos until the office sends it back.
    assert_problem(_upload(unit, badge.id, seed=10), 409)

    office = client_for(world.users[Role.office_admin])
    review = office.get(f"{TASKS}/{badge.id}").get_json()["review"]
    assert [(p["owner_type"], p["item_code"]) for p in review["before"]] == [
        ("inspection", "dress.badge")
    ]
    assert [p["id"] for p in review["after"]] == [photo_id]
    assert review["after"][0]["urls"]["thumb"]
    accepted = office.post(f"{TASKS}/{badge.id}/verification", json={"decision": "accept"})
    assert accepted.get_json()["status"] == "closed"
    assert office.get(f"/api/v1/photos/{photo_id}").status_code == 200
