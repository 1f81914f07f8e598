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

from accounts.models import Role
from core.db import db
from inspections.models import Inspection
from tests.inspection_helpers import publish_checklist
from tests.problem_support import READERS, THREE, make_scene, reader, review, submit


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


def test_the_stored_count_is_what_the_migration_recounts(scene):
    """The recount of revision 0031 gives what the review keeps (and undoes to the count
    at submission on downgrade)."""
    from flask_migrate import downgrade, upgrade

    downgrade(revision="0030_seal_link_format")
    db.session.expire_all()
    assert [db.session.get(Inspection, i).findings_count for i in scene] == [3, 1]
    db.session.remove()
    upgrade()
    assert [db.session.get(Inspection, i).findings_count for i in scene] == [2, 0]
