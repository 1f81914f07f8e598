"""Evidence review in the console: the queue, an inspection's photos and flags, reviewing
findings with a reason, publishing to the unit — and what a refusal looks like."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from accounts.models import Role
from core.clock import utcnow
from core.db import db
from inspections.models import (
    Finding,
    FindingStatus,
    Inspection,
    InspectionStatus,
    VisitKind,
)
from media.models import Photo, PhotoStatus
from rectification.models import RectificationTask
from tests.console.support import inspection_to_review
from tests.rectification_support import counting


@pytest.fixture
def to_review(world):
    return inspection_to_review(world)


def findings_of(inspection) -> dict[str, Finding]:
    db.session.expire_all()
    rows = db.session.scalars(select(Finding).where(Finding.inspection_id == inspection.id))
    return {f.item_code: f for f in rows}


def test_queue_lists_submitted_inspections_with_photos_and_flags(office_console, to_review, world):
    page = office_console.get("/console/inspections").get_data(as_text=True)
    assert world.unit_a.name in page
    assert f"/console/inspections/{to_review.id}" in page
    assert "2 张" in page  # photos stored
    assert "2 待审核" in page  # findings pending
    assert "拍摄地点远离单位 ×1" in page


@pytest.mark.parametrize(
    ("query", "listed"),
    [
        ("flag=far_from_unit", True),
        ("flag=near_duplicate", False),
        ("status=published", False),
        ("status=all", True),
        ("sector_id={sector_a}", True),
        ("sector_id={sector_b}", False),
        ("inspector_id={inspector}", True),
        ("plan_id=987654", False),
        ("sector_id=abc&flag=nonsense&page=-1", True),  # nonsense is ignored, never a 500
    ],
)
def test_queue_filters(office_console, to_review, world, query, listed):
    query = query.format(
        sector_a=world.sector_a.id,
        sector_b=world.sector_b.id,
        inspector=world.users[Role.inspector].id,
    )
    response = office_console.get(f"/console/inspections?{query}")
    assert response.status_code == 200
    assert (f"/console/inspections/{to_review.id}" in response.get_data(as_text=True)) is listed


def test_inspection_page_shows_answers_photos_flags_and_check_in(office_console, to_review):
    page = office_console.get(f"/console/inspections/{to_review.id}").get_data(as_text=True)
    assert "两名工作人员未穿工作服" in page
    assert "不符合" in page
    photos = db.session.scalars(select(Photo).where(Photo.owner_id == to_review.id)).all()
    assert len(photos) == 2
    for photo in photos:
        assert f"/console/photos/{photo.id}" in page
    assert page.count("/media/files/") >= 4  # thumbnail and preview of each, app-signed
    assert 'data-flag="far_from_unit"' in page
    assert "距单位 <strong>" in page  # the check-in distance
    assert "确认问题" in page


def test_an_imprecise_check_in_is_shown_as_such_not_as_far(office_console, to_review):
    """A reading coarser than the radius says 定位精度不足, on the page and in the queue."""
    assert "定位精度不足" not in office_console.get("/console/inspections").get_data(as_text=True)
    to_review.checkin_imprecise = True
    to_review.checkin_far = False
    db.session.commit()
    page = office_console.get(f"/console/inspections/{to_review.id}").get_data(as_text=True)
    assert "定位精度不足" in page
    assert "在范围内" not in page
    assert "定位精度不足" in office_console.get("/console/inspections").get_data(as_text=True)


def test_thumbnail_url_serves_the_image(office_console, to_review):
    import re

    page = office_console.get(f"/console/inspections/{to_review.id}").get_data(as_text=True)
    url = re.search(r'<img src="([^"]*/media/files/[^"]+)"', page).group(1)
    response = office_console.client.get(url.removeprefix("http://localhost"), buffered=True)
    assert response.status_code == 200
    assert response.data[:2] == b"\xff\xd8"  # a JPEG


def test_confirm_and_dismiss_findings(office_console, to_review):
    found = findings_of(to_review)
    uniform, smoke = found["dress.uniform"], found["smoke.none"]
    response = office_console.post(
        f"/console/findings/{uniform.id}/review",
        {"decision": "confirm", "version": uniform.version, "severity": uniform.severity},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"#finding-{uniform.id}")
    response = office_console.post(
        f"/console/findings/{smoke.id}/review",
        {"decision": "dismiss", "version": smoke.version, "reason": "照片显示为室外吸烟区"},
    )
    assert response.status_code == 303
    found = findings_of(to_review)
    assert found["dress.uniform"].status == FindingStatus.confirmed
    assert found["smoke.none"].status == FindingStatus.dismissed
    assert found["smoke.none"].reason == "照片显示为室外吸烟区"
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "已不予认定问题" in page
    # The history says who decided what, and why.
    assert "：不予认定问题「服务区域无人吸烟」（照片显示为室外吸烟区）" in page
    assert "：确认问题「工作人员统一着装」" in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"decision": "dismiss"}, "不予认定问题或修改严重程度、期限须说明理由（理由：必填字段）"),
        ({"decision": "dismiss", "reason": " n "}, "（理由：请用一句话说明理由，至少 4 个字）"),
        ({"decision": "confirm", "severity": "severe"}, "须说明理由"),
        ({"decision": "confirm", "deadline_days": "abc"}, "（整改期限：应为整数）"),
        ({"decision": "confirm", "version": "0"}, "刚被他人修改"),
    ],
)
def test_a_refused_review_changes_nothing_and_says_why(office_console, to_review, form, message):
    finding = findings_of(to_review)["dress.uniform"]
    data = {"version": finding.version, "severity": finding.severity} | form
    response = office_console.post(f"/console/findings/{finding.id}/review", data)
    assert response.status_code == 303
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert message in page
    after = findings_of(to_review)["dress.uniform"]
    assert (after.status, after.severity, after.version) == (
        FindingStatus.pending,
        finding.severity,
        finding.version,
    )


def test_publish_needs_every_finding_reviewed_then_opens_tasks(office_console, to_review):
    response = office_console.post(
        f"/console/inspections/{to_review.id}/publish", {"version": to_review.version}
    )
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "还有 2 个问题未审核" in page
    for finding in findings_of(to_review).values():
        office_console.post(
            f"/console/findings/{finding.id}/review",
            {"decision": "confirm", "version": finding.version, "severity": finding.severity},
        )
    db.session.expire_all()
    version = db.session.get(Inspection, to_review.id).version
    response = office_console.post(
        f"/console/inspections/{to_review.id}/publish",
        {"version": version, "missing_photos_reason": "监控照片另行报送"},  # video.working
    )
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 个已确认问题转入整改" in page
    db.session.expire_all()
    assert db.session.get(Inspection, to_review.id).status == InspectionStatus.published
    tasks = db.session.scalars(
        select(RectificationTask).where(RectificationTask.inspection_id == to_review.id)
    ).all()
    assert len(tasks) == 2
    assert 'value="confirm"' not in page  # a published result is read-only


def test_review_without_csrf_token_is_refused(office_console, to_review):
    finding = findings_of(to_review)["dress.uniform"]
    response = office_console.post(
        f"/console/findings/{finding.id}/review",
        {"decision": "confirm", "version": finding.version},
        with_csrf=False,
    )
    assert response.status_code == 400
    assert findings_of(to_review)["dress.uniform"].status == FindingStatus.pending


def test_viewer_reads_but_cannot_review(console, world, to_review):
    assert console.sign_in(world.users[Role.viewer].username).status_code == 302
    page = console.get(f"/console/inspections/{to_review.id}").get_data(as_text=True)
    assert "两名工作人员未穿工作服" in page
    assert "确认问题" not in page
    finding = findings_of(to_review)["dress.uniform"]
    response = console.post(
        f"/console/findings/{finding.id}/review", {"decision": "confirm", "version": 1}
    )
    assert response.status_code == 403


def test_photo_page_links_a_near_duplicate(office_console, world, to_review):
    from tests.console.support import upload

    inspector = world.users[Role.inspector]
    copy = upload("inspection", to_review.id, inspector, world.unit_a, seed=11)
    db.session.commit()
    assert copy.flag_near_duplicate is False  # same inspection: not evidence reuse
    other = inspection_to_review(world)
    again = upload("inspection", other.id, inspector, world.unit_a, seed=11)
    db.session.commit()
    assert again.near_duplicate_of_id is not None
    page = office_console.get(f"/console/photos/{again.id}").get_data(as_text=True)
    assert "与其他照片近似" in page
    assert f"/console/photos/{again.near_duplicate_of_id}" in page
    assert office_console.get("/console/photos/987654").status_code == 404


def test_missing_and_draft_inspections_are_404(office_console, to_review):
    assert office_console.get("/console/inspections/987654").status_code == 404
    db.session.get(Inspection, to_review.id).status = InspectionStatus.draft
    db.session.commit()
    assert office_console.get(f"/console/inspections/{to_review.id}").status_code == 404


def _bulk_inspections(world, count: int) -> None:
    """Submitted inspections, each with a pending finding and a flagged photo (rows only)."""
    inspector = world.users[Role.inspector]
    for n in range(count):
        inspection = Inspection(
            client_uuid=uuid.uuid4(),
            unit_id=(world.unit_a if n % 2 else world.unit_b).id,
            kind=VisitKind.unannounced,
            ad_hoc=True,
            inspector_id=inspector.id,
            started_at=utcnow(),
            submitted_at=utcnow(),
            status=InspectionStatus.submitted,
            score=90.0,
            grade="优秀",
            findings_count=1,
        )
        inspection.findings.append(
            Finding(unit_id=inspection.unit_id, item_code="x", title="问题", severity="general")
        )
        db.session.add(inspection)
        db.session.flush()
        db.session.add(
            Photo(
                client_id=str(uuid.uuid4()),
                status=PhotoStatus.stored,
                owner_type="inspection",
                owner_id=inspection.id,
                item_code="x",
                evidence_group=f"inspection:{inspection.id}",
                unit_id=inspection.unit_id,
                key=f"photos/test/{uuid.uuid4().hex}",
                uploaded_by_id=inspector.id,
                flag_exif_missing=True,
            )
        )
    db.session.commit()


def test_queue_takes_the_same_queries_for_5_and_50_rows(office_console, world):
    _bulk_inspections(world, 50)

    def statements(per_page: int) -> int:
        with counting() as seen:
            response = office_console.get(f"/console/inspections?per_page={per_page}")
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert page.count("缺少EXIF信息 ×1") == per_page
        return len(seen)

    assert statements(5) == statements(50)


def test_inspection_page_links_the_next_one_in_the_queue(office_console, world, to_review):
    later = inspection_to_review(world)
    page = office_console.get(f"/console/inspections/{to_review.id}").get_data(as_text=True)
    assert f'href="/console/inspections/{later.id}" rel="next"' in page
    page = office_console.get(f"/console/inspections/{later.id}").get_data(as_text=True)
    assert 'rel="next"' not in page


def test_publishing_without_required_photos_asks_for_a_reason_and_shows_it(
    office_console, to_review
):
    """`to_review` names a photo of 监控设备正常运行 (video.working) that never arrived."""
    url = f"/console/inspections/{to_review.id}"
    page = office_console.get(url).get_data(as_text=True)
    assert "缺少照片：2.2 监控设备正常运行" in page
    assert 'name="missing_photos_reason"' in page
    for finding in findings_of(to_review).values():
        office_console.post(
            f"/console/findings/{finding.id}/review",
            {"decision": "confirm", "version": finding.version, "severity": finding.severity},
        )
    db.session.expire_all()
    version = db.session.get(Inspection, to_review.id).version
    refused = office_console.post(f"{url}/publish", {"version": version})
    page = office_console.get(refused.headers["Location"]).get_data(as_text=True)
    assert "照片尚未上传：2.2 监控设备正常运行" in page
    db.session.expire_all()
    assert db.session.get(Inspection, to_review.id).status == InspectionStatus.submitted

    reason = "监控室检查当日停电，无法拍摄，已由单位补报说明"
    done = office_console.post(
        f"{url}/publish", {"version": version, "missing_photos_reason": reason}
    )
    page = office_console.get(done.headers["Location"]).get_data(as_text=True)
    assert "转入整改" in page
    db.session.expire_all()
    stored = db.session.get(Inspection, to_review.id)
    assert (stored.status, stored.missing_photos_reason) == (InspectionStatus.published, reason)
    assert page.count(reason) == 2  # among the facts, and in the history
    assert "公开结果（缺少照片：2.2 监控设备正常运行）" in page
    assert 'name="missing_photos_reason"' not in page  # published: nothing left to publish
