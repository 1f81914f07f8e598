"""Writes that meet: resent copies of one request, and different people's writes to one
record, sent at the same moment from threads (each with its own client, session and
connection). A resend of an idempotent write gets the first result; of two different
writes one wins and the other is refused (409/412) or runs after it, never both on what
the other changed, never a 5xx; and what is stored afterwards is what the answers said.
Overlapping copies of the creates keyed by a client id: tests/test_overlapping_retries.py.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import BindingCode, Role
from core.audit import AuditEvent
from core.clock import DISPLAY_TZ, local, utcnow
from core.db import db
from inspections.models import Draw, Finding, FindingStatus, Inspection, Visit, VisitStatus
from rectification.models import RectificationTask
from tests.inspection_helpers import (
    ALL_PASS,
    PHOTOS,
    admin,
    check_in,
    make_plan,
    make_visit,
    publish_checklist,
    submitted,
)
from tests.test_fuzz_bodies import _console_client
from tests.test_overlapping_retries import COPIES, overlapping

API = "/api/v1"
FAIL = {"result": "fail", "note": "有人吸烟"}


def together(app, sends: list[tuple[str, Callable]]) -> list[tuple[int, dict | None]]:
    """Each `send(client)` with its own token, from its own thread, released together."""
    barrier = threading.Barrier(len(sends))

    def one(pair):
        token, send = pair
        client = app.test_client()
        client.token = token
        barrier.wait(30)
        response = send(client)
        return response.status_code, response.get_json(silent=True)

    with ThreadPoolExecutor(len(sends)) as pool:
        return list(pool.map(one, sends))


def no_server_error(results) -> None:
    assert all(status < 500 for status, _ in results), results


def events(entity_type: str, entity_id: int, action: str) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).where(
            AuditEvent.entity_type == entity_type,
            AuditEvent.entity_id == entity_id,
            AuditEvent.action == action,
        )
    )


@pytest.fixture
def office(world, client_for):
    return client_for(world.users[Role.office_admin])


@pytest.fixture
def second_office(make_user, client_for):
    return client_for(make_user(Role.office_admin))


@pytest.fixture
def inspector(world):
    return world.users[Role.inspector]


@pytest.fixture
def visit(world, inspector, make_user):
    publish_checklist()
    db.session.commit()
    return make_visit(world.unit_a, [inspector, make_user(Role.inspector)])


def _two_failures() -> dict:
    return ALL_PASS | {"smoke.none": FAIL, "dress.uniform": FAIL}


def _photos() -> dict:
    return PHOTOS | {code: [str(uuid.uuid4())] for code in ("smoke.none", "dress.uniform")}


# -- resent copies of one write -----------------------------------------------------------


def test_resent_saves_and_submissions_of_a_started_inspection_get_one_result(
    app, visit, inspector, client_for
):
    me = client_for(inspector)
    started = me.post(
        f"{API}/inspections",
        json={
            "client_uuid": str(uuid.uuid4()),
            "visit_id": visit.id,
            "check_in": check_in(visit.unit),
        },
    ).get_json()
    url = f"{API}/inspections/{started['id']}"
    body = {"answers": _two_failures(), "photos": _photos()}

    saves = overlapping(app, me.token, lambda c: c.patch(f"{url}/answers", json=body))
    assert sorted(status for status, _ in saves) == [200] * COPIES, saves
    assert all(answer == saves[0][1] for _, answer in saves)

    submits = overlapping(app, me.token, lambda c: c.post(f"{url}/submit", json=body))
    assert sorted(status for status, _ in submits) == [200] * COPIES, submits
    assert all(answer == submits[0][1] for _, answer in submits)
    assert submits[0][1]["status"] == "submitted"
    assert events("inspection", started["id"], "submit") == 1
    assert db.session.scalar(select(func.count()).select_from(Finding)) == 2


def test_resent_publications_open_one_task_per_finding(app, visit, inspector, office):
    inspection = submitted(visit, inspector, _two_failures(), photos=_photos())
    for finding in inspection.findings:
        finding.status = FindingStatus.confirmed
    db.session.commit()
    url = f"{API}/inspections/{inspection.id}/publish"
    body = {"missing_photos_reason": "照片由检查组线下移交"}
    results = overlapping(app, office.token, lambda c: c.post(url, json=body))
    assert sorted(status for status, _ in results) == [200] * COPIES, results
    assert all(answer == results[0][1] for _, answer in results)
    assert events("inspection", inspection.id, "publish") == 1
    assert db.session.scalar(select(func.count()).select_from(RectificationTask)) == 2


# -- different writes to one record -------------------------------------------------------


def _finding_etags(office, inspection: Inspection) -> dict[int, str]:
    return {f.id: office.get(f"{API}/findings/{f.id}").headers["ETag"] for f in inspection.findings}


def test_two_findings_of_one_inspection_reviewed_at_once_both_stand(
    app, visit, inspector, office, second_office
):
    inspection = submitted(visit, inspector, _two_failures(), photos=_photos())
    (a, tag_a), (b, tag_b) = _finding_etags(office, inspection).items()
    results = together(
        app,
        [
            (office.token, lambda c: c.patch(
                f"{API}/findings/{a}", json={"status": "confirmed"}, headers={"If-Match": tag_a}
            )),
            (second_office.token, lambda c: c.patch(
                f"{API}/findings/{b}", json={"status": "confirmed"}, headers={"If-Match": tag_b}
            )),
        ],
    )  # fmt: skip
    assert [status for status, _ in results] == [200, 200], results
    db.session.expire_all()
    assert {f.status for f in db.session.get(Inspection, inspection.id).findings} == {
        FindingStatus.confirmed
    }


def test_one_finding_reviewed_by_two_at_once_takes_one_review(
    app, visit, inspector, office, second_office
):
    inspection = submitted(visit, inspector, _two_failures(), photos=_photos())
    finding, tag = next(iter(_finding_etags(office, inspection).items()))
    dismiss = {"status": "dismissed", "reason": "现场照片显示并无此问题"}
    results = together(
        app,
        [
            (office.token, lambda c: c.patch(
                f"{API}/findings/{finding}", json={"status": "confirmed"}, headers={"If-Match": tag}
            )),
            (second_office.token, lambda c: c.patch(
                f"{API}/findings/{finding}", json=dismiss, headers={"If-Match": tag}
            )),
        ],
    )  # fmt: skip
    no_server_error(results)
    statuses = sorted(status for status, _ in results)
    assert statuses[0] == 200, results
    assert statuses[1] in (409, 412), results
    winner = next(body for status, body in results if status == 200)
    db.session.expire_all()
    assert db.session.get(Finding, finding).status == winner["status"]
    assert events("finding", finding, "review") == 1


def test_a_review_racing_the_publication_is_in_the_task_or_refused(
    app, visit, inspector, office, second_office
):
    inspection = submitted(visit, inspector, _two_failures(), photos=_photos())
    for f in inspection.findings:
        f.status = FindingStatus.confirmed
    db.session.commit()
    finding, tag = next(iter(_finding_etags(office, inspection).items()))
    change = {"severity": "severe", "deadline_days": 3, "reason": "复核认定情节严重"}
    results = together(
        app,
        [
            (office.token, lambda c: c.post(
                f"{API}/inspections/{inspection.id}/publish",
                json={"missing_photos_reason": "照片由检查组线下移交"},
            )),
            (second_office.token, lambda c: c.patch(
                f"{API}/findings/{finding}", json=change, headers={"If-Match": tag}
            )),
        ],
    )  # fmt: skip
    no_server_error(results)
    (published, _), (reviewed, _) = results
    assert published == 200
    db.session.expire_all()
    stored = db.session.get(Finding, finding)
    task = db.session.scalar(
        select(RectificationTask).where(RectificationTask.finding_id == finding)
    )
    if reviewed == 200:  # the review went first: the task carries it
        assert (stored.severity, task.severity) == ("severe", "severe")
    else:  # the publication went first: the finding was no longer open to review
        assert reviewed == 409
        assert stored.severity == task.severity != "severe"


def test_concurrent_redraws_leave_one_current_draw(app, world, inspector, make_user, office):
    publish_checklist()
    units = [world.unit_a, world.unit_b]
    plan = make_plan(units, [inspector, make_user(Role.inspector)], team_size=1)
    db.session.commit()
    assert office.post(f"{API}/plans/{plan.id}/draws", json={"seed": "first"}).status_code == 201
    url = f"{API}/plans/{plan.id}/draws"
    results = overlapping(
        app, office.token, lambda c: c.post(url, json={"reason": "检查人员调整需要重新抽取"})
    )
    no_server_error(results)
    assert all(status == 201 for status, _ in results), results  # each a draw, in turn
    db.session.expire_all()
    current = db.session.scalars(select(Draw).where(Draw.plan_id == plan.id, Draw.current)).all()
    assert len(current) == 1
    visits = db.session.scalars(select(Visit).where(Visit.plan_id == plan.id)).all()
    assert len(visits) == len(units)
    assert {v.draw_id for v in visits} == {current[0].id}


def _window(days: int, hour: int) -> dict:
    """A one-hour window `days` from today, local time."""
    start = datetime.combine(local(utcnow()).date() + timedelta(days=days), time(hour), DISPLAY_TZ)
    end = start + timedelta(hours=1)
    return {"window_start": start.isoformat(), "window_end": end.isoformat()}


def test_two_reassignments_with_one_if_match_take_one(app, visit, office, second_office):
    url = f"{API}/visits/{visit.id}"
    tag = office.get(url).headers["ETag"]
    moves = [
        _window(1, 10) | {"reason": "单位临时调整办公"},
        _window(2, 15) | {"reason": "检查组另有任务"},
    ]
    results = together(
        app,
        [
            (who.token, lambda c, move=move: c.patch(url, json=move, headers={"If-Match": tag}))
            for who, move in zip((office, second_office), moves, strict=True)
        ],
    )
    no_server_error(results)
    assert sorted(status for status, _ in results) == [200, 412], results
    winner = next(body for status, body in results if status == 200)
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert stored.window_start == datetime.fromisoformat(winner["window_start"])
    assert events("visit", visit.id, "reassign") == 1


def _check_in_body(visit: Visit) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(visit.unit),
    }


def test_a_check_in_racing_a_reassignment_is_in_the_window_that_stands(
    app, visit, inspector, office, client_for
):
    body, url = _check_in_body(visit), f"{API}/visits/{visit.id}"
    tag = office.get(url).headers["ETag"]
    move = _window(2, 10) | {"reason": "单位临时调整办公"}
    results = together(
        app,
        [
            (client_for(inspector).token, lambda c: c.post(f"{API}/inspections", json=body)),
            (office.token, lambda c: c.patch(url, json=move, headers={"If-Match": tag})),
        ],
    )
    no_server_error(results)
    (checked_in, _), (reassigned, moved) = results
    db.session.expire_all()
    stored = db.session.get(Visit, body["visit_id"])
    inspections = db.session.scalars(select(Inspection)).all()
    if checked_in == 201:  # the check-in went first: the visit has started, no reassignment
        assert reassigned == 409
        assert stored.status == VisitStatus.in_progress
        assert stored.window_start != datetime.fromisoformat(move["window_start"])
    else:  # the reassignment went first: the visit is not yet shown to its team
        assert (checked_in, reassigned) == (422, 200), results
        assert inspections == []
        assert stored.window_start == datetime.fromisoformat(moved["window_start"])


def test_a_check_in_racing_a_redraw_is_on_a_visit_of_the_current_draw(
    app, visit, inspector, office, client_for
):
    body, plan_id = _check_in_body(visit), visit.plan_id
    redraw = {"reason": "检查人员调整需要重新抽取"}
    results = together(
        app,
        [
            (client_for(inspector).token, lambda c: c.post(f"{API}/inspections", json=body)),
            (office.token, lambda c: c.post(f"{API}/plans/{plan_id}/draws", json=redraw)),
        ],
    )
    no_server_error(results)
    (checked_in, _), (redrawn, _) = results
    assert (checked_in, redrawn) != (422, 409)
    db.session.expire_all()
    current = db.session.scalar(select(Draw).where(Draw.plan_id == plan_id, Draw.current))
    (stored,) = db.session.scalars(select(Visit).where(Visit.plan_id == plan_id)).all()
    assert stored.draw_id == current.id  # the redraw replaced the visit, or never happened
    inspections = db.session.scalars(select(Inspection)).all()
    assert [i.visit_id for i in inspections] == ([stored.id] if checked_in == 201 else [])
    if redrawn == 409:  # the check-in went first: its visit stays
        assert (checked_in, stored.id, current.number) == (201, body["visit_id"], 1)
    assert stored.status == (VisitStatus.in_progress if inspections else VisitStatus.planned)


def test_binding_codes_issued_at_once_leave_one_live(app, world, office):
    person = world.users[Role.unit_staff]
    url = f"{API}/users/{person.id}/binding-codes"
    results = overlapping(app, office.token, lambda c: c.post(url))
    no_server_error(results)
    assert all(status == 201 for status, _ in results), results
    db.session.expire_all()
    live = db.session.scalar(
        select(func.count()).where(
            BindingCode.user_id == person.id,
            BindingCode.used_at.is_(None),
            BindingCode.revoked_at.is_(None),
            BindingCode.expires_at > utcnow(),
        )
    )
    assert live == 1
    last = max(results, key=lambda r: r[1]["expires_at"])[1]
    assert last["code"]


def _console_on(app, user, inspection_id: int):
    """A console client signed in as `user`, and the CSRF token of the inspection's page."""
    client = _console_client(app, user)
    page = client.get(f"/console/inspections/{inspection_id}").get_data(as_text=True)
    return client, re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


# -- a write overtaken by another: 409, never a 500 ---------------------------------------


@pytest.mark.parametrize("copies", [2, 10])
def test_edits_overtaken_by_an_edit_are_refused_not_a_server_error(app, world, office, copies):
    tag = office.get(f"{API}/units/{world.unit_a.id}").headers["ETag"]
    results = together(
        app,
        [
            (office.token, lambda c, n=n: c.patch(
                f"{API}/units/{world.unit_a.id}", json={"address": f"新地址 {n} 号"},
                headers={"If-Match": tag},
            ))
            for n in range(copies)
        ],
    )  # fmt: skip
    no_server_error(results)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 1, results
    assert set(statuses) <= {200, 409, 412}
    refused = [body for status, body in results if status == 409]
    assert all(body["type"] == "urn:problem:concurrent-change" for body in refused), refused


def test_console_reviews_sent_at_once_all_answer_the_page(app, visit, inspector, world):
    inspection = submitted(visit, inspector, _two_failures(), photos=_photos())
    finding_id, version = inspection.findings[0].id, inspection.findings[0].version
    inspection_id, office = inspection.id, admin()
    db.session.commit()

    clients = [_console_on(app, office, inspection_id) for _ in range(10)]
    barrier = threading.Barrier(len(clients))

    def one(pair):
        client, csrf = pair
        barrier.wait(30)
        return client.post(
            f"/console/findings/{finding_id}/review",
            data={"csrf_token": csrf, "decision": "confirm", "version": str(version)},
        ).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        statuses = list(pool.map(one, clients))
    assert statuses == [303] * len(clients), statuses
    db.session.expire_all()
    assert db.session.get(Finding, finding_id).status == FindingStatus.confirmed
    assert events("finding", finding_id, "review") == 1


def test_console_bulk_reviews_overlapping_on_a_finding_take_one_form(
    app, visit, inspector, make_user
):
    """Two offices' 确认所选 / 不予认定所选 forms, sent at once, sharing one finding: one
    form stands whole, the other is refused whole (all in one transaction), and the shared
    finding has one review."""
    answers = _two_failures() | {"dress.badge": FAIL}
    inspection = submitted(visit, inspector, answers, photos=_photos())
    a, b, c = sorted((f.id, f.version) for f in inspection.findings)
    inspection_id = inspection.id
    users = [admin(), make_user(Role.office_admin)]
    db.session.commit()
    forms = [
        {"decision": "confirm", "finding": [a[0], b[0]], "reason": ""},
        {"decision": "dismiss", "finding": [b[0], c[0]], "reason": "现场照片显示并无此问题"},
    ]
    for form, chosen in zip(forms, ([a, b], [b, c]), strict=True):
        form |= {f"version-{ident}": str(version) for ident, version in chosen}
        form["client_id"] = str(uuid.uuid4())

    clients = [_console_on(app, user, inspection_id) for user in users]
    barrier = threading.Barrier(2)

    def one(pair):
        (client, csrf), form = pair
        barrier.wait(30)
        url = f"/console/inspections/{inspection_id}/findings/review"
        return client.post(url, data=form | {"csrf_token": csrf}).status_code

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(one, zip(clients, forms, strict=True))) == [303, 303]
    db.session.expire_all()
    statuses = [db.session.get(Finding, ident).status for ident, _ in (a, b, c)]
    assert statuses in (
        [FindingStatus.confirmed, FindingStatus.confirmed, FindingStatus.pending],
        [FindingStatus.pending, FindingStatus.dismissed, FindingStatus.dismissed],
    ), statuses
    assert events("finding", b[0], "review") == 1
