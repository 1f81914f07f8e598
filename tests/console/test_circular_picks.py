"""通报典型问题 picked on the review page (issue 14, point 3): marked and unmarked by an
office, shown on the rankings page beside 下载通报, and the circular of a period prints the
picks that fall in it (only they), falling back to the most severe finding of each unit."""

from __future__ import annotations

from sqlalchemy import func, select

from accounts.models import Role
from core.audit import AuditEvent
from core.db import db
from inspections.models import Finding, FindingStatus
from reports.models import CircularPick
from tests.inspection_helpers import ALL_PASS
from tests.report_support import (
    BADGE,
    CRITICAL,
    SMOKE,
    Scene,
    document,
    previous_month_day,
    text_of,
    this_month_day,
)


def _scene(world, make_unit, client_for):
    scene = Scene(client_for, world.users[Role.inspector], world.users[Role.office_admin])
    a2 = make_unit(sector_id=world.sector_a.id, region_id=world.region_a, name="第二窗口单位")
    smoke = scene.inspect(world.unit_a, SMOKE, at=this_month_day(3))
    video = scene.inspect(a2, CRITICAL, at=this_month_day(4))
    old = scene.inspect(a2, BADGE, at=previous_month_day(5))
    return a2, smoke.findings[0], video.findings[0], old.findings[0]


def _typical(office_console) -> str:
    response = office_console.client.get("/console/rankings/circular.docx")
    assert response.status_code == 200
    return text_of(document(response)).split("三、典型问题")[1].split("四、整改要求")[0]


def _pick(office_console, finding, picked: bool):
    return office_console.post(
        f"/console/findings/{finding.id}/circular", {"picked": "1" if picked else "0"}
    )


def _events(finding) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.entity_type == "finding",
            AuditEvent.entity_id == finding.id,
            AuditEvent.action.in_(("circular_pick", "circular_unpick")),
        )
    )


def test_the_circular_prints_the_picks_of_its_period_and_only_them(
    office_console, world, make_unit, client_for
):
    a2, _smoke, video, old = _scene(world, make_unit, client_for)
    default = _typical(office_console)
    assert "服务区域无人吸烟" in default
    assert "监控设备正常运行" in default

    page = office_console.get(f"/console/inspections/{video.inspection_id}").get_data(as_text=True)
    assert "列为通报典型问题" in page
    answer = _pick(office_console, video, True)
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"#finding-{video.id}")
    _pick(office_console, old, True)  # last month's: not this month's circular

    typical = _typical(office_console)
    assert "监控设备正常运行" in typical
    assert a2.name in typical
    assert "服务区域无人吸烟" not in typical  # the default pick gives way to the office's
    assert "佩戴工作牌" not in typical  # another period's pick

    page = office_console.get("/console/rankings").get_data(as_text=True)
    picks = page.split('id="circular-picks"')[1].split("</section>")[0]
    assert f'data-picked-finding="{video.id}"' in picks
    assert f'data-picked-finding="{old.id}"' not in picks
    review = office_console.get(f"/console/inspections/{video.inspection_id}")
    assert "取消通报典型问题" in review.get_data(as_text=True)

    # unmarked: back to the default rule
    assert _pick(office_console, video, False).status_code == 303
    again = _typical(office_console)
    assert "服务区域无人吸烟" in again
    assert "监控设备正常运行" in again


def test_a_resent_toggle_is_a_replay(office_console, world, make_unit, client_for):
    _, _, video, _ = _scene(world, make_unit, client_for)
    first, second = _pick(office_console, video, True), _pick(office_console, video, True)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(select(func.count()).select_from(CircularPick)) == 1
    assert _events(video) == 1  # audited once: the second changed nothing
    _pick(office_console, video, False)
    _pick(office_console, video, False)
    assert db.session.scalar(select(func.count()).select_from(CircularPick)) == 0
    assert _events(video) == 2
    history = office_console.get(f"/console/inspections/{video.inspection_id}")
    text = history.get_data(as_text=True)
    assert "列为通报典型问题「" in text
    assert "取消通报典型问题「" in text


def test_only_a_confirmed_finding_and_only_offices(
    office_console, console, world, make_unit, client_for
):
    scene = Scene(client_for, world.users[Role.inspector], world.users[Role.office_admin])
    submitted = scene.inspect(world.unit_a, SMOKE, publish=False)
    pending = submitted.findings[0]
    assert pending.status == FindingStatus.pending
    refused = _pick(office_console, pending, True)
    assert refused.status_code == 303
    page = office_console.get(refused.headers["Location"]).get_data(as_text=True)
    assert "只有已确认的问题才能列为通报典型问题" in page
    assert db.session.scalar(select(func.count()).select_from(CircularPick)) == 0
    assert office_console.post(f"/console/findings/{pending.id}/circular", {}).status_code == 400

    console.sign_in(world.users[Role.viewer].username)
    assert _pick(console, pending, True).status_code == 403


def test_a_pick_before_publication_names_nobody(office_console, world, make_unit, client_for):
    """A confirmed finding of an inspection not yet published may be marked; neither the
    rankings page nor the circular names its unit until the result is published."""
    scene = Scene(client_for, world.users[Role.inspector], world.users[Role.office_admin])
    scene.inspect(world.unit_a, ALL_PASS, at=this_month_day(2))
    hidden = make_unit(sector_id=world.sector_a.id, region_id=world.region_a, name="未公开单位")
    submitted = scene.inspect(hidden, SMOKE, publish=False, at=this_month_day(3))
    finding = db.session.get(Finding, submitted.findings[0].id)
    finding.status = FindingStatus.confirmed
    db.session.commit()
    assert _pick(office_console, finding, True).status_code == 303
    assert db.session.scalar(select(func.count()).select_from(CircularPick)) == 1
    page = office_console.get("/console/rankings").get_data(as_text=True)
    assert "未公开单位" not in page
    assert "未公开单位" not in _typical(office_console)
