"""台账: the inspection and rectification ledgers in Excel, as a person downloads them.

Each produced file is opened with openpyxl and read back: the rows are the rows the list
shows the same person for the same filters, in the same order; the figures are the
stored ones; formula-looking text stays text; big exports go through the worker."""

from __future__ import annotations

import io
import math
import uuid
from datetime import datetime, timedelta
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from accounts.models import Role
from core.audit import AuditEvent
from core.clock import local, utcnow
from core.db import db
from inspections.models import Finding, FindingStatus, Inspection, InspectionStatus, VisitKind
from rectification import service as rectification
from rectification.models import RectificationTask
from reports.downloads import run_export_jobs, sweep_exports
from reports.ledger import TASK_STATUSES
from reports.models import ExportJob, ExportStatus
from reports.xlsx import PADDING, XLSX, text_width
from tests.inspection_helpers import publish_checklist
from tests.rectification_support import after_photos, open_task

INSPECTIONS = "/api/v1/reports/ledgers/inspections.xlsx"
TASKS = "/api/v1/reports/ledgers/rectification.xlsx"
EVIL = ('=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0")


def sheet_of(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX
    book = load_workbook(io.BytesIO(response.get_data()))
    return book.worksheets[0]


def rows_of(response) -> list[tuple]:
    return list(sheet_of(response).iter_rows(min_row=2, values_only=True))


def header_of(sheet) -> list[str]:
    return [c.value for c in next(sheet.iter_rows(min_row=1, max_row=1))]


@pytest.fixture
def records(world, make_unit, make_user):
    """Inspections at three units (two sectors, two regions) in each state, some with
    findings; and tasks at those units in each state, one answered twice."""
    version = publish_checklist()
    unit_c = make_unit(sector_id=world.sector_a.id, region_id=world.region_b)
    units = [world.unit_a, world.unit_b, unit_c]
    inspectors = [world.users[Role.inspector], make_user(Role.inspector)]
    now = utcnow()
    statuses = [InspectionStatus.published, InspectionStatus.submitted, InspectionStatus.draft]
    for i in range(18):
        inspection = Inspection(
            client_uuid=uuid.uuid4(),
            unit_id=units[i % 3].id,
            kind=VisitKind.announced if i % 4 else VisitKind.unannounced,
            ad_hoc=True,
            inspector_id=inspectors[i % 2].id,
            checklist_version_id=version.id,
            status=statuses[i % 3 if i % 5 else 0],
            started_at=now - timedelta(days=i, hours=1),
            submitted_at=None if i % 3 == 2 and i % 5 else now - timedelta(days=i),
            score=float(90 - i),
            max_score=100.0,
            grade="合格",
            findings_count=1 if i % 2 == 0 else 0,
        )
        if i % 2 == 0:
            inspection.findings.append(
                Finding(
                    unit_id=inspection.unit_id,
                    item_code="smoke.none",
                    title="服务区域无人吸烟",
                    severity="major",
                    status=FindingStatus.confirmed if i % 4 == 0 else FindingStatus.pending,
                )
            )
        db.session.add(inspection)
    db.session.commit()
    tasks = [
        open_task(units[i % 3], severity=("general", "major", "severe")[i % 3]) for i in range(9)
    ]
    staff = world.users[Role.unit_staff]
    answered = tasks[0]  # unit A: a reply, rejected, a second reply
    for round_ in (1, 2):
        rectification.respond(
            answered,
            {
                "client_id": uuid.uuid4(),
                "description": f"第{round_}次整改",
                "photo_ids": after_photos(answered, staff),
            },
            actor=staff,
        )
        db.session.commit()
        if round_ == 1:
            rectification.verify(
                answered,
                accept=False,
                reason="整改照片不合格",
                actor=world.users[Role.office_admin],
            )
            db.session.commit()
    late = tasks[3]  # unit A, overdue by five days
    late.due_on = local(now).date() - timedelta(days=5)
    late.due_at = now - timedelta(days=4)
    db.session.commit()
    return units, tasks


def list_ids(client, path: str, query: str) -> list[int]:
    ids, page = [], 1
    while True:
        response = client.get(f"{path}?per_page=100&page={page}&{query}")
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        ids += [item["id"] for item in body["items"]]
        if page >= body["pages"]:
            return ids
        page += 1


ACTORS = ["office", "office@region", "lead", "unit", "inspector", "viewer"]


def actor_of(world, name: str):
    if name == "office@region":
        return world.scoped_offices[Role.office_admin]
    return world.users[
        {
            "office": Role.office_admin,
            "lead": Role.lead_unit_staff,
            "unit": Role.unit_staff,
            "inspector": Role.inspector,
            "viewer": Role.viewer,
        }[name]
    ]


@pytest.mark.parametrize("actor", ACTORS)
def test_the_inspection_ledger_has_the_lists_rows_for_every_filter(
    world, records, client_for, actor
):
    client = client_for(actor_of(world, actor))
    today = local(utcnow()).date()
    queries = [
        "",
        "status=published",
        f"unit_id={world.unit_a.id}",
        f"sector_id={world.sector_a.id}",
        f"region_id={world.region_b}",
        f"date_from={(today - timedelta(days=6)).isoformat()}&date_to={today.isoformat()}",
        "score_min=80&has_findings=true",
        "kind=unannounced",
    ]
    for query in queries:
        expected = list_ids(client, "/api/v1/inspections", query)
        response = client.get(f"{INSPECTIONS}?{query}")
        if response.status_code == 404:  # a unit outside the scope: the list says so too
            assert client.get(f"/api/v1/inspections?{query}").status_code == 404
            continue
        assert [row[0] for row in rows_of(response)] == expected, (actor, query)
    # one scope check that cannot pass by accident: the city office sees every row (the
    # 18 made here and the 9 the tasks' findings came from)
    if actor == "office":
        assert len(list_ids(client, "/api/v1/inspections", "")) == 27


@pytest.mark.parametrize("actor", ACTORS)
def test_the_rectification_ledger_has_the_lists_rows_for_every_filter(
    world, records, client_for, actor
):
    client = client_for(actor_of(world, actor))
    queries = [
        "",
        "status=open",
        "status=open&status=responded",
        "overdue=true",
        f"sector_id={world.sector_a.id}",
        f"region_id={world.region_a}",
        "severity=severe",
        f"unit_id={world.unit_a.id}",
    ]
    for query in queries:
        expected = list_ids(client, "/api/v1/rectification/tasks", query)
        response = client.get(f"{TASKS}?{query}")
        if response.status_code == 404:
            assert client.get(f"/api/v1/rectification/tasks?{query}").status_code == 404
            continue
        assert [row[0] for row in rows_of(response)] == expected, (actor, query)


def test_a_unit_exports_only_its_own_published_inspections(world, records, client_for):
    rows = rows_of(client_for(world.users[Role.unit_staff]).get(INSPECTIONS))
    stored = db.session.scalars(
        select(Inspection).where(
            Inspection.unit_id == world.unit_a.id,
            Inspection.status == InspectionStatus.published,
        )
    ).all()
    assert sorted(r[0] for r in rows) == sorted(i.id for i in stored)
    assert {r[1] for r in rows} == {world.unit_a.name}
    # 暗访 inspectors are not named to the unit
    covert = {i.id for i in stored if i.kind == VisitKind.unannounced}
    assert covert
    assert {r[7] for r in rows if r[0] in covert} == {"暗访组"}
    # the unit sees confirmed findings only
    for row in rows:
        stored_row = next(i for i in stored if i.id == row[0])
        confirmed = [f for f in stored_row.findings if f.status == FindingStatus.confirmed]
        assert row[16] == len(confirmed)


def test_the_inspection_ledger_carries_the_stored_figures(world, records, office):
    sheet = sheet_of(office.get(INSPECTIONS))
    assert header_of(sheet)[:5] == ["检查编号", "被检查单位", "行业领域", "区域", "督查计划"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:T{1 + 27}"
    assert sheet.column_dimensions["B"].width == 18  # unit names wrap within it
    stored = {i.id: i for i in db.session.scalars(select(Inspection))}
    for cells in sheet.iter_rows(min_row=2):
        row = [c.value for c in cells]
        inspection = stored[row[0]]
        assert row[1] == inspection.unit.name
        assert row[2] == inspection.unit.sector.name
        assert row[3] == inspection.unit.region.name
        assert (
            row[8]
            == {"published": "已公开", "submitted": "待审核", "draft": "检查中"}[
                inspection.status.value
            ]
        )
        started = cells[9]
        assert started.is_date
        assert isinstance(started.value, datetime)
        assert started.number_format == "yyyy-mm-dd hh:mm"
        expected = local(inspection.started_at).replace(tzinfo=None, second=0, microsecond=0)
        assert started.value.replace(second=0, microsecond=0) == expected
        assert cells[12].data_type == "n"
        assert row[12] == inspection.score
        assert row[16] == len(inspection.findings)  # none dismissed here
        # a finding still to review is a problem, marked so
        pending = [f for f in inspection.findings if f.status == FindingStatus.pending]
        mark = "，待审核" if pending else ""
        if inspection.findings and inspection.checklist_version_id:
            # number and title, not the code
            assert row[17] == f"2.1 服务区域无人吸烟（较重{mark}）"
        elif inspection.findings:  # no checklist to number the item by: the title alone
            (finding,) = inspection.findings
            assert row[17] == f"{finding.title}（较重{mark}）".replace(
                "较重", {"general": "一般", "major": "较重", "severe": "严重"}[finding.severity]
            )
        assert row[18] is None  # 不予认定: none
        assert row[19] == f"http://localhost/console/inspections/{inspection.id}"


def test_the_rectification_ledger_carries_the_stored_figures(world, records, office):
    _, tasks = records
    sheet = sheet_of(office.get(TASKS))
    header = header_of(sheet)
    assert header[:6] == ["任务编号", "被检查单位", "行业领域", "区域", "检查项", "严重程度"]
    by_id = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(by_id) == {t.id for t in tasks}
    answered, late = tasks[0], tasks[3]
    db.session.expire_all()
    answered = db.session.get(RectificationTask, answered.id)
    row = by_id[answered.id]
    value = {name: cell.value for name, cell in zip(header, row, strict=True)}
    assert value["整改轮次"] == 2
    assert value["回复次数"] == 2
    assert value["最近整改回复"] == "第2次整改"
    assert value["复查结论"] == "退回"
    assert value["复查人"] == world.users[Role.office_admin].display_name
    assert value["严重程度"] == "一般"
    assert value["状态"] == "待复查"
    assert row[8].is_date
    assert value["整改期限"].date() == answered.due_on
    assert row[8].number_format == "yyyy-mm-dd"
    late_row = {n: c.value for n, c in zip(header, by_id[late.id], strict=True)}
    assert late_row["逾期天数"] == 5
    assert late_row["状态"] == "待整改（逾期）"
    assert by_id[late.id][10].data_type == "n"
    assert late_row["整改任务"] == f"http://localhost/console/tasks/{late.id}"


def test_formula_looking_text_is_written_as_text(world, make_unit, client_for, office):
    evil_units = [make_unit(name=name, sector_id=world.sector_a.id) for name in EVIL]
    task = open_task(evil_units[0], description="@SUM(1+1)*cmd|' /C calc'!A0")
    staff = world.users[Role.unit_staff]
    staff.unit_id = evil_units[0].id
    db.session.commit()
    rectification.respond(
        task,
        {
            "client_id": uuid.uuid4(),
            "description": "+1-1\tDDE",
            "photo_ids": after_photos(task, staff),
        },
        actor=staff,
    )
    db.session.commit()
    sheet = sheet_of(office.get(TASKS))
    header = header_of(sheet)
    cells = {
        name: cell for name, cell in zip(header, next(sheet.iter_rows(min_row=2)), strict=True)
    }
    for name, expected in (
        ("被检查单位", EVIL[0]),
        ("问题描述", "@SUM(1+1)*cmd|' /C calc'!A0"),
        ("最近整改回复", "+1-1\tDDE"),
    ):
        assert cells[name].data_type == "s", name
        assert cells[name].value == "'" + expected
    # the inspections ledger too, for the unit whose name is the DDE payload
    inspection = Inspection(
        client_uuid=uuid.uuid4(),
        unit_id=evil_units[1].id,
        kind=VisitKind.announced,
        inspector_id=world.users[Role.inspector].id,
        status=InspectionStatus.submitted,
        started_at=utcnow(),
    )
    db.session.add(inspection)
    db.session.commit()
    names = [row[1] for row in sheet_of(office.get(INSPECTIONS)).iter_rows(min_row=2)]
    assert {(c.data_type, c.value) for c in names} == {("s", "'" + name) for name in EVIL}


def test_the_download_names_the_file_in_chinese_with_an_ascii_fallback(world, records, office):
    response = office.get(TASKS)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback.isascii()
    assert fallback.startswith("rectification-ledger-")
    assert fallback.endswith(".xlsx")
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert encoded.isascii()
    assert unquote(encoded).startswith("整改台账-")
    assert unquote(encoded).endswith(".xlsx")
    assert response.headers["Content-Type"] == XLSX


def test_every_export_is_in_the_audit_trail(world, records, office):
    office.get(f"{INSPECTIONS}?status=published&sector_id={world.sector_a.id}")
    (job,) = db.session.scalars(select(ExportJob)).all()
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.entity_type == "export_job", AuditEvent.entity_id == job.id
        )
    )
    assert event.action == "export"
    assert event.actor_id == world.users[Role.office_admin].id
    assert event.after["filters"] == {"status": "published", "sector_id": world.sector_a.id}
    published_in_a = db.session.scalars(
        select(Inspection.id)
        .join(Inspection.unit)
        .where(
            Inspection.status == InspectionStatus.published,
            Inspection.unit.has(sector_id=world.sector_a.id),
        )
    ).all()
    assert event.after["rows"] == len(published_in_a) == job.rows


def test_bad_filters_are_refused_like_the_lists(office, world, records):
    assert office.get(f"{INSPECTIONS}?per_page=10").status_code == 422
    assert office.get(f"{INSPECTIONS}?status=nonsense").status_code == 422
    assert office.get(f"{TASKS}?unit_id=abc").status_code == 422


@pytest.fixture
def small_sync(make_app):
    """An app that writes every export of more than one row in the worker."""
    return make_app(LEDGER_SYNC_MAX_ROWS=1, EXPORT_TTL_SECONDS=3600)


def test_a_large_export_runs_in_the_worker_and_is_kept_for_a_while(
    world, records, small_sync, client_for, app
):
    user = world.users[Role.office_admin]
    small_sync.test_client_class = type(client_for(user))
    from accounts import service as accounts

    raw, _ = accounts.issue_token(user, "password")
    db.session.commit()
    client = small_sync.test_client()
    client.token = raw
    response = client.get(f"{TASKS}?status=open")
    assert response.status_code == 202, response.get_data(as_text=True)
    job = response.get_json()
    assert job["status"] == "pending"
    assert job["download_url"] is None
    location = response.headers["Location"]
    assert location == f"/api/v1/reports/exports/{job['id']}"
    assert client.get(f"{location}/file").status_code == 409
    # someone else's export looks missing
    other = client_for(world.users[Role.viewer])
    assert other.get(location).status_code == 404
    with small_sync.app_context():
        report = run_export_jobs()
        db.session.remove()
    assert report["exports_done"] == 1
    polled = client.get(location).get_json()
    assert polled["status"] == "done"
    assert polled["download_url"] == f"{location}/file"
    download = client.get(polled["download_url"])
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    expected = list_ids(client, "/api/v1/rectification/tasks", "status=open")
    assert [r[0] for r in rows_of(download)] == expected
    assert_printable(sheet_of(download))  # the worker writes what the request writes
    download.close()  # a stored file is streamed from a temporary file
    assert polled["rows"] == len(expected)
    stored = db.session.get(ExportJob, job["id"])
    db.session.refresh(stored)
    assert stored.key.startswith("exports/")
    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.entity_type == "export_job")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == ["export_queued", "export"]
    # past its time the file is swept and the job says so
    stored.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    key = stored.key
    with small_sync.app_context():
        assert sweep_exports() == 1
        from media.storage import current_storage

        assert current_storage().head(key) is None
        db.session.remove()
    db.session.expire_all()
    assert db.session.get(ExportJob, job["id"]).status == ExportStatus.expired
    gone = client.get(f"{location}/file")
    assert gone.status_code == 404
    assert gone.get_json()["type"] == "urn:problem:export-expired"


LINKS = {INSPECTIONS: ("检查记录与照片",), TASKS: ("整改任务", "检查记录与照片")}


def _links(sheet) -> dict[str, list]:
    """The link columns' cells, by column name."""
    header = header_of(sheet)
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert rows
    return {
        name: [row[header.index(name)] for row in rows]
        for name in header
        if name in ("整改任务", "检查记录与照片")
    }


def _assert_links(sheet, url: str, *, followed: bool) -> None:
    links = _links(sheet)
    assert set(links) == set(LINKS[url])  # the columns stay, whoever reads
    for name, cells in links.items():
        if followed:
            assert any(cells), name
            assert all(c.startswith("http://localhost/console/") for c in cells if c), name
        else:
            assert cells == [None] * len(cells), name  # no dead links for the unit


@pytest.mark.parametrize("url", [INSPECTIONS, TASKS])
def test_console_links_only_for_readers_who_can_open_them(world, records, client_for, office, url):
    unit = sheet_of(client_for(world.users[Role.unit_staff]).get(url))
    office_sheet = sheet_of(office.get(url))
    assert header_of(unit) == header_of(office_sheet)
    _assert_links(office_sheet, url, followed=True)
    _assert_links(unit, url, followed=False)


def _exported_in_worker(app, client_for, user, url: str):
    """The ledger of `url` for `user`, written by the worker (outside any request)."""
    from accounts import service as accounts

    app.test_client_class = type(client_for(user))
    raw, _ = accounts.issue_token(user, "password")
    db.session.commit()
    client = app.test_client()
    client.token = raw
    queued = client.get(url)
    assert queued.status_code == 202, queued.get_data(as_text=True)
    with app.app_context():
        assert run_export_jobs()["exports_done"] == 1
        db.session.remove()
    location = queued.headers["Location"]
    download = client.get(client.get(location).get_json()["download_url"])
    sheet = sheet_of(download)
    download.close()
    return sheet


def test_the_worker_writes_console_links_only_for_readers_who_can_open_them(
    world, records, small_sync, client_for
):
    for role, followed in ((Role.unit_staff, False), (Role.office_admin, True)):
        sheet = _exported_in_worker(small_sync, client_for, world.users[role], TASKS)
        _assert_links(sheet, TASKS, followed=followed)


# -- on paper ----------------------------------------------------------------------------

LONG_UNIT = "普宁市12345政务服务便民热线受理中心"
# What a reader must see whole, per column: every label it can hold on one line.
LABELS = {
    "检查方式": ("明察", "暗访"),
    "临时检查": ("是", "否"),
    "一票否决": ("是", "否"),
    "立行立改": ("是", "否"),
    "评级": ("优秀", "良好", "合格", "不合格"),
    "严重程度": ("一般", "较重", "严重"),
    "复查结论": ("通过", "退回"),
}
WRAPPED = {
    "被检查单位",
    "行业领域",
    "区域",
    "督查计划",
    "检查人员",
    "问题（检查项，严重程度）",
    "不予认定（检查项，严重程度）",
    "检查项",
    "问题描述",
    "最近整改回复",
    "复查人",
    "整改任务",
    "检查记录与照片",
}


def assert_printable(sheet) -> None:
    """A4 landscape, one page wide, the header row on every page and frozen; every label
    of a column fits its width on one line (`text_width` plus the cell's margins); free
    text wraps, and a row is as tall as its wrapped text."""
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.page_setup.paperSize == 9  # A4
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$1:$1"
    assert sheet.freeze_panes == "A2"
    assert "&P" in sheet.oddFooter.center.text
    header = header_of(sheet)
    statuses = TASK_STATUSES if header[0] == "任务编号" else ("检查中", "待审核", "已公开")
    labels = LABELS | {"状态": statuses}
    widths = {
        name: sheet.column_dimensions[get_column_letter(i)].width
        for i, name in enumerate(header, 1)
    }
    for name, width in widths.items():
        for label in labels.get(name, ()):
            assert text_width(label) + PADDING <= width, (name, label, width)
        # a header fits on two lines
        assert text_width(name) + 2 * PADDING <= 2 * width + 2.2, (name, width)
    rows = list(sheet.iter_rows(min_row=2))
    assert rows
    for row in rows:
        for name, cell in zip(header, row, strict=True):
            if name in labels and cell.value is not None:
                assert cell.value in labels[name], (name, cell.value)
            if name in WRAPPED and cell.value is not None:
                assert cell.alignment.wrap_text, name
            elif isinstance(cell.value, str):  # on one line: it fits its column
                assert text_width(cell.value) + PADDING <= widths[name], (name, cell.value)
        lines = max(
            (
                math.ceil(text_width(c.value) / (widths[name] - PADDING))
                for name, c in zip(header, row, strict=True)
                if name in WRAPPED and isinstance(c.value, str)
            ),
            default=1,
        )
        if lines > 1:
            assert sheet.row_dimensions[row[0].row].height >= 15 * lines, row[0].row


@pytest.fixture
def long_records(world, make_unit):
    """A unit with a long name, an inspection with many long findings, and an overdue task
    waiting for its review (待复查（逾期）)."""
    version = publish_checklist()
    unit = make_unit(name=LONG_UNIT, sector_id=world.sector_a.id)
    inspection = Inspection(
        client_uuid=uuid.uuid4(),
        unit_id=unit.id,
        kind=VisitKind.unannounced,
        inspector_id=world.users[Role.inspector].id,
        checklist_version_id=version.id,
        status=InspectionStatus.published,
        started_at=utcnow() - timedelta(days=2),
        submitted_at=utcnow() - timedelta(days=2),
        published_at=utcnow() - timedelta(days=1),
        score=61.0,
        max_score=100.0,
        grade="不合格",
        critical_failed=True,
        findings_count=6,
    )
    for n in range(6):
        inspection.findings.append(
            Finding(
                unit_id=unit.id,
                item_code=f"long.{n}",
                title="公开办事指南（事项、条件、流程、时限、收费）",
                severity="major",
                status=FindingStatus.confirmed,
            )
        )
    db.session.add(inspection)
    staff = world.users[Role.unit_staff]
    staff.unit_id = unit.id
    db.session.commit()
    task = open_task(unit, description="窗口台面堆放快递、水杯和私人物品，群众办事材料无处摆放" * 2)
    rectification.respond(
        task,
        {
            "client_id": uuid.uuid4(),
            "description": "已整改",
            "photo_ids": after_photos(task, staff),
        },
        actor=staff,
    )
    task.due_on = local(utcnow()).date() - timedelta(days=3)
    task.due_at = utcnow() - timedelta(days=2)
    db.session.commit()
    return inspection, task


@pytest.mark.parametrize("url", [INSPECTIONS, TASKS])
def test_a_ledger_prints_landscape_one_page_wide_and_cuts_nothing(
    world, records, long_records, office, url
):
    sheet = sheet_of(office.get(url))
    assert_printable(sheet)
    header = header_of(sheet)
    rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert LONG_UNIT in {r["被检查单位"] for r in rows}
    if url == TASKS:
        assert "待复查（逾期）" in {r["状态"] for r in rows}
    else:
        problems = [r["问题（检查项，严重程度）"] or "" for r in rows]
        assert max(map(len, problems)) > 150
