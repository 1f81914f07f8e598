"""窗口单位 in the console: the list's filters, one unit's record (scores by month, open
and overdue tasks, repeat problems), the edit form and the CSV/XLSX import."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from accounts.models import Role
from core.clock import utcnow
from core.db import db
from inspections.models import Inspection
from org.models import Region, RegionLevel, Unit
from tests.console.conftest import ConsoleClient
from tests.console.support import FAILING
from tests.inspection_helpers import PHOTOS, make_visit, publish_checklist, submitted
from tests.matrix_support import unit_form
from tests.rectification_support import open_task

HEADER = ["名称", "地址", "纬度", "经度", "行业领域", "所属区域", "牵头单位", "联系人", "联系电话"]


def signed_in(app, user) -> ConsoleClient:
    from tests.conftest import IsolatedClient

    app.test_client_class = IsolatedClient
    console = ConsoleClient(app.test_client())
    assert console.sign_in(user.username).status_code == 302
    return console


def text(response) -> str:
    return response.get_data(as_text=True)


def unit_count() -> int:
    return db.session.scalar(select(func.count(Unit.id)))


# -- the list -------------------------------------------------------------------------------


def test_list_filters_by_sector_region_subtree_and_name(office_console, world, make_unit):
    street = db.session.get(Region, world.region_a)
    community = Region(
        code="445299001", name="测试社区", level=RegionLevel.community, parent_id=street.id
    )
    db.session.add(community)
    db.session.commit()
    below = make_unit(name="社区卫生服务站", sector_id=world.sector_a.id, region_id=community.id)

    page = text(office_console.get(f"/console/units?region_id={street.id}"))
    assert world.unit_a.name in page
    assert below.name in page
    assert world.unit_b.name not in page

    page = text(office_console.get(f"/console/units?sector_id={world.sector_b.id}"))
    assert world.unit_b.name in page
    assert world.unit_a.name not in page

    page = text(office_console.get("/console/units", query_string={"q": "社区卫生"}))
    assert below.name in page
    assert world.unit_a.name not in page
    assert f'href="/console/units/{below.id}"' in page


def test_list_pages_through_many_units(office_console, world, make_unit):
    for n in range(55):
        make_unit(name=f"分页单位{n:02d}", sector_id=world.sector_a.id, region_id=world.region_a)
    first = text(office_console.get("/console/units", query_string={"q": "分页单位"}))
    assert "第 1 / 2 页，共 55 条" in first
    assert "下一页" in first
    second = text(office_console.get("/console/units", query_string={"q": "分页单位", "page": 2}))
    assert second.count(">分页单位") == 5  # links to the last five


def test_a_scoped_office_lists_and_opens_only_its_region(app, world):
    console = signed_in(app, world.scoped_offices[Role.office_admin])
    page = text(console.get("/console/units"))
    assert world.unit_a.name in page
    assert world.unit_b.name not in page
    # its region filter offers its subtree only
    assert f'<option value="{world.region_b}"' not in page
    assert f'<option value="{world.region_a}"' in page
    assert world.unit_b.name not in text(console.get(f"/console/units?region_id={world.region_b}"))
    assert console.get(f"/console/units/{world.unit_b.id}").status_code == 404
    assert console.get(f"/console/units/{world.unit_b.id}/edit").status_code == 404
    assert console.get(f"/console/units/{world.unit_a.id}").status_code == 200


# -- one unit's record ----------------------------------------------------------------------


def _inspect(world, answers, started_at: datetime) -> Inspection:
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector], starts_in_days=-1)
    failed = [code for code, answer in answers.items() if answer.get("result") == "fail"]
    photos = PHOTOS | {code: [str(uuid.uuid4())] for code in failed}
    inspection = submitted(visit, inspector, answers, photos=photos)
    inspection.started_at = started_at
    db.session.commit()
    return inspection


def test_unit_page_shows_scores_by_month_tasks_and_repeat_problems(office_console, world):
    publish_checklist()
    _inspect(world, FAILING, datetime(2026, 3, 10, 2, tzinfo=UTC))
    _inspect(world, FAILING, datetime(2026, 4, 12, 2, tzinfo=UTC))
    once = FAILING | {"smoke.none": {"result": "pass"}}
    _inspect(world, once, datetime(2026, 4, 20, 2, tzinfo=UTC))
    late = open_task(world.unit_a, title="入口未张贴禁烟标识")
    late.due_at = utcnow() - timedelta(days=2)
    open_task(world.unit_a, title="叫号屏损坏")
    db.session.commit()

    page = text(office_console.get(f"/console/units/{world.unit_a.id}"))
    assert "2026年3月" in page
    assert "2026年4月" in page
    assert "<polyline" in page  # two months: a line
    # repeat problems by number and title, never by code alone
    assert "1.1 工作人员统一着装" in page
    assert "3 次" in page
    assert "2.1 服务区域无人吸烟" in page
    assert "2 次" in page
    assert "dress.uniform" not in page
    assert "smoke.none" not in page
    # open tasks, the overdue one marked and first
    # each inspection's state in the enum's words (inspections.models)
    assert page.count('data-label="状态">待审核</td>') == 3
    assert "其中逾期 1" in page
    assert page.index("入口未张贴禁烟标识") < page.index("叫号屏损坏")
    assert "纬度 23.3" in page
    assert "GCJ-02" in page


def test_a_unit_without_history_says_so(office_console, world):
    page = text(office_console.get(f"/console/units/{world.unit_b.id}"))
    assert "尚无已评分的检查记录" in page
    assert "没有未销号的整改任务" in page
    assert "没有在多次检查中重复出现的问题" in page


# -- edit -----------------------------------------------------------------------------------


# What the edit tests type over the form as it stands (matrix_support.unit_form).
TYPED = {
    "latitude": "23.31",
    "longitude": "116.18",
    "coord_system": "wgs84",
    "service_hours": "周一至周五 09:00-17:00；周六 09:00-12:00",
    "contact_name": "陈先生",
    "contact_phone": "0663-1234567",
}


def _form(unit: Unit, **over) -> dict:
    form = unit_form(unit.id)
    return form | {"address": unit.address} | TYPED | over


def test_edit_saves_through_the_unit_service(office_console, world):
    unit = world.unit_a
    office_console.get(f"/console/units/{unit.id}/edit")
    response = office_console.post(
        f"/console/units/{unit.id}/save", _form(unit, address="新址路1号")
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/console/units/{unit.id}")
    db.session.expire_all()
    stored = db.session.get(Unit, unit.id)
    assert stored.address == "新址路1号"
    assert stored.version == 2
    assert stored.latitude == 23.31
    assert stored.coord_system == "wgs84"
    assert stored.service_hours["sat"] == [["09:00", "12:00"]]
    page = text(office_console.get(f"/console/units/{unit.id}"))
    assert "已保存窗口单位信息" in page
    assert "新址路1号" in page


def test_a_stale_version_is_refused_and_the_typed_values_stay(office_console, world):
    unit = world.unit_a
    office_console.get(f"/console/units/{unit.id}/edit")
    stale = _form(unit, address="我填写的新地址")
    unit.contact_name = "别人改的"  # someone saves first
    db.session.commit()
    response = office_console.post(f"/console/units/{unit.id}/save", stale)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/console/units/{unit.id}/edit")
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).address != "我填写的新地址"
    page = text(office_console.get(f"/console/units/{unit.id}/edit"))
    assert "已被他人修改" in page
    assert 'value="我填写的新地址"' in page  # nothing typed is lost


def test_field_errors_are_shown_beside_their_fields_in_chinese(office_console, world):
    unit = world.unit_a
    office_console.get(f"/console/units/{unit.id}/edit")
    bad = _form(unit, name="甲", latitude="95", service_hours="随时")
    assert office_console.post(f"/console/units/{unit.id}/save", bad).status_code == 303
    page = text(office_console.get(f"/console/units/{unit.id}/edit"))
    assert 'data-field="name">长度应在 2 到 100 之间' in page
    assert 'data-field="latitude">应大于等于 -90 且小于等于 90' in page
    assert 'data-field="service_hours">无法识别“随时”' in page
    assert 'value="甲"' in page
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).version == 1


def test_a_scoped_office_cannot_move_a_unit_out_of_its_region(app, world):
    console = signed_in(app, world.scoped_offices[Role.office_admin])
    unit = world.unit_a
    console.get(f"/console/units/{unit.id}/edit")
    response = console.post(f"/console/units/{unit.id}/save", _form(unit, region_id=world.region_b))
    assert response.status_code == 303
    page = text(console.get(f"/console/units/{unit.id}/edit"))
    assert 'data-field="region_id">所属区域不存在' in page
    db.session.expire_all()
    assert db.session.get(Unit, unit.id).region_id == world.region_a


@pytest.mark.parametrize("role", [Role.viewer, Role.lead_unit_staff])
def test_readers_get_no_edit_or_import(app, world, role):
    console = signed_in(app, world.users[role])
    page = text(console.get(f"/console/units/{world.unit_a.id}"))
    assert "编辑" not in page
    assert console.get(f"/console/units/{world.unit_a.id}/edit").status_code == 403
    assert console.get("/console/units/import").status_code == 403
    assert "批量导入" not in text(console.get("/console/units"))


# -- import ---------------------------------------------------------------------------------


def csv_file(rows):
    content = "\n".join(",".join(str(c) for c in row) for row in [HEADER, *rows])
    return (io.BytesIO(content.encode("utf-8-sig")), "units.csv")


def xlsx_file(rows):
    book = Workbook()
    for row in [HEADER, *rows]:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return (out, "units.xlsx")


@pytest.mark.parametrize("make_file", [csv_file, xlsx_file])
def test_a_good_file_imports_every_row(office_console, world, make_file):
    region = world.unit_a.region.code
    before = unit_count()
    rows = [
        ["流沙税务办税厅", "流沙大道", 23.29, 116.16, world.sector_a.name, region, "", "", ""],
        ["池尾社保窗口", "", "", "", world.sector_a.name, region, "", "", ""],
    ]
    office_console.get("/console/units/import")
    response = office_console.post("/console/units/import", {"file": make_file(rows)})
    assert response.status_code == 303
    assert unit_count() == before + 2
    assert "已导入 2 个窗口单位" in text(office_console.get(response.headers["Location"]))


@pytest.mark.parametrize("make_file", [csv_file, xlsx_file])
def test_a_bad_row_is_reported_by_line_and_column_and_nothing_imported(
    office_console, world, make_file
):
    region = world.unit_a.region.code
    before = unit_count()
    rows = [
        ["好的一行", "", "", "", world.sector_a.name, region, "", "", ""],
        ["领域错", "", "north", "", "不存在的领域", region, "", "", ""],
    ]
    office_console.get("/console/units/import")
    response = office_console.post("/console/units/import", {"file": make_file(rows)})
    assert response.status_code == 422
    page = text(response)
    assert "有 1 行数据有误，未导入任何数据" in page
    assert "<td>第 3 行</td>" in page
    cells = '<td data-label="列">{}</td><td data-label="问题">{}'
    assert cells.format("行业领域", "行业领域“不存在的领域”不存在") in page
    assert cells.format("纬度", "纬度“north”不是数字") in page
    assert "第 2 行" not in page
    assert unit_count() == before


def test_a_file_of_another_kind_or_header_is_refused(office_console):
    office_console.get("/console/units/import")
    wrong = (io.BytesIO(b"x"), "units.txt")
    response = office_console.post("/console/units/import", {"file": wrong})
    assert response.status_code == 415
    assert "仅支持 .csv 或 .xlsx 文件" in text(response)
    header = (io.BytesIO("单位,电话\n某单位,1\n".encode()), "units.csv")
    page = text(office_console.post("/console/units/import", {"file": header}))
    assert "表头不正确" in page
    assert "无法识别的列: 单位" in page
    assert "请选择要导入的文件" in text(office_console.post("/console/units/import", {}))
