"""The scene of the problem-count tests (tests/test_problem_counts.py and the console's
tests/console/test_problem_count_pages.py): one inspection at unit A with three failed
items (1.1 着装, 1.2 工作牌, 2.1 吸烟), of which the office dismisses 1.2 and confirms the
others, then publishes; and a second inspection at unit A whose only finding (1.2) is
dismissed."""

from __future__ import annotations

import io
import uuid

from openpyxl import load_workbook

from accounts.models import Role
from core.db import db
from tests.inspection_helpers import ALL_PASS, PHOTOS, check_in, make_visit, publish_checklist

INSPECTIONS = "/api/v1/reports/ledgers/inspections.xlsx"
THREE = ALL_PASS | {
    "dress.uniform": {"result": "fail", "note": "一名工作人员未穿工装"},
    "dress.badge": {"result": "fail", "note": "未佩戴工作牌"},
    "smoke.none": {"result": "fail", "note": "大厅后门有人吸烟"},
}
BADGE_ONLY = ALL_PASS | {"dress.badge": {"result": "fail", "note": "未佩戴工作牌"}}
PROBLEMS = "1.1 工作人员统一着装（一般）；2.1 服务区域无人吸烟（较重）"
DISMISSED = "1.2 佩戴工作牌（一般）"
READERS = ("office", "lead", "unit")


def reader(world, name: str):
    return world.users[
        {"office": Role.office_admin, "lead": Role.lead_unit_staff, "unit": Role.unit_staff}[name]
    ]


def submit(client_for, world, answers) -> dict:
    inspector = world.users[Role.inspector]
    visit = make_visit(world.unit_a, [inspector])
    body = {
        "client_uuid": str(uuid.uuid4()),
        "visit_id": visit.id,
        "check_in": check_in(world.unit_a),
        "answers": answers,
        "photos": PHOTOS
        | {code: [str(uuid.uuid4())] for code, a in answers.items() if a["result"] == "fail"},
    }
    response = client_for(inspector).post("/api/v1/inspections/submissions", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def review(office, result: dict, code: str, status: str) -> None:
    finding = next(f for f in result["findings"] if f["item_code"] == code)
    url = f"/api/v1/findings/{finding['id']}"
    etag = office.get(url).headers["ETag"]
    body = {"status": status} | (
        {"reason": "照片显示已佩戴工作牌"} if status == "dismissed" else {}
    )
    response = office.patch(url, json=body, headers={"If-Match": etag})
    assert response.status_code == 200, response.get_json()


def publish(office, inspection_id: int) -> None:
    response = office.post(
        f"/api/v1/inspections/{inspection_id}/publish",
        json={"missing_photos_reason": "测试数据：照片不在本测试范围"},
    )
    assert response.status_code == 200, response.get_json()


def make_scene(world, client_for, office) -> tuple[int, int]:
    """(the inspection with one of three findings dismissed, the one with its only finding
    dismissed), both reviewed and published through the API."""
    publish_checklist()
    db.session.commit()
    three = submit(client_for, world, THREE)
    review(office, three, "dress.uniform", "confirmed")
    review(office, three, "dress.badge", "dismissed")
    review(office, three, "smoke.none", "confirmed")
    publish(office, three["id"])
    none_left = submit(client_for, world, BADGE_ONLY)
    review(office, none_left, "dress.badge", "dismissed")
    publish(office, none_left["id"])
    return three["id"], none_left["id"]


def ledger_rows(response) -> dict[int, dict[str, object]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    sheet = load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    header = [c.value for c in sheet[1]]
    return {
        row[0]: dict(zip(header, row, strict=True))
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }


def assert_ledger_counts_problems(rows, scene, name: str) -> None:
    three, none_left = scene
    row = rows[three]
    assert row["问题数"] == 2
    assert row["问题（检查项，严重程度）"] == PROBLEMS
    assert row["不予认定（检查项，严重程度）"] == (DISMISSED if name == "office" else None)
    empty = rows[none_left]
    assert empty["问题数"] == 0
    assert empty["问题（检查项，严重程度）"] is None
    assert empty["不予认定（检查项，严重程度）"] == (DISMISSED if name == "office" else None)
