"""Covert inspectors stay covert: the same people do the next 暗访, so units and lead units
read 暗访组 — never a name, username or id of the team — wherever an unannounced visit's
objects reach them (API and console), and the public disclosure lists no names; unless the
plan opts in (`disclose_inspectors`). Announced visits name their inspectors as before."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from openpyxl import load_workbook

from accounts.models import Role
from core.db import db
from inspections.models import PlanStatus, VisitKind
from media.models import Photo, PhotoStatus
from rectification import history
from rectification.models import RectificationTask
from tests.conftest import IsolatedClient
from tests.console.conftest import ConsoleClient
from tests.inspection_helpers import ALL_PASS, make_visit, published, submitted
from tests.readable import readable
from tests.test_visit_secrecy import everything_seen_by

SCOPED = (Role.unit_staff, Role.lead_unit_staff)
TEAM = "暗访组"
FAILING = ALL_PASS | {"dress.badge": {"result": "fail", "note": "未佩戴"}}
# Fields that name a person by id: none may carry a covert team member's id.
PERSON_KEYS = (
    "inspector",
    "uploaded_by",
    "actor",
    "verified_by",
    "decided_by",
    "author",
    "drawn_by",
)


class Case:
    """A published inspection of a visit by a two-person team, with an inspection photo
    by the team, a rectification task and an audit event on it by the team."""

    def __init__(self, world, make_user, kind, disclose):
        world.inspections  # noqa: B018 - the ordinary objects, so the walk has its URLs
        self.team = [
            make_user(Role.inspector, username=f"covert{n}{kind}", display_name=f"隐名检查员{n}")
            for n in ("甲", "乙")
        ]
        self.visit = make_visit(
            world.unit_a, self.team, kind=kind, starts_in_days=-1, disclose_inspectors=disclose
        )
        self.inspection = submitted(self.visit, self.team[0], FAILING)
        self.photo = Photo(
            client_id=str(uuid.uuid4()),
            status=PhotoStatus.stored,
            owner_type="inspection",
            owner_id=self.inspection.id,
            item_code="dress.badge",
            evidence_group=f"inspection:{self.inspection.id}",
            unit_id=world.unit_a.id,
            key=f"photos/test/{uuid.uuid4().hex}",
            content_type="image/jpeg",
            uploaded_by_id=self.team[1].id,
        )
        db.session.add(self.photo)
        db.session.commit()
        published(self.inspection)
        self.task = db.session.scalar(
            db.select(RectificationTask).where(
                RectificationTask.inspection_id == self.inspection.id
            )
        )
        # An inspector who verifies the fix leaves their name in the task's trail.
        history.record_change(self.task, "verify", self.team[1], self.task.snapshot())
        db.session.commit()
        self.ids = {m.id for m in self.team}
        self.words = [w for m in self.team for w in (m.username, m.display_name)]

    def api_urls(self) -> list[str]:
        i, t, p = self.inspection.id, self.task.id, self.photo.id
        return [
            f"/api/v1/visits/{self.visit.id}",
            f"/api/v1/visits?plan_id={self.visit.plan_id}",
            f"/api/v1/inspections/{i}",
            f"/api/v1/inspections?visit_id={self.visit.id}",
            f"/api/v1/findings?inspection_id={i}",
            f"/api/v1/rectification/tasks?inspection_id={i}",
            f"/api/v1/rectification/tasks/{t}",
            f"/api/v1/rectification/tasks/{t}/audit",
            f"/api/v1/rectification/tasks/{t}/replies",
            f"/api/v1/photos?owner_type=inspection&owner_id={i}",
            f"/api/v1/photos/{p}",
            "/api/v1/inbox",
        ]

    def console_urls(self) -> list[str]:
        return [
            "/console/results",
            f"/console/inspections/{self.inspection.id}",
            "/console/tasks",
            f"/console/tasks/{self.task.id}",
            f"/console/photos/{self.photo.id}",
        ]


def person_ids(body) -> list[int]:
    """Every id a JSON body gives for a person (inspector_id, actor_id, inspectors[].id…)."""
    found = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key.removesuffix("_id").removesuffix("_ids") in PERSON_KEYS:
                values = value if isinstance(value, list) else [value]
                found += [v for v in values if isinstance(v, int)]
            elif key == "inspectors" and isinstance(value, list):
                found += [m.get("id") for m in value if isinstance(m, dict)]
            found += person_ids(value)
    elif isinstance(body, list):
        for value in body:
            found += person_ids(value)
    return found


def read_api(client, case: Case) -> dict[str, tuple[int, str]]:
    seen = {}
    for url in case.api_urls():
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True))
        seen[url] = (200, readable(response))
    return seen


@pytest.fixture
def covert(world, make_user):
    return Case(world, make_user, VisitKind.unannounced, disclose=False)


@pytest.mark.parametrize("role", SCOPED)
def test_no_read_route_names_the_team_of_an_unannounced_visit(role, app, world, covert, client_for):
    client = client_for(world.users[role])
    seen = read_api(client, covert) | everything_seen_by(client, app, world)
    for url, (_, text) in seen.items():
        for word in covert.words:
            assert word not in text, (url, word)
        if text.startswith(("{", "[")):
            assert not covert.ids & set(person_ids(json.loads(text))), url
    visit = client.get(f"/api/v1/visits/{covert.visit.id}").get_json()
    assert (visit["inspectors"], visit["team_label"]) == ([], TEAM)
    inspection = client.get(f"/api/v1/inspections/{covert.inspection.id}").get_json()
    assert (inspection["inspector_id"], inspection["inspector_name"]) == (None, TEAM)
    listed = client.get(f"/api/v1/inspections?visit_id={covert.visit.id}").get_json()
    assert [i["inspector_name"] for i in listed["items"]] == [TEAM]
    task = client.get(f"/api/v1/rectification/tasks/{covert.task.id}").get_json()
    assert task["inspector_id"] is None
    trail = client.get(f"/api/v1/rectification/tasks/{covert.task.id}/audit").get_json()
    assert TEAM in [e["actor_name"] for e in trail]
    photo = client.get(f"/api/v1/photos/{covert.photo.id}").get_json()
    assert photo["uploaded_by_id"] is None


def test_the_lead_units_console_pages_say_only_the_team_label(app, world, covert):
    app.test_client_class = IsolatedClient
    console = ConsoleClient(app.test_client())
    assert console.sign_in(world.users[Role.lead_unit_staff].username).status_code == 302
    pages = {url: console.get(url) for url in covert.console_urls()}
    for url, page in pages.items():
        assert page.status_code == 200, url
        for word in covert.words:
            assert word not in page.get_data(as_text=True), (url, word)
    for url in covert.console_urls()[1:]:
        if "/tasks/" in url or "/inspections/" in url or "/photos/" in url:
            assert TEAM in pages[url].get_data(as_text=True), url


@pytest.mark.parametrize(
    ("kind", "disclose"),
    [(VisitKind.unannounced, True), (VisitKind.announced, False)],
    ids=["unannounced-opted-in", "announced"],
)
@pytest.mark.parametrize("role", SCOPED)
def test_names_appear_when_the_plan_opts_in_and_on_announced_visits(
    role, kind, disclose, app, world, make_user, client_for
):
    case = Case(world, make_user, kind, disclose)
    client = client_for(world.users[role])
    visit = client.get(f"/api/v1/visits/{case.visit.id}").get_json()
    assert {m["id"] for m in visit["inspectors"]} == case.ids
    assert visit["team_label"] == "隐名检查员甲、隐名检查员乙"
    inspection = client.get(f"/api/v1/inspections/{case.inspection.id}").get_json()
    assert inspection["inspector_id"] == case.team[0].id
    assert inspection["inspector_name"] == "隐名检查员甲"
    assert client.get(f"/api/v1/photos/{case.photo.id}").get_json()["uploaded_by_id"] == (
        case.team[1].id
    )
    trail = client.get(f"/api/v1/rectification/tasks/{case.task.id}/audit").get_json()
    assert "隐名检查员乙" in [e["actor_name"] for e in trail]
    if role == Role.lead_unit_staff:
        app.test_client_class = IsolatedClient
        console = ConsoleClient(app.test_client())
        console.sign_in(world.users[role].username)
        page = console.get(f"/console/inspections/{case.inspection.id}")
        assert "隐名检查员甲" in page.get_data(as_text=True)
        page = console.get(f"/console/photos/{case.photo.id}")
        assert "隐名检查员乙" in page.get_data(as_text=True)


def test_offices_and_inspectors_always_see_the_names(world, covert, client_for):
    for person in (world.users[Role.office_admin], covert.team[0]):
        body = client_for(person).get(f"/api/v1/inspections/{covert.inspection.id}").get_json()
        assert body["inspector_name"] == "隐名检查员甲"
        visit = client_for(person).get(f"/api/v1/visits/{covert.visit.id}").get_json()
        assert {m["id"] for m in visit["inspectors"]} == covert.ids


def _disclosure(case: Case, client) -> tuple[str, dict]:
    case.visit.plan.status = PlanStatus.published
    db.session.commit()
    response = client.get(f"/api/v1/plans/{case.visit.plan_id}/disclosure")
    assert response.status_code == 200
    return response.get_data(as_text=True), response.get_json()


@pytest.mark.parametrize("role", [Role.unit_staff, Role.office_admin, Role.inspector])
def test_the_disclosure_of_an_unannounced_plan_lists_no_names(role, world, covert, client_for):
    text, body = _disclosure(covert, client_for(world.users[role]))
    for word in covert.words:
        assert word not in text
    assert not covert.ids & set(person_ids(body))
    assert [(v["team_label"], v["team_size"], v["inspectors"]) for v in body["visits"]] == [
        (TEAM, 2, [])
    ]
    # The randomness stays checkable: the seed, the unit pool and the sampling rule.
    assert body["reproducible"] is True
    assert body["draw"]["seed"] == "fixed"
    assert [u["id"] for u in body["draw"]["inputs"]["units"]] == [world.unit_a.id]
    assert body["draw"]["inputs"]["inspectors"] == 2


def test_the_disclosure_names_the_team_when_the_plan_opts_in(world, make_user, client_for):
    case = Case(world, make_user, VisitKind.unannounced, disclose=True)
    _, body = _disclosure(case, client_for(world.users[Role.unit_staff]))
    assert body["visits"][0]["inspectors"] == ["隐名检查员甲", "隐名检查员乙"]
    assert {i["id"] for i in body["draw"]["inputs"]["inspectors"]} == case.ids


def test_the_plan_opts_in_through_the_api(office, world, make_user):
    from tests.test_policy_matrix import _today_plus

    inspectors = [make_user(Role.inspector) for _ in range(2)]
    body = {
        "name": "暗访计划",
        "kind": "unannounced",
        "period_start": _today_plus(1),
        "period_end": _today_plus(5),
        "sampling": {"size": 1},
        "inspector_ids": [i.id for i in inspectors],
    }
    created = office.post("/api/v1/plans", json=body)
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["disclose_inspectors"] is False
    plan_id = created.get_json()["id"]
    changed = office.patch(
        f"/api/v1/plans/{plan_id}",
        json={"disclose_inspectors": True},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert changed.status_code == 200
    assert changed.get_json()["disclose_inspectors"] is True
    assert office.get(f"/api/v1/plans/{plan_id}").get_json()["disclose_inspectors"] is True


def _found_by_inspector(client, inspector_id: int, inspection_id: int) -> dict[str, bool]:
    """Whether the list, and the ledger built from it, find the inspection by inspector."""
    listed = client.get(f"/api/v1/inspections?inspector_id={inspector_id}&per_page=100")
    ledger = client.get(f"/api/v1/reports/ledgers/inspections.xlsx?inspector_id={inspector_id}")
    assert listed.status_code == ledger.status_code == 200
    header, *rows = load_workbook(io.BytesIO(ledger.data)).active.iter_rows(values_only=True)
    column = header.index("检查编号")
    return {
        "list": inspection_id in [i["id"] for i in listed.get_json()["items"]],
        "ledger": inspection_id in [row[column] for row in rows],
    }


@pytest.mark.parametrize("role", SCOPED)
def test_a_filter_by_inspector_does_not_tell_who_did_a_covert_visit(
    role, world, covert, client_for
):
    """Every row reads 暗访组, but a count by inspector id would answer "did N do it?"."""
    client = client_for(world.users[role])
    for person in (*covert.team, world.users[Role.inspector]):
        assert _found_by_inspector(client, person.id, covert.inspection.id) == {
            "list": False,
            "ledger": False,
        }, person
    # The same unit still finds the inspection without the filter.
    listed = client.get(f"/api/v1/inspections?visit_id={covert.visit.id}").get_json()
    assert [i["id"] for i in listed["items"]] == [covert.inspection.id]


@pytest.mark.parametrize(
    ("kind", "disclose"),
    [(VisitKind.unannounced, True), (VisitKind.announced, False)],
    ids=["unannounced-opted-in", "announced"],
)
def test_the_filter_by_inspector_works_where_names_are_shown(
    kind, disclose, world, make_user, client_for
):
    case = Case(world, make_user, kind, disclose)
    starter = case.team[0]
    for reader in (world.users[Role.unit_staff], world.users[Role.office_admin]):
        found = _found_by_inspector(client_for(reader), starter.id, case.inspection.id)
        assert found == {"list": True, "ledger": True}, reader.role


def test_offices_filter_covert_visits_by_inspector(world, covert, client_for):
    office = client_for(world.users[Role.office_admin])
    found = _found_by_inspector(office, covert.team[0].id, covert.inspection.id)
    assert found == {"list": True, "ledger": True}
