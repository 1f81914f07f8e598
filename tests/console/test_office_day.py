"""An office's day in the console, server side: dashboard figures that equal the lists they
open, refusals beside the refused form with what was typed, reasons that are sentences,
Chinese labels and item numbers instead of codes, a rejected task's new round and
deadline, and demo data that looks like office hours."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from accounts.models import Role, User
from checklists.content import item_labels
from core.clock import local, utcnow
from core.db import db
from inspections.models import Finding, FindingStatus, Inspection, InspectionStatus
from media.models import Photo
from rectification.models import RectificationTask, TaskStatus
from reports import rollups
from tests.conftest import assert_problem
from tests.console.support import (
    assert_by_score_unscored_last,
    inspection_to_review,
    replies_old_and_reused,
    responded_task,
)

FIGURE = re.compile(
    r'<a class="figure[^"]*" href="([^"]+)">\s*<span class="value">([^<]+)</span>'
    r'<span class="label">([^<]+)</span>'
)
TOTAL = re.compile(r"共 (\d+) 条")


def list_total(console, link: str) -> int:
    page = console.get(html.unescape(link)).get_data(as_text=True)
    found = TOTAL.findall(page)
    assert len(found) == 1, link
    return int(found[0])


@pytest.fixture
def demo(demo_city):
    """The demo city (`flask demo`'s rows and photos)."""


def _age_some_rows() -> None:
    """Move one inspection of each status, and some tasks, back a year and a half: the
    periods then really differ (the demo's rows are all from the last weeks)."""
    long_ago = utcnow() - timedelta(days=550)
    for status in (InspectionStatus.submitted, InspectionStatus.published):
        first = db.session.scalar(
            select(Inspection.id).where(Inspection.status == status).order_by(Inspection.id)
        )
        db.session.execute(
            update(Inspection).where(Inspection.id == first).values(started_at=long_ago)
        )
    for status in TaskStatus:
        first = db.session.scalar(
            select(RectificationTask.id)
            .where(RectificationTask.status == status)
            .order_by(RectificationTask.id)
        )
        if first:
            db.session.execute(
                update(RectificationTask)
                .where(RectificationTask.id == first)
                .values(created_at=long_ago)
            )
    # Core updates pass by the rollups' hook: rebuild them, as after any bulk load.
    rollups.rebuild()
    db.session.commit()


@pytest.mark.parametrize("role", [Role.office_admin, Role.lead_unit_staff])
def test_every_dashboard_figure_equals_the_total_of_the_list_it_opens(demo, console, role):
    _age_some_rows()
    username = db.session.scalar(
        select(User.username).where(User.role == role).order_by(User.id).limit(1)
    )
    assert console.sign_in(username).status_code == 302
    seen: dict[str, dict[str, str]] = {}
    for period in ("month", "quarter", "year"):
        page = console.get(f"/console/?period={period}").get_data(as_text=True)
        figures = FIGURE.findall(page)
        if role == Role.office_admin:
            labels = {label for _, _, label in figures}
            assert {"待审核", "待整改任务", "待复查", "逾期未销号", "延期待审批"} <= labels
            assert any(label.endswith("检查") for label in labels)
        for link, value, label in figures:
            assert list_total(console, link) == int(value), (period, label, link)
            if label != "在册窗口单位":
                assert "date_from=" in link, label  # the list opens on the same period
        seen[period] = {label: value for _, value, label in figures}
    if role == Role.office_admin:
        # Rows from a year and a half ago count in no period: the figures are the period's.
        everything = list_total(console, "/console/inspections?status=all")
        assert int(seen["year"]["本年检查"]) < everything


def test_the_lists_take_a_date_range(office_console, world):
    inspection = inspection_to_review(world)
    task = responded_task(world)
    today = local(utcnow()).date()
    tomorrow = today + timedelta(days=1)
    queue = "/console/inspections?status=all"
    assert list_total(office_console, f"{queue}&date_from={today - timedelta(days=2)}") >= 1
    assert list_total(office_console, f"{queue}&date_from={tomorrow}") == 0
    assert list_total(office_console, f"{queue}&date_to={today - timedelta(days=30)}") == 0
    page = office_console.get(f"{queue}&date_from={today}").get_data(as_text=True)
    assert f'name="date_from" value="{today}"' in page  # the form says what is shown
    assert local(inspection.started_at).strftime("%Y-%m-%d") in page  # the visit's day
    tasks = "/console/tasks?view=all"
    assert list_total(office_console, f"{tasks}&date_from={today}") >= 1
    assert list_total(office_console, f"{tasks}&date_from={tomorrow}") == 0
    assert list_total(office_console, f"{tasks}&date_to={today}") >= 1
    assert task.id


# -- refusals at the form, with what was sent ------------------------------------------------


def _finding(inspection, code="dress.uniform") -> Finding:
    db.session.expire_all()
    return db.session.scalar(
        select(Finding).where(Finding.inspection_id == inspection.id, Finding.item_code == code)
    )


def _refusal(page: str) -> str:
    match = re.search(r'<p class="refusal" role="alert">([^<]+)</p>', page)
    assert match, "no refusal beside a form"
    return match.group(1)


def test_a_refused_dismissal_is_shown_at_its_form_with_what_was_typed(office_console, world):
    inspection = inspection_to_review(world)
    finding = _finding(inspection)
    response = office_console.post(
        f"/console/findings/{finding.id}/review",
        {
            "decision": "dismiss",
            "version": finding.version,
            "severity": "severe",
            "deadline_days": "9",
            "reason": "n",
        },
    )
    assert response.headers["Location"].endswith(f"#finding-{finding.id}")
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    message = _refusal(page)
    assert "理由：请用一句话说明理由，至少 4 个字" in message
    assert "reason" not in message
    form = page[page.index(f'action="/console/findings/{finding.id}/review"') :]
    form = form[: form.index("</form>")]
    assert '<option value="severe" selected>' in form
    assert 'name="deadline_days" inputmode="numeric" size="3" value="9"' in form
    assert 'name="reason" maxlength="500"' in form
    assert 'value="n"' in form
    assert _finding(inspection).status == FindingStatus.pending
    # Shown once: a reload is the page as stored.
    again = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="refusal"' not in again


def test_a_stale_page_keeps_the_reason_typed(office_console, world):
    inspection = inspection_to_review(world)
    finding = _finding(inspection)
    reason = "照片显示为室外吸烟区，不在服务区域内"
    response = office_console.post(
        f"/console/findings/{finding.id}/review",
        {"decision": "dismiss", "version": finding.version - 1, "reason": reason},
    )
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "刚被他人修改" in _refusal(page)
    assert f'value="{reason}"' in page
    # Sent again from the refreshed form (its version is current), it goes through.
    response = office_console.post(
        f"/console/findings/{finding.id}/review",
        {"decision": "dismiss", "version": finding.version, "reason": reason},
    )
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "已不予认定问题" in page
    assert _finding(inspection).status == FindingStatus.dismissed


def test_a_reason_is_a_sentence_in_the_api_too(world, client_for):
    inspection = inspection_to_review(world)
    office = client_for(world.users[Role.office_admin])
    url = f"/api/v1/findings/{_finding(inspection).id}"
    etag = office.get(url).headers["ETag"]
    for short in ("n", "  ok  ", "不行"):
        body = assert_problem(
            office.patch(
                url, json={"status": "dismissed", "reason": short}, headers={"If-Match": etag}
            ),
            422,
        )
        assert body["errors"]["reason"] == ["请用一句话说明理由，至少 4 个字"]
    done = office.patch(
        url, json={"status": "dismissed", "reason": "照片模糊"}, headers={"If-Match": etag}
    )
    assert done.status_code == 200


# -- a rejected task: its new round, and a new deadline ---------------------------------------


def test_rejecting_sets_a_new_deadline_and_the_page_shows_the_current_round(office_console, world):
    task = responded_task(world)
    old_due = task.due_on
    new_due = local(utcnow()).date() + timedelta(days=20)
    refused = office_console.post(
        f"/console/tasks/{task.id}/verify",
        {"decision": "reject", "version": task.version, "reason": "n", "due_on": str(new_due)},
    )
    assert refused.headers["Location"].endswith("#verify")
    page = office_console.get(refused.headers["Location"]).get_data(as_text=True)
    assert "理由：请用一句话说明理由" in _refusal(page)
    assert f'name="due_on" value="{new_due}"' in page  # kept for the second try
    response = office_console.post(
        f"/console/tasks/{task.id}/verify",
        {
            "decision": "reject",
            "version": task.version,
            "reason": "整改照片看不到禁烟标识",
            "due_on": str(new_due),
        },
    )
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(RectificationTask, task.id)
    assert (stored.status, stored.round, stored.due_on) == (TaskStatus.open, 2, new_due)
    assert f"<strong>{new_due}</strong>" in page
    assert f"期限 {old_due} → {new_due}" in page  # in the trail
    head = page[page.index("整改前后对比") : page.index("整改回复记录")]
    assert "第 2 轮" in head
    assert "第 1 轮回复已退回，单位尚未提交第 2 轮整改" in head
    assert "已张贴禁烟标识" not in head  # the rejected reply is in the history, not here


def test_a_new_deadline_must_be_later_than_today(world, client_for):
    task = responded_task(world)
    office = client_for(world.users[Role.office_admin])
    url = f"/api/v1/rectification/tasks/{task.id}/verification"
    today = local(utcnow()).date()
    body = {"decision": "reject", "reason": "整改照片看不清", "due_on": str(today)}
    assert "due_on" in assert_problem(office.post(url, json=body), 422)["errors"]
    body["due_on"] = str(today + timedelta(days=5))
    done = office.post(url, json=body)
    assert done.status_code == 200
    assert done.get_json()["due_on"] == body["due_on"]
    assert done.get_json()["review"]["round"] == 2
    assert done.get_json()["review"]["after"] == []


# -- words ------------------------------------------------------------------------------------


def test_items_read_as_number_and_title_and_deadlines_state_their_unit(office_console, world):
    inspection = inspection_to_review(world)
    page = office_console.get(f"/console/inspections/{inspection.id}").get_data(as_text=True)
    labels = item_labels(inspection.checklist_version.content)
    assert labels["dress.uniform"] == "1.1 工作人员统一着装"
    assert "1.1</span> 工作人员统一着装" in page
    assert "<code>dress.uniform</code>" not in page
    assert "期限（工作日）" in page
    assert "不予认定" in page
    assert ">驳回<" not in page
    task = responded_task(world)
    task_page = office_console.get(f"/console/tasks/{task.id}").get_data(as_text=True)
    assert "个工作日" in task_page


def test_login_keeps_the_username_and_the_header_names_the_role_once(console, world):
    admin = world.users[Role.office_admin]
    console.get("/console/login")
    page = console.post(
        "/console/login", {"username": admin.username, "password": "wrong-password"}
    ).get_data(as_text=True)
    assert f'value="{admin.username}"' in page
    console.sign_in(admin.username)
    page = console.get("/console/").get_data(as_text=True)
    assert f"{admin.display_name} <span" in page
    assert f"{admin.display_name}（" not in page


def test_units_by_sector_is_sorted_by_count(office_console, world, make_unit):
    for _ in range(3):  # the sector with the larger id has the most units
        make_unit(sector_id=world.sector_b.id, region_id=world.unit_b.region_id)
    db.session.commit()
    page = office_console.get("/console/").get_data(as_text=True)
    chart = page[page.index('aria-label="各行业领域窗口单位数"') :]
    chart = chart[: chart.index("</svg>")]
    counts = [int(n) for n in re.findall(r">(\d+)个</text>", chart)]
    assert len(counts) >= 2
    assert counts == sorted(counts, reverse=True)
    assert re.search(r">([^<>]+)</text>", chart).group(1) == world.sector_b.name


# -- the demo: office hours, notes of what was seen -------------------------------------------


def test_demo_visits_and_photos_are_in_office_hours_with_real_notes(demo):
    started = db.session.scalars(
        select(Inspection.started_at).where(Inspection.started_at.is_not(None))
    ).all()
    assert started
    # Inside a drawn session of the unit's 办公时间, by day (a 24-hour hotline included).
    assert all(8 <= local(at).hour < 18 for at in started), sorted(
        {local(at).hour for at in started}
    )
    # On the visit's drawn day and session (a weekend only where the unit opens then).
    for inspection in db.session.scalars(
        select(Inspection).where(Inspection.visit_id.is_not(None))
    ):
        visit = inspection.visit
        assert visit.window_start <= inspection.started_at <= visit.window_end, inspection.id
    taken = [
        t
        for exif, client in db.session.execute(select(Photo.exif_taken_at, Photo.client_taken_at))
        for t in (exif, client)
        if t is not None
    ]
    assert taken
    # Daytime: the demo's one photo taken two hours before check-in may be early morning.
    assert all(6 <= local(t).hour < 19 for t in taken), sorted({local(t).hour for t in taken})
    failed = 0
    for inspection in db.session.scalars(select(Inspection)):
        labels = item_labels(inspection.checklist_version.content)
        for code, answer in (inspection.answers or {}).items():
            if answer.get("result") == "fail":
                failed += 1
                title = labels[code].split(" ", 1)[1]
                assert answer["note"], code
                assert title not in answer["note"], (code, answer)
                assert not answer["note"].startswith("现场发现：")
    assert failed


@pytest.mark.parametrize(
    ("opens", "closes", "expected"),
    [
        ((0, 0), (24, 0), ((9, 0), (17, 0))),  # round the clock: visited by day
        ((8, 30), (12, 0), ((9, 0), (12, 0))),
        ((14, 30), (17, 30), ((14, 30), (17, 0))),
        ((18, 0), (21, 0), ((18, 0), (21, 0))),  # an evening session only: as drawn
    ],
)
def test_demo_visits_fall_in_the_daytime_part_of_their_session(opens, closes, expected):
    """The demo's check-in time lies in the visit's session and, where the session allows,
    between 09:00 and 17:00: hotline units (每天 00:00-24:00) were visited at 04:48."""
    from datetime import date, datetime, time

    from core.clock import DISPLAY_TZ
    from inspections.demo import _daytime
    from inspections.models import Visit

    day = date(2026, 12, 3)

    def at(hour: int, minute: int) -> datetime:
        return datetime.combine(day, time(0), tzinfo=DISPLAY_TZ) + timedelta(
            hours=hour, minutes=minute
        )

    visit = Visit(window_start=at(*opens), window_end=at(*closes))
    assert _daytime(visit) == (at(*expected[0]), at(*expected[1]))


# -- finding things: unit name, sort orders, reused after-photos ------------------------------


def _row_order(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/console/inspections/(\d+)"', page)]


def test_the_queue_finds_by_unit_name_and_sorts(office_console, world):
    flagged = inspection_to_review(world)  # a photo 5 km away: one flag
    world.inspections  # noqa: B018 - more inspections, at A and B, without flags
    queue = "/console/inspections?status=all"
    assert list_total(office_console, f"{queue}&q={world.unit_b.name}") >= 1
    assert list_total(office_console, f"{queue}&q=不存在的单位") == 0
    assert list_total(office_console, f"{queue}&q=%25") == 0  # a % is a character, not a wildcard
    named = office_console.get(f"{queue}&q={world.unit_b.name}").get_data(as_text=True)
    assert world.unit_a.name not in named.split("<tbody>")[1]
    by_flags = office_console.get(f"{queue}&sort=flags").get_data(as_text=True)
    assert _row_order(by_flags)[0] == flagged.id
    by_score = office_console.get(f"{queue}&sort=score").get_data(as_text=True)
    assert_by_score_unscored_last(_row_order(by_score))


def test_the_task_list_finds_by_unit_sorts_by_oldest_reply_and_marks_reused_photos(
    office_console, world
):
    earlier, later = replies_old_and_reused(world)
    tasks = "/console/tasks?view=responded"
    page = office_console.get(f"{tasks}&sort=reply").get_data(as_text=True)
    order = [int(i) for i in re.findall(r'href="/console/tasks/(\d+)"', page)]
    assert order.index(earlier.id) < order.index(later.id)
    row = page[page.index(f'href="/console/tasks/{later.id}"') :]
    assert "data-reused" in row[: row.index("</tr>")]
    row = page[page.index(f'href="/console/tasks/{earlier.id}"') :]
    assert "data-reused" not in row[: row.index("</tr>")]
    everything = "/console/tasks?view=all"
    assert list_total(office_console, f"{everything}&q={world.unit_b.name}") == 1
    assert list_total(office_console, f"{everything}&q={world.unit_a.name}") == 2
    assert list_total(office_console, f"{everything}&q=不存在的单位") == 0
