"""Rollups (`UnitMonth`): each unit's figures per month and inspection status, kept in the
transaction that changes the rows they count, so rankings and the dashboard sum a few
rows per unit instead of grouping the whole history.

How they are kept, correct by construction: a session hook notes the (unit, month) keys
of the Inspection, Finding and RectificationTask rows a transaction changes, with the
values they had before (read from the table before the flush) and after (read after the
last flush); before the commit it recomputes exactly those keys from the raw rows:
DELETE the keys' rows, then one INSERT … SELECT grouping the raw rows of those keys. A
finding or an inspection also touches the months after it whose repeat findings it can
change. On PostgreSQL the keys are locked first (transaction advisory locks, in order),
so the recomputing statement sees every transaction that committed the same keys before.

Rows written by plain Core statements (bulk loads, `bench/`, a submission's findings,
which go with their inspection's own change) are not seen by the hook: after a bulk load
run `flask reports rebuild-rollups` (`rebuild()`), which recomputes the whole table with
one statement.

`SectorMonth` is the sum of `UnitMonth` over each sector's units, recomputed from the
unit rows for the (sector, month) keys of the same transaction (a unit that moves to
another sector, or is deleted, touches every month of both sectors), its keys locked the
same way after the unit keys. The dashboard of a city-wide office or a lead unit sums a
few hundred sector rows for a year instead of tens of thousands of unit rows.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, attributes
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.elements import True_

from accounts.models import Role, User
from checklists.content import GRADES
from core.clock import DISPLAY_TZ, day_start, local
from core.db import WRITTEN_BY_CORE, Prepared, UTCDateTime, db
from inspections.models import Finding, FindingStatus, Inspection, InspectionStatus
from inspections.policy import inspection_filter
from org.models import Sector, Unit
from org.policy import has_unit_scope, unit_filter
from rectification.models import RectificationTask, TaskStatus, UnitTaskCount
from reports.models import FIGURE_COLUMNS, SectorMonth, UnitMonth, UnitMonthItem

# Months after a finding's own whose repeat findings it can change: the default window
# (rankings.DEFAULT_REPEAT_MONTHS = 6 calendar months, counted on UTC instants) plus one
# for the month boundaries of the city's clock.
REPEAT_SPAN = 7
_ONE_DAY = timedelta(days=1)
CHUNK = 500  # keys per statement (bound parameters stay far below SQLite's limit)

GRADE_COLUMNS = dict(
    zip(GRADES, ("grade_excellent", "grade_good", "grade_pass", "grade_fail"), strict=True)
)
VALUE_COLUMNS = FIGURE_COLUMNS
assert set(GRADE_COLUMNS.values()) <= set(VALUE_COLUMNS)
# The columns an inspection's own row decides (the rest count its confirmed findings and
# its tasks, which a just-submitted inspection has none of).
INSPECTION_COLUMNS = VALUE_COLUMNS[: VALUE_COLUMNS.index("findings")]
_TOUCHED = "unit_month_touched"
_PENDING = "unit_month_pending"
_CHANGED = "unit_month_changed"  # rows were updated or deleted, not only inserted
_PUBLISHED = "unit_month_published"  # a published inspection's rows were among them
_SECTORS = "sector_month_touched"  # (sector, month) keys of units that moved or went
_TASK_UNITS = "unit_task_count_touched"  # units whose tasks were added, changed or deleted
ACTIVE = (TaskStatus.open.value, TaskStatus.responded.value)  # not yet closed
_TRACKED = (Inspection, Finding, RectificationTask)


def month_of(moment: datetime) -> date:
    """The first day of the month `moment` falls in, on the city's clock."""
    return local(moment).date().replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month)
        month = add_months(month, 1)
    return out


def _bounds(months: Iterable[date]):
    """A derived table of months (first day, start and end instants in UTC), one row per
    month: a whole rebuild's on SQLite."""
    rows = [
        select(
            literal(month, Date()).label("month"),
            literal(day_start(month), UTCDateTime()).label("lo"),
            literal(day_start(add_months(month, 1)), UTCDateTime()).label("hi"),
        )
        for month in months
    ]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("bounds")


def _key_bounds(n: int):
    """A derived table of `n` (unit, month) keys, each with its month's start and end
    instants, as bound parameters (`_key_params` gives their values): the statements that
    recompute keys are then built once per number of keys, not once per commit."""
    rows = [
        select(
            bindparam(f"unit_{i}", type_=Integer()).label("unit_id"),
            bindparam(f"month_{i}", type_=Date()).label("month"),
            bindparam(f"lo_{i}", type_=UTCDateTime()).label("lo"),
            bindparam(f"hi_{i}", type_=UTCDateTime()).label("hi"),
        )
        for i in range(n)
    ]
    return (union_all(*rows) if n > 1 else rows[0]).subquery("bounds")


def _key_params(keys: list[tuple[int, date]]) -> dict[str, object]:
    params: dict[str, object] = {}
    for i, (unit_id, month) in enumerate(keys):
        params[f"unit_{i}"] = unit_id
        params[f"month_{i}"] = month
        params[f"lo_{i}"] = day_start(month)
        params[f"hi_{i}"] = day_start(add_months(month, 1))
    return params


def _figures(bounds, *, inspections_only: bool = False):
    """One row per (unit, month, status) of the raw figures over `bounds`; None: every
    month, the month computed by PostgreSQL on the city's clock (a range join against
    ten years of months made the planner loop over the table once a month).
    `inspections_only`: the inspections' own figures (INSPECTION_COLUMNS), the other
    columns zero."""
    from reports.rankings import DEFAULT_REPEAT_MONTHS, _repeat_clause

    Insp, F, T = Inspection, Finding, RectificationTask
    if bounds is None:
        local_start = func.timezone(DISPLAY_TZ.key, Insp.started_at)
        month = cast(func.date_trunc("month", local_start), Date)
    else:
        month = bounds.c.month
    per_unit = bounds is not None and "unit_id" in bounds.c

    def keyed(stmt, unit_column):
        if bounds is None:
            return stmt
        on = and_(Insp.started_at >= bounds.c.lo, Insp.started_at < bounds.c.hi)
        return stmt.join(bounds, and_(on, unit_column == bounds.c.unit_id) if per_unit else on)

    def zeros(n: int):
        return [literal(0) for _ in range(n)]

    def count_if(condition):
        return func.sum(case((condition, 1), else_=0))

    percent = 100.0 * Insp.effective_score / func.nullif(Insp.max_score, 0)
    critical = func.coalesce(Insp.reviewed_critical_failed, Insp.critical_failed)
    counted = Insp.status != InspectionStatus.draft
    inspections = keyed(
        select(
            Insp.unit_id,
            month,
            Insp.status,
            func.count(Insp.id),
            # (nought, not NULL, for a key whose inspections have no score: the
            # inspections-only upsert writes these sums as they are)
            func.coalesce(func.sum(Insp.effective_score), 0),
            func.count(Insp.effective_score),
            func.coalesce(func.sum(percent), 0),
            func.count(percent),
            count_if(critical.is_(True)),
            *[count_if(Insp.effective_grade == grade) for grade in GRADE_COLUMNS],
            *zeros(5),
        )
        .select_from(Insp)
        .where(counted)
        .group_by(Insp.unit_id, month, Insp.status),
        Insp.unit_id,
    )
    if inspections_only:
        return inspections
    if bounds is None:
        findings = _findings_by_window(month, zeros)
    else:
        repeat = count_if(_repeat_clause(DEFAULT_REPEAT_MONTHS))
        findings = keyed(
            select(F.unit_id, month, Insp.status, *zeros(10), func.count(F.id), repeat)
            .add_columns(*zeros(3))
            .select_from(F)
            .join(Insp, Insp.id == F.inspection_id)
            .where(counted, F.status == FindingStatus.confirmed)
            .group_by(F.unit_id, month, Insp.status),
            F.unit_id,
        )
    closed = T.status == TaskStatus.closed
    tasks = keyed(
        select(T.unit_id, month, Insp.status, *zeros(12), func.count(T.id))
        .add_columns(count_if(closed), count_if(closed & (T.closed_at <= T.due_at)))
        .select_from(T)
        .join(Insp, Insp.id == T.inspection_id)
        .where(counted)
        .group_by(T.unit_id, month, Insp.status),
        T.unit_id,
    )
    parts = union_all(inspections, findings, tasks).subquery("parts")
    key, values = list(parts.c)[:3], list(parts.c)[3:]
    return select(*key, *[func.coalesce(func.sum(v), 0) for v in values]).group_by(*key)


def _findings_by_window(month, zeros):
    """The findings part of a whole rebuild on PostgreSQL: the repeat test as a window
    over each unit's findings of an item ordered by time (a finding repeats when a
    published one precedes it within the window: the published ones in the frame
    "6 months preceding to this instant" minus those at this very instant) instead of one
    correlated EXISTS per finding. Equal by construction to `rankings._repeat_clause`
    (the same `started_at - interval` arithmetic); the tests compare it with the
    incremental path."""
    from reports.rankings import DEFAULT_REPEAT_MONTHS

    Insp, F = Inspection, Finding
    published = f"inspection.status = '{InspectionStatus.published.value}'"
    window = "PARTITION BY finding.unit_id, finding.item_code ORDER BY inspection.started_at"
    within = literal_column(
        f"count(*) FILTER (WHERE {published}) OVER ({window} RANGE BETWEEN "
        f"'{DEFAULT_REPEAT_MONTHS} months'::interval PRECEDING AND CURRENT ROW)"
    )
    same_instant = literal_column(
        f"count(*) FILTER (WHERE {published}) OVER ({window} RANGE BETWEEN "
        "CURRENT ROW AND CURRENT ROW)"
    )
    rows = (
        select(
            F.unit_id.label("unit_id"),
            month.label("month"),
            Insp.status.label("status"),
            (within - same_instant > 0).label("repeat"),
        )
        .select_from(F)
        .join(Insp, Insp.id == F.inspection_id)
        .where(Insp.status != InspectionStatus.draft, F.status == FindingStatus.confirmed)
        .subquery("confirmed")
    )
    return (
        select(rows.c.unit_id, rows.c.month, rows.c.status, *zeros(10), func.count())
        .add_columns(func.sum(case((rows.c.repeat, 1), else_=0)), *zeros(3))
        .group_by(rows.c.unit_id, rows.c.month, rows.c.status)
    )


def _items(bounds):
    """One row per (unit, month, item) of confirmed findings of published inspections."""
    Insp, F = Inspection, Finding
    if bounds is None:
        month = cast(func.date_trunc("month", func.timezone(DISPLAY_TZ.key, Insp.started_at)), Date)
    else:
        month = bounds.c.month
    stmt = (
        select(F.unit_id, month, F.item_code, func.count(F.id), func.max(F.title))
        .select_from(F)
        .join(Insp, Insp.id == F.inspection_id)
        .where(Insp.status == InspectionStatus.published, F.status == FindingStatus.confirmed)
        .group_by(F.unit_id, month, F.item_code)
    )
    if bounds is not None:
        on = and_(Insp.started_at >= bounds.c.lo, Insp.started_at < bounds.c.hi)
        if "unit_id" in bounds.c:
            on = and_(on, F.unit_id == bounds.c.unit_id)
        stmt = stmt.join(bounds, on)
    return stmt


_TABLES = {
    UnitMonth: (["unit_id", "month", "status", *VALUE_COLUMNS], _figures),
    UnitMonthItem: (["unit_id", "month", "item_code", "findings", "title"], _items),
}


def _insert_statements(bounds, dialect: str, *, upsert: bool = False, models=tuple(_TABLES)):
    """One INSERT … SELECT per model of the rows grouped over `bounds` (an upsert when
    `upsert`: the keys may have rows already)."""
    out = []
    for model in models:
        names, make = _TABLES[model]
        rows = make(bounds)
        table = model.__table__  # Core: the parameters are the keys', not rows to insert
        if not upsert:
            out.append(insert(table).from_select(names, rows))
            continue
        stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        # (WHERE true: SQLite's parser needs a WHERE before an upsert's ON CONFLICT)
        stmt = stmt.from_select(names, rows.where(true()))
        out.append(
            stmt.on_conflict_do_update(
                index_elements=names[:3],
                set_={name: stmt.excluded[name] for name in names[3:]},
            )
        )
    return out


@functools.lru_cache(maxsize=8)
def _submitted_statement(n: int, dialect: str) -> Prepared:
    """The upsert of `n` keys that only gained just-submitted inspections (bound as
    `_key_params`): their inspection columns recomputed from the raw rows; a row it
    creates has no findings or tasks (a key without inspections has none), a row it
    updates keeps its own (a new submission's findings are pending, it has no tasks)."""
    names = ["unit_id", "month", "status", *VALUE_COLUMNS]
    rows = _figures(_key_bounds(n), inspections_only=True)
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(UnitMonth.__table__)
    # (WHERE true: SQLite's parser needs a WHERE before an upsert's ON CONFLICT)
    stmt = stmt.from_select(names, rows.where(true()))
    stmt = stmt.on_conflict_do_update(
        index_elements=names[:3],
        set_={name: stmt.excluded[name] for name in INSPECTION_COLUMNS},
    )
    return Prepared(stmt)


@functools.lru_cache(maxsize=32)
def _recompute_statements(n: int, dialect: str, only_added: bool, items: bool) -> tuple:
    """The statements that recompute `n` keys (bound as `_key_params`), built once: a
    submission's commit recomputes one key, and building these statements (the three
    grouped parts, the repeat test) cost several times the rest of the submission."""
    models = (UnitMonth, UnitMonthItem) if items else (UnitMonth,)
    stmts = []
    if not only_added:
        for model in models:
            table = model.__table__
            stmts.append(
                delete(table).where(
                    or_(
                        *[
                            and_(
                                table.c.unit_id == bindparam(f"unit_{i}"),
                                table.c.month == bindparam(f"month_{i}"),
                            )
                            for i in range(n)
                        ]
                    )
                )
            )
    stmts += _insert_statements(_key_bounds(n), dialect, upsert=only_added, models=models)
    return tuple(stmts)


def _lock_key(table: str, owner: int, month: date) -> int:
    digest = hashlib.sha256(f"{table}:{owner}:{month:%Y-%m}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# A sector row's lock key is arithmetic, not a hash, so that one statement can read a
# unit's sector and lock that sector's month (`_recompute_one_sector`): a base no hashed
# key is likely to meet (one that did would only make two writers wait for each other),
# the sector, the month. Months from 2000 on are distinct for three centuries.
_SECTOR_LOCKS = 0x5EC7 << 48
_MONTHS = 4096


def _month_index(month: date) -> int:
    return ((month.year - 2000) * 12 + month.month - 1) % _MONTHS


def _sector_lock_key(sector_id: int, month: date) -> int:
    return _SECTOR_LOCKS + sector_id * _MONTHS + _month_index(month)


_ADVISORY_LOCK = Prepared(select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger()))))
# (PostgreSQL) the lock of a unit's sector's month, the sector read by the statement itself
# (none taken for a unit without one: the lock function is strict)
_LOCK_UNIT_SECTOR = Prepared(
    select(
        func.pg_advisory_xact_lock(
            bindparam("base", type_=BigInteger())
            + cast(
                select(Unit.sector_id)
                .where(Unit.id == bindparam("unit_id", type_=Integer()))
                .scalar_subquery(),
                BigInteger,
            )
            * _MONTHS
            + bindparam("month_index", type_=Integer())
        )
    )
)


_SECTOR_NAMES = ["sector_id", "month", "status", *VALUE_COLUMNS]


def _sector_sums():
    """(sector, month, status, figures …) summed from the unit rows, by each unit's sector."""
    um = UnitMonth
    sums = [func.sum(getattr(um, c)) for c in VALUE_COLUMNS]
    return (
        select(Unit.sector_id, um.month, um.status, *sums)
        .join(Unit, Unit.id == um.unit_id)
        .group_by(Unit.sector_id, um.month, um.status)
    )


_UNIT_SECTORS = select(Unit.id, Unit.sector_id).where(
    Unit.id.in_(bindparam("units", expanding=True))
)


def _sectors_of(keys: Iterable[tuple[int, date]]) -> set[tuple[int, date]]:
    """The (sector, month) keys of (unit, month) keys: each unit's sector now (as flushed;
    from the session's object when it holds one, else one query for the rest)."""
    months: dict[int, set[date]] = {}
    for unit_id, month in keys:
        months.setdefault(unit_id, set()).add(month)
    sector: dict[int, int] = {}
    for unit_id in months:
        obj = db.session.identity_map.get(identity_key(Unit, unit_id))
        if obj is not None and "sector_id" in obj.__dict__:
            sector[unit_id] = obj.sector_id
    rest = [u for u in months if u not in sector]
    connection = db.session.connection()  # Core: the ORM's execution path costs more here
    for i in range(0, len(rest), CHUNK):
        sector.update(connection.execute(_UNIT_SECTORS, {"units": rest[i : i + CHUNK]}).all())
    return {(sector[u], m) for u, ms in months.items() if u in sector for m in ms}


@functools.lru_cache(maxsize=32)
def _sector_statements(n: int, dialect: str):
    """(DELETE, INSERT, upsert) of the sector rows of `n` (sector, month) keys, bound as
    `sector_<i>` and `smonth_<i>`: built and compiled once per number of keys (a
    submission runs the upsert of one key every time)."""

    def keyed(sector, month):
        return or_(
            *[
                and_(sector == bindparam(f"sector_{i}"), month == bindparam(f"smonth_{i}"))
                for i in range(n)
            ]
        )

    # (the table, not the entity: the ORM would take the keys for rows of a bulk INSERT)
    sm = SectorMonth.__table__
    remove = delete(sm).where(keyed(sm.c.sector_id, sm.c.month))
    rows = _sector_sums().where(keyed(Unit.sector_id, UnitMonth.month))
    add = insert(sm).from_select(_SECTOR_NAMES, rows)
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(sm)
    upsert = upsert.from_select(_SECTOR_NAMES, rows)
    upsert = upsert.on_conflict_do_update(
        index_elements=_SECTOR_NAMES[:3],
        set_={name: upsert.excluded[name] for name in VALUE_COLUMNS},
    )
    return remove, add, Prepared(upsert)


@functools.cache
def _unit_sector_upsert(dialect: str) -> Prepared:
    """The upsert of the sector row of one unit's month, the sector read by the statement
    itself (`unit_id`, `smonth`). SQLite: this transaction holds the write lock, so the
    unit's sector cannot change before the commit; PostgreSQL: after `_LOCK_UNIT_SECTOR`."""
    sm, owner = SectorMonth.__table__, Unit.__table__.alias("owner")
    sector = select(owner.c.sector_id).where(owner.c.id == bindparam("unit_id", type_=Integer()))
    rows = _sector_sums().where(
        Unit.sector_id == sector.scalar_subquery(),
        UnitMonth.month == bindparam("smonth", type_=Date()),
    )
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(sm)
    upsert = upsert.from_select(_SECTOR_NAMES, rows)
    return Prepared(
        upsert.on_conflict_do_update(
            index_elements=_SECTOR_NAMES[:3],
            set_={name: upsert.excluded[name] for name in VALUE_COLUMNS},
        )
    )


def _recompute_one_sector(connection, unit_id: int, month: date) -> None:
    """The sector row of one unit's month that only gained rows, in statements that read
    the unit's sector themselves: on PostgreSQL its month's lock (after the unit key's, as
    in `recompute`), then the upsert, both sent with the COMMIT (`Prepared.later`)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        params = {"unit_id": unit_id, "base": _SECTOR_LOCKS, "month_index": _month_index(month)}
        _LOCK_UNIT_SECTOR.later(connection, params)
    _unit_sector_upsert(dialect).later(connection, {"unit_id": unit_id, "smonth": month})


def recompute_sectors(keys: Iterable[tuple[int, date]], *, only_added: bool = False) -> None:
    """Recompute the sector rows of these (sector, month) keys from the unit rows."""
    keys = sorted(set(keys))
    if not keys:
        return
    connection = db.session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":  # after every unit key's lock (see `recompute`)
        for lock in sorted(_sector_lock_key(*k) for k in keys if k[0] is not None):
            _ADVISORY_LOCK.later(connection, {"key": lock})
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i : i + CHUNK]
        params = {}
        for n, (sector_id, month) in enumerate(chunk):
            params[f"sector_{n}"], params[f"smonth_{n}"] = sector_id, month
        remove, add, upsert = _sector_statements(len(chunk), dialect)
        if only_added:
            upsert.later(connection, params)
        else:
            connection.execute(remove, params)
            connection.execute(add, params)


def recompute(
    keys: Iterable[tuple[int, date]],
    *,
    only_added: bool = False,
    items: bool = True,
    only_submitted: bool = False,
    sectors: Iterable[tuple[int, date]] = (),
) -> None:
    """Recompute the rollup rows of these (unit, month) keys from the raw rows, in the
    current transaction. `only_added`: the keys only gained rows (new inspections), so
    none of their rows can have become empty: one upsert, no DELETE. `items`: the item
    rows too (false when no published inspection's rows changed: they count none else).
    `only_submitted`: all the keys gained is just-submitted inspections (their findings
    pending, no tasks): only the inspection columns can have changed
    (`_submitted_statement`). Then the sector rows of their units' sectors, and of
    `sectors` ((sector, month) keys), from the unit rows (`recompute_sectors`)."""
    keys = sorted(set(keys))
    connection = db.session.connection()  # Core statements: none of the ORM's execution
    dialect = connection.dialect.name
    if dialect == "postgresql":
        # One order, unit keys then sector keys, in every transaction: no deadlock.
        for lock in sorted(_lock_key("unit_month", *k) for k in keys):
            _ADVISORY_LOCK.later(connection, {"key": lock})
    for i in range(0, len(keys), CHUNK):
        chunk = keys[i : i + CHUNK]
        params = _key_params(chunk)
        if only_submitted:
            _submitted_statement(len(chunk), dialect).later(connection, params)
            continue
        for stmt in _recompute_statements(len(chunk), dialect, only_added, items):
            connection.execute(stmt, params)
    if only_added and len(keys) == 1 and not sectors:  # a submission's commit
        _recompute_one_sector(connection, *keys[0])
    else:
        recompute_sectors(_sectors_of(keys) | set(sectors), only_added=only_added)


_TASK_COUNTS = (
    select(RectificationTask.unit_id, RectificationTask.status, func.count(RectificationTask.id))
    .where(RectificationTask.status.in_(ACTIVE))
    .group_by(RectificationTask.unit_id, RectificationTask.status)
)
_TASK_COUNT_NAMES = ["unit_id", "status", "tasks"]


def recompute_task_counts(units: Iterable[int]) -> None:
    """Recompute the open and responded counts of these units' tasks, after the month
    rows and under their own locks (the last phase of a commit's upkeep)."""
    units = sorted(set(units))
    if not units:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        for lock in sorted(_lock_key("unit_task_count", u, date(2000, 1, 1)) for u in units):
            _ADVISORY_LOCK.later(connection, {"key": lock})
    table = UnitTaskCount.__table__
    for i in range(0, len(units), CHUNK):
        chunk = units[i : i + CHUNK]
        connection.execute(delete(table).where(table.c.unit_id.in_(chunk)))
        rows = _TASK_COUNTS.where(RectificationTask.unit_id.in_(chunk))
        connection.execute(insert(table).from_select(_TASK_COUNT_NAMES, rows))


def rebuild(executor=None, *, sectors: bool = True) -> int:
    """Recompute the whole table (after a bulk load, or to repair): one DELETE and one
    INSERT … SELECT over every month that holds an inspection. Returns the rows written.
    `executor`: a Connection (a migration's) instead of the app's session; `sectors`:
    false for a migration from before the sector and task-count tables."""
    executor = executor if executor is not None else db.session
    bind = executor if executor is not db.session else db.session.get_bind()
    if bind.dialect.name == "postgresql":
        # Transactions keeping keys wait; what they commit after this is theirs to write.
        later = ", sector_month, unit_task_count" if sectors else ""
        tables = "unit_month, unit_month_item" + later
        executor.execute(text(f"LOCK TABLE {tables} IN EXCLUSIVE MODE"))
    executor.execute(delete(UnitMonth))
    executor.execute(delete(UnitMonthItem))
    if sectors:
        executor.execute(delete(SectorMonth))
        executor.execute(delete(UnitTaskCount))
        table = UnitTaskCount.__table__
        executor.execute(insert(table).from_select(_TASK_COUNT_NAMES, _TASK_COUNTS))
    first, last = executor.execute(
        select(func.min(Inspection.started_at), func.max(Inspection.started_at)).where(
            Inspection.status != InspectionStatus.draft
        )
    ).one()
    if first is None:
        return 0
    every = (
        None
        if bind.dialect.name == "postgresql"
        else _bounds(months_between(month_of(first), month_of(last)))
    )
    for stmt in _insert_statements(every, bind.dialect.name):
        executor.execute(stmt)
    if sectors:
        executor.execute(insert(SectorMonth).from_select(_SECTOR_NAMES, _sector_sums()))
    return executor.scalar(select(func.count()).select_from(UnitMonth)) or 0


# --- reading --------------------------------------------------------------------------


def whole_months(start: date, end: date) -> tuple[date, date] | None:
    """The whole months inside the days [start, end], as (first month, the month after the
    last); None when no month is whole."""
    first = start if start.day == 1 else add_months(start.replace(day=1), 1)
    last_day = end.replace(day=1)
    stop = add_months(last_day, 1) if add_months(last_day, 1) - end == _ONE_DAY else last_day
    return (first, stop) if first < stop else None


def unit_scope(actor: User, column=UnitMonth.unit_id):
    """Rollup rows of the units `actor` may see (`has_unit_scope` readers); every row for
    a city-wide office (a rollup row's unit exists: no semi-join against every unit)."""
    clause = unit_filter(actor)
    if isinstance(clause, True_):
        return true()
    return column.in_(select(Unit.id).where(clause))


def sector_scope(actor: User):
    """Sector rows of a reader whose scope is whole sectors, the same units as
    `unit_filter`: every sector for a city-wide office, its own for a lead unit; None
    for any other reader (a town office's units or a unit's own are read per unit)."""
    if actor.is_office and actor.region_id is None:
        return true()
    if actor.role == Role.lead_unit_staff and actor.sector_id is not None:
        return SectorMonth.sector_id == actor.sector_id
    return None


def statuses(actor: User) -> list[str]:
    """The inspection statuses `actor` reads (inspections.policy.inspection_filter): an
    office every one but drafts, a lead unit or a unit the published ones."""
    if actor.is_office:
        return [InspectionStatus.submitted.value, InspectionStatus.published.value]
    return [InspectionStatus.published.value]


# --- the session hook --------------------------------------------------------------------


@dataclass
class _Pending:
    """Ids of rows flushed by the transaction, per class: their keys are read at commit."""

    ids: dict[type, set[int]] = field(default_factory=lambda: {c: set() for c in _TRACKED})


def _key_rows(cls, ids: Iterable[int]):
    """(unit_id, the inspection's started_at and status) of the rows `ids` of `cls`."""
    ids = list(ids)
    if cls is Inspection:
        stmt = select(Inspection.unit_id, Inspection.started_at, Inspection.status).where(
            Inspection.id.in_(ids)
        )
    else:
        stmt = (
            select(cls.unit_id, Inspection.started_at, Inspection.status)
            .join(Inspection, Inspection.id == cls.inspection_id)
            .where(cls.id.in_(ids))
        )
    return stmt


def _note(session: Session, cls, ids: set[int]) -> None:
    """Add the keys the rows `ids` of `cls` count in now (read through the session's
    connection: no autoflush)."""
    if not ids:
        return
    for unit_id, started_at, status in session.connection().execute(_key_rows(cls, ids)):
        _touch(session, cls, unit_id, started_at, status)


def _touch(session: Session, cls, unit_id: int, started_at: datetime, status: str) -> None:
    """Note the key of a row of `cls` whose inspection is (unit, start, status); a
    published inspection's or finding's also the months whose repeat findings it counts
    in (only findings of published inspections are repeated)."""
    if status == InspectionStatus.draft:
        return
    if status == InspectionStatus.published:
        session.info[_PUBLISHED] = True  # the item rows may change too
    touched: set[tuple[int, date]] = session.info.setdefault(_TOUCHED, set())
    span = REPEAT_SPAN if cls is not RectificationTask and status == "published" else 0
    month = month_of(started_at)
    touched.update((unit_id, add_months(month, n)) for n in range(span + 1))


def _still_draft(obj) -> bool:
    """An inspection that is a draft and stays one: it counts nowhere."""
    if not isinstance(obj, Inspection):
        return False
    history = attributes.get_history(obj, "status", passive=attributes.PASSIVE_NO_INITIALIZE)
    values = [*history.added, *history.unchanged, *history.deleted]
    return bool(values) and all(v == InspectionStatus.draft for v in values)


def _moved_units(session: Session) -> None:
    """A unit that moves to another sector, or is deleted, leaves every month of its
    sector's rows and joins those of its new one: note both sectors' keys of its months
    (read before the flush, from the table: the old sector of an expired object is not in
    its history, and a deleted unit's rows go with it)."""
    for obj in (*session.dirty, *session.deleted):
        if not isinstance(obj, Unit):
            continue
        identity = attributes.instance_state(obj).identity
        deleted = obj in session.deleted
        if identity is None or not (
            deleted or attributes.get_history(obj, "sector_id").has_changes()
        ):
            continue
        connection = session.connection()
        old = connection.scalar(select(Unit.sector_id).where(Unit.id == identity[0]))
        sectors = {old} if deleted else {old, obj.sector_id}
        months = connection.scalars(
            select(UnitMonth.month).where(UnitMonth.unit_id == identity[0]).distinct()
        ).all()
        if months:
            session.info[_CHANGED] = True
            keys = session.info.setdefault(_SECTORS, set())
            keys.update((s, m) for s in sectors - {None} for m in months)


def _task_units(session: Session) -> None:
    """Units whose tasks this flush adds, changes or deletes (a task's unit as loaded, and
    the unit it had if that changed)."""
    units: set[int] = session.info.setdefault(_TASK_UNITS, set())
    unknown = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, RectificationTask):
            continue
        history = attributes.get_history(obj, "unit_id", passive=attributes.PASSIVE_NO_INITIALIZE)
        known = [u for u in (*history.added, *history.unchanged, *history.deleted) if u]
        units.update(known)
        identity = attributes.instance_state(obj).identity
        if identity is not None and not known:
            unknown.append(identity[0])  # not loaded: its unit as stored, before this flush
    if unknown:
        units.update(
            session.connection().scalars(
                select(RectificationTask.unit_id).where(RectificationTask.id.in_(unknown))
            )
        )


def _before_flush(session: Session, flush_context, instances) -> None:
    """Keys the changed and deleted rows count in before this flush."""
    _moved_units(session)
    _task_units(session)
    before: dict[type, set[int]] = {c: set() for c in _TRACKED}
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, _TRACKED) and not _still_draft(obj):
            session.info[_CHANGED] = True
            identity = attributes.instance_state(obj).identity
            if identity is not None:
                before[type(obj)].add(identity[0])
    for cls, ids in before.items():
        _note(session, cls, ids)


def _after_flush(session: Session, flush_context) -> None:
    """Rows written by this flush: their keys after the transaction's last flush are read
    before the commit."""
    pending: _Pending = session.info.setdefault(_PENDING, _Pending())
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, _TRACKED) and not _still_draft(obj):
            # (a new row's identity is registered after this event; its id is set)
            pending.ids[type(obj)].add(obj.id)


def _before_commit(session: Session) -> None:
    session.flush()
    pending: _Pending | None = session.info.pop(_PENDING, None)
    if pending is not None:
        for cls, ids in pending.ids.items():
            _note(session, cls, ids)
    by_flushes = session.info.pop(_TOUCHED, None)
    for obj in session.info.pop(WRITTEN_BY_CORE, ()):
        if isinstance(obj, Inspection):  # just inserted: its values are the row's
            _touch(session, Inspection, obj.unit_id, obj.started_at, obj.status)
    touched = session.info.pop(_TOUCHED, set())
    sectors = session.info.pop(_SECTORS, ())
    task_units = session.info.pop(_TASK_UNITS, ())
    only_added = not session.info.pop(_CHANGED, False)
    items = session.info.pop(_PUBLISHED, False)
    # Nothing but Core-inserted inspections that are submitted (an offline submission:
    # findings pending, no tasks; a published one sets `items`): their inspection columns.
    only_submitted = not by_flushes and only_added and not items
    touched |= by_flushes or set()
    if touched or sectors:
        with session.no_autoflush:
            recompute(
                touched,
                only_added=only_added,
                items=items,
                only_submitted=only_submitted,
                sectors=sectors,
            )
    if task_units:
        with session.no_autoflush:
            recompute_task_counts(task_units)


def _forget(session: Session, transaction) -> None:
    """The transaction is over (committed, or rolled back with what it wrote)."""
    if transaction.parent is None:
        session.info.pop(_TOUCHED, None)
        session.info.pop(_PENDING, None)
        session.info.pop(WRITTEN_BY_CORE, None)
        session.info.pop(_CHANGED, None)
        session.info.pop(_PUBLISHED, None)
        session.info.pop(_SECTORS, None)
        session.info.pop(_TASK_UNITS, None)


_HOOKS = (
    ("before_flush", _before_flush),
    ("after_flush", _after_flush),
    ("before_commit", _before_commit),
    ("after_transaction_end", _forget),
)


def install_hooks() -> None:
    for name, fn in _HOOKS:
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)


rollups_command = AppGroup("reports", help="考核排名与看板的汇总表维护")


def vacuum(engine) -> None:
    """After a rebuild (committed), on PostgreSQL: VACUUM ANALYZE the tables. Every row
    is new: the planner's statistics are those of the old table, and the visibility map
    is empty, so the rankings' index-only scan of `unit_month_item` would visit the heap
    for each row until autovacuum passes."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            text("VACUUM ANALYZE unit_month, unit_month_item, sector_month, unit_task_count")
        )


@rollups_command.command("rebuild-rollups")
def rebuild_command() -> None:
    """Recompute the unit × month rollups from the raw rows (after a bulk load)."""
    rows = rebuild()
    db.session.commit()
    vacuum(db.engine)
    click.echo(f"rollups rebuilt: {rows} rows")


def init_app(app: Flask) -> None:
    install_hooks()
    app.cli.add_command(rollups_command)


SectorFigures = tuple[int, str, int, float, int]


def sector_figures_raw(actor: User, first_day: date) -> list[SectorFigures]:
    """(sector id, name, inspections, effective score sum, scored) of the inspections the
    reader sees started since `first_day` (the city's calendar), grouped from the raw rows:
    the rollups' reference (tests, bench) and the path for a reader whose scope is not a
    set of units."""
    rows = db.session.execute(
        select(
            Sector.id,
            Sector.name,
            func.count(Inspection.id),
            func.sum(Inspection.effective_score),
            func.count(Inspection.effective_score),
        )
        .join(Unit, Unit.sector_id == Sector.id)
        .join(Inspection, Inspection.unit_id == Unit.id)
        .where(
            Inspection.started_at >= day_start(first_day),
            Inspection.status != InspectionStatus.draft,
            inspection_filter(actor),
            unit_filter(actor),
        )
        .group_by(Sector.id, Sector.name)
    )
    return [(i, name, n, float(total or 0), scored) for i, name, n, total, scored in rows]


def sector_figures(actor: User, first_day: date) -> list[SectorFigures]:
    """The same figures summed from the rollups, `first_day` being a month's first day:
    the sector rows for a reader whose scope is whole sectors, else the unit rows of the
    reader's units (a few rows per unit whatever the history's length)."""
    if not has_unit_scope(actor):
        return sector_figures_raw(actor, first_day)
    sectors = sector_scope(actor)
    table = SectorMonth if sectors is not None else UnitMonth
    stmt = select(
        Sector.id,
        Sector.name,
        func.sum(table.inspections),
        func.sum(table.score_sum),
        func.sum(table.scored),
    ).where(table.month >= first_day, table.status.in_(statuses(actor)))
    if sectors is not None:
        stmt = stmt.join(SectorMonth, SectorMonth.sector_id == Sector.id).where(sectors)
    else:
        stmt = (
            stmt.join(Unit, Unit.sector_id == Sector.id)
            .join(UnitMonth, UnitMonth.unit_id == Unit.id)
            .where(unit_filter(actor))
        )
    return _sector_rows(db.session.execute(stmt.group_by(Sector.id, Sector.name)))


def _sector_rows(rows) -> list[SectorFigures]:
    return [
        (i, name, int(n or 0), float(total or 0), int(scored or 0))
        for i, name, n, total, scored in rows
    ]


def inspection_counts(actor: User, first_day: date) -> dict[str, int] | None:
    """{status: inspections} of the inspections the reader sees started since `first_day`
    (a month's first day, on the city's clock), summed from the rollups: the same rows as
    the queue's `date_from` filter (started_at from that day's start, drafts aside, the
    reader's units), since a rollup row's month is the month its inspections started in.
    None when the rollups cannot say it exactly: a reader whose scope is not a set of
    units (an inspector), or a day that does not start a month."""
    if not has_unit_scope(actor) or first_day.day != 1:
        return None
    sectors = sector_scope(actor)
    table, scope = (SectorMonth, sectors) if sectors is not None else (UnitMonth, unit_scope(actor))
    rows = db.session.execute(
        select(table.status, func.sum(table.inspections))
        .where(table.month >= first_day, table.status.in_(statuses(actor)), scope)
        .group_by(table.status)
    )
    return {status: int(n or 0) for status, n in rows}
