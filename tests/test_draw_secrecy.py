"""双随机 and 暗访组: the published draw must not let anyone compute a covert team.

An outside audit replayed `dr-v1` from a disclosure: the seed was public and the same
generator went on from the units to the teams, so a lead unit that knew the inspectors
(named on announced visits) and their home units recovered every covert team. Here the
attacker is that lead unit: it reads only what it may (the disclosure of a published plan
without the opt-in, the visits of an announced plan), tries every replay the published data
allows, and must not find the teams; with the opt-in, the published data does replay them.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from accounts.models import Role, User
from core.db import db
from inspections import draw as dr
from inspections import plans
from inspections.models import Draw, Visit, VisitKind
from tests.inspection_helpers import admin, make_plan, publish_checklist

Teams = dict[int, list[int]]


@pytest.fixture
def field(world, make_unit, make_user):
    """Eight units of the lead unit's sector, each its own stratum, and six inspectors
    whose home units are the first six."""
    publish_checklist()
    units = [make_unit(sector_id=world.sector_a.id) for _ in range(8)]
    inspectors = [
        make_user(Role.inspector, unit_id=units[n].id, display_name=f"暗访员{n}") for n in range(6)
    ]
    return units, inspectors


def drawn_and_published(units, inspectors, **over) -> Draw:
    """A plan over `units`, drawn, its period over, published (一公开)."""
    plan = make_plan(units, inspectors, team_size=2, starts_in_days=-10, days=3, **over)
    draw = plans.draw_plan(plan, seed="audit2030", reason=None, actor=admin())
    plans.publish_plan(plan, actor=admin())
    db.session.commit()
    return draw


def stored_teams(draw: Draw) -> Teams:
    """The visit_inspector rows of the draw's visits: who really went where."""
    visits = db.session.scalars(db.select(Visit).where(Visit.draw_id == draw.id))
    return {v.unit_id: sorted(m.id for m in v.inspectors) for v in visits}


def teams_of(result: list[dict[str, Any]]) -> Teams:
    return {row["unit_id"]: sorted(row["inspector_ids"]) for row in result}


def what_a_lead_unit_knows(client, announced: Draw) -> list[dr.PoolInspector]:
    """The inspectors named on the announced plan's visits, with their home units (a unit
    knows its own staff; here the attacker knows them all, its best case)."""
    listed = client.get(f"/api/v1/visits?plan_id={announced.plan_id}&per_page=100").get_json()
    named = {m["id"] for v in listed["items"] for m in v["inspectors"]}
    assert len(named) == 6, listed
    home = {u.id: u.unit_id for u in db.session.scalars(db.select(User).where(User.id.in_(named)))}
    return [dr.PoolInspector(id=i, home_unit_id=home[i]) for i in sorted(named)]


def attempts(shown: dict[str, Any], pool: list[dr.PoolInspector]) -> list[Teams]:
    """Every replay of the teams the published draw allows: the dr-v1 stream from the
    seed (the audit's attack), and dr-v2's team generator seeded with whatever is public."""
    inputs, seed = shown["inputs"], shown["seed"]
    assert inputs["inspectors"] == len(pool)  # the pool guessed right, size and all
    units = [dr.PoolUnit(**u) for u in inputs["units"]]
    team_size, exclusions = inputs["team_size"], []
    assert inputs["exclusions"] == 0
    found = []
    for stream in (f"dr-v1:{seed}", f"{shown['algorithm']}:{seed}"):
        rng = random.Random(stream)
        picked = dr._pick_units(rng, units, inputs["sampling"])
        found.append(teams_of(dr._assign_teams(rng, picked, pool, team_size, exclusions)))
    # dr-v2 picks the units (in this order) from the public seed alone.
    picked = dr._pick_units(random.Random(f"dr-v2:units:{seed}"), units, inputs["sampling"])
    for guess in (seed, shown.get("team_seed_sha256"), shown.get("team_seed"), "", None):
        rng = random.Random(f"dr-v2:teams:{guess}")
        found.append(teams_of(dr._assign_teams(rng, picked, pool, team_size, exclusions)))
    return found


def test_a_lead_unit_cannot_compute_the_covert_teams_from_the_disclosure(world, field, client_for):
    units, inspectors = field
    announced = drawn_and_published(units, inspectors, kind=VisitKind.announced)
    covert = drawn_and_published(units, inspectors, disclose_inspectors=False)
    lead = client_for(world.users[Role.lead_unit_staff])
    pool = what_a_lead_unit_knows(lead, announced)

    response = lead.get(f"/api/v1/plans/{covert.plan_id}/disclosure")
    assert response.status_code == 200
    shown = response.get_json()["draw"]
    truth = stored_teams(covert)
    assert len(truth) == len(units)
    for recovered in attempts(shown, pool):
        assert recovered != truth
    # The units stay checkable from the public seed, and the team seed is committed to.
    assert shown["seed"] == "audit2030"
    public_units = dr.pick_units(
        [dr.PoolUnit(**u) for u in shown["inputs"]["units"]],
        sampling=shown["inputs"]["sampling"],
        seed=shown["seed"],
        algorithm=shown["algorithm"],
    )
    assert sorted(public_units) == sorted(truth)
    assert shown["team_seed"] is None
    assert shown["team_seed_sha256"] == dr.commitment(covert.team_seed)
    assert covert.team_seed not in response.get_data(as_text=True)


def test_with_the_opt_in_the_published_draw_replays_the_teams(world, field, client_for):
    units, inspectors = field
    named = drawn_and_published(units, inspectors, disclose_inspectors=True)
    lead = client_for(world.users[Role.lead_unit_staff])
    shown = lead.get(f"/api/v1/plans/{named.plan_id}/disclosure").get_json()["draw"]
    assert shown["team_seed_sha256"] == dr.commitment(shown["team_seed"])
    replayed = dr.replay(
        shown["inputs"], shown["seed"], team_seed=shown["team_seed"], algorithm=shown["algorithm"]
    )
    assert teams_of(replayed) == stored_teams(named)


def test_an_older_dr_v1_draw_replays_for_the_office_and_hides_its_seed(
    world, field, client_for, office
):
    """A dr-v1 draw's seed formed its teams too: without the opt-in the disclosure keeps
    the seed back; the office still replays the draw exactly under dr-v1."""
    units, inspectors = field
    draw = drawn_and_published(units, inspectors, disclose_inspectors=False)
    # As drawn before dr-v2: one generator, no team seed; the visits are that draw's.
    draw.algorithm, draw.team_seed = "dr-v1", None
    draw.result = dr.replay(draw.inputs, draw.seed, algorithm="dr-v1")
    people = {i.id: i for i in inspectors}
    for visit in db.session.scalars(db.select(Visit).where(Visit.draw_id == draw.id)):
        team = teams_of(draw.result)[visit.unit_id]
        visit.inspectors = [people[i] for i in team]
    db.session.commit()

    shown = client_for(world.users[Role.lead_unit_staff])
    body = shown.get(f"/api/v1/plans/{draw.plan_id}/disclosure").get_json()
    assert body["reproducible"] is True
    assert body["draw"]["algorithm"] == "dr-v1"
    assert body["draw"]["seed"] is None
    assert body["draw"]["team_seed"] is body["draw"]["team_seed_sha256"] is None

    (stored,) = office.get(f"/api/v1/plans/{draw.plan_id}/draws").get_json()
    assert (stored["algorithm"], stored["seed"], stored["team_seed"]) == (
        "dr-v1",
        "audit2030",
        None,
    )
    replayed = dr.replay(stored["inputs"], stored["seed"], algorithm="dr-v1")
    assert teams_of(replayed) == teams_of(stored["result"]) == stored_teams(draw)
    assert plans.verify_draw(draw)
