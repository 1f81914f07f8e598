"""Bulk work in the console (issue 15, point 12): confirm or dismiss several findings of
one inspection with one reason, and accept several opened replies from the task list.

Each object goes through the same service as on its own page (its own version check and
audit event); one refusal and nothing is applied, and the page says which object and why.
"""

from __future__ import annotations

import html
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import Role
from core.audit import AuditEvent
from core.db import db
from inspections.models import Finding, FindingStatus, VisitKind
from rectification.models import RectificationTask, ReplyView, TaskStatus
from tests.console.conftest import ConsoleClient
from tests.console.support import FAILING, inspection_to_review, responded_task
from tests.inspection_helpers import PHOTOS, make_visit, submitted

REASON = "复核照片后确认符合要求"


@pytest.fixture
def to_review(world):
    return inspection_to_review(world)


def findings_of(inspection) -> list[Finding]:
    db.session.expire_all()
    stmt = select(Finding).where(Finding.inspection_id == inspection.id).order_by(Finding.id)
    return list(db.session.scalars(stmt))


def review_events(ids) -> int:
    return db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.entity_type == "finding",
            AuditEvent.entity_id.in_(ids),
            AuditEvent.action == "review",
        )
    )


def accept_events(ids) -> int:
    return db.session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.entity_type == "rectification_task",
            AuditEvent.entity_id.in_(ids),
            AuditEvent.action == "accept",
        )
    )


def bulk_findings(findings, decision: str, reason: str = "", **versions) -> dict:
    """The form as the page sends it: its own client id (a resend repeats it)."""
    form = {"decision": decision, "reason": reason, "finding": [str(f.id) for f in findings]}
    form["client_id"] = str(uuid.uuid4())
    return form | {f"version-{f.id}": str(versions.get(str(f.id), f.version)) for f in findings}


def followed(console, response) -> str:
    assert response.status_code == 303, response.status_code
    return html.unescape(console.get(response.headers["Location"]).get_data(as_text=True))


# -- several findings at once ----------------------------------------------------------------


def test_the_review_page_offers_a_box_per_finding_and_one_bar(office_console, to_review):
    page = office_console.get(f"/console/inspections/{to_review.id}").get_data(as_text=True)
    assert 'id="bulk-findings"' in page
    for finding in findings_of(to_review):
        assert f'name="finding" value="{finding.id}" form="bulk-findings"' in page
        assert f'name="version-{finding.id}" value="{finding.version}"' in page
    assert "确认所选" in page
    assert "不予认定所选" in page


def test_dismissing_two_findings_with_one_reason_writes_two_events(office_console, to_review):
    findings = findings_of(to_review)
    assert len(findings) == 2
    url = f"/console/inspections/{to_review.id}/findings/review"
    page = followed(
        office_console, office_console.post(url, bulk_findings(findings, "dismiss", REASON))
    )
    assert "已不予认定所选 2 个问题" in page
    after = findings_of(to_review)
    assert [f.status for f in after] == [FindingStatus.dismissed] * 2
    assert {f.reason for f in after} == {REASON}
    assert review_events([f.id for f in after]) == 2
    assert page.count(f"（{REASON}）") >= 2  # the history names each finding's review


def test_confirming_two_findings_writes_two_events(office_console, to_review):
    findings = findings_of(to_review)
    url = f"/console/inspections/{to_review.id}/findings/review"
    page = followed(office_console, office_console.post(url, bulk_findings(findings, "confirm")))
    assert "已确认所选 2 个问题" in page
    assert [f.status for f in findings_of(to_review)] == [FindingStatus.confirmed] * 2
    assert review_events([f.id for f in findings]) == 2


def test_a_resent_bulk_review_is_a_replay(office_console, to_review, world):
    """The browser resends the form (a second click, 重新提交): the same answer as the
    first copy, nothing reviewed twice; the page drawn afterwards carries a new id, and
    another person's copy of the id is refused."""
    findings = findings_of(to_review)
    url = f"/console/inspections/{to_review.id}/findings/review"
    page = office_console.get(f"/console/inspections/{to_review.id}").get_data(as_text=True)
    shown = re.search(r'name="client_id" value="([0-9a-f-]{36})"', page).group(1)
    form = bulk_findings(findings, "dismiss", REASON) | {"client_id": shown}
    first = office_console.post(url, form)
    again = office_console.post(url, form)  # versions now stale: without the id, a 409
    assert first.headers["Location"] == again.headers["Location"]
    assert "已不予认定所选 2 个问题" in followed(office_console, again)
    assert review_events([f.id for f in findings]) == 2
    assert [f.status for f in findings_of(to_review)] == [FindingStatus.dismissed] * 2
    redrawn = office_console.get(f"/console/inspections/{to_review.id}").get_data(as_text=True)
    assert shown not in redrawn
    # without an id, or with one another form used, nothing happens
    other = responded_task(world)
    office_console.get(f"/console/tasks/{other.id}")
    reused = bulk_accept([other]) | {"client_id": shown}
    page = followed(office_console, office_console.post("/console/tasks/accept", reused))
    assert "该表单已用于其他操作" in page
    assert tasks_of(other)[0].status == TaskStatus.responded
    missing = bulk_accept([other]) | {"client_id": ""}
    page = followed(office_console, office_console.post("/console/tasks/accept", missing))
    assert "页面已过期，请刷新后重试" in page
    assert tasks_of(other)[0].status == TaskStatus.responded


def test_one_stale_version_applies_nothing_and_names_the_finding(office_console, to_review):
    first, second = findings_of(to_review)
    url = f"/console/inspections/{to_review.id}/findings/review"
    form = bulk_findings([first, second], "dismiss", REASON, **{str(second.id): second.version - 1})
    page = followed(office_console, office_console.post(url, form))
    refusal = re.search(r'<p class="refusal" role="alert">([^<]+)</p>', page).group(1)
    assert second.title in refusal
    assert "该记录刚被他人修改，请查看最新内容后重试" in refusal
    assert first.title not in refusal
    # The first finding, checked and reviewed before the second failed, is rolled back too.
    assert [f.status for f in findings_of(to_review)] == [FindingStatus.pending] * 2
    assert review_events([first.id, second.id]) == 0
    # The boxes come back ticked, the reason filled in.
    assert page.count('form="bulk-findings" data-bulk-item data-pending checked') == 2
    assert f'value="{REASON}"' in page


def test_a_dismissal_without_a_reason_is_refused_once_for_all(office_console, to_review):
    findings = findings_of(to_review)
    url = f"/console/inspections/{to_review.id}/findings/review"
    page = followed(
        office_console, office_console.post(url, bulk_findings(findings, "dismiss", "n"))
    )
    assert "不予认定问题须说明理由（理由：请用一句话说明理由，至少 4 个字）" in page
    assert [f.status for f in findings_of(to_review)] == [FindingStatus.pending] * 2


def test_nothing_ticked_is_refused(office_console, to_review):
    url = f"/console/inspections/{to_review.id}/findings/review"
    page = followed(
        office_console,
        office_console.post(url, {"decision": "confirm", "client_id": str(uuid.uuid4())}),
    )
    assert "请至少勾选一项" in page


def test_a_published_inspection_is_refused_naming_the_finding(office_console, to_review):
    findings = findings_of(to_review)
    url = f"/console/inspections/{to_review.id}/findings/review"
    followed(office_console, office_console.post(url, bulk_findings(findings, "confirm")))
    db.session.refresh(to_review)
    published = office_console.post(
        f"/console/inspections/{to_review.id}/publish",
        {"version": str(to_review.version), "missing_photos_reason": "照片另行存档"},
    )
    assert "检查结果已公开给被检查单位" in followed(office_console, published)
    again = bulk_findings(findings_of(to_review), "dismiss", REASON)
    page = followed(office_console, office_console.post(url, again))
    assert "：检查结果已公开，问题不能再修改" in page
    assert [f.status for f in findings_of(to_review)] == [FindingStatus.confirmed] * 2


def test_a_finding_of_another_inspection_is_refused_as_missing(office_console, to_review, world):
    other = inspection_to_review(world)
    mine, theirs = findings_of(to_review)[0], findings_of(other)[0]
    url = f"/console/inspections/{to_review.id}/findings/review"
    response = office_console.post(url, bulk_findings([mine, theirs], "confirm"))
    assert response.status_code == 404
    assert findings_of(to_review)[0].status == FindingStatus.pending


def test_a_scoped_office_gets_404_for_another_regions_inspection(console, world):
    """An office bound to unit A's region: unit B's inspection, and unit B's findings
    slipped into a form for its own inspection, look missing; nothing changes."""
    own = inspection_to_review(world)  # publishes the checklist both use
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_b, [inspector], kind=VisitKind.announced, starts_in_days=-1)
    refs = {code: [str(uuid.uuid4())] for code in ("dress.uniform", "smoke.none")}
    foreign = submitted(visit, inspector, FAILING, photos=PHOTOS | refs)
    db.session.commit()
    console.sign_in(world.scoped_offices[Role.office_admin].username)
    theirs = findings_of(foreign)
    url = f"/console/inspections/{foreign.id}/findings/review"
    assert console.post(url, bulk_findings(theirs, "confirm")).status_code == 404
    mixed = findings_of(own)[:1] + theirs[:1]
    own_url = f"/console/inspections/{own.id}/findings/review"
    assert console.post(own_url, bulk_findings(mixed, "confirm")).status_code == 404
    assert {f.status for f in findings_of(foreign) + findings_of(own)} == {FindingStatus.pending}


def test_a_viewer_may_not_review_in_bulk(console, world, to_review):
    console.sign_in(world.users[Role.viewer].username)
    page = console.get(f"/console/inspections/{to_review.id}").get_data(as_text=True)
    assert 'id="bulk-findings"' not in page
    url = f"/console/inspections/{to_review.id}/findings/review"
    assert console.post(url, bulk_findings(findings_of(to_review), "confirm")).status_code == 403


# -- several replies at once -----------------------------------------------------------------


def tasks_of(*tasks) -> list[RectificationTask]:
    db.session.expire_all()
    return [db.session.get(RectificationTask, t.id) for t in tasks]


def bulk_accept(tasks, **versions) -> dict:
    form = {"task": [str(t.id) for t in tasks], "client_id": str(uuid.uuid4())}
    return form | {f"version-{t.id}": str(versions.get(str(t.id), t.version)) for t in tasks}


@pytest.fixture
def replies(world):
    return responded_task(world), responded_task(world)


def test_opening_a_task_page_records_the_reply_as_opened(office_console, replies, world):
    first = replies[0]
    page = office_console.get("/console/tasks?view=responded").get_data(as_text=True)
    assert page.count("data-unopened") == 2
    assert "data-opened" not in page
    assert f'name="task" value="{first.id}" form="bulk-accept" data-bulk-item disabled' in page
    office_console.get(f"/console/tasks/{first.id}")
    office_console.get(f"/console/tasks/{first.id}")  # twice: still one row
    views = db.session.scalars(select(ReplyView)).all()
    assert [(v.reply_id, v.user_id) for v in views] == [
        (first.replies[-1].id, world.users[Role.office_admin].id)
    ]
    page = office_console.get("/console/tasks?view=responded").get_data(as_text=True)
    assert page.count("data-opened") == 1
    assert page.count("data-unopened") == 1
    assert f'name="task" value="{first.id}" form="bulk-accept" data-bulk-item>' in page


def test_accepting_two_opened_replies_closes_both_with_an_event_each(office_console, replies):
    for task in replies:
        office_console.get(f"/console/tasks/{task.id}")
    url = "/console/tasks/accept?view=responded"
    response = office_console.post(url, bulk_accept(replies))
    assert response.headers["Location"].endswith("/console/tasks?view=responded#bulk-accept")
    page = followed(office_console, response)
    assert "已复查通过所选 2 个任务，均已销号" in page
    assert [t.status for t in tasks_of(*replies)] == [TaskStatus.closed] * 2
    assert accept_events([t.id for t in replies]) == 2


def test_a_resent_bulk_acceptance_is_a_replay(office_console, replies):
    for task in replies:
        office_console.get(f"/console/tasks/{task.id}")
    page = office_console.get("/console/tasks?view=responded").get_data(as_text=True)
    assert 'name="client_id"' in page.split('id="bulk-accept"')[1].split("</form>")[0]
    form = bulk_accept(replies)
    first = office_console.post("/console/tasks/accept", form)
    again = office_console.post("/console/tasks/accept", form)
    assert first.headers["Location"] == again.headers["Location"]
    assert "已复查通过所选 2 个任务，均已销号" in followed(office_console, again)
    assert accept_events([t.id for t in replies]) == 2


def test_overlapping_copies_of_a_bulk_acceptance_act_once(app, office_console, replies):
    """A double click on a bad network: copies of one form posted at the same moment each
    answer as the first did (the same page, the same message), and the tasks are accepted
    once. Each copy is its own client with the signed-in session's cookie."""
    for task in replies:
        office_console.get(f"/console/tasks/{task.id}")
    form = bulk_accept(replies) | {"csrf_token": office_console.token}
    cookie = office_console.client.get_cookie("session")
    copies = 10
    barrier = threading.Barrier(copies)

    def one(_):
        client = app.test_client()
        client.set_cookie(cookie.key, cookie.value)
        barrier.wait(30)
        response = client.post("/console/tasks/accept", data=form)
        page = client.get(response.headers.get("Location", "/console/")).get_data(as_text=True)
        return response.status_code, response.headers.get("Location"), html.unescape(page)

    with ThreadPoolExecutor(copies) as pool:
        results = list(pool.map(one, range(copies)))
    assert {(status, where) for status, where, _ in results} == {(303, results[0][1])}
    for _, _, page in results:
        assert "已复查通过所选 2 个任务，均已销号" in page
        assert "任务刚被他人处理" not in page
    assert accept_events([t.id for t in replies]) == 2
    assert [t.status for t in tasks_of(*replies)] == [TaskStatus.closed] * 2


def test_the_worker_forgets_form_ids_after_a_week(office_console, replies, app):
    from console.common import FORM_IDS_KEPT, sweep_form_submissions
    from console.models import FormSubmission
    from core.clock import utcnow

    for task in replies:
        office_console.get(f"/console/tasks/{task.id}")
    office_console.post("/console/tasks/accept", bulk_accept(replies[:1]))
    office_console.post("/console/tasks/accept", bulk_accept(replies[1:]))
    old, new = db.session.scalars(select(FormSubmission).order_by(FormSubmission.created_at))
    old.created_at = utcnow() - FORM_IDS_KEPT - timedelta(minutes=1)
    db.session.commit()
    assert sweep_form_submissions in app.extensions["worker_jobs"]
    assert sweep_form_submissions() == {"form_ids_swept": 1}
    assert [s.client_id for s in db.session.scalars(select(FormSubmission))] == [new.client_id]
    assert sweep_form_submissions() is None


def test_a_refused_bulk_form_leaves_its_id_free(office_console, replies):
    """Refused (a reply not opened): nothing kept, so the same form once the replies are
    opened acts; it is not a replay of the refusal."""
    form = bulk_accept(replies)
    refused = followed(office_console, office_console.post("/console/tasks/accept", form))
    assert "已复查通过" not in refused
    for task in replies:
        office_console.get(f"/console/tasks/{task.id}")
    accepted = followed(office_console, office_console.post("/console/tasks/accept", form))
    assert "已复查通过所选 2 个任务，均已销号" in accepted
    assert [t.status for t in tasks_of(*replies)] == [TaskStatus.closed] * 2


def test_a_reply_not_opened_is_refused_and_nothing_is_accepted(office_console, replies):
    first, second = replies
    office_console.get(f"/console/tasks/{first.id}")
    page = followed(
        office_console, office_console.post("/console/tasks/accept", bulk_accept(replies))
    )
    refusal = re.search(r'<p class="refusal" role="alert">([^<]+)</p>', page).group(1)
    assert refusal == (
        f"任务「{second.title}」（{second.unit.name}）：尚未打开查看这条整改回复，请先查看后再批量通过"
    )
    assert [t.status for t in tasks_of(*replies)] == [TaskStatus.responded] * 2
    assert accept_events([t.id for t in replies]) == 0


def test_another_persons_opening_does_not_count(office_console, replies, app, make_user):
    colleague = ConsoleClient(app.test_client())
    colleague.sign_in(make_user(Role.office_admin).username)
    for task in replies:
        colleague.get(f"/console/tasks/{task.id}")
    page = followed(
        office_console, office_console.post("/console/tasks/accept", bulk_accept(replies))
    )
    assert "尚未打开查看这条整改回复" in page
    assert [t.status for t in tasks_of(*replies)] == [TaskStatus.responded] * 2


def test_a_stale_task_version_applies_nothing(office_console, replies):
    second = replies[1]
    for task in replies:
        office_console.get(f"/console/tasks/{task.id}")
    form = bulk_accept(replies, **{str(second.id): second.version - 1})
    page = followed(office_console, office_console.post("/console/tasks/accept", form))
    assert f"任务「{second.title}」（{second.unit.name}）：该记录刚被他人修改" in page
    assert [t.status for t in tasks_of(*replies)] == [TaskStatus.responded] * 2


def test_a_scoped_office_gets_404_for_another_regions_task(console, world):
    own = responded_task(world)
    foreign = responded_task(world, unit=world.unit_b, staff=world.unit_staff_b)
    console.sign_in(world.scoped_offices[Role.office_admin].username)
    console.get(f"/console/tasks/{own.id}")
    assert console.get(f"/console/tasks/{foreign.id}").status_code == 404
    response = console.post("/console/tasks/accept", bulk_accept([own, foreign]))
    assert response.status_code == 404
    assert [t.status for t in tasks_of(own, foreign)] == [TaskStatus.responded] * 2


def test_a_viewer_opens_but_may_not_accept(console, world, replies):
    console.sign_in(world.users[Role.viewer].username)
    console.get(f"/console/tasks/{replies[0].id}")
    assert db.session.scalar(select(func.count(ReplyView.id))) == 0  # viewers never accept
    assert 'id="bulk-accept"' not in console.get("/console/tasks").get_data(as_text=True)
    assert console.post("/console/tasks/accept", bulk_accept(replies)).status_code == 403
