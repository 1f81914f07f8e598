"""考核排名 in the console: the period picker, sorting, movement against the previous
period, and the .docx downloads for readers signed in to the console."""

from __future__ import annotations

import io
import re

from docx import Document
from sqlalchemy import select

from accounts.models import Role
from console.rankings import PLAN_CHOICES
from core.clock import local
from core.db import db
from inspections.models import Finding
from tests.inspection_helpers import ALL_PASS, make_plan
from tests.report_support import CRITICAL, SMOKE, Scene, previous_month_day, this_month_day


def _scene(world, make_unit, client_for):
    scene = Scene(client_for, world.users[Role.inspector], world.users[Role.office_admin])
    a2 = make_unit(sector_id=world.sector_a.id, region_id=world.region_a, name="第二窗口单位")
    scene.inspect(world.unit_a, SMOKE, at=this_month_day(3))
    scene.inspect(a2, ALL_PASS, at=this_month_day(4))
    # last month the order was the other way round
    scene.inspect(world.unit_a, ALL_PASS, at=previous_month_day(5))
    scene.inspect(a2, CRITICAL, at=previous_month_day(6))
    return scene, a2


def _rows(page: str) -> list[str]:
    """The unit names of the ranking table, top to bottom."""
    table = page.split('class="rankings')[1].split("</table>")[0]
    return re.findall(r"<strong>([^<]+)</strong><br>", table)


def test_the_office_ranks_with_movement_and_sorts(office_console, world, make_unit, client_for):
    _, a2 = _scene(world, make_unit, client_for)
    page = office_console.get("/console/rankings").get_data(as_text=True)
    assert _rows(page) == [a2.name, world.unit_a.name]
    assert "↑1" in page
    assert "↓1" in page
    by_name = office_console.get("/console/rankings?sort=name&dir=asc").get_data(as_text=True)
    assert _rows(by_name) == sorted([a2.name, world.unit_a.name])
    worst_first = office_console.get("/console/rankings?sort=composite&dir=asc")
    assert _rows(worst_first.get_data(as_text=True)) == [world.unit_a.name, a2.name]
    assert "下载通报" in page


def test_the_period_picker_moves_to_last_month(office_console, world, make_unit, client_for):
    _, a2 = _scene(world, make_unit, client_for)
    before = local(previous_month_day(5))
    page = office_console.get(
        f"/console/rankings?period=month&year={before.year}&month={before.month}"
    ).get_data(as_text=True)
    assert _rows(page) == [world.unit_a.name, a2.name]
    assert f"{before.year}年{before.month}月" in page


def test_a_half_filled_custom_period_says_why(office_console, world):
    page = office_console.get("/console/rankings?period=custom&date_from=2026-01-01")
    assert page.status_code == 200
    assert "自定义时段须填写起止日期" in page.get_data(as_text=True)


def test_downloads_from_the_console(office_console, console, world, make_unit, client_for):
    _scene(world, make_unit, client_for)
    response = office_console.client.get("/console/rankings/circular.docx")  # a file, not a page
    assert response.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(response.get_data())).paragraphs)
    assert "明察暗访情况的通报" in text
    # the office may pick any published finding in scope, here last month's at a2
    critical = db.session.scalar(select(Finding).where(Finding.item_code == "video.working"))
    picked = office_console.client.get(f"/console/rankings/circular.docx?finding_ids={critical.id}")
    typical = "\n".join(p.text for p in Document(io.BytesIO(picked.get_data())).paragraphs)
    typical = typical.split("三、典型问题")[1].split("四、整改要求")[0]
    assert "第二窗口单位" in typical
    assert "监控设备正常运行" in typical
    assert "服务区域无人吸烟" not in typical  # this month's default pick
    console.sign_in(world.users[Role.lead_unit_staff].username)
    assert console.get("/console/rankings").status_code == 200
    assert console.client.get("/console/rankings/circular.docx").status_code == 403
    inspection = world.inspections.inspection_a  # published, of the lead unit's sector
    report = console.client.get(f"/console/inspections/{inspection.id}/report.docx")
    assert report.status_code == 200
    assert report.mimetype.endswith("wordprocessingml.document")


def _plan_options(page: str) -> dict[str, str]:
    """The picker's plans: option value → text (no picker: nothing)."""
    if "data-plan-choices" not in page:
        return {}
    picker = page.split("data-plan-choices")[1].split("</select>")[0]
    return dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', picker))


def test_a_plan_is_chosen_in_the_picker(console, office_console, world, make_unit, client_for):
    scene = Scene(client_for, world.users[Role.inspector], world.users[Role.office_admin])
    a2 = make_unit(sector_id=world.sector_a.id, region_id=world.region_a, name="第二窗口单位")
    spring = scene.inspect(world.unit_a, SMOKE, at=this_month_day(3), name="春季暗访")
    scene.inspect(a2, ALL_PASS, at=this_month_day(4), name="夏季暗访")
    elsewhere = scene.inspect(world.unit_b, ALL_PASS, at=this_month_day(5), name="外区暗访")

    page = office_console.get("/console/rankings").get_data(as_text=True)
    options = _plan_options(page)
    assert '<option value="plan"' in page
    assert {str(spring.plan_id), str(elsewhere.plan_id)} <= set(options)
    assert options[str(spring.plan_id)].startswith("春季暗访")

    chosen = office_console.get(f"/console/rankings?period=plan&plan_id={spring.plan_id}")
    shown = chosen.get_data(as_text=True)
    assert "“春季暗访”" in shown
    assert _rows(shown) == [world.unit_a.name]  # the plan's inspections only
    assert re.search(rf'<option value="{spring.plan_id}" selected>', shown)
    # 下载通报 covers the plan shown
    link = re.search(r'href="([^"]*circular\.docx[^"]*)"', shown).group(1).replace("&amp;", "&")
    assert "period=plan" in link
    assert f"plan_id={spring.plan_id}" in link
    circular = office_console.client.get(link)
    assert circular.status_code == 200
    assert "春季暗访" in "\n".join(
        p.text for p in Document(io.BytesIO(circular.get_data())).paragraphs
    )

    # the plan's own page leads to its ranking
    plan_page = office_console.get(f"/console/plans/{spring.plan_id}").get_data(as_text=True)
    ranking_link = re.search(r'id="plan-ranking" href="([^"]+)"', plan_page).group(1)
    assert ranking_link.replace("&amp;", "&") == (
        f"/console/rankings?period=plan&plan_id={spring.plan_id}"
    )

    # a district office is offered only the plans that reach its units
    console.sign_in(world.scoped_offices[Role.viewer].username)
    scoped = _plan_options(console.get("/console/rankings").get_data(as_text=True))
    assert str(spring.plan_id) in scoped
    assert str(elsewhere.plan_id) not in scoped
    # another region's plan, asked for by id, or its circular: missing, as an unknown id
    for url in (
        f"/console/rankings?period=plan&plan_id={elsewhere.plan_id}",
        f"/console/rankings/circular.docx?period=plan&plan_id={elsewhere.plan_id}",
        "/console/rankings?period=plan&plan_id=987654",
    ):
        assert console.client.get(url).status_code == 404, url

    # a lead unit's staff read rankings but no plans: no plan to pick
    console.sign_in(world.users[Role.lead_unit_staff].username)
    lead = console.get("/console/rankings").get_data(as_text=True)
    assert not _plan_options(lead)
    assert '<option value="plan"' not in lead


def test_the_plan_picker_is_bounded_newest_first(office_console, world, make_unit, client_for):
    made = [
        make_plan([world.unit_a], [world.users[Role.inspector]], name=f"计划{n}", starts_in_days=n)
        for n in range(PLAN_CHOICES + 2)
    ]
    db.session.commit()
    # newest first as the plan list orders them: by the start of the plan's period
    options = list(_plan_options(office_console.get("/console/rankings").get_data(as_text=True)))
    assert len(options) == PLAN_CHOICES
    assert options[:2] == [str(made[-1].id), str(made[-2].id)]
    assert str(made[0].id) not in options
