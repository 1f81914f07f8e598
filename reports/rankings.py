"""考核排名: units ranked for a period or a plan, rolled up by sector and region.

Only PUBLISHED inspections count: a unit is never named before its result is released.
The reader's scope is the inspections policy (`inspection_filter`): an office its region's
subtree, a lead unit its sector. Every figure comes from a few GROUP BY statements per unit
(inspections, findings, tasks); sectors and regions are summed from the unit rows, so the
Python work grows with the number of units shown, never with the history.

The composite score and its default weights are documented in docs/reports-documents.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    and_,
    case,
    exists,
    func,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from accounts.models import User
from checklists.content import GRADES
from core.clock import utcnow
from core.db import db
from inspections import policy
from inspections.models import (
    Finding,
    FindingStatus,
    Inspection,
    InspectionStatus,
    visit_inspector,
)
from org.models import Region, Sector, Unit
from org.policy import has_unit_scope, unit_filter
from rectification.models import RectificationTask, TaskStatus
from reports import rollups
from reports.models import UnitMonth, UnitMonthItem
from reports.periods import Period

# The composite (综合得分), on a 0–100 scale: the positive parts add up to 1, the
# penalties are rates (0–100) times their weight. docs/reports-documents.md justifies them.
DEFAULT_WEIGHTS: dict[str, float] = {
    "score": 0.7,  # average reviewed score (百分制)
    "rectification": 0.3,  # rectification on-time rate × 100
    "critical": 0.2,  # 一票否决 per inspection × 100
    "repeat": 0.1,  # repeat findings per finding × 100
    "overdue": 0.1,  # overdue tasks per task × 100
}
DEFAULT_REPEAT_MONTHS = 6
DEFAULT_TOP = 10
FAILING_GRADE = "不合格"


class months_before(FunctionElement):
    """`moment` minus `months` calendar months, in SQL (SQLite and PostgreSQL)."""

    type = DateTime()
    inherit_cache = True


@compiles(months_before, "postgresql")
def _months_before_pg(element, compiler, **kw):
    moment, months = list(element.clauses)
    return (
        f"({compiler.process(moment, **kw)} - "
        f"make_interval(months => {compiler.process(months, **kw)}))"
    )


@compiles(months_before, "sqlite")
def _months_before_sqlite(element, compiler, **kw):
    moment, months = list(element.clauses)
    return (
        f"datetime({compiler.process(moment, **kw)}, "
        f"printf('-%d months', {compiler.process(months, **kw)}))"
    )


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass(slots=True)
class Figures:
    """What is counted for a unit, a sector, a region or the whole scope."""

    inspections: int = 0
    score_sum: float = 0.0
    scored: int = 0
    grades: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GRADES, 0))
    critical: int = 0
    findings: int = 0
    repeat_findings: int = 0
    tasks: int = 0
    tasks_due: int = 0  # closed, or past the deadline: the ones that could be on time
    on_time: int = 0
    overdue: int = 0
    closed: int = 0

    def add(self, other: Figures) -> None:
        # (spelled out: this runs once per unit for the total and for each rollup)
        self.inspections += other.inspections
        self.score_sum += other.score_sum
        self.scored += other.scored
        self.critical += other.critical
        self.findings += other.findings
        self.closed += other.closed
        self.repeat_findings += other.repeat_findings
        self.tasks += other.tasks
        self.tasks_due += other.tasks_due
        self.on_time += other.on_time
        self.overdue += other.overdue
        grades = self.grades
        for grade, n in other.grades.items():
            grades[grade] = grades.get(grade, 0) + n

    @property
    def avg_score(self) -> float | None:
        return round(self.score_sum / self.scored, 2) if self.scored else None

    @property
    def findings_per_inspection(self) -> float | None:
        return round(self.findings / self.inspections, 2) if self.inspections else None

    @property
    def on_time_rate(self) -> float | None:
        return round(self.on_time / self.tasks_due, 4) if self.tasks_due else None

    def composite(self, weights: dict[str, float], avg_score: float | None = None) -> float | None:
        """`avg_score`: the caller's `self.avg_score`, when it has it already."""
        if avg_score is None:
            avg_score = self.avg_score
        if not self.inspections or avg_score is None:
            return None
        on_time = self.on_time_rate
        if on_time is None:
            on_time = 1.0
        value = (
            weights["score"] * avg_score
            + weights["rectification"] * 100 * on_time
            - weights["critical"] * 100 * self.critical / self.inspections
            - weights["repeat"]
            * 100
            * (self.repeat_findings / self.findings if self.findings else 0)
            - weights["overdue"] * 100 * (self.overdue / self.tasks if self.tasks else 0)
        )
        return round(value, 2)

    def as_dict(self, weights: dict[str, float]) -> dict[str, Any]:
        avg_score = self.avg_score
        return {
            "inspections": self.inspections,
            "avg_score": avg_score,
            "grades": dict(self.grades),
            "critical_failed": self.critical,
            "findings": self.findings,
            "findings_per_inspection": self.findings_per_inspection,
            "repeat_findings": self.repeat_findings,
            "tasks": self.tasks,
            "tasks_due": self.tasks_due,
            "tasks_on_time": self.on_time,
            "on_time_rate": self.on_time_rate,
            "overdue_tasks": self.overdue,
            "composite": self.composite(weights, avg_score),
        }


@dataclass
class Ranking:
    period: Period
    weights: dict[str, float]
    repeat_months: int
    summary: dict[str, Any]
    units: list[dict[str, Any]]
    sectors: list[dict[str, Any]]
    regions: list[dict[str, Any]]
    list_size: int  # how many units each of 红榜/黑榜 may take (`list_size`)
    red_list: list[dict[str, Any]]
    black_list: list[dict[str, Any]]
    most_failed_items: list[dict[str, Any]]
    inspector_workload: list[dict[str, Any]] | None
    previous: Period | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period.as_dict(),
            "previous_period": self.previous.as_dict() if self.previous else None,
            "weights": self.weights,
            "repeat_months": self.repeat_months,
            "summary": self.summary,
            "units": self.units,
            "sectors": self.sectors,
            "regions": self.regions,
            "list_size": self.list_size,
            "red_list": self.red_list,
            "black_list": self.black_list,
            "most_failed_items": self.most_failed_items,
            "inspector_workload": self.inspector_workload,
        }


def counted(actor: User, period: Period) -> ColumnElement[bool]:
    """The inspections a ranking of `period` counts for `actor`: published, in scope."""
    return and_(
        Inspection.status == InspectionStatus.published,
        policy.inspection_filter(actor),
        period.clause(),
    )


def _repeat_clause(months: int) -> ColumnElement[bool]:
    """The current `Finding` repeats one confirmed at the same unit for the same item in a
    published inspection during the `months` before this one."""
    earlier_finding, earlier = aliased(Finding), aliased(Inspection)
    return exists().where(
        earlier_finding.unit_id == Finding.unit_id,
        earlier_finding.item_code == Finding.item_code,
        earlier_finding.status == FindingStatus.confirmed,
        earlier.id == earlier_finding.inspection_id,
        earlier.status == InspectionStatus.published,
        earlier.started_at < Inspection.started_at,
        earlier.started_at >= months_before(Inspection.started_at, months),
    )


def _as_int(value) -> int:
    return int(value or 0)


def unit_figures(scope: ColumnElement[bool], repeat_months: int) -> dict[int, Figures]:
    """Figures per unit over the inspections `scope` selects, from the raw rows: three
    grouped statements (grows with the inspections in scope; `period_figures` reads the
    rollups instead, and uses this for the days outside whole months)."""
    now = utcnow()
    percent = 100.0 * Inspection.effective_score / func.nullif(Inspection.max_score, 0)
    critical = func.coalesce(Inspection.reviewed_critical_failed, Inspection.critical_failed)
    grade_sums = [
        func.sum(case((Inspection.effective_grade == grade, 1), else_=0)) for grade in GRADES
    ]
    figures: dict[int, Figures] = {}
    rows = db.session.execute(
        select(
            Inspection.unit_id,
            func.count(Inspection.id),
            func.sum(percent),
            func.count(percent),
            func.sum(case((critical.is_(True), 1), else_=0)),
            *grade_sums,
        )
        .where(scope)
        .group_by(Inspection.unit_id)
    )
    for unit_id, n, score_sum, scored, crit, *grades in rows:
        figures[unit_id] = Figures(
            inspections=n,
            score_sum=float(score_sum or 0),
            scored=scored,
            critical=_as_int(crit),
            grades={g: _as_int(c) for g, c in zip(GRADES, grades, strict=True)},
        )
    if not figures:
        return figures

    repeat = case((_repeat_clause(repeat_months), 1), else_=0)
    for unit_id, n, repeats in db.session.execute(
        select(Finding.unit_id, func.count(Finding.id), func.sum(repeat))
        .join(Inspection, Inspection.id == Finding.inspection_id)
        .where(scope, Finding.status == FindingStatus.confirmed)
        .group_by(Finding.unit_id)
    ):
        figures[unit_id].findings, figures[unit_id].repeat_findings = n, _as_int(repeats)

    task = RectificationTask
    closed = task.status == TaskStatus.closed
    for unit_id, n, n_closed, on_time, overdue in db.session.execute(
        select(
            task.unit_id,
            func.count(task.id),
            func.sum(case((closed, 1), else_=0)),
            func.sum(case((closed & (task.closed_at <= task.due_at), 1), else_=0)),
            func.sum(case((~closed & (task.due_at <= now), 1), else_=0)),
        )
        .join(Inspection, Inspection.id == task.inspection_id)
        .where(scope)
        .group_by(task.unit_id)
    ):
        if unit_id in figures:
            f = figures[unit_id]
            f.tasks, f.closed, f.on_time = n, _as_int(n_closed), _as_int(on_time)
            f.overdue = _as_int(overdue)
            f.tasks_due = f.closed + f.overdue
    return figures


def _overdue(scope: ColumnElement[bool]) -> dict[int, int]:
    """Open tasks past their deadline now, per unit, of the inspections `scope` selects:
    counted live (they change with the clock), on the index of open tasks by deadline."""
    task = RectificationTask
    return dict(
        db.session.execute(
            select(task.unit_id, func.count(task.id))
            .join(Inspection, Inspection.id == task.inspection_id)
            .where(
                task.status.in_([TaskStatus.open, TaskStatus.responded]),
                task.due_at <= utcnow(),
                scope,
            )
            .group_by(task.unit_id)
        ).all()
    )


def _rolled(actor: User, first: date, stop: date) -> dict[int, Figures]:
    """Figures per unit of the whole months [first, stop) from the rollups (no overdue)."""
    um = UnitMonth
    grades = [func.sum(getattr(um, column)) for column in rollups.GRADE_COLUMNS.values()]
    rows = db.session.execute(
        select(
            um.unit_id,
            func.sum(um.inspections),
            func.sum(um.percent_sum),
            func.sum(um.percent_scored),
            func.sum(um.critical),
            func.sum(um.findings),
            func.sum(um.repeat_findings),
            func.sum(um.tasks),
            func.sum(um.tasks_closed),
            func.sum(um.tasks_on_time),
            *grades,
        )
        .where(
            um.status == InspectionStatus.published.value,
            um.month >= first,
            um.month < stop,
            rollups.unit_scope(actor),
        )
        .group_by(um.unit_id)
        .having(func.sum(um.inspections) > 0)
    )
    out = {}
    # (positional: this runs for each unit, twice per ranking; the sums are of NOT NULL
    # columns over at least one row, never NULL)
    for unit_id, n, score_sum, scored, crit, found, repeats, tasks, closed, on_time, *g in rows:
        out[unit_id] = Figures(
            int(n),
            float(score_sum),
            int(scored),
            dict(zip(GRADES, map(int, g), strict=True)),
            int(crit),
            int(found),
            int(repeats),
            int(tasks),
            0,
            int(on_time),
            0,
            int(closed),
        )
    return out


def _split(actor: User, period: Period, repeat_months: int):
    """(first whole month, the month after the last, [the edges' periods]) when `period`
    may be read from the rollups; None when it is counted from the raw rows: a plan, a
    repeat window other than the rollups', a reader whose scope is not a set of units (an
    inspector), or no whole month."""
    whole = rollups.whole_months(period.start, period.end)
    if (
        period.plan is not None
        or repeat_months != DEFAULT_REPEAT_MONTHS
        or not has_unit_scope(actor)
        or whole is None
    ):
        return None
    first, stop = whole
    edges = []
    if period.start < first:
        edges.append(Period("custom", period.start, first - timedelta(days=1)))
    if stop <= period.end:
        edges.append(Period("custom", stop, period.end))
    return first, stop, edges


def period_figures(actor: User, period: Period, repeat_months: int) -> dict[int, Figures]:
    """Figures per unit for `period`: its whole months from the rollups, the days before
    the first and after the last whole month (a custom period's edges) from the raw rows,
    overdue tasks live; all from the raw rows when `_split` says so."""
    scope = counted(actor, period)
    split = _split(actor, period, repeat_months)
    if split is None:
        return unit_figures(scope, repeat_months)
    first, stop, edges = split
    figures = _rolled(actor, first, stop)
    for edge in edges:
        for unit_id, f in unit_figures(counted(actor, edge), repeat_months).items():
            f.overdue = f.tasks_due = 0  # counted below, once for the whole period
            figures.setdefault(unit_id, Figures()).add(f)
    overdue = _overdue(scope)
    for unit_id, f in figures.items():
        f.overdue = overdue.get(unit_id, 0)
        f.tasks_due = f.closed + f.overdue
    return figures


def _rank(rows: list[dict[str, Any]], key: str, within: str | None = None) -> None:
    """Competition ranking (1, 2, 2, 4) by composite, best first, optionally within groups
    (`within`: the field naming the group)."""
    groups: dict[Any, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r[within] if within else None, []).append(r)
    for members in groups.values():
        members.sort(key=_order)
        previous, rank = None, 0
        for position, r in enumerate(members, 1):
            value = (r["composite"], r["avg_score"])
            if value != previous:
                rank, previous = position, value
            r[key] = rank


def _order(r: dict[str, Any]):
    composite = r["composite"] if r["composite"] is not None else float("-inf")
    score = r["avg_score"] if r["avg_score"] is not None else float("-inf")
    return (-composite, -score, r.get("name") or "", r.get("id") or 0)


_FEW_UNITS = 100  # fewer units than this are selected by id


def _units(actor: User, figures: dict[int, Figures]):
    """(id, name, sector id, sector, region id, region) of the units in `figures`: a few
    by id; many by the reader's scope (a join, not 2 000 ids in a list), then by id the
    few outside it (an inspector's scope is every unit, so none)."""
    columns = (Unit.id, Unit.name, Unit.sector_id, Sector.name, Unit.region_id, Region.name)

    def select_units(clause):
        return db.session.execute(
            select(*columns)
            .join(Sector, Sector.id == Unit.sector_id)
            .join(Region, Region.id == Unit.region_id)
            .where(clause)
        ).all()

    if len(figures) <= _FEW_UNITS:
        return select_units(Unit.id.in_(sorted(figures)))
    found = [row for row in select_units(unit_filter(actor)) if row[0] in figures]
    missing = figures.keys() - {row[0] for row in found}
    if missing:
        found += select_units(Unit.id.in_(sorted(missing)))
    return found


def _unit_rows(actor: User, figures: dict[int, Figures], weights) -> list[dict[str, Any]]:
    if not figures:
        return []
    rows = []
    for unit_id, name, sector_id, sector, region_id, region in _units(actor, figures):
        row = {
            "id": unit_id,
            "name": name,
            "sector_id": sector_id,
            "sector": sector,
            "region_id": region_id,
            "region": region,
        }
        row.update(figures[unit_id].as_dict(weights))
        rows.append(row)
    # `_rank` three times over, with one sort: a group's members come in the same order
    # in the whole list sorted by `_order` as in the group sorted alone.
    groups: dict[tuple[str, Any], list] = {}
    for r in sorted(rows, key=_order):
        value = (r["composite"], r["avg_score"])
        for key, group in (
            ("rank", None),
            ("rank_in_sector", r["sector_id"]),
            ("rank_in_region", r["region_id"]),
        ):
            state = groups.get((key, group))
            if state is None:
                state = groups[(key, group)] = [0, None, 0]  # position, value, rank
            state[0] += 1
            if state[1] != value or state[0] == 1:
                state[1], state[2] = value, state[0]
            r[key] = state[2]
    rows.sort(key=lambda r: r["rank"])
    return rows


def _ranks(figures: dict[int, Figures], weights) -> dict[int, int]:
    """Each unit's rank (`_rank`'s "rank") from its figures alone: what the previous
    period's ranking is read for (the rank depends only on the composite and the average
    score, so no names, groups or rows)."""
    values = {}
    for unit_id, f in figures.items():
        avg_score = f.avg_score
        values[unit_id] = (f.composite(weights, avg_score), avg_score)

    def order(value):
        composite, score = value
        return (
            -(composite if composite is not None else float("-inf")),
            -(score if score is not None else float("-inf")),
        )

    ranks, position = {}, 0
    by_value: dict[tuple, list[int]] = {}
    for unit_id, value in values.items():
        by_value.setdefault(value, []).append(unit_id)
    for value in sorted(by_value, key=order):
        members = by_value[value]
        for unit_id in members:
            ranks[unit_id] = position + 1
        position += len(members)
    return ranks


def _rollup(rows, figures, weights, id_key: str, name_key: str) -> list[dict[str, Any]]:
    totals: dict[int, Figures] = {}
    names: dict[int, str] = {}
    units: dict[int, int] = {}
    for r in rows:
        totals.setdefault(r[id_key], Figures()).add(figures[r["id"]])
        names[r[id_key]] = r[name_key]
        units[r[id_key]] = units.get(r[id_key], 0) + 1
    out = [
        {"id": key, "name": names[key], "units": units[key]} | f.as_dict(weights)
        for key, f in totals.items()
    ]
    _rank(out, "rank")
    out.sort(key=lambda r: r["rank"])
    return out


def most_failed_raw(scope, limit: int) -> list[dict[str, Any]]:
    """The most-failed items over the inspections `scope` selects, from the raw rows."""
    rows = db.session.execute(
        select(
            Finding.item_code,
            func.max(Finding.title),
            func.count(Finding.id),
            func.count(func.distinct(Finding.unit_id)),
        )
        .join(Inspection, Inspection.id == Finding.inspection_id)
        .where(scope, Finding.status == FindingStatus.confirmed)
        .group_by(Finding.item_code)
        .order_by(func.count(Finding.id).desc(), Finding.item_code)
        .limit(limit)
    )
    return [
        {"item_code": code, "title": title, "findings": n, "units": units}
        for code, title, n, units in rows
    ]


def most_failed(actor: User, period: Period, limit: int) -> list[dict[str, Any]]:
    """The same from the item rollups for whole months (per unit, so the distinct units
    are counted over them and the edges' raw rows together)."""
    split = _split(actor, period, DEFAULT_REPEAT_MONTHS)
    if split is None:
        return most_failed_raw(counted(actor, period), limit)
    first, stop, edges = split
    umi = UnitMonthItem
    parts = [
        select(umi.item_code, umi.unit_id, umi.findings.label("n"), umi.title).where(
            umi.month >= first, umi.month < stop, rollups.unit_scope(actor, umi.unit_id)
        )
    ]
    for edge in edges:
        parts.append(
            select(
                Finding.item_code, Finding.unit_id, func.count(Finding.id), func.max(Finding.title)
            )
            .join(Inspection, Inspection.id == Finding.inspection_id)
            .where(counted(actor, edge), Finding.status == FindingStatus.confirmed)
            .group_by(Finding.item_code, Finding.unit_id)
        )
    u = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("items")
    # Two steps, both hashed: per (item, unit), then per item, whose units are its rows
    # (a count(DISTINCT) over the year's rows sorts them all, on disk at 1M inspections).
    per_unit = (
        select(u.c.item_code, func.sum(u.c.n).label("n"), func.max(u.c.title).label("title"))
        .group_by(u.c.item_code, u.c.unit_id)
        .subquery("per_unit")
    )
    rows = db.session.execute(
        select(
            per_unit.c.item_code,
            func.max(per_unit.c.title),
            func.sum(per_unit.c.n),
            func.count(),
        )
        .group_by(per_unit.c.item_code)
        .order_by(func.sum(per_unit.c.n).desc(), per_unit.c.item_code)
        .limit(limit)
    )
    return [
        {"item_code": code, "title": title, "findings": int(n), "units": units}
        for code, title, n, units in rows
    ]


def _workload(scope) -> list[dict[str, Any]]:
    """Published inspections per inspector: the visit's team and whoever started it. An
    inspection counts once per person: for its starter, and for each of its team but the
    starter (a visit's team names a person once), so the counts add up without a UNION
    that would hash every (inspection, person) pair."""
    starters = (
        select(Inspection.inspector_id.label("user_id"), func.count().label("n"))
        .where(scope)
        .group_by(Inspection.inspector_id)
    )
    team = (
        select(visit_inspector.c.user_id, func.count())
        .select_from(Inspection)
        .join(visit_inspector, visit_inspector.c.visit_id == Inspection.visit_id)
        .where(scope, visit_inspector.c.user_id != Inspection.inspector_id)
        .group_by(visit_inspector.c.user_id)
    )
    counts = union_all(starters, team).subquery("counts")
    total = func.sum(counts.c.n)
    rows = db.session.execute(
        select(User.id, User.display_name, total)
        .join(counts, counts.c.user_id == User.id)
        .group_by(User.id, User.display_name)
        .order_by(total.desc(), User.id)
    )
    return [{"id": uid, "name": name, "inspections": int(n)} for uid, name, n in rows]


def list_size(ranked: int, top: int) -> int:
    """How many units each of 红榜 and 黑榜 may take: `top`, but at most half of the ranked
    units (rounded down), so the two lists never name the same unit."""
    return max(0, min(top, ranked // 2))


def failed(row: dict[str, Any]) -> bool:
    """A unit failed in the period: an inspection failed by 一票否决 or graded 不合格."""
    return bool(row["critical_failed"]) or bool(row["grades"].get(FAILING_GRADE))


def honour_lists(
    ranked: list[dict[str, Any]], top: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(红榜, 黑榜) from the ranked units, best first: 红榜 the best `list_size` units but
    any that `failed` (a unit failed by 一票否决 or graded 不合格 is never praised, so 红榜
    may be shorter); 黑榜 the worst `list_size`, the worst first. Disjoint: each takes at
    most half of the ranking, from its own end."""
    size = list_size(len(ranked), top)
    if not size:
        return [], []
    return [r for r in ranked[:size] if not failed(r)], list(reversed(ranked[-size:]))


def ranking(
    actor: User,
    period: Period,
    *,
    weights: dict[str, float] | None = None,
    repeat_months: int = DEFAULT_REPEAT_MONTHS,
    top: int = DEFAULT_TOP,
    compare: bool = True,
) -> Ranking:
    """The ranking `actor` may read for `period`."""
    weights = DEFAULT_WEIGHTS | (weights or {})
    scope = counted(actor, period)
    figures = period_figures(actor, period, repeat_months)
    units = _unit_rows(actor, figures, weights)
    total = Figures()
    for f in figures.values():
        total.add(f)
    summary = {"units": len(units)} | total.as_dict(weights)

    previous = period.previous() if compare else None
    if previous is not None:
        ranks = _ranks(period_figures(actor, previous, repeat_months), weights)
        for r in units:
            r["previous_rank"] = ranks.get(r["id"])
            r["movement"] = None if r["previous_rank"] is None else r["previous_rank"] - r["rank"]

    ranked = [r for r in units if r["composite"] is not None]
    red_list, black_list = honour_lists(ranked, top)
    return Ranking(
        period=period,
        previous=previous,
        weights=weights,
        repeat_months=repeat_months,
        summary=summary,
        units=units,
        sectors=_rollup(units, figures, weights, "sector_id", "sector"),
        regions=_rollup(units, figures, weights, "region_id", "region"),
        list_size=list_size(len(ranked), top),
        red_list=red_list,
        black_list=black_list,
        most_failed_items=most_failed(actor, period, top),
        # Who inspected is the office's to know (暗访组 are not named to units' side).
        inspector_workload=_workload(scope) if actor.is_office else None,
    )
