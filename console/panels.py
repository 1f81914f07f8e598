"""The dashboard's inspection and rectification figures: this period's inspections,
open and overdue tasks by sector and by region, the average score by sector (the score
after the office's review when there is one: `Inspection.effective_score`).

The score and count panels (and the average figure) sum the unit × month rollups
(reports.rollups: a few rows per unit and month, kept in the transaction that changes an
inspection, finding or task), so they stay flat as history grows; `sector_figures_raw` is
the same figures from the raw rows. Open tasks are counted live on the task status index
(they change with the clock, and there are few of them). bench/reports_scale.py measures
the page over 1 000 000 inspections against plain GROUP BY statements.

Every panel counts what its reader may see: the domain's own filter (`inspection_filter`,
`task_filter`: a lead unit sees published inspections only) and the units of the reader's
scope (`unit_filter`: a town office's subtree, a lead unit's sector). A figure that links
to a list counts that list's query with the filters the list's page uses, the period
included: the link carries `date_from` (inspections by the visit's day, tasks by the day
they were issued), so the list opens on the same period and its total is the figure.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request

from accounts.models import User
from api.auth import OFFICE_READERS
from api.pagination import count_of
from console.common import may_open
from console.dashboard import Bar, Figure, Panel, Period, add_figures, add_panels, figure
from inspections import queries
from inspections.models import Inspection, InspectionStatus
from rectification import queries as task_queries
from rectification import service as rectification
from rectification.models import RectificationTask, TaskStatus
from reports import rollups

T = RectificationTask


def inspection_figures(period: Period, actor: User) -> list[Figure]:
    """This period's inspections (by the visit's day) and those of them awaiting review,
    each counted as the queue lists it with the same period (date_from)."""
    since = period.first_day
    total, waiting = inspection_counts(period, actor)
    sectors = _sector_figures_once(period, actor)
    scored = sum(r[4] for r in sectors)
    average = sum(r[3] for r in sectors) / scored if scored else None
    # A lead unit has no queue (it reads published results): the figure is plain there.
    queue = "console.review_queue" if may_open("console.review_queue", actor) else None
    return [
        figure(f"{period.label}检查", total, "", queue, status="all", date_from=since),
        figure(
            "待审核",
            waiting,
            "warn" if waiting else "",
            "console.review_queue",
            roles=OFFICE_READERS,  # nought for a lead unit, which sees published ones only
            status="submitted",
            date_from=since,
        ),
        figure(f"{period.label}平均得分", f"{average:.1f}" if average is not None else "—"),
    ]


def inspection_counts(period: Period, actor: User) -> tuple[int, int]:
    """(the period's inspections, those awaiting review) as the queue counts them with
    `date_from`: summed from the rollups (status is part of their key, and a period starts
    on a month's first day), or with the queue's own statement where they cannot say it
    (`inspection_counts_raw`)."""
    by_status = rollups.inspection_counts(actor, period.first_day)
    if by_status is None:
        return inspection_counts_raw(period, actor)
    return sum(by_status.values()), by_status.get(InspectionStatus.submitted.value, 0)


def inspection_counts_raw(period: Period, actor: User) -> tuple[int, int]:
    """The same two counts with the queue's own statements (the reference of the tests)."""
    since = period.first_day
    in_period = queries.inspections_query(actor, {"date_from": since}).where(
        Inspection.status != InspectionStatus.draft
    )
    waiting = queries.inspections_query(
        actor, {"status": InspectionStatus.submitted, "date_from": since}
    )
    return count_of(in_period), count_of(waiting)


def task_figures(period: Period, actor: User) -> list[Figure]:
    """Tasks issued this period, as console.tasks lists them with the same period
    (date_from): each view's statuses, "active" (open and responded) unless a view is
    named, and the overdue and extension switches on top."""
    since = period.first_day
    # Only the tasks not yet closed: few whatever the history, and read on the index of
    # the active ones by the day they were issued (closed ones pile up over the years).
    active = {"opened_from": since, "status": [TaskStatus.open, TaskStatus.responded]}
    counts = rectification.count_tasks(actor, active)
    open_ = counts["by_status"][TaskStatus.open.value]
    responded = counts["by_status"][TaskStatus.responded.value]
    overdue = counts["overdue"]  # the list's overdue switch: not closed and past due
    extensions = count_of(
        rectification.tasks_query(actor, active).where(T.extension_pending.is_(True))
    )
    return [
        figure("待整改任务", open_, "", "console.tasks", view="open", date_from=since),
        figure(
            "待复查",
            responded,
            "warn" if responded else "",
            "console.tasks",
            view="responded",
            date_from=since,
        ),
        figure(
            "逾期未销号",
            overdue,
            "flag" if overdue else "",
            "console.tasks",
            overdue=1,
            date_from=since,
        ),
        figure(
            "延期待审批",
            extensions,
            "warn" if extensions else "",
            "console.tasks",
            extension=1,
            date_from=since,
        ),
    ]


def sector_figures_raw(period: Period, actor: User) -> list[tuple[int, str, int, float, int]]:
    """(sector id, name, inspections, effective score sum, scored) of the period's
    inspections the reader sees, grouped from the raw rows (the rollups' reference)."""
    return rollups.sector_figures_raw(actor, period.first_day)


def sector_figures(period: Period, actor: User) -> list[tuple[int, str, int, float, int]]:
    """The same figures summed from the unit × month rollups: the dashboard's periods
    start on a month's first day and run to now, so they are whole months."""
    return rollups.sector_figures(actor, period.first_day)


def _sector_figures_once(period: Period, actor: User):
    """`sector_figures` once per request: the average figure and two panels read them
    (kept in the request's environ: `g` outlives a request in an app context)."""
    if not has_request_context():
        return sector_figures(period, actor)
    key = (period.key, period.first_day, actor.id)
    cache = request.environ.setdefault("console.sector_figures", {})
    if key not in cache:
        cache[key] = sector_figures(period, actor)
    return cache[key]


def _average_bars(rows) -> list[Bar]:
    rows = sorted((r for r in rows if r[4]), key=lambda r: (-r[3] / r[4], r[0]))
    return [
        Bar(name, round(total / scored, 1), f"（{scored} 次）")
        for _, name, _, total, scored in rows
    ]


def _count_bars(rows) -> list[Bar]:
    rows = sorted((r for r in rows if r[2]), key=lambda r: (-r[2], r[0]))
    return [Bar(name, n) for _, name, n, _, _ in rows]


def average_score_by_sector(period: Period, actor: User) -> Panel:
    bars = _average_bars(_sector_figures_once(period, actor))
    return Panel(f"{period.label}各行业领域平均得分", bars, "分", empty="本期还没有检查记录")


def inspections_by_sector(period: Period, actor: User) -> Panel:
    bars = _count_bars(_sector_figures_once(period, actor))
    return Panel(f"{period.label}各行业领域检查次数", bars, "次")


def _bars(rows: list[tuple[str, int, int]]) -> list[Bar]:
    return [Bar(name, count, f"（逾期 {late}）") for name, count, late in rows]


def open_tasks_by_sector(period: Period, actor: User) -> Panel:
    bars = _bars(task_queries.open_tasks_by_sector(actor))
    return Panel("各行业领域未销号整改任务", bars, "项", empty="没有未销号的整改任务")


def open_tasks_by_region(period: Period, actor: User) -> Panel:
    bars = _bars(task_queries.open_tasks_by_region(actor))
    return Panel("各区域未销号整改任务", bars, "项", empty="没有未销号的整改任务")


def init_app(app: Flask) -> None:
    add_figures(app, inspection_figures, task_figures)
    add_panels(
        app,
        average_score_by_sector,
        open_tasks_by_sector,
        open_tasks_by_region,
        inspections_by_sector,
    )
