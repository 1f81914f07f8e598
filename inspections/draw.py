"""双随机: the double-random draw, a pure function of its inputs and seeds.

The same inputs and seeds give the same visits on any machine: everything is sorted before
a random generator touches it, and `random.Random` seeded with a string is stable across
Python versions (seed version 2, SHA-512 of the string). The office stores the seeds and the
inputs with each draw so that it can replay it (`replay`) and check the stored result.

Two algorithms, each draw replaying under the one it names:

- "dr-v2" (new draws): the units come from a generator seeded with the public `seed`, the
  teams from another seeded with a secret `team_seed` (random per draw). The disclosure of
  a plan that does not name its inspectors publishes the seed and `commitment(team_seed)`
  only, so anyone can check the units but nobody can compute the 暗访 teams.
- "dr-v1" (older draws): one generator seeded with `seed` picks the units and then forms the
  teams, so whoever knows the seed and guesses the inspector pool can compute the teams.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from org import hours as service_hours

ALGORITHM = "dr-v2"
ALGORITHMS = ("dr-v1", "dr-v2")


class DrawError(ValueError):
    """The inputs cannot give a draw (e.g. too few eligible inspectors for a unit)."""

    def __init__(self, message: str, field: str = "inspector_ids"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PoolUnit:
    id: int
    sector_id: int
    region_id: int


@dataclass(frozen=True)
class PoolInspector:
    id: int
    home_unit_id: int | None


def sample_size(n: int, rule: dict[str, Any]) -> int:
    """How many of a stratum of `n` units to pick: a fixed size or a rate (rounded up)."""
    if n == 0:
        return 0
    if rule.get("size") is not None:
        return min(n, int(rule["size"]))
    rate = float(rule.get("rate") or 0)
    return min(n, math.ceil(n * rate - 1e-9)) if rate > 0 else 0


def draw(
    units: list[PoolUnit],
    inspectors: list[PoolInspector],
    *,
    sampling: dict[str, Any],
    team_size: int,
    exclusions: list[dict[str, int]],
    seed: str,
    team_seed: str | None = None,
    algorithm: str = ALGORITHM,
) -> list[dict[str, Any]]:
    """[{"unit_id", "inspector_ids"}] sorted by unit id. "dr-v2" needs `team_seed`."""
    # Reproducible on purpose: the seeds come from `secrets`; `seed` is published.
    if algorithm == "dr-v1":
        rng = random.Random(f"dr-v1:{seed}")  # noqa: S311
        picked = _pick_units(rng, units, sampling)
        return _assign_teams(rng, picked, inspectors, team_size, exclusions)
    if algorithm != "dr-v2":
        raise ValueError(f"unknown draw algorithm {algorithm!r}")
    if not team_seed:
        raise ValueError("dr-v2 draws teams from a team seed")
    picked = pick_units(units, sampling=sampling, seed=seed, algorithm=algorithm)
    team_rng = random.Random(f"dr-v2:teams:{team_seed}")  # noqa: S311
    return _assign_teams(team_rng, picked, inspectors, team_size, exclusions)


def pick_units(
    units: list[PoolUnit], *, sampling: dict[str, Any], seed: str, algorithm: str = ALGORITHM
) -> list[int]:
    """The units a draw picks, in the order it picked them. Under "dr-v2" they depend on the
    public seed alone: this is what anyone can check from a disclosure."""
    if algorithm == "dr-v1":
        return _pick_units(random.Random(f"dr-v1:{seed}"), units, sampling)  # noqa: S311
    return _pick_units(random.Random(f"dr-v2:units:{seed}"), units, sampling)  # noqa: S311


def commitment(team_seed: str) -> str:
    """SHA-256 (hex) of the team seed: published before the seed itself may be, so that the
    seed shown later to whoever may check the teams is provably the one drawn with."""
    return hashlib.sha256(team_seed.encode()).hexdigest()


def _pick_units(rng: random.Random, units: list[PoolUnit], sampling: dict[str, Any]) -> list[int]:
    strata: dict[tuple[int, int], list[int]] = defaultdict(list)
    for unit in units:
        strata[(unit.sector_id, unit.region_id)].append(unit.id)
    overrides = {
        (o["sector_id"], o["region_id"]): {"size": o["size"]}
        for o in sampling.get("overrides") or []
    }
    picked: list[int] = []
    for key in sorted(strata):
        ids = sorted(set(strata[key]))
        k = sample_size(len(ids), overrides.get(key, sampling))
        picked.extend(rng.sample(ids, k))
    return picked


def _assign_teams(
    rng: random.Random,
    unit_ids: list[int],
    inspectors: list[PoolInspector],
    team_size: int,
    exclusions: list[dict[str, int]],
) -> list[dict[str, Any]]:
    """Give each unit `team_size` inspectors, never one who belongs to it or is excluded
    from it (回避), keeping everyone's load within one visit of each other where the
    exclusions allow. Units with the fewest eligible inspectors are served first."""
    barred = {(e["inspector_id"], e["unit_id"]) for e in exclusions}
    pool = sorted(inspectors, key=lambda i: i.id)
    eligible = {
        unit_id: [i.id for i in pool if i.home_unit_id != unit_id and (i.id, unit_id) not in barred]
        for unit_id in unit_ids
    }
    order = list(unit_ids)
    rng.shuffle(order)
    order.sort(key=lambda u: len(eligible[u]))  # stable: random among equals
    load = {i.id: 0 for i in pool}
    teams: dict[int, list[int]] = {}
    for unit_id in order:
        candidates = eligible[unit_id]
        if len(candidates) < team_size:
            raise DrawError(f"单位 {unit_id} 可选派的检查人员不足 {team_size} 人（已回避）")
        # Least loaded first; a random tie-break so nobody is always first.
        tie = {c: rng.random() for c in candidates}
        team = sorted(candidates, key=lambda c: (load[c], tie[c]))[:team_size]
        for member in team:
            load[member] += 1
        teams[unit_id] = sorted(team)
    return [{"unit_id": u, "inspector_ids": teams[u]} for u in sorted(teams)]


def replay(
    inputs: dict[str, Any],
    seed: str,
    *,
    team_seed: str | None = None,
    algorithm: str = ALGORITHM,
) -> list[dict[str, Any]]:
    """Draw again from stored inputs (as `inputs_of` wrote them) under `algorithm`."""
    result = draw(
        [PoolUnit(**u) for u in inputs["units"]],
        [PoolInspector(**i) for i in inputs["inspectors"]],
        sampling=inputs["sampling"],
        team_size=inputs["team_size"],
        exclusions=inputs["exclusions"],
        seed=seed,
        team_seed=team_seed,
        algorithm=algorithm,
    )
    if inputs.get("schedule"):
        result = schedule(result, inputs["schedule"], seed)
    return result


def schedule(
    result: list[dict[str, Any]], inputs: dict[str, Any], seed: str
) -> list[dict[str, Any]]:
    """Give each drawn visit a day of the period on which its unit is open, and one of the
    unit's service sessions that day (e.g. 08:30-12:00): {"date", "window": [HH:MM, HH:MM]}
    added to each row, in the city's clock. Its own generator, so that the units and teams
    are those the same seed gives without a schedule."""
    rng = random.Random(f"windows-v1:{seed}")  # noqa: S311
    first, last = (date.fromisoformat(d) for d in inputs["period"])
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    own = inputs.get("unit_hours") or {}
    scheduled = []
    for row in result:
        hours = own.get(str(row["unit_id"]), inputs["default_hours"])
        open_days = [d for d in days if hours.get(service_hours.DAYS[d.weekday()])]
        if not open_days:
            raise DrawError(f"单位 {row['unit_id']} 在计划期内没有办公时间", field="period_end")
        day = rng.choice(open_days)
        window = rng.choice(hours[service_hours.DAYS[day.weekday()]])
        scheduled.append(row | {"date": day.isoformat(), "window": list(window)})
    return scheduled


def schedule_inputs(
    period: tuple[date, date], unit_hours: dict[int, dict[str, Any] | None]
) -> dict[str, Any]:
    """What `schedule` reads, as stored with a draw: the period, the default service hours
    and the units' own where they have them."""
    return {
        "period": [period[0].isoformat(), period[1].isoformat()],
        "default_hours": service_hours.DEFAULT,
        "unit_hours": {str(u): h for u, h in sorted(unit_hours.items()) if h is not None},
    }


def inputs_of(
    units: list[PoolUnit],
    inspectors: list[PoolInspector],
    *,
    sampling: dict[str, Any],
    team_size: int,
    exclusions: list[dict[str, int]],
) -> dict[str, Any]:
    """The inputs as stored (JSON, sorted) with a draw."""
    return {
        "units": [u.__dict__ for u in sorted(units, key=lambda u: u.id)],
        "inspectors": [i.__dict__ for i in sorted(inspectors, key=lambda i: i.id)],
        "sampling": sampling,
        "team_size": team_size,
        "exclusions": sorted(exclusions, key=lambda e: (e["inspector_id"], e["unit_id"])),
    }
