"""通报 and 检查报告 as .docx: opened with python-docx, their figures, photos and names
checked against the stored rows and the API's own ranking."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
from docx.oxml.ns import qn
from docx.shared import Pt
from sqlalchemy import select

from accounts.models import Role
from checklists.content import item_numbers
from core.audit import AuditEvent
from core.db import db
from evidence.seal import seal_short
from inspections.models import Finding, InspectionStatus, VisitKind
from media.models import Photo
from rectification.models import RectificationTask
from reports.documents.layout import cn_date
from reports.models import ExportJob
from tests.conftest import IsolatedClient, assert_problem
from tests.console.conftest import ConsoleClient
from tests.inspection_helpers import ALL_PASS
from tests.report_support import (
    BADGE,
    CRITICAL,
    SMOKE,
    Scene,
    document,
    embedded_images,
    preview_bytes,
    text_of,
    this_month_day,
)

CIRCULAR = "/api/v1/reports/circular"
RANKINGS = "/api/v1/reports/rankings"


# The photo folder starts empty for each test (conftest: only where a test takes the app).
pytestmark = pytest.mark.usefixtures("empty_photo_folder")


@pytest.fixture
def city(world, make_unit, client_for):
    scene = Scene(client_for, world.users[Role.inspector], world.users[Role.office_admin])
    a2 = make_unit(sector_id=world.sector_a.id, region_id=world.region_a, name="第二窗口单位")
    made = {
        "a1": scene.inspect(
            world.unit_a, SMOKE, at=this_month_day(3), photo_items=("smoke.none", "smoke.none")
        ),
        "a2": scene.inspect(a2, CRITICAL, at=this_month_day(4), photo_items=("video.working",)),
        "a2_badge": scene.inspect(a2, BADGE, at=this_month_day(5)),
        "b": scene.inspect(world.unit_b, SMOKE, at=this_month_day(5), publish=False),
    }
    return scene, made


def _photos(inspection, code):
    return db.session.scalars(
        select(Photo)
        .where(
            Photo.owner_type == "inspection",
            Photo.owner_id == inspection.id,
            Photo.item_code == code,
        )
        .order_by(Photo.id)
    ).all()


def _east_asia(element) -> str | None:
    fonts = element.find(f"{qn('w:rPr')}/{qn('w:rFonts')}")
    return None if fonts is None else fonts.get(qn("w:eastAsia"))


def test_the_circular_has_the_official_layout_and_the_rankings_figures(city, office, world):
    response = office.get(CIRCULAR)
    doc = document(response)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="circular-')
    assert "filename*=UTF-8''" + quote("通报-") in disposition

    section = doc.sections[0]
    sizes = ("page_width", "page_height", "top_margin", "bottom_margin", "left_margin")
    assert [round(getattr(section, name).mm, 1) for name in sizes] == [210, 297, 37, 35, 28]
    title = next(p for p in doc.paragraphs if p.text.startswith("关于"))
    assert title.text.endswith("窗口单位明察暗访情况的通报")
    assert title.runs[0].font.size == Pt(22)
    assert _east_asia(title.runs[0]._r) == "方正小标宋简体"
    normal = doc.styles["Normal"]
    assert normal.font.size == Pt(16)
    assert _east_asia(normal.element) == "仿宋_GB2312"
    assert any("〔" in p.text and "号" in p.text for p in doc.paragraphs[:2])  # 文号 to fill

    ranking = office.get(RANKINGS).get_json()
    table = doc.tables[0]
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert [r[1] for r in rows] == [u["name"] for u in ranking["units"]]
    for cells, unit in zip(rows, ranking["units"], strict=True):
        assert cells[0] == str(unit["rank"])
        assert cells[4] == str(unit["inspections"])
        assert cells[5] == f"{unit['avg_score']:.2f}"
        assert cells[6] == str(unit["findings"])
    text = text_of(doc)
    assert f"{ranking['summary']['inspections']}家次" in text
    assert f"一票否决{ranking['summary']['critical_failed']}家次" in text
    # unit B's inspection is not published: B is named nowhere
    assert world.unit_b.name not in text
    # the units ordered to rectify, with their deadlines from the stored tasks
    for task in db.session.scalars(select(RectificationTask)).all():
        if task.unit_id != world.unit_b.id:
            assert cn_date(task.due_on) in text
    assert "附件" not in text  # nothing is attached: the tables are sections of the body


def test_typical_problems_print_the_previews_with_their_hashes(city, office, world):
    _, made = city
    doc = document(office.get(CIRCULAR))
    text = text_of(doc)
    # default: the most severe finding of each unit (a2: the critical one, not the badge)
    assert "（一）第二窗口单位" in text
    assert "监控设备正常运行" in text
    assert f"（二）{world.unit_a.name}" in text
    assert "佩戴工作牌" not in text.split("三、典型问题")[1].split("四、整改要求")[0]
    photos = _photos(made["a2"], "video.working") + _photos(made["a1"], "smoke.none")
    assert len(photos) == 3
    shown = embedded_images(doc)
    assert shown == [preview_bytes(p) for p in photos]  # previews, in order; never originals
    for photo in photos:
        assert photo.preview_key
        assert photo.preview_key != photo.key
        assert f"SHA-256 {photo.sha256[:12]}" in text


def test_the_office_picks_the_typical_problems(city, office):
    _, made = city
    badge = db.session.scalar(select(Finding).where(Finding.inspection_id == made["a2_badge"].id))
    doc = document(office.get(f"{CIRCULAR}?finding_ids={badge.id}"))
    typical = text_of(doc).split("三、典型问题")[1].split("四、整改要求")[0]
    assert "佩戴工作牌" in typical
    assert "监控设备正常运行" not in typical
    assert embedded_images(doc) == []  # that item had no photo


def test_an_unpublished_finding_cannot_be_named_in_a_circular(city, office):
    _, made = city
    hidden = db.session.scalar(select(Finding).where(Finding.inspection_id == made["b"].id))
    body = assert_problem(office.get(f"{CIRCULAR}?finding_ids={hidden.id}"), 422)
    assert "finding_ids" in body["errors"]


def test_a_scoped_office_circular_names_its_units_only(city, world, make_unit, client_for):
    scene, _ = city
    scene.inspect(world.unit_b, ALL_PASS, at=this_month_day(6))  # B published, region B
    city_wide = text_of(document(client_for(world.users[Role.office_admin]).get(CIRCULAR)))
    assert world.unit_b.name in city_wide
    regional = client_for(world.scoped_offices[Role.viewer])
    assert world.unit_b.name not in text_of(document(regional.get(CIRCULAR)))
    for role in (Role.unit_staff, Role.lead_unit_staff, Role.inspector):
        assert_problem(client_for(world.users[role]).get(CIRCULAR), 403)


# -- 检查报告 -----------------------------------------------------------------------------


def _report(client, inspection):
    return client.get(f"/api/v1/inspections/{inspection.id}/report")


def test_the_unit_downloads_its_published_report(city, world, client_for):
    scene, made = city
    inspection = made["a1"]
    response = _report(client_for(world.users[Role.unit_staff]), inspection)
    doc = document(response)
    assert (
        "filename*=UTF-8''" + quote(f"检查报告-{world.unit_a.name}")
        in (response.headers["Content-Disposition"])
    )
    facts = dict((row.cells[0].text, row.cells[1].text) for row in doc.tables[0].rows[1:])
    assert facts["被检查单位"] == world.unit_a.name
    assert facts["检查方式"] == "暗访"
    # a 暗访 whose plan does not disclose its team: the unit reads 暗访组, not names
    assert facts["检查人员"] == "暗访组"
    assert scene.inspector.display_name not in text_of(doc)
    db.session.refresh(inspection)
    assert facts["得分"].startswith(f"{inspection.effective_score:g} / {inspection.max_score:g}")
    assert facts["等级"] == inspection.effective_grade
    assert facts["证据封存"] == seal_short(inspection)  # the seal, as the console shows it
    assert len(facts["证据封存"]) == 12
    text = text_of(doc)
    finding = inspection.findings[0]
    task = db.session.scalar(
        select(RectificationTask).where(RectificationTask.finding_id == finding.id)
    )
    number = item_numbers(inspection.checklist_version.content)[finding.item_code]
    # as people number it, never its code; the problem as the requirement it failed
    assert f"不符合第{number}项“{finding.title}”的要求" in text
    assert f"{number} {finding.title}" in text  # the photos' captions name the item
    assert finding.item_code not in text
    assert f"整改期限{cn_date(task.due_on)}" in text
    photos = _photos(inspection, "smoke.none")
    assert embedded_images(doc) == [preview_bytes(p) for p in photos]
    for photo in photos:
        assert photo.sha256 == hashlib.sha256(_original(photo)).hexdigest()
        assert f"SHA-256 {photo.sha256[:12]}" in text


def _original(photo) -> bytes:
    import io

    from media.storage import current_storage

    sink = io.BytesIO()
    current_storage().get_to(photo.key, sink)
    return sink.getvalue()


def test_the_office_reads_the_team_and_a_disclosing_plan_names_it(city, world, client_for):
    scene, made = city
    office = client_for(world.users[Role.office_admin])
    facts = dict(
        (r.cells[0].text, r.cells[1].text)
        for r in document(_report(office, made["a1"])).tables[0].rows
    )
    assert facts["检查人员"] == scene.inspector.display_name
    disclosed = scene.inspect(world.unit_a, ALL_PASS, disclose_inspectors=True)
    unit = client_for(world.users[Role.unit_staff])
    facts = dict(
        (r.cells[0].text, r.cells[1].text)
        for r in document(_report(unit, disclosed)).tables[0].rows
    )
    assert facts["检查人员"] == scene.inspector.display_name
    announced = scene.inspect(world.unit_a, ALL_PASS, kind=VisitKind.announced, starts_in_days=-1)
    facts = dict(
        (r.cells[0].text, r.cells[1].text)
        for r in document(_report(unit, announced)).tables[0].rows
    )
    assert facts["检查方式"] == "明察"
    assert facts["检查人员"] == scene.inspector.display_name


def test_unpublished_and_foreign_reports_are_missing(city, world, client_for):
    _, made = city
    assert made["b"].status == InspectionStatus.submitted
    staff_b = client_for(world.unit_staff_b)
    assert_problem(_report(staff_b, made["b"]), 404)  # not published yet
    assert_problem(_report(client_for(world.users[Role.unit_staff]), made["b"]), 404)
    assert_problem(_report(client_for(world.scoped_offices[Role.viewer]), made["b"]), 404)
    assert_problem(_report(client_for(world.users[Role.inspector]), made["a1"]), 403)
    # the office may read the unpublished one, marked as such
    text = text_of(document(_report(client_for(world.users[Role.viewer]), made["b"])))
    assert "尚未公开" in text


def test_text_xml_cannot_carry_is_left_out_not_a_server_error(city, world, client_for):
    _, made = city
    world.unit_a.name = "控制\x0b字符\x01单位"
    made["a1"].findings[0].description = "说明\x1f含有\ufffe控制字符"
    db.session.commit()
    office = client_for(world.users[Role.office_admin])
    text = text_of(document(office.get(CIRCULAR)))
    assert "控制字符单位" in text
    assert "说明含有控制字符" in text
    report = text_of(document(_report(client_for(world.users[Role.unit_staff]), made["a1"])))
    assert "控制字符单位" in report


def _document_exports(actor_id: int) -> list[tuple]:
    """(source, params, rows, audit action and after) of each document `actor_id` took."""
    db.session.expire_all()
    jobs = db.session.scalars(
        select(ExportJob).where(ExportJob.actor_id == actor_id).order_by(ExportJob.id)
    ).all()
    out = []
    for job in jobs:
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.entity_type == "export_job", AuditEvent.entity_id == job.id
            )
        )
        out.append((job.source, job.params, job.rows, job.status, event.action, event.after))
    return out


def test_every_circular_and_report_downloaded_is_in_the_audit_trail(app, city, world, client_for):
    """Who took which document, with which parameters and how many units or findings it
    prints: through the API and the console alike; a refused download records nothing."""
    _, made = city
    office = world.users[Role.office_admin]
    picked = made["a1"].findings[0].id
    response = client_for(office).get(f"/api/v1/reports/circular?finding_ids={picked}")
    assert response.status_code == 200
    app.test_client_class = IsolatedClient
    console = ConsoleClient(app.test_client())
    console.sign_in(office.username)
    report = console.client.get(f"/console/inspections/{made['a2'].id}/report.docx")
    assert report.status_code == 200
    staff = world.users[Role.unit_staff]
    assert _report(client_for(staff), made["a1"]).status_code == 200
    assert_problem(_report(client_for(staff), made["b"]), 404)

    (circular_job, report_job) = _document_exports(office.id)
    source, params, rows, status, action, after = circular_job
    assert (source, status, action) == ("circular", "done", "export")
    assert params["period"] == "month"
    assert params["finding_ids"] == [picked]
    assert rows == 2  # the two units of unit A's sector and region with published results
    assert after == {"source": "circular", "filters": params, "rows": 2}
    a2_findings = len(made["a2"].findings)
    assert report_job[:3] == ("inspection_report", {"inspection_id": made["a2"].id}, a2_findings)
    assert [j[:3] for j in _document_exports(staff.id)] == [
        ("inspection_report", {"inspection_id": made["a1"].id}, len(made["a1"].findings))
    ]
    # the office's list of its exports shows them, taken directly
    page = console.get("/console/exports").get_data(as_text=True)
    assert page.count("（已直接下载）") == 2
