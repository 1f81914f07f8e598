"""问题数: every place that counts or lists an inspection's problems agrees, for every reader.

A problem is a finding the office did not dismiss (不予认定): pending its review, or
confirmed; once the result is published, the confirmed findings. The API's
`findings_count`, its `has_findings` filter, the 检查台账 (directly, through the worker, from
the console), the console's pages, the inspection report, the rankings and the 通报 all
count the same problems. The office also reads the dismissed findings, marked and counted
apart; a unit and a lead unit never learn that any were dismissed, nor how many.

The scene: tests/problem_support.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accounts import service as accounts
from accounts.models import Role
from core.db import db
from inspections.models import Inspection
from reports.downloads import run_export_jobs
from tests.inspection_helpers import publish_checklist
from tests.problem_support import (
    DISMISSED,
    INSPECTIONS,
    READERS,
    THREE,
    assert_ledger_counts_problems,
    ledger_rows,
    make_scene,
    reader,
    review,
    submit,
)
from tests.report_support import document, text_of


@pytest.fixture
def scene(world, client_for, office):
    return make_scene(world, client_for, office)


# -- the API --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", READERS)
def test_findings_count_is_the_problems_the_reader_is_shown(world, scene, client_for, name):
    three, none_left = scene
    client = client_for(reader(world, name))
    body = client.get(f"/api/v1/inspections/{three}").get_json()
    assert body["findings_count"] == 2
    problems = [f for f in body["findings"] if f["status"] != "dismissed"]
    assert sorted(f["item_code"] for f in problems) == ["dress.uniform", "smoke.none"]
    dismissed = [f["item_code"] for f in body["findings"] if f["status"] == "dismissed"]
    # the office still reads what it dismissed; the units' side never sees one
    assert dismissed == (["dress.badge"] if name == "office" else [])
    assert client.get(f"/api/v1/inspections/{none_left}").get_json()["findings_count"] == 0
    listed = {i["id"]: i["findings_count"] for i in client.get("/api/v1/inspections").json["items"]}
    assert listed == {three: 2, none_left: 0}


@pytest.mark.parametrize("name", READERS)
def test_has_findings_does_not_count_dismissed_findings(world, scene, client_for, name):
    three, none_left = scene
    client = client_for(reader(world, name))

    def ids(query):
        return [i["id"] for i in client.get(f"/api/v1/inspections?{query}").json["items"]]

    assert ids("has_findings=true") == [three]
    assert ids("has_findings=false") == [none_left]


def test_before_publication_the_office_counts_the_findings_still_to_review(
    world, client_for, office
):
    publish_checklist()
    db.session.commit()
    result = submit(client_for, world, THREE)
    url = f"/api/v1/inspections/{result['id']}"
    assert office.get(url).json["findings_count"] == 3  # three problems to review
    review(office, result, "dress.badge", "dismissed")
    assert office.get(url).json["findings_count"] == 2
    review(office, result, "dress.badge", "confirmed")  # the office changed its mind
    assert office.get(url).json["findings_count"] == 3
    review(office, result, "dress.badge", "dismissed")
    assert office.get(url).json["findings_count"] == 2
    # the unit's side sees nothing before publication
    assert client_for(world.users[Role.unit_staff]).get(url).status_code == 404


# -- 检查台账 -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", READERS)
def test_the_ledger_counts_the_problems_and_marks_the_dismissed_apart(
    world, scene, client_for, name
):
    client = client_for(reader(world, name))
    rows = ledger_rows(client.get(f"{INSPECTIONS}?status=published"))
    assert_ledger_counts_problems(rows, scene, name)


@pytest.mark.parametrize("name", READERS)
def test_the_workers_ledger_counts_the_same(world, scene, client_for, make_app, name):
    small = make_app(LEDGER_SYNC_MAX_ROWS=1)
    small.test_client_class = type(client_for(world.users[Role.viewer]))
    raw, _ = accounts.issue_token(reader(world, name), "password")
    db.session.commit()
    client = small.test_client()
    client.token = raw
    response = client.get(f"{INSPECTIONS}?status=published")
    assert response.status_code == 202, response.get_data(as_text=True)
    with small.app_context():
        assert run_export_jobs()["exports_done"] == 1
        db.session.remove()
    polled = client.get(response.headers["Location"]).get_json()
    download = client.get(polled["download_url"])
    assert_ledger_counts_problems(ledger_rows(download), scene, name)
    download.close()


def test_a_ledger_before_review_counts_the_findings_to_review_marked(world, client_for, office):
    publish_checklist()
    db.session.commit()
    result = submit(client_for, world, THREE)
    review(office, result, "dress.badge", "dismissed")
    review(office, result, "smoke.none", "confirmed")
    row = ledger_rows(office.get(f"{INSPECTIONS}?status=submitted"))[result["id"]]
    assert row["问题数"] == 2
    assert row["问题（检查项，严重程度）"] == (
        "1.1 工作人员统一着装（一般，待审核）；2.1 服务区域无人吸烟（较重）"
    )
    assert row["不予认定（检查项，严重程度）"] == DISMISSED


# -- documents and rankings -----------------------------------------------------------------


@pytest.mark.parametrize("name", READERS)
def test_the_inspection_report_counts_the_problems(world, scene, client_for, name):
    three, _ = scene
    text = text_of(
        document(client_for(reader(world, name)).get(f"/api/v1/inspections/{three}/report"))
    )
    if name == "office":
        assert "一、发现的问题（2个，另有1个不予认定）" in text
        # the problems first (each as the requirement it failed), then the dismissed
        # finding: no problem, so its item as such, marked
        assert text.index("（2）不符合第2.1项“服务区域无人吸烟”的要求") < text.index(
            "（3）1.2 佩戴工作牌（一般，不予认定"
        )
    else:
        assert "一、发现的问题（2个）" in text
        assert "佩戴工作牌" not in text
        assert "不予认定" not in text


def test_rankings_and_the_circular_count_the_same_problems(world, scene, office, client_for):
    ranking = office.get("/api/v1/reports/rankings").get_json()
    (unit,) = [u for u in ranking["units"] if u["id"] == world.unit_a.id]
    assert unit["findings"] == 2
    lead = client_for(world.users[Role.lead_unit_staff]).get("/api/v1/reports/rankings").json
    assert [u["findings"] for u in lead["units"] if u["id"] == world.unit_a.id] == [2]
    doc = document(office.get("/api/v1/reports/circular"))
    rows = [[c.text for c in row.cells] for row in doc.tables[0].rows[1:]]
    (row,) = [r for r in rows if r[1] == world.unit_a.name]
    assert row[6] == "2"
    assert "佩戴工作牌" not in text_of(doc)


def test_the_stored_count_is_what_the_migration_recounts(scene):
    """The recount of revision 0032 gives what the review keeps (and undoes to the count
    at submission on downgrade)."""
    from flask_migrate import downgrade, upgrade

    table = Inspection.__table__  # read by columns: the models are ahead of the downgrade

    def counts():
        found = [
            db.session.execute(select(table.c.findings_count).where(table.c.id == i)).scalar_one()
            for i in scene
        ]
        db.session.remove()
        return found

    db.session.remove()
    downgrade(revision="0031_username_case_unique")
    try:
        assert counts() == [3, 1]
    finally:
        upgrade()
    assert counts() == [2, 0]
