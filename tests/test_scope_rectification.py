"""Rectification, photos, the inbox and checklists for offices at every level, and the lead
unit's 督办 (chase).

A district or town office sees tasks, extensions, replies, photos and inbox messages of its
region's subtree only; another region's ids answer exactly like missing ones. A lead unit
reads its sector's tasks and may chase an overdue one: recorded, and delivered to the unit.
"""

from __future__ import annotations

import inspect
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from accounts import service as accounts
from accounts.models import Role
from core import errors
from core.audit import trail
from core.clock import local, utcnow
from core.db import db
from notifications.models import InboxMessage, Notification
from notifications.service import Message, enqueue
from notifications.worker import run_batch
from org.models import RegionLevel
from rectification import service
from rectification.deadlines import end_of_day
from rectification.models import Chase, RectificationTask
from rectification.reminders import scan_deadlines
from tests import media_kinds
from tests.conftest import IsolatedClient, assert_problem
from tests.console.conftest import ConsoleClient, without_tokens
from tests.rectification_support import after_photos, open_task, photo

MISSING = 987654
EMPTY = inspect.Parameter.empty


class Scene:
    """普宁市 → A (→ A 的社区) and B; units in A, A's community and B; tasks at each."""

    def __init__(self, make_region, make_sector, make_unit, make_user):
        city = make_region(level=RegionLevel.city)
        self.region_a = make_region(level=RegionLevel.township, parent_id=city.id)
        self.region_a_sub = make_region(level=RegionLevel.community, parent_id=self.region_a.id)
        self.region_b = make_region(level=RegionLevel.township, parent_id=city.id)
        self.sector, self.other_sector = make_sector(), make_sector()
        self.unit_a = make_unit(region_id=self.region_a.id, sector_id=self.sector.id)
        self.unit_sub = make_unit(region_id=self.region_a_sub.id, sector_id=self.sector.id)
        self.unit_b = make_unit(region_id=self.region_b.id, sector_id=self.other_sector.id)
        self.staff_a = make_user(Role.unit_staff, unit_id=self.unit_a.id)
        self.staff_b = make_user(Role.unit_staff, unit_id=self.unit_b.id)
        self.office_a = make_user(Role.office_admin, region_id=self.region_a.id)
        self.viewer_a = make_user(Role.viewer, region_id=self.region_a.id)
        self.office_b = make_user(Role.office_admin, region_id=self.region_b.id)
        self.city = make_user(Role.office_admin)
        self.lead = make_user(Role.lead_unit_staff, sector_id=self.sector.id)
        self.task_a = open_task(self.unit_a)
        self.task_sub = open_task(self.unit_sub)
        self.task_b = open_task(self.unit_b)
        db.session.commit()

    @property
    def mine(self) -> set[int]:
        return {self.task_a.id, self.task_sub.id}


@pytest.fixture
def scene(make_region, make_sector, make_unit, make_user) -> Scene:
    return Scene(make_region, make_sector, make_unit, make_user)


def overdue(task: RectificationTask, days: int = 5) -> RectificationTask:
    task = db.session.get(RectificationTask, task.id)
    task.due_on = local(utcnow()).date() - timedelta(days=days)
    task.due_at = end_of_day(task.due_on)
    db.session.commit()
    return task


def same_404(client, foreign: str, missing: str) -> None:
    a, b = client.get(foreign), client.get(missing)
    assert_problem(a, 404)
    assert_problem(b, 404)
    assert a.get_json() == b.get_json()


def extension(task, staff):
    made, _ = service.request_extension(
        task,
        {
            "client_id": uuid.uuid4(),
            "due_on": task.due_on + timedelta(days=7),
            "reason": "材料尚未备齐",
        },
        actor=staff,
    )
    db.session.commit()
    return made


# -- tasks, extensions, replies -------------------------------------------------------------


@pytest.mark.parametrize("who", ["office_a", "viewer_a"])
def test_a_scoped_office_lists_and_counts_its_subtree_only(scene, client_for, who):
    client = client_for(getattr(scene, who))
    listed = client.get("/api/v1/rectification/tasks?per_page=100").get_json()
    assert {t["id"] for t in listed["items"]} == scene.mine
    assert listed["total"] == 2
    counts = client.get("/api/v1/rectification/tasks/counts").get_json()
    assert counts["total"] == 2
    assert counts["by_status"]["open"] == 2
    # Filtering on B's region or unit finds nothing there; B's unit looks missing.
    by_region = client.get(f"/api/v1/rectification/tasks?region_id={scene.region_b.id}")
    assert by_region.get_json()["total"] == 0
    foreign_unit = client.get(f"/api/v1/rectification/tasks?unit_id={scene.unit_b.id}")
    missing_unit = client.get(f"/api/v1/rectification/tasks?unit_id={MISSING}")
    assert_problem(foreign_unit, 404)
    assert foreign_unit.get_json() == missing_unit.get_json()
    # The city-wide office still sees all three.
    city = client_for(scene.city).get("/api/v1/rectification/tasks?per_page=100").get_json()
    assert {t["id"] for t in city["items"]} >= scene.mine | {scene.task_b.id}


@pytest.mark.parametrize("suffix", ["", "/audit", "/replies"])
def test_another_regions_task_answers_like_a_missing_one(scene, client_for, suffix):
    client = client_for(scene.office_a)
    base = "/api/v1/rectification/tasks"
    assert client.get(f"{base}/{scene.task_sub.id}{suffix}").status_code == 200
    same_404(client, f"{base}/{scene.task_b.id}{suffix}", f"{base}/{MISSING}{suffix}")


def test_another_regions_extension_and_verification_are_missing(scene, client_for):
    ext_a = extension(scene.task_a, scene.staff_a)
    ext_b = extension(scene.task_b, scene.staff_b)
    client = client_for(scene.office_a)
    base = "/api/v1/rectification/tasks"
    body = {"decision": "deny", "reason": "期限内可完成"}

    def post(url):
        return client.post(url, json=body)

    foreign = post(f"{base}/{scene.task_b.id}/extensions/{ext_b.id}/decision")
    missing = post(f"{base}/{MISSING}/extensions/{ext_b.id}/decision")
    assert_problem(foreign, 404)
    assert foreign.get_json() == missing.get_json()
    # Its own task with B's extension id: like an id that does not exist.
    crossed = post(f"{base}/{scene.task_a.id}/extensions/{ext_b.id}/decision")
    nothing = post(f"{base}/{scene.task_a.id}/extensions/{MISSING}/decision")
    assert_problem(crossed, 404)
    assert crossed.get_json() == nothing.get_json()
    # Verification of B's task: missing too. B's office decides B's extension.
    verify = client.post(f"{base}/{scene.task_b.id}/verification", json={"decision": "accept"})
    assert (
        verify.get_json()
        == client.post(f"{base}/{MISSING}/verification", json={"decision": "accept"}).get_json()
    )
    own = post(f"{base}/{scene.task_a.id}/extensions/{ext_a.id}/decision")
    assert own.status_code == 200, own.get_json()
    theirs = client_for(scene.office_b).post(
        f"{base}/{scene.task_b.id}/extensions/{ext_b.id}/decision", json=body
    )
    assert theirs.status_code == 200, theirs.get_json()


def test_replies_and_extensions_are_found_through_the_policy(scene):
    from rectification import policy

    ext_b = extension(scene.task_b, scene.staff_b)
    with pytest.raises(errors.NotFound) as foreign:
        policy.visible_extension(ext_b.id, scene.office_a)
    with pytest.raises(errors.NotFound) as missing:
        policy.visible_extension(MISSING, scene.office_a)
    assert str(foreign.value) == str(missing.value)
    assert policy.visible_extension(ext_b.id, scene.office_b) == ext_b
    reply, _ = service.respond(
        scene.task_b,
        {
            "client_id": uuid.uuid4(),
            "description": "已整改",
            "photo_ids": after_photos(scene.task_b, scene.staff_b),
        },
        actor=scene.staff_b,
    )
    db.session.commit()
    assert policy.visible_reply(reply.id, scene.city) == reply
    with pytest.raises(errors.NotFound) as foreign_reply:
        policy.visible_reply(reply.id, scene.office_a)
    with pytest.raises(errors.NotFound) as missing_reply:
        policy.visible_reply(MISSING, scene.office_a)
    assert str(foreign_reply.value) == str(missing_reply.value)


# -- photos -------------------------------------------------------------------------------


def test_a_scoped_office_sees_photos_of_its_region_only(scene, client_for):
    mine = after_photos(scene.task_sub, scene.staff_a)[0]
    theirs = after_photos(scene.task_b, scene.staff_b)[0]
    unit_photo_a = photo(media_kinds.KIND, scene.unit_a.id, scene.unit_a.id, scene.city.id).id
    unit_photo_b = photo(media_kinds.KIND, scene.unit_b.id, scene.unit_b.id, scene.city.id).id
    db.session.commit()
    client = client_for(scene.office_a)

    listed = client.get("/api/v1/photos?per_page=100").get_json()
    ids = {p["id"] for p in listed["items"]}
    assert {mine, unit_photo_a} <= ids
    assert not ids & {theirs, unit_photo_b}
    assert all(p["unit_id"] in (scene.unit_a.id, scene.unit_sub.id) for p in listed["items"])

    assert client.get(f"/api/v1/photos/{mine}").status_code == 200
    same_404(client, f"/api/v1/photos/{theirs}", f"/api/v1/photos/{MISSING}")
    same_404(client, f"/api/v1/photos/{unit_photo_b}", f"/api/v1/photos/{MISSING}")
    kind = "owner_type=rectification_task"
    same_404(
        client,
        f"/api/v1/photos?{kind}&owner_id={scene.task_b.id}",
        f"/api/v1/photos?{kind}&owner_id={MISSING}",
    )
    owned = client.get(f"/api/v1/photos?{kind}&owner_id={scene.task_sub.id}").get_json()
    assert [p["id"] for p in owned["items"]] == [mine]
    # The city-wide office sees both regions.
    city = client_for(scene.city).get("/api/v1/photos?per_page=100").get_json()
    assert {mine, theirs, unit_photo_a, unit_photo_b} <= {p["id"] for p in city["items"]}


def test_unit_staff_still_list_photos_of_their_own_task_only(scene, client_for):
    theirs = after_photos(scene.task_b, scene.staff_b)[0]
    client = client_for(scene.staff_a)
    kind = "owner_type=rectification_task"
    same_404(
        client,
        f"/api/v1/photos?{kind}&owner_id={scene.task_b.id}",
        f"/api/v1/photos?{kind}&owner_id={MISSING}",
    )
    same_404(client, f"/api/v1/photos/{theirs}", f"/api/v1/photos/{MISSING}")
    assert_problem(client.get("/api/v1/photos"), 422)  # only offices list across owners


# -- the inbox ----------------------------------------------------------------------------


def _inbox(client_for, user) -> tuple[set[int], int]:
    body = client_for(user).get("/api/v1/inbox?per_page=100").get_json()
    return {m["subject_id"] for m in body["items"]}, body["unread"]


def test_escalations_reach_the_offices_whose_scope_holds_the_unit(scene, client_for):
    for task in (scene.task_a, scene.task_sub, scene.task_b):
        overdue(task, days=5)
    assert scan_deadlines()["escalations"] == 3
    while run_batch().claimed:
        pass
    sub_office = accounts.create_user(
        {
            "username": "community-office",
            "display_name": "社区督查",
            "role": Role.office_admin,
            "region_id": scene.region_a_sub.id,
        },
        actor=None,
    )
    db.session.commit()

    subjects, unread = _inbox(client_for, scene.office_a)
    assert subjects == scene.mine
    assert unread == 2
    assert _inbox(client_for, scene.office_b) == ({scene.task_b.id}, 1)
    city, _ = _inbox(client_for, scene.city)
    assert city == scene.mine | {scene.task_b.id}
    lead, _ = _inbox(client_for, scene.lead)
    assert lead == scene.mine  # the lead unit's sector, as before
    # An office made after the scan has nothing; only escalations of its units would reach it.
    assert _inbox(client_for, sub_office) == (set(), 0)
    recipients = set(
        db.session.scalars(
            select(Notification.recipient_id).where(
                Notification.kind == "escalated", Notification.subject_id == scene.task_b.id
            )
        )
    )
    assert scene.office_a.id not in recipients


def test_the_inbox_hides_messages_about_another_regions_objects(scene, client_for):
    """Even a message that did reach a scoped office (before its region was set, say) is
    not shown, counted or readable once its subject lies outside the scope."""
    for task in (scene.task_a, scene.task_b):
        enqueue(
            Message("test", "rectification_task", task.id, "", "测试", "测试", {}),
            [scene.office_a],
        )
    db.session.commit()
    while run_batch().claimed:
        pass
    assert _inbox(client_for, scene.office_a) == ({scene.task_a.id}, 1)
    hidden = db.session.scalar(
        select(InboxMessage).where(
            InboxMessage.user_id == scene.office_a.id,
            InboxMessage.subject_id == scene.task_b.id,
        )
    )
    client = client_for(scene.office_a)
    foreign = client.post(f"/api/v1/inbox/{hidden.id}/read")
    missing = client.post(f"/api/v1/inbox/{MISSING}/read")
    assert_problem(foreign, 404)
    assert foreign.get_json() == missing.get_json()
    assert client.post("/api/v1/inbox/read-all").get_json() == {"marked": 1}


# -- 督办 ----------------------------------------------------------------------------------


def chase_url(task) -> str:
    return f"/api/v1/rectification/tasks/{task.id}/chases"


def test_a_lead_unit_chases_an_overdue_task_once_and_the_unit_is_told(scene, client_for):
    task = overdue(scene.task_a)
    lead = client_for(scene.lead)
    body = {"client_id": str(uuid.uuid4()), "message": "请三日内完成整改"}

    first = lead.post(chase_url(task), json=body)
    assert first.status_code == 201, first.get_json()
    replay = lead.post(chase_url(task), json=body)
    assert replay.status_code == 200
    assert replay.get_json() == first.get_json()
    assert first.get_json()["due_on"] == task.due_on.isoformat()

    assert db.session.scalar(select(Chase).where(Chase.task_id == task.id)).sent_by_id == (
        scene.lead.id
    )
    (event,) = [e for e in trail("rectification_task", task.id) if e.action == "chase"]
    assert (event.actor_id, event.reason) == (scene.lead.id, "请三日内完成整改")
    history = lead.get(f"/api/v1/rectification/tasks/{task.id}/audit").get_json()
    assert [e["action"] for e in history][-1] == "chase"

    (note,) = db.session.scalars(select(Notification).where(Notification.kind == "chased"))
    assert note.recipient_id == scene.staff_a.id
    run_batch()
    inbox = client_for(scene.staff_a).get("/api/v1/inbox").get_json()
    chased = [m for m in inbox["items"] if m["kind"] == "chased"]
    assert [m["subject_id"] for m in chased] == [task.id]
    assert "请三日内完成整改" in chased[0]["body"]


def test_a_chase_is_refused_unless_the_task_is_overdue_and_ones_own(scene, client_for):
    lead = client_for(scene.lead)

    def body():
        return {"client_id": str(uuid.uuid4())}

    not_yet = assert_problem(lead.post(chase_url(scene.task_a), json=body()), 409)
    assert not_yet["type"] == "urn:problem:task-not-overdue"
    overdue(scene.task_b)
    foreign = lead.post(chase_url(scene.task_b), json=body())
    missing = lead.post(f"/api/v1/rectification/tasks/{MISSING}/chases", json=body())
    assert_problem(foreign, 404)
    assert foreign.get_json() == missing.get_json()
    late = overdue(scene.task_a)
    assert_problem(client_for(scene.staff_a).post(chase_url(late), json=body()), 403)
    assert_problem(client_for(scene.viewer_a).post(chase_url(late), json=body()), 403)
    # An office chases within its region; B's task looks missing to it.
    office = client_for(scene.office_a)
    assert office.post(chase_url(late), json=body()).status_code == 201
    assert office.post(chase_url(scene.task_b), json=body()).get_json() == missing.get_json()
    assert db.session.scalar(select(Chase).where(Chase.task_id == scene.task_b.id)) is None


def test_a_closed_task_is_not_chased(scene, client_for):
    task = overdue(scene.task_a)
    service.respond(
        task,
        {
            "client_id": uuid.uuid4(),
            "description": "已整改",
            "photo_ids": after_photos(task, scene.staff_a),
        },
        actor=scene.staff_a,
    )
    service.verify(task, accept=True, reason=None, actor=scene.city)
    db.session.commit()
    refused = client_for(scene.lead).post(chase_url(task), json={"client_id": str(uuid.uuid4())})
    problem = assert_problem(refused, 409)
    # It says why: the task is closed (销号), not that it is not yet overdue.
    assert (problem["type"], problem["state"]) == ("urn:problem:illegal-transition", "closed")
    assert problem["detail"] == "任务当前为「已销号」，不能督办"


# -- the console --------------------------------------------------------------------------


@pytest.fixture
def console_for(app):
    """A console client signed in as `user` (a session token, as the login form gives)."""

    def make(user):
        raw, _ = accounts.issue_token(user, "console")
        db.session.commit()
        app.test_client_class = IsolatedClient
        client = ConsoleClient(app.test_client())
        with client.client.session_transaction() as session:
            session["token"] = raw
        return client

    return make


def test_a_scoped_office_console_lists_its_region_only(scene, console_for):
    console = console_for(scene.office_a)
    page = console.get("/console/tasks?view=all").get_data(as_text=True)
    assert f'/console/tasks/{scene.task_a.id}"' in page
    assert f'/console/tasks/{scene.task_sub.id}"' in page
    assert f'/console/tasks/{scene.task_b.id}"' not in page
    assert scene.region_b.name not in page  # not among the filter options either
    assert scene.region_a_sub.name in page
    foreign = console.get(f"/console/tasks/{scene.task_b.id}")
    missing = console.get(f"/console/tasks/{MISSING}")
    assert foreign.status_code == missing.status_code == 404
    assert without_tokens(foreign) == without_tokens(missing)


def test_a_lead_unit_reads_its_sector_in_the_console_and_chases(scene, console_for):
    late = overdue(scene.task_sub)
    ext = extension(scene.task_a, scene.staff_a)
    console = console_for(scene.lead)
    page = console.get("/console/tasks").get_data(as_text=True)
    assert page.index(f'/console/tasks/{late.id}"') < page.index(
        f'/console/tasks/{scene.task_a.id}"'
    )  # overdue first
    assert f'/console/tasks/{scene.task_b.id}"' not in page
    assert scene.other_sector.name not in page
    assert console.get(f"/console/tasks/{scene.task_b.id}").status_code == 404

    own = console.get(f"/console/tasks/{scene.task_a.id}").get_data(as_text=True)
    assert "督办" not in own.split("操作记录")[0] or "chase" not in own  # not overdue: no button
    assert f"/extensions/{ext.id}" not in own  # no extension decision form
    detail = console.get(f"/console/tasks/{late.id}").get_data(as_text=True)
    assert f"/console/tasks/{late.id}/chases" in detail
    assert "复查通过（销号）" not in detail

    response = console.post(
        f"/console/tasks/{late.id}/chases",
        {"client_id": str(uuid.uuid4()), "message": "请尽快整改"},
    )
    assert response.status_code == 303
    assert db.session.scalar(select(Chase).where(Chase.task_id == late.id)).message == "请尽快整改"
    foreign = console.post(
        f"/console/tasks/{scene.task_b.id}/chases", {"client_id": str(uuid.uuid4())}
    )
    assert foreign.status_code == 404


# -- checklists ---------------------------------------------------------------------------


def test_a_scoped_office_reads_checklists_but_does_not_author_them(scene, world, client_for):
    version = world.checklist
    client = client_for(scene.office_a)
    assert client.get(f"/api/v1/checklist-versions/{version.id}").status_code == 200
    assert client.get(f"/api/v1/checklist-templates/{version.template_id}").status_code == 200
    created = client.post(
        "/api/v1/checklist-templates", json={"code": "town_own", "name": "镇街自定检查表"}
    )
    assert_problem(created, 403)
    city = client_for(scene.city).post(
        "/api/v1/checklist-templates", json={"code": "city_new", "name": "市级检查表"}
    )
    assert city.status_code == 201, city.get_json()
    draft = client_for(scene.city).get(
        f"/api/v1/checklist-templates/{city.get_json()['id']}/versions"
    )
    (draft_id,) = [v["id"] for v in draft.get_json()]
    etag = client.get(f"/api/v1/checklist-versions/{draft_id}").headers["ETag"]
    edits = [
        client.post(
            f"/api/v1/checklist-versions/{draft_id}/sections",
            json={"code": "town", "title": "镇街"},
            headers={"If-Match": etag},
        ),
        client.post(f"/api/v1/checklist-versions/{draft_id}/publish", headers={"If-Match": etag}),
        client.post(
            f"/api/v1/checklist-versions/{version.id}/retire",
            headers={
                "If-Match": client.get(f"/api/v1/checklist-versions/{version.id}").headers["ETag"]
            },
        ),
    ]
    for response in edits:
        assert_problem(response, 403)
    assert client.get(f"/api/v1/checklist-versions/{draft_id}").get_json()["status"] == "draft"


# -- every getter takes an actor ----------------------------------------------------------


def _getters():
    from checklists import policy as checklist_policy
    from checklists import service as checklist_service
    from media import policy as media_policy
    from media import service as media_service
    from notifications import service as notification_service
    from rectification import policy as rectification_policy
    from rectification import service as rectification_service

    for module in (
        checklist_service,
        checklist_policy,
        media_service,
        media_policy,
        notification_service,
        rectification_service,
        rectification_policy,
    ):
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if func.__module__ != module.__name__ or not name.startswith(("get_", "visible_")):
                continue
            params = inspect.signature(func).parameters
            if any(p.endswith("_id") for p in params):
                yield f"{module.__name__}.{name}", params


def test_every_getter_by_id_takes_an_actor():
    found = dict(_getters())
    assert "rectification.service.get_task" in found
    assert "checklists.service.get_template" in found
    assert "media.policy.visible_photo" in found
    without = [name for name, params in found.items() if "actor" not in params]
    assert without == []
    optional = [
        name
        for name, params in found.items()
        if params["actor"].default is not params["actor"].empty
    ]
    assert optional == []
