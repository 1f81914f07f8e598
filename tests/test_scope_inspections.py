"""District and town offices in the inspections domain: a scoped office sees the plans,
visits, inspections and findings of its region's subtree only, owns the plans made there,
sees a city plan read-only with its own units' part, and another region's ids answer 404
exactly like missing ids. Lead units read their sector's published results in the console.
"""

from __future__ import annotations

import inspect
import uuid
from datetime import timedelta

import pytest

from accounts import service as accounts
from accounts.models import Role
from core import errors
from core.clock import local, utcnow
from core.db import db
from inspections import findings as findings_service
from inspections import plans, policy
from inspections import service as inspections
from inspections.models import Plan, Visit, VisitKind, VisitWindows
from org.models import RegionLevel
from tests.conftest import IsolatedClient, assert_problem
from tests.console.conftest import ConsoleClient, without_tokens
from tests.inspection_helpers import ALL_PASS, PHOTOS, check_in, publish_checklist

MISSING = 987654
FAILING = ALL_PASS | {"dress.badge": {"result": "fail", "note": "未佩戴工作牌"}}
REASON = "测试数据：照片不在本测试范围"


def _plan(actor, units, inspectors, name, *, pool=None, windows=VisitWindows.period):
    today = local(utcnow()).date() - timedelta(days=1)
    data = {
        "name": name,
        "kind": VisitKind.unannounced,
        "period_start": today,
        "period_end": today + timedelta(days=6),
        "pool": pool if pool is not None else {"unit_ids": [u.id for u in units]},
        "sampling": {"rate": 1.0},
        "inspector_ids": [i.id for i in inspectors],
        "team_size": len(inspectors),
        "exclusions": [],
        "checklist_template_id": publish_checklist().template_id,
        "visit_windows": windows,  # period by default: the tests check in now
    }
    plan = plans.save_plan(data, actor=actor)
    plans.draw_plan(plan, seed="fixed", reason=None, actor=actor)
    db.session.commit()
    return plan


def _visit(plan, unit) -> Visit:
    return db.session.scalar(
        db.select(Visit).where(Visit.plan_id == plan.id, Visit.unit_id == unit.id)
    )


def _submit(inspector, *, visit=None, unit=None):
    data = {
        "client_uuid": uuid.uuid4(),
        "check_in": check_in(visit.unit if visit else unit),
        "answers": FAILING,
        "photos": PHOTOS,
    } | ({"visit_id": visit.id} if visit else {"unit_id": unit.id})
    inspection = inspections.submit_offline(data, actor=inspector).inspection
    db.session.commit()
    return inspection


def _publish(inspection, actor):
    for finding in inspection.findings:
        findings_service.review_finding(finding, {"status": "confirmed"}, actor=actor)
    findings_service.publish_inspection(inspection, actor=actor, missing_photos_reason=REASON)
    db.session.commit()
    return inspection


class Scene:
    """普宁市 → 区域A（→ 社区A1）, 区域B. A city plan over A and B, a plan of B's office
    with a pending 暗访 at B, a plan of A's office; inspections at A, A1 (ad hoc) and B."""

    def __init__(self, make_region, make_sector, make_unit, make_user):
        city = make_region(level=RegionLevel.city, name="普宁市")
        self.region_a = make_region(name="甲镇", parent_id=city.id)
        self.region_a1 = make_region(
            name="甲一社区", level=RegionLevel.community, parent_id=self.region_a.id
        )
        self.region_b = make_region(name="乙镇", parent_id=city.id)
        self.sector, other_sector = make_sector(), make_sector()

        def unit(name, region, sector):
            return make_unit(name=name, region_id=region.id, sector_id=sector.id)

        self.unit_a = unit("甲地政务大厅", self.region_a, self.sector)
        self.unit_a1 = unit("甲一服务站", self.region_a1, other_sector)
        self.unit_b = unit("乙地政务大厅", self.region_b, self.sector)
        self.unit_b2 = unit("乙地税务窗口", self.region_b, self.sector)
        self.city_admin = make_user(Role.office_admin)
        self.office_a = make_user(Role.office_admin, region_id=self.region_a.id)
        self.viewer_a = make_user(Role.viewer, region_id=self.region_a.id)
        self.office_a1 = make_user(Role.office_admin, region_id=self.region_a1.id)
        self.office_b = make_user(Role.office_admin, region_id=self.region_b.id)
        self.lead = make_user(Role.lead_unit_staff, sector_id=self.sector.id)
        team = [make_user(Role.inspector), make_user(Role.inspector)]
        self.inspector = team[0]
        publish_checklist()
        db.session.commit()

        self.city_plan = _plan(self.city_admin, [self.unit_a, self.unit_b], team, "全市暗访")
        self.plan_b = _plan(self.office_b, [self.unit_b2], team, "B区暗访")
        self.plan_a = _plan(self.office_a, [], team, "A区暗访", pool={})
        self.plan_a1 = _plan(self.office_a1, [self.unit_a1], team, "A1社区暗访")
        self.pending_b = _visit(self.plan_b, self.unit_b2)  # unannounced, not started
        self.city_visit_b = _visit(self.city_plan, self.unit_b)
        self.inspection_a = _submit(self.inspector, visit=_visit(self.city_plan, self.unit_a))
        self.ad_hoc_a1 = _publish(_submit(self.inspector, unit=self.unit_a1), self.city_admin)
        self.inspection_b = _publish(
            _submit(self.inspector, visit=self.city_visit_b), self.city_admin
        )
        self.finding_a = self.inspection_a.findings[0]
        self.finding_b = self.inspection_b.findings[0]
        self.a_units = {self.unit_a.id, self.unit_a1.id}


@pytest.fixture
def scene(make_region, make_sector, make_unit, make_user) -> Scene:
    return Scene(make_region, make_sector, make_unit, make_user)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["id"] for item in response.get_json()["items"]]


# -- lists, counts and filters ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["office_a", "viewer_a"])
def test_every_inspections_list_holds_only_the_offices_region(scene, client_for, who):
    api = client_for(getattr(scene, who))

    listed = api.get("/api/v1/plans").get_json()
    assert {p["id"] for p in listed["items"]} == {
        scene.city_plan.id,  # read-only: it has visits of A's units
        scene.plan_a.id,
        scene.plan_a1.id,
    }
    assert listed["total"] == 3

    visits = api.get("/api/v1/visits?per_page=100").get_json()
    assert {v["unit_id"] for v in visits["items"]} == scene.a_units
    assert visits["total"] == len(visits["items"])
    assert scene.pending_b.id not in {v["id"] for v in visits["items"]}

    shown = api.get("/api/v1/inspections").get_json()
    assert {i["id"] for i in shown["items"]} == {scene.inspection_a.id, scene.ad_hoc_a1.id}
    assert shown["total"] == 2

    found = api.get("/api/v1/findings?per_page=100").get_json()
    assert {f["unit_id"] for f in found["items"]} <= scene.a_units
    assert found["total"] == len(found["items"]) >= 2

    # Filters naming B's objects find nothing; they never widen the scope.
    assert _ids(api.get(f"/api/v1/visits?plan_id={scene.plan_b.id}")) == []
    assert _ids(api.get(f"/api/v1/visits?unit_id={scene.unit_b.id}")) == []
    assert _ids(api.get(f"/api/v1/inspections?region_id={scene.region_b.id}")) == []
    assert _ids(api.get(f"/api/v1/inspections?unit_id={scene.unit_b.id}")) == []
    assert _ids(api.get(f"/api/v1/findings?inspection_id={scene.inspection_b.id}")) == []
    assert _ids(api.get(f"/api/v1/visits?plan_id={scene.city_plan.id}")) == [
        _visit(scene.city_plan, scene.unit_a).id
    ]


def test_a_city_plan_shows_a_scoped_office_its_regions_part(scene, client_for):
    api = client_for(scene.office_a)
    draws = api.get(f"/api/v1/plans/{scene.city_plan.id}/draws").get_json()
    assert [row["unit_id"] for row in draws[0]["result"]] == [scene.unit_a.id]
    assert [u["id"] for u in draws[0]["inputs"]["units"]] == [scene.unit_a.id]
    # Its own plans' draws are whole.
    own = api.get(f"/api/v1/plans/{scene.plan_a.id}/draws").get_json()
    assert {row["unit_id"] for row in own[0]["result"]} == scene.a_units
    # The city plan itself names only its units, in the plan and in the list of plans.
    plan = api.get(f"/api/v1/plans/{scene.city_plan.id}").get_json()
    assert plan["pool"]["unit_ids"] == [scene.unit_a.id]
    listed = api.get("/api/v1/plans?per_page=100").get_json()["items"]
    (city,) = [p for p in listed if p["id"] == scene.city_plan.id]
    assert city["pool"]["unit_ids"] == [scene.unit_a.id]
    whole = client_for(scene.city_admin).get(f"/api/v1/plans/{scene.city_plan.id}").get_json()
    assert set(whole["pool"]["unit_ids"]) == {scene.unit_a.id, scene.unit_b.id}


def test_a_city_plans_drawn_windows_show_a_scoped_office_only_its_units_hours(scene, client_for):
    """The draw's schedule holds every pooled unit's service hours, keyed by unit id: a
    town office must not learn which other units the city's 暗访 pools, nor their hours."""
    every_day = {
        day: [["07:00", "21:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    }
    for unit in (scene.unit_a, scene.unit_b):
        unit.service_hours = every_day
    db.session.commit()
    team = [scene.inspector]
    plan = _plan(
        scene.city_admin,
        [scene.unit_a, scene.unit_b],
        team,
        "全市暗访（分时段）",
        windows=VisitWindows.drawn,
    )

    def hours_keys(client):
        draws = client.get(f"/api/v1/plans/{plan.id}/draws").get_json()
        return set(draws[0]["inputs"]["schedule"]["unit_hours"])

    assert hours_keys(client_for(scene.office_a)) == {str(scene.unit_a.id)}
    assert hours_keys(client_for(scene.city_admin)) == {str(scene.unit_a.id), str(scene.unit_b.id)}


# -- another region's ids ----------------------------------------------------------------------


def _foreign_and_missing(scene):
    """(method, url for B's object, url for a missing id, json body, needs If-Match)."""
    b = scene
    return [
        ("get", f"/plans/{b.plan_b.id}", f"/plans/{MISSING}", None, False),
        ("patch", f"/plans/{b.plan_b.id}", f"/plans/{MISSING}", {"name": "改名计划"}, True),
        ("get", f"/plans/{b.plan_b.id}/draws", f"/plans/{MISSING}/draws", None, False),
        (
            "post",
            f"/plans/{b.plan_b.id}/draws",
            f"/plans/{MISSING}/draws",
            {"reason": "检查人员需要重抽"},
            False,
        ),
        ("post", f"/plans/{b.plan_b.id}/publish", f"/plans/{MISSING}/publish", None, False),
        ("get", f"/visits/{b.pending_b.id}", f"/visits/{MISSING}", None, False),
        ("get", f"/visits/{b.city_visit_b.id}", f"/visits/{MISSING}", None, False),
        ("get", f"/inspections/{b.inspection_b.id}", f"/inspections/{MISSING}", None, False),
        (
            "post",
            f"/inspections/{b.inspection_b.id}/publish",
            f"/inspections/{MISSING}/publish",
            {"missing_photos_reason": REASON},
            False,
        ),
        ("get", f"/findings/{b.finding_b.id}", f"/findings/{MISSING}", None, False),
        (
            "patch",
            f"/findings/{b.finding_b.id}",
            f"/findings/{MISSING}",
            {"status": "confirmed"},
            True,
        ),
    ]


@pytest.mark.parametrize("who", ["office_a", "viewer_a"])
def test_another_regions_ids_answer_like_missing_ones(scene, client_for, who):
    api = client_for(getattr(scene, who))
    for method, foreign, missing, body, versioned in _foreign_and_missing(scene):
        headers = {"If-Match": '"1"'} if versioned else {}
        kwargs = {"json": body, "headers": headers} if body is not None else {"headers": headers}
        got_foreign = getattr(api, method)("/api/v1" + foreign, **kwargs)
        got_missing = getattr(api, method)("/api/v1" + missing, **kwargs)
        if who == "viewer_a" and method != "get":
            # The role is refused before any object is looked up, the same for both.
            assert got_foreign.status_code == got_missing.status_code == 403
            continue
        assert_problem(got_foreign, 404)
        assert got_foreign.get_json() == got_missing.get_json(), foreign


def test_an_own_region_id_is_found(scene, client_for):
    api = client_for(scene.office_a)
    for url in (
        f"/plans/{scene.plan_a.id}",
        f"/plans/{scene.plan_a1.id}",
        f"/plans/{scene.city_plan.id}",
        f"/visits/{_visit(scene.city_plan, scene.unit_a).id}",
        f"/inspections/{scene.inspection_a.id}",
        f"/inspections/{scene.ad_hoc_a1.id}",
        f"/findings/{scene.finding_a.id}",
    ):
        assert api.get("/api/v1" + url).status_code == 200, url


# -- plan ownership --------------------------------------------------------------------------


def _plan_body(scene, **over):
    today = local(utcnow()).date()
    return {
        "name": "A区新计划",
        "kind": "announced",
        "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=3)).isoformat(),
        "sampling": {"rate": 1.0},
        "inspector_ids": [scene.inspector.id],
        "team_size": 1,
    } | over


def test_a_scoped_office_creates_plans_in_its_own_region(scene, client_for):
    api = client_for(scene.office_a)
    made = api.post("/api/v1/plans", json=_plan_body(scene, region_id=scene.region_b.id))
    assert made.status_code == 422  # region_id is not the client's to set
    made = api.post("/api/v1/plans", json=_plan_body(scene))
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["region_id"] == scene.region_a.id
    assert db.session.get(Plan, made.get_json()["id"]).region_id == scene.region_a.id

    # Another region's unit or region in the pool is refused like a missing one.
    for key, foreign in (("unit_ids", scene.unit_b.id), ("region_ids", scene.region_b.id)):
        refused = api.post("/api/v1/plans", json=_plan_body(scene, pool={key: [foreign]}))
        missing = api.post("/api/v1/plans", json=_plan_body(scene, pool={key: [MISSING]}))
        body = assert_problem(refused, 422)
        assert list(body["errors"]) == [f"pool.{key}"]
        assert str(foreign) in str(body["errors"])
        assert "不存在" in str(body["errors"])
        assert assert_problem(missing, 422)["errors"][f"pool.{key}"][0].startswith("不存在")


def test_a_scoped_office_draws_only_from_its_subtree(scene):
    drawn = {
        v.unit_id
        for v in db.session.scalars(db.select(Visit).where(Visit.plan_id == scene.plan_a.id))
    }
    assert drawn == scene.a_units  # the pool named nothing: every active unit of A's subtree
    units, _ = plans.resolve_pool(scene.plan_a)
    assert {u.id for u in units} == scene.a_units


def test_a_scoped_office_edits_draws_and_publishes_only_its_own_plans(scene, client_for):
    api = client_for(scene.office_a)
    city = scene.city_plan.id
    # A city plan: readable, never changeable.
    shown = api.get(f"/api/v1/plans/{city}")
    assert shown.status_code == 200
    for method, url, body, headers in (
        (
            "patch",
            f"/api/v1/plans/{city}",
            {"name": "改名计划"},
            {"If-Match": shown.headers["ETag"]},
        ),
        ("post", f"/api/v1/plans/{city}/draws", {"reason": "重新抽取"}, {}),
        ("post", f"/api/v1/plans/{city}/publish", None, {}),
    ):
        refused = getattr(api, method)(url, json=body, headers=headers)
        assert "本辖区只能查看" in assert_problem(refused, 403)["detail"]
    assert db.session.get(Plan, city).name == "全市暗访"
    # Its own plan, and the plan of a community below it.
    for plan in (scene.plan_a, scene.plan_a1):
        version = api.get(f"/api/v1/plans/{plan.id}").headers["ETag"]
        renamed = api.patch(
            f"/api/v1/plans/{plan.id}", json={"name": "改名计划"}, headers={"If-Match": version}
        )
        assert renamed.status_code == 200, renamed.get_data(as_text=True)
        redrawn = api.post(f"/api/v1/plans/{plan.id}/draws", json={"reason": "重新抽取"})
        assert redrawn.status_code == 201, redrawn.get_data(as_text=True)
    # The community office sees its parent's plan (it has a visit there), never owns it.
    below = client_for(scene.office_a1)
    assert below.get(f"/api/v1/plans/{scene.plan_a.id}").status_code == 200
    assert_problem(below.post(f"/api/v1/plans/{scene.plan_a.id}/publish"), 403)


def test_services_refuse_a_plan_the_office_does_not_own(scene):
    with pytest.raises(errors.Forbidden):
        plans.publish_plan(scene.city_plan, actor=scene.office_a)
    assert not policy.can_edit_plan(scene.office_a, scene.city_plan)
    assert policy.can_edit_plan(scene.office_a, scene.plan_a1)
    assert not policy.can_edit_plan(scene.office_a1, scene.plan_a)
    assert not policy.can_edit_plan(scene.viewer_a, scene.plan_a)


def test_a_city_wide_office_sees_and_edits_everything(scene, client_for):
    api = client_for(scene.city_admin)
    assert {p["id"] for p in api.get("/api/v1/plans").get_json()["items"]} == {
        scene.city_plan.id,
        scene.plan_a.id,
        scene.plan_a1.id,
        scene.plan_b.id,
    }
    visits = api.get("/api/v1/visits?per_page=100").get_json()["items"]
    assert scene.pending_b.id in {v["id"] for v in visits}
    assert {i["id"] for i in api.get("/api/v1/inspections").get_json()["items"]} == {
        scene.inspection_a.id,
        scene.ad_hoc_a1.id,
        scene.inspection_b.id,
    }
    version = api.get(f"/api/v1/plans/{scene.plan_b.id}").headers["ETag"]
    renamed = api.patch(
        f"/api/v1/plans/{scene.plan_b.id}", json={"name": "市里改名"}, headers={"If-Match": version}
    )
    assert renamed.status_code == 200
    made = api.post("/api/v1/plans", json=_plan_body(scene))
    assert made.status_code == 201
    assert made.get_json()["region_id"] is None


def test_a_scoped_office_reviews_and_publishes_its_units_inspections(scene, client_for):
    api = client_for(scene.office_a)
    finding = api.get(f"/api/v1/findings/{scene.finding_a.id}")
    confirmed = api.patch(
        f"/api/v1/findings/{scene.finding_a.id}",
        json={"status": "confirmed"},
        headers={"If-Match": finding.headers["ETag"]},
    )
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    published = api.post(
        f"/api/v1/inspections/{scene.inspection_a.id}/publish",
        json={"missing_photos_reason": REASON},
    )
    assert published.status_code == 200, published.get_data(as_text=True)
    assert published.get_json()["status"] == "published"


# -- the console -----------------------------------------------------------------------------


def _console_for(app, user) -> ConsoleClient:
    """A console session for `user`, whatever the sign-in form lets through."""
    raw, _ = accounts.issue_token(user, "password")
    db.session.commit()
    app.test_client_class = IsolatedClient
    client = ConsoleClient(app.test_client())
    with client.client.session_transaction() as session:
        session["token"] = raw
    return client


_page = without_tokens


def test_console_pages_follow_the_scope(app, scene):
    console = _console_for(app, scene.office_a)
    page = console.get("/console/plans").get_data(as_text=True)
    assert "A区暗访" in page
    assert "全市暗访" in page
    assert "B区暗访" not in page

    queue = console.get("/console/inspections?status=all")
    text = queue.get_data(as_text=True)
    assert queue.status_code == 200
    assert scene.unit_a.name in text
    assert scene.unit_a1.name in text
    assert scene.unit_b.name not in text
    assert scene.region_b.name not in text  # no filter option of B's either
    assert "B区暗访" not in text
    assert "共 2 条" in text

    city = console.get(f"/console/plans/{scene.city_plan.id}").get_data(as_text=True)
    assert scene.unit_a.name in city
    assert scene.unit_b.name not in city
    assert 'id="read-only-plan"' in city
    assert "开始抽取" not in city
    assert "重新抽取" not in city
    assert "公开抽取" not in city
    own = console.get(f"/console/plans/{scene.plan_a.id}").get_data(as_text=True)
    assert "重新抽取" in own
    assert 'id="read-only-plan"' not in own

    form = console.get("/console/plans/new").get_data(as_text=True)
    assert scene.region_a1.name in form
    assert scene.region_b.name not in form

    for foreign, missing in (
        (f"/console/plans/{scene.plan_b.id}", f"/console/plans/{MISSING}"),
        (f"/console/inspections/{scene.inspection_b.id}", f"/console/inspections/{MISSING}"),
        (f"/console/results?unit_id={scene.unit_b.id}", None),
    ):
        got = console.get(foreign)
        if missing is None:
            assert scene.unit_b.name not in got.get_data(as_text=True).split("<table")[1]
            continue
        other = console.get(missing)
        assert got.status_code == other.status_code == 404
        assert _page(got) == _page(other)
    for foreign, missing in (
        (f"/console/plans/{scene.plan_b.id}/draw", f"/console/plans/{MISSING}/draw"),
        (f"/console/plans/{scene.plan_b.id}/publish", f"/console/plans/{MISSING}/publish"),
        (
            f"/console/inspections/{scene.inspection_b.id}/publish",
            f"/console/inspections/{MISSING}/publish",
        ),
        (f"/console/findings/{scene.finding_b.id}/review", f"/console/findings/{MISSING}/review"),
    ):
        got = console.post(foreign, {"version": "1", "decision": "confirm"})
        other = console.post(missing, {"version": "1", "decision": "confirm"})
        assert got.status_code == other.status_code == 404, foreign
        assert _page(got) == _page(other)


def test_the_console_refuses_to_publish_a_plan_the_office_does_not_own(app, scene):
    console = _console_for(app, scene.office_a)
    refused = console.post(f"/console/plans/{scene.city_plan.id}/publish", {"version": "2"})
    assert refused.status_code == 303
    assert db.session.get(Plan, scene.city_plan.id).status == "drawn"


def test_a_lead_unit_reads_its_sectors_published_inspections_only(app, scene):
    console = _console_for(app, scene.lead)
    listed = console.get("/console/results")
    assert listed.status_code == 200
    rows = listed.get_data(as_text=True).split("<tbody>")[1]
    assert f'data-inspection="{scene.inspection_b.id}"' in rows
    assert f'data-inspection="{scene.inspection_a.id}"' not in rows  # not published
    assert f'data-inspection="{scene.ad_hoc_a1.id}"' not in rows  # another sector

    page = console.get(f"/console/inspections/{scene.inspection_b.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "确认问题" not in text
    assert "公开结果并转入整改" not in text
    assert "操作记录" not in text
    assert scene.inspector.display_name not in text  # 暗访 inspectors are not named

    unpublished = console.get(f"/console/inspections/{scene.inspection_a.id}")
    missing = console.get(f"/console/inspections/{MISSING}")
    assert unpublished.status_code == missing.status_code == 404
    assert _page(unpublished) == _page(missing)
    assert console.get("/console/inspections").status_code == 403  # the queue is the office's
    assert console.get("/console/plans").status_code == 403
    assert console.get(f"/console/plans/{scene.plan_b.id}").status_code == 403
    posted = console.post(f"/console/inspections/{scene.inspection_b.id}/publish", {})
    assert posted.status_code == 403


# -- one rule for finding an object -----------------------------------------------------------


def test_every_inspections_getter_takes_an_actor():
    from inspections import findings, queries

    found = []
    for module in (inspections, plans, findings, policy, queries):
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if func.__module__ != module.__name__:
                continue
            if name.startswith(("get_", "visible_")) or name in ("list_plans", "disclosure"):
                found.append(name)
                assert "actor" in inspect.signature(func).parameters or (
                    "user" in inspect.signature(func).parameters
                ), f"{module.__name__}.{name} finds objects without an actor"
    assert {"get_plan", "get_visit", "get_inspection", "get_finding"} <= set(found)
    assert {"visible_plan", "visible_visit", "visible_inspection", "visible_finding"} <= set(found)
