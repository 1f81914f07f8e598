"""What a reader of the 通报 and the 检查报告 reads, checked through python-docx (and the
rankings API the circular must agree with): problems worded as failed requirements, 红榜
and 黑榜 that never share a unit nor praise a failed one, a regional office's own title
and 落款, the on-time rate with what it counts, honest photo times, missing photos said
so, one date format, no phantom 附件, table rows kept whole."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from docx.oxml.ns import qn
from sqlalchemy import select

from accounts.models import Role
from core.clock import DISPLAY_TZ, local, utcnow
from core.db import db
from inspections.models import Finding
from media.models import Photo
from org.models import Region
from rectification.models import RectificationTask
from tests.inspection_helpers import ALL_PASS
from tests.report_support import BADGE, CRITICAL, SMOKE, Scene, document, text_of, this_month_day

CIRCULAR = "/api/v1/reports/circular"
RANKINGS = "/api/v1/reports/rankings"
REASON = "测试数据：照片不在本测试范围"  # tests.inspection_helpers.published
# Fails uniform, badge and smoke: 80 points, 良好.
WORST = ALL_PASS | {
    "dress.uniform": {"result": "fail", "note": "未穿工作服"},
    "dress.badge": {"result": "fail", "note": "未佩戴工作牌"},
    "smoke.none": {"result": "fail", "note": "大厅内有人吸烟"},
}

pytestmark = pytest.mark.usefixtures("empty_photo_folder")


@pytest.fixture
def scene(world, client_for):
    return Scene(client_for, world.users[Role.inspector], world.users[Role.office_admin])


@pytest.fixture
def city(scene, world, make_unit):
    """a1: smoke, with two photos; a2: 一票否决 (one photo) and a badge; c: smoke whose
    required photo never arrived (published with the reason); b: unpublished."""
    a2 = make_unit(sector_id=world.sector_a.id, region_id=world.region_a, name="第二窗口单位")
    c = make_unit(sector_id=world.sector_a.id, region_id=world.region_a, name="第三窗口单位")
    made = {
        "a1": scene.inspect(
            world.unit_a, SMOKE, at=this_month_day(3), photo_items=("smoke.none", "smoke.none")
        ),
        "a2": scene.inspect(a2, CRITICAL, at=this_month_day(4), photo_items=("video.working",)),
        "a2_badge": scene.inspect(a2, BADGE, at=this_month_day(5)),
        "c": scene.inspect(c, SMOKE, at=this_month_day(6)),
        "b": scene.inspect(world.unit_b, SMOKE, at=this_month_day(5), publish=False),
    }
    return made


def _section(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


def cn_datetime(moment: datetime) -> str:
    """ "2026年3月4日 09:05": how documents write a moment."""
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def _report(client, inspection):
    return document(client.get(f"/api/v1/inspections/{inspection.id}/report"))


# -- 1. a problem reads as the requirement it failed --------------------------------------


def test_typical_problems_and_tasks_read_as_failed_requirements(city, office):
    doc = document(office.get(CIRCULAR))
    typical = _section(text_of(doc), "三、典型问题", "四、整改要求")
    critical = db.session.scalar(select(Finding).where(Finding.inspection_id == city["a2"].id))
    # "检查发现：监控设备正常运行" said the inspection found the requirement met
    assert f"检查发现：{critical.title}" not in typical
    assert f"检查发现：不符合第2.2项“{critical.title}”的要求（严重，一票否决项）。" in typical
    assert f"现场情况：{critical.description}。" in typical
    tasks = doc.tables[1]
    assert [c.text for c in tasks.rows[0].cells][1] == "问题"
    stored = {t.title for t in db.session.scalars(select(RectificationTask))}
    cells = [row.cells[1].text for row in tasks.rows[1:]]
    assert cells
    for cell in cells:
        title = re.fullmatch("不符合“(.+)”的要求", cell)
        assert title, cell
        assert title[1] in stored


def test_the_report_words_problems_as_failed_requirements_and_dismissed_ones_apart(
    city, office, world, client_for
):
    report = _report(client_for(world.users[Role.unit_staff]), city["a1"])
    finding = city["a1"].findings[0]
    headings = [p.text for p in report.paragraphs if p.text.startswith("（1）")]
    assert headings == [f"（1）不符合第2.1项“{finding.title}”的要求（较重）"]


# -- 2. 红榜 and 黑榜 ------------------------------------------------------------------------


def test_red_and_black_lists_never_share_a_unit_nor_praise_a_failed_one(
    scene, world, make_unit, office
):
    """Two units ranked: the 一票否决 one (90 points, 不合格) ranks first over one whose
    three tasks are all overdue, yet is no 红榜 unit; neither list names both."""
    worst = make_unit(sector_id=world.sector_a.id, region_id=world.region_a, name="逾期窗口单位")
    scene.inspect(world.unit_a, CRITICAL, at=this_month_day(3))
    scene.inspect(worst, WORST, at=this_month_day(4))
    for task in db.session.scalars(
        select(RectificationTask).where(RectificationTask.unit_id == worst.id)
    ):
        task.due_at = utcnow() - timedelta(days=1)
    db.session.commit()
    body = office.get(RANKINGS).get_json()
    assert [u["id"] for u in body["units"]] == [world.unit_a.id, worst.id]
    assert body["red_list"] == []  # the best-ranked unit was failed by 一票否决
    assert [u["id"] for u in body["black_list"]] == [worst.id]  # not both units
    assert body["list_size"] == 1  # half of two units, not top=10

    ranking = _section(text_of(document(office.get(CIRCULAR))), "二、考核排名", "三、典型问题")
    assert "红榜（综合得分前1名，其中1家因一票否决或评为不合格不列入）：无。" in ranking
    assert f"黑榜（综合得分后1名）：{worst.name}。" in ranking
    assert "本期参与排名的单位2家，红榜、黑榜各取不超过半数（1家），两榜不重复。" in ranking


@pytest.mark.parametrize("top", [1, 2, 10])
def test_the_circular_prints_the_lists_the_api_returns(city, scene, world, make_unit, office, top):
    for n in range(3):
        unit = make_unit(sector_id=world.sector_a.id, region_id=world.region_b, name=f"达标{n}")
        scene.inspect(unit, ALL_PASS, at=this_month_day(7 + n))
    body = office.get(f"{RANKINGS}?top={top}").get_json()
    ranked = len(body["units"])
    assert ranked == 6
    red, black = body["red_list"], body["black_list"]
    assert {u["id"] for u in red}.isdisjoint(u["id"] for u in black)
    for unit in red:
        assert unit["critical_failed"] == 0
        assert unit["grades"]["不合格"] == 0
    assert len(red) <= body["list_size"] == min(top, ranked // 2) == len(black)

    text = text_of(document(office.get(f"{CIRCULAR}?top={top}")))
    size = body["list_size"]
    assert f"：{'、'.join(u['name'] for u in red)}。" in text
    assert f"黑榜（综合得分后{size}名）：{'、'.join(u['name'] for u in black)}。" in text
    shorter = f"本期参与排名的单位{ranked}家，红榜、黑榜各取不超过半数（{size}家），两榜不重复。"
    assert (shorter in text) == (size < top)


# -- 5. a district or town office's circular is its own ----------------------------------


def _paragraphs(response) -> list[str]:
    return [p.text for p in document(response).paragraphs if p.text]


def test_a_regional_office_circular_names_its_region_and_signs_as_its_office(
    city, world, client_for
):
    region = db.session.get(Region, world.region_a).name
    town = client_for(world.scoped_offices[Role.office_admin])
    regional = _paragraphs(town.get(CIRCULAR))
    text = "\n".join(regional)
    title = next(line for line in regional if line.startswith("关于"))
    assert title.startswith(f"关于{region}")
    assert title.endswith("窗口单位明察暗访情况的通报")
    assert f"{region}明察暗访工作领导小组办公室对" in text
    assert f"{region}窗口单位服务情况开展明察暗访" in text
    assert f"共检查{region}窗口单位" in text
    assert regional[-2] == f"{region}明察暗访工作领导小组办公室"  # 落款, then the date
    assert "市明察暗访工作领导小组办公室" not in text

    city_wide = _paragraphs(client_for(world.users[Role.office_admin]).get(CIRCULAR))
    assert city_wide[-2] == "市明察暗访工作领导小组办公室"
    assert region not in next(line for line in city_wide if line.startswith("关于"))
    assert "共检查窗口单位" in "\n".join(city_wide)
    # the office may still sign as it chooses
    assert _paragraphs(town.get(f"{CIRCULAR}?issuer=某某办公室"))[-2] == "某某办公室"


# -- 4. the on-time rate says what it counts ----------------------------------------------


def test_the_on_time_rate_names_how_many_tasks_were_due(city, office):
    summary = _section(text_of(document(office.get(CIRCULAR))), "一、总体情况", "二、考核排名")
    assert "尚无到期" in summary
    assert "按期整改率" not in summary

    task = db.session.scalar(select(RectificationTask).order_by(RectificationTask.id).limit(1))
    task.due_at = utcnow() - timedelta(days=1)
    db.session.commit()
    summary = _section(text_of(document(office.get(CIRCULAR))), "一、总体情况", "二、考核排名")
    assert "到期1项，按期整改0项，按期整改率0.0%" in summary
    # the rankings API gives the same count
    figures = office.get(RANKINGS).get_json()["summary"]
    assert (figures["tasks_due"], figures["tasks_on_time"], figures["on_time_rate"]) == (1, 0, 0.0)


# -- 3. a photo's time is when it was taken, or said unknown ------------------------------


def test_a_caption_never_passes_the_upload_time_off_as_the_time_taken(city, office):
    photos = db.session.scalars(
        select(Photo).where(Photo.owner_id == city["a1"].id).order_by(Photo.id)
    ).all()
    assert len(photos) == 2
    assert all(p.exif_taken_at is None and p.client_taken_at is None for p in photos)
    taken = datetime(2026, 3, 4, 9, 5, tzinfo=DISPLAY_TZ).astimezone(UTC)
    photos[1].client_taken_at = taken
    db.session.commit()
    text = text_of(document(office.get(CIRCULAR)))
    unknown = f"拍摄时间不详（上传于{cn_datetime(local(photos[0].received_at))}）"
    assert f"｜{unknown}｜SHA-256 {photos[0].sha256[:12]}" in text
    assert f"｜{cn_datetime(local(taken))}｜SHA-256 {photos[1].sha256[:12]}" in text
    assert "2026年3月4日 09:05" in text


# -- 6. photos that never arrived are said so ---------------------------------------------


def test_a_finding_whose_photos_never_arrived_says_so_with_the_reason(city, office, world):
    finding = city["c"].findings[0]
    report = [p.text for p in _report(office, city["c"]).paragraphs]
    heading = next(n for n, line in enumerate(report) if line.startswith("（1）"))
    block = report[heading : heading + 5]
    assert f"照片缺失：{REASON}。" in block
    assert "照片缺失" in report[-1]  # the 说明 says what the line means

    typical = _section(text_of(document(office.get(CIRCULAR))), "三、典型问题", "四、整改要求")
    lines = typical.splitlines()
    at = next(n for n, line in enumerate(lines) if "第三窗口单位。" in line)
    assert finding.description in lines[at]
    assert lines[at + 1] == f"照片缺失：{REASON}。"
    # a unit whose photos arrived gets its photos, not the line
    a1 = next(n for n, line in enumerate(lines) if f"{world.unit_a.name}。" in line)
    assert not lines[a1 + 1].startswith("照片缺失")


# -- 7. one date format; no phantom 附件; rows kept whole ----------------------------------


ZERO_PADDED = re.compile(r"\d{4}年0\d月|月0\d日|\d{4}-\d{2}-\d{2}")


def test_documents_write_dates_one_way_and_keep_table_rows_whole(city, office, world):
    task = db.session.scalar(
        select(RectificationTask).where(RectificationTask.inspection_id == city["a1"].id)
    )
    due = date(local(utcnow()).year + 1, 3, 5)
    task.due_on = due
    task.due_at = datetime.combine(due + timedelta(days=1), time(), DISPLAY_TZ).astimezone(UTC)
    db.session.commit()
    doc = document(office.get(CIRCULAR))
    report = _report(office, city["a1"])
    for text in (text_of(doc), text_of(report)):
        assert not ZERO_PADDED.search(text), ZERO_PADDED.search(text)[0]
    assert f"{due.year}年3月5日" in text_of(doc)
    assert f"整改期限{due.year}年3月5日" in text_of(report)

    text = text_of(doc)
    assert "附件" not in text  # the ranking, photos and tasks are sections of the body
    for table in doc.tables:
        for row in table.rows:
            whole = row._tr.find(f"{qn('w:trPr')}/{qn('w:cantSplit')}")
            assert whole is not None
            assert whole.get(qn("w:val")) in (None, "true", "1")
