"""The console shows both scores of an inspection (提交时得分 / 复核后得分), the re-score in
its history with the reason, and the dashboard averages the reviewed score."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from inspections.models import Finding
from tests.console.support import inspection_to_review
from tests.console.test_dashboard import figure


def dismiss_smoke(office_console, inspection, reason="照片显示为室外吸烟区"):
    db.session.expire_all()
    smoke = db.session.scalar(
        select(Finding).where(
            Finding.inspection_id == inspection.id, Finding.item_code == "smoke.none"
        )
    )
    response = office_console.post(
        f"/console/findings/{smoke.id}/review",
        {"decision": "dismiss", "version": smoke.version, "reason": reason},
    )
    assert response.status_code == 303
    return response


def test_the_inspection_page_shows_both_scores_and_the_rescore_with_its_reason(
    office_console, world
):
    inspection = inspection_to_review(world)
    url = f"/console/inspections/{inspection.id}"
    page = office_console.get(url).get_data(as_text=True)
    assert "提交时得分" in page
    assert "复核后得分" in page
    assert "尚未复核" in page

    dismiss_smoke(office_console, inspection)
    page = office_console.get(url).get_data(as_text=True)
    submitted = page.split('id="score-submitted">', 1)[1].split("</dd>", 1)[0]
    reviewed = page.split('id="score-reviewed">', 1)[1].split("</dd>", 1)[0]
    assert "<strong>85.0</strong>" in submitted
    assert "良好" in submitted
    assert "<strong>95.0</strong>" in reviewed
    assert "优秀" in reviewed
    assert (
        "复核后重新计分：提交时得分 85 分（良好）；复核后得分 85 分（良好） → 95 分（优秀）"
        "（照片显示为室外吸烟区）"
    ) in page
    queue = office_console.get("/console/inspections").get_data(as_text=True)
    assert "复核后</span> 95.0" in queue


def test_the_dashboard_average_uses_the_reviewed_score(office_console, world):
    inspection = inspection_to_review(world)
    page = office_console.get("/console/?period=year").get_data(as_text=True)
    assert figure(page, "本年平均得分") == "85.0"
    dismiss_smoke(office_console, inspection)
    page = office_console.get("/console/?period=year").get_data(as_text=True)
    assert figure(page, "本年平均得分") == "95.0"
    sector = page.split('aria-label="本年各行业领域平均得分">', 1)[1].split("</svg>", 1)[0]
    assert ">95" in sector
    assert ">85" not in sector
