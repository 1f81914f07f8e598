"""双随机: reproducible draws, balanced teams, conflict exclusions, audited redraws."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from accounts.models import Role
from core.audit import trail
from core.clock import local, utcnow
from core.db import db
from inspections import draw as dr
from inspections.models import Visit
from tests.conftest import assert_problem
from tests.inspection_helpers import check_in, publish_checklist

UNITS = [dr.PoolUnit(id=i, sector_id=i % 3, region_id=i % 2) for i in range(1, 61)]
INSPECTORS = [dr.PoolInspector(id=100 + i, home_unit_id=i) for i in range(1, 11)]


ALGORITHMS = pytest.mark.parametrize("algorithm", dr.ALGORITHMS)


def run(seed="s", algorithm=dr.ALGORITHM, team_seed="t", **over):
    args = {
        "sampling": {"rate": 0.25},
        "team_size": 2,
        "exclusions": [],
        "seed": seed,
        "team_seed": team_seed,
        "algorithm": algorithm,
    } | over
    return dr.draw(UNITS, INSPECTORS, **args)


@ALGORITHMS
def test_same_inputs_and_seed_give_the_same_draw_and_another_seed_does_not(algorithm):
    assert run("alpha", algorithm) == run("alpha", algorithm)
    assert run("alpha", algorithm) != run("beta", algorithm)
    # Input order does not matter: everything is sorted before the generator runs.
    shuffled = dr.draw(
        list(reversed(UNITS)),
        list(reversed(INSPECTORS)),
        sampling={"rate": 0.25},
        team_size=2,
        exclusions=[],
        seed="alpha",
        team_seed="t",
        algorithm=algorithm,
    )
    assert shuffled == run("alpha", algorithm)
    inputs = dr.inputs_of(UNITS, INSPECTORS, sampling={"rate": 0.25}, team_size=2, exclusions=[])
    assert dr.replay(inputs, "alpha", team_seed="t", algorithm=algorithm) == run("alpha", algorithm)


def test_dr_v1_draws_replay_as_they_were_drawn():
    """Draws stored before dr-v2 keep replaying under their own algorithm: the units and
    teams the one `dr-v1:<seed>` generator gave (pinned here)."""
    first = run("alpha", "dr-v1", team_seed=None)[:3]
    assert first == run("alpha", "dr-v1", team_seed="ignored")[:3]
    assert first == [
        {"unit_id": 5, "inspector_ids": [103, 110]},
        {"unit_id": 7, "inspector_ids": [102, 108]},
        {"unit_id": 12, "inspector_ids": [103, 109]},
    ]


def test_dr_v2_picks_units_from_the_seed_and_teams_from_the_team_seed():
    base = run("alpha", team_seed="t1")
    other_teams = run("alpha", team_seed="t2")
    assert [r["unit_id"] for r in base] == [r["unit_id"] for r in other_teams]
    assert [r["inspector_ids"] for r in base] != [r["inspector_ids"] for r in other_teams]
    units = sorted(dr.pick_units(UNITS, sampling={"rate": 0.25}, seed="alpha"))
    assert units == [r["unit_id"] for r in base]
    assert run("alpha", team_seed="t1") == base
    with pytest.raises(ValueError, match="team seed"):
        run("alpha", team_seed=None)
    assert dr.commitment("t1") == (
        "628b49d96dcde97a430dd4f597705899e09a968f793491e4b704cae33a40dc02"
    )


def test_sample_per_stratum_by_rate_size_and_override():
    strata = Counter((u.sector_id, u.region_id) for u in UNITS)  # 6 strata of 10
    picked = {row["unit_id"] for row in run()}
    by_stratum = Counter((u.sector_id, u.region_id) for u in UNITS if u.id in picked)
    assert by_stratum == {key: 3 for key in strata}  # ceil(10 × 0.25)
    sized = run(sampling={"size": 1, "overrides": [{"sector_id": 0, "region_id": 0, "size": 4}]})
    by_stratum = Counter(
        (u.sector_id, u.region_id) for u in UNITS if u.id in {r["unit_id"] for r in sized}
    )
    assert by_stratum[(0, 0)] == 4
    assert sum(by_stratum.values()) == 4 + 5


@ALGORITHMS
def test_teams_are_balanced_across_inspectors(algorithm):
    result = run(
        algorithm=algorithm, sampling={"rate": 1.0}
    )  # 60 visits × 2 = 120 assignments over 10 people
    load = Counter(i for row in result for i in row["inspector_ids"])
    assert max(load.values()) - min(load.values()) <= 1
    assert all(len(set(row["inspector_ids"])) == 2 for row in result)


@ALGORITHMS
def test_nobody_inspects_their_own_unit_or_a_unit_they_are_excluded_from(algorithm):
    exclusions = [{"inspector_id": 101, "unit_id": u} for u in range(1, 61) if u % 2]
    for seed in ("a", "b", "c", "d"):
        result = run(seed, algorithm, sampling={"rate": 1.0}, exclusions=exclusions)
        for row in result:
            for inspector in row["inspector_ids"]:
                assert inspector - 100 != row["unit_id"], "inspected own unit"
                assert not (inspector == 101 and row["unit_id"] % 2), "exclusion ignored"


def test_too_few_eligible_inspectors_is_refused():
    exclusions = [{"inspector_id": i.id, "unit_id": 5} for i in INSPECTORS[1:]]
    with pytest.raises(dr.DrawError):
        dr.draw(
            [dr.PoolUnit(5, 1, 1)],
            INSPECTORS,
            sampling={"size": 1},
            team_size=2,
            exclusions=exclusions,
            seed="x",
            team_seed="y",
        )


# -- through the API ----------------------------------------------------------------------


@pytest.fixture
def pool(world, make_unit, make_user):
    publish_checklist()
    units = [
        make_unit(sector_id=world.sector_a.id, region_id=world.unit_a.region_id) for _ in range(6)
    ]
    inspectors = [make_user(Role.inspector, unit_id=units[i].id) for i in range(4)]
    db.session.commit()
    return units, inspectors


def plan_body(units, inspectors, **over):
    return {
        "name": "第一季度暗访",
        "kind": "unannounced",
        "period_start": "2030-01-01",
        "period_end": "2030-01-31",
        "pool": {"sector_ids": [units[0].sector_id]},
        "sampling": {"size": 4},
        "inspector_ids": [i.id for i in inspectors],
        "team_size": 2,
        "exclusions": [{"inspector_id": inspectors[3].id, "unit_id": units[0].id}],
    } | over


def test_a_stored_draw_replays_to_the_same_visits_and_excludes_conflicts(office, pool):
    units, inspectors = pool
    first = office.post("/api/v1/plans", json=plan_body(units, inspectors)).get_json()
    second = office.post("/api/v1/plans", json=plan_body(units, inspectors)).get_json()
    a = office.post(f"/api/v1/plans/{first['id']}/draws", json={"seed": "2030q1"})
    b = office.post(f"/api/v1/plans/{second['id']}/draws", json={"seed": "2030q1"})
    assert a.status_code == b.status_code == 201, a.get_json()
    # The same public seed picks the same units; each draw's own secret team seed its teams.
    a, b = a.get_json(), b.get_json()
    assert [r["unit_id"] for r in a["result"]] == [r["unit_id"] for r in b["result"]]
    assert len(a["result"]) == 4
    assert a["algorithm"] == "dr-v2"
    assert a["team_seed"] != b["team_seed"]
    assert a["team_seed_sha256"] == dr.commitment(a["team_seed"])
    # The office's view of the draws replays everything.
    (stored,) = office.get(f"/api/v1/plans/{first['id']}/draws").get_json()
    replayed = dr.replay(
        stored["inputs"],
        stored["seed"],
        team_seed=stored["team_seed"],
        algorithm=stored["algorithm"],
    )
    teams = [{"unit_id": r["unit_id"], "inspector_ids": r["inspector_ids"]} for r in replayed]
    assert teams == stored["result"] == a["result"]

    home = {i.id: i.unit_id for i in inspectors}
    visits = db.session.scalars(db.select(Visit).where(Visit.plan_id == first["id"])).all()
    assert len(visits) == 4
    for visit in visits:
        team = [m.id for m in visit.inspectors]
        assert len(team) == 2
        assert all(home[m] != visit.unit_id for m in team)
        assert not (visit.unit_id == units[0].id and inspectors[3].id in team)


def test_redraw_needs_a_reason_is_audited_and_is_refused_once_a_visit_starts(
    office, pool, client_for
):
    units, inspectors = pool
    # Whole-period windows: the inspector checks in now, whatever day the draw would pick.
    # (A period around today: a plan covers at most 366 days.)
    today = local(utcnow()).date()
    body = plan_body(
        units,
        inspectors,
        period_start=(today - timedelta(days=30)).isoformat(),
        period_end=(today + timedelta(days=30)).isoformat(),
        visit_windows="period",
    )
    plan_id = office.post("/api/v1/plans", json=body).get_json()["id"]
    assert office.post(f"/api/v1/plans/{plan_id}/draws", json={}).status_code == 201
    assert_problem(office.post(f"/api/v1/plans/{plan_id}/draws", json={}), 422)
    redraw = office.post(f"/api/v1/plans/{plan_id}/draws", json={"reason": "人员调整"})
    assert redraw.status_code == 201
    draws = office.get(f"/api/v1/plans/{plan_id}/draws").get_json()
    assert [(d["number"], d["current"]) for d in draws] == [(1, False), (2, True)]
    assert [e.action for e in trail("plan", plan_id)] == ["create", "draw", "redraw"]
    count = db.select(db.func.count(Visit.id)).where(Visit.plan_id == plan_id)
    assert db.session.scalar(count) == 4

    visit = db.session.scalar(db.select(Visit).where(Visit.plan_id == plan_id).limit(1))
    started = client_for(visit.inspectors[0]).post(
        "/api/v1/inspections",
        json={
            "client_uuid": "6f1c1f43-0d6a-4c8e-a2b9-3d1c0b7d0e11",
            "visit_id": visit.id,
            "check_in": check_in(visit.unit),
        },
    )
    assert started.status_code == 201, started.get_json()
    refused = office.post(f"/api/v1/plans/{plan_id}/draws", json={"reason": "再抽一次"})
    assert_problem(refused, 409)


def test_disclosure_after_the_period_shows_the_seed_and_proves_the_draw(
    office, pool, world, client_for
):
    units, inspectors = pool
    body = plan_body(units, inspectors, period_start="2020-01-01", period_end="2020-01-31")
    plan_id = office.post("/api/v1/plans", json=body).get_json()["id"]
    unit_client = client_for(world.users[Role.unit_staff])
    assert_problem(unit_client.get(f"/api/v1/plans/{plan_id}/disclosure"), 404)
    assert_problem(office.post(f"/api/v1/plans/{plan_id}/publish"), 409)  # nothing drawn
    office.post(f"/api/v1/plans/{plan_id}/draws", json={"seed": "public"})
    assert office.post(f"/api/v1/plans/{plan_id}/publish").status_code == 200

    shown = unit_client.get(f"/api/v1/plans/{plan_id}/disclosure")
    assert shown.status_code == 200
    body = shown.get_json()
    assert body["reproducible"] is True
    assert body["draw"]["seed"] == "public"
    assert len(body["visits"]) == 4
    assert_problem(
        office.post(f"/api/v1/plans/{plan_id}/draws", json={"reason": "材料尚未备齐"}), 409
    )


def test_publishing_before_the_period_ends_is_refused(office, pool):
    units, inspectors = pool
    plan_id = office.post("/api/v1/plans", json=plan_body(units, inspectors)).get_json()["id"]
    office.post(f"/api/v1/plans/{plan_id}/draws", json={})
    assert_problem(office.post(f"/api/v1/plans/{plan_id}/publish"), 409)


def test_plan_validation(office, pool, world):
    units, inspectors = pool
    both_rules = plan_body(units, inspectors, sampling={"size": 1, "rate": 0.5})
    errors = assert_problem(office.post("/api/v1/plans", json=both_rules), 422)["errors"]
    assert "sampling" in errors["json"]
    backwards = plan_body(units, inspectors, period_end="2029-01-01")
    errors = assert_problem(office.post("/api/v1/plans", json=backwards), 422)["errors"]
    assert "period_end" in errors
    no_template = plan_body(units, inspectors, checklist_template_id=987654)
    errors = assert_problem(office.post("/api/v1/plans", json=no_template), 422)["errors"]
    assert "checklist_template_id" in errors
    not_inspector = plan_body(units, [*inspectors, world.users[Role.unit_staff]])
    errors = assert_problem(office.post("/api/v1/plans", json=not_inspector), 422)["errors"]
    assert str(world.users[Role.unit_staff].id) in str(errors["inspector_ids"])


def test_rules_are_frozen_once_drawn(office, pool):
    units, inspectors = pool
    created = office.post("/api/v1/plans", json=plan_body(units, inspectors))
    plan_id = created.get_json()["id"]
    office.post(f"/api/v1/plans/{plan_id}/draws", json={})
    etag = office.get(f"/api/v1/plans/{plan_id}").headers["ETag"]
    frozen = office.patch(
        f"/api/v1/plans/{plan_id}", json={"team_size": 1}, headers={"If-Match": etag}
    )
    assert_problem(frozen, 409)
    renamed = office.patch(
        f"/api/v1/plans/{plan_id}", json={"name": "改名"}, headers={"If-Match": etag}
    )
    assert renamed.status_code == 200
    assert_problem(
        office.patch(f"/api/v1/plans/{plan_id}", json={"name": "再改"}, headers={"If-Match": etag}),
        412,
    )
