"""台账: the inspection ledger and the rectification ledger, one sheet each.

A ledger is *the list it comes from*, written out: a ledger source turns (actor, filters)
into the very statement the list runs (`inspections.queries.inspections_query`,
`rectification.service.tasks_query`, or a console page's own), so the same filters give
the same rows in the same order, within the same scope (an office its region's subtree,
a lead unit its sector's units, a unit its own). Sources are registered on the app
(`register_source`, from each package's `init_app`); an unregistered one does not exist.

Rows are streamed: the statement runs with `yield_per` (a server-side cursor on
PostgreSQL), a batch at a time; what a row needs beyond its own object (findings, replies,
names, checklist item numbers) is fetched once per batch. Memory holds one batch, and the
sheet goes to a temporary file as it is written (`reports.xlsx`).

Links to console pages are written only for a reader who can follow them (the pages' own
`@requires`, and the console's sign-in): a unit's staff get the columns, empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from flask import Flask, current_app
from sqlalchemy import Select, func, select

from accounts.models import User
from checklists.content import GRADES, SEVERITY_LABELS
from checklists.models import ChecklistVersion
from console.common import may_follow
from core.clock import local, utcnow
from core.db import db
from inspections import policy as inspection_policy
from inspections.models import (
    FINDING_STATUS_LABELS,
    INSPECTION_STATUS_LABELS,
    VISIT_KIND_LABELS,
    Finding,
    FindingStatus,
    Inspection,
)
from rectification.models import STATUS_LABELS as TASK_STATUS_LABELS
from rectification.models import VERDICT_LABELS, RectificationTask, TaskReply, TaskStatus
from reports.xlsx import Column, LedgerSheet

SOURCES = "ledger_sources"
BATCH = 1000


@dataclass(frozen=True)
class LedgerSource:
    """A list whose rows a ledger writes: `build(actor, params)` is the list's statement
    (of `Inspection` or of `RectificationTask`, per `ledger`), `params` plain JSON."""

    name: str
    ledger: str  # "inspections" | "rectification"
    build: Callable[[User, dict[str, Any]], Select]


def register_source(app: Flask, source: LedgerSource) -> None:
    app.extensions.setdefault(SOURCES, {})[source.name] = source


def source_of(name: str) -> LedgerSource:
    return current_app.extensions[SOURCES][name]


def count_rows(stmt: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))


# -- filters as JSON (a job keeps them until the worker runs it) ------------------------


DATE_KEYS = ("date_from", "date_to", "due_from", "due_to")


def encode_params(filters: dict[str, Any]) -> dict[str, Any]:
    """Validated filters as JSON: dates as ISO text, enums as their values."""

    def plain(value):
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        if isinstance(value, date):
            return value.isoformat()
        return getattr(value, "value", value)

    return {key: plain(value) for key, value in filters.items() if value is not None}


def decode_params(params: dict[str, Any]) -> dict[str, Any]:
    return {
        key: date.fromisoformat(value) if key in DATE_KEYS and value else value
        for key, value in params.items()
    }


# -- what both ledgers share -------------------------------------------------------------

# The console pages the ledgers link to, by endpoint: whether a reader may open them is the
# pages' own `@requires` (console.common.may_follow).
REVIEW_PAGE = "console.review_inspection"
TASK_PAGE = "console.task"


class ItemNumbers:
    """ "3.2" for the second item of the third section of a checklist version: how a
    checklist is read on paper. Versions are immutable; a ledger meets only a few."""

    def __init__(self):
        self._by_version: dict[int, dict[str, str]] = {}

    def label(self, version_id: int | None, code: str, title: str) -> str:
        numbers = self._numbers(version_id) if version_id else {}
        number = numbers.get(code)
        return f"{number} {title}" if number else title

    def _numbers(self, version_id: int) -> dict[str, str]:
        found = self._by_version.get(version_id)
        if found is None:
            content = db.session.scalar(
                select(ChecklistVersion.content).where(ChecklistVersion.id == version_id)
            )
            found = {
                item["code"]: f"{s}.{i}"
                for s, section in enumerate((content or {}).get("sections") or (), 1)
                for i, item in enumerate(section["items"], 1)
            }
            self._by_version[version_id] = found
        return found


def _batches(stmt: Select) -> Iterator[list]:
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    yield from result.scalars().partitions()


def _names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {user_id: name for user_id, name in rows}


# -- 检查台账 ----------------------------------------------------------------------------

YES_NO = ("是", "否")
SEVERITIES = tuple(SEVERITY_LABELS.values())

INSPECTION_COLUMNS = (
    Column("检查编号", kind="int"),
    Column("被检查单位", 18, wrap=True),
    Column("行业领域", 10, wrap=True),
    Column("区域", 10, wrap=True),
    Column("督查计划", 16, wrap=True),
    Column("检查方式", labels=tuple(VISIT_KIND_LABELS.values())),
    Column("临时检查", labels=YES_NO),
    Column("检查人员", 10, wrap=True, labels=(inspection_policy.COVERT_TEAM,)),
    Column("状态", labels=tuple(INSPECTION_STATUS_LABELS.values())),
    Column("签到时间", kind="datetime"),
    Column("提交时间", kind="datetime"),
    Column("公开时间", kind="datetime"),
    Column("得分", kind="float", labels=("100.00",)),
    Column("满分", kind="float", labels=("100.00",)),
    Column("评级", labels=GRADES),
    Column("一票否决", labels=YES_NO),
    Column("问题数", kind="int"),
    Column("问题（检查项，严重程度）", 36, wrap=True),
    Column("不予认定（检查项，严重程度）", 22, wrap=True),
    Column("检查记录与照片", 20, "url", wrap=True),
)


def inspection_rows(stmt: Select, actor: User, base_url: str) -> Iterator[tuple]:
    """One row per inspection of `stmt`, in its order."""
    numbers = ItemNumbers()
    link = may_follow(REVIEW_PAGE, actor)
    for batch in _batches(stmt):
        findings = _findings_of(batch, actor, numbers)
        for i in batch:
            named = inspection_policy.names_inspectors(actor, i)
            yield (
                i.id,
                i.unit.name,
                i.unit.sector.name,
                i.unit.region.name,
                i.plan.name if i.plan else "",
                VISIT_KIND_LABELS[i.kind],
                i.ad_hoc,
                i.inspector.display_name if named else inspection_policy.COVERT_TEAM,
                INSPECTION_STATUS_LABELS[i.status],
                i.started_at,
                i.submitted_at,
                i.published_at,
                i.effective_score,
                i.max_score,
                i.effective_grade or "",
                bool(i.reviewed_critical_failed)
                if i.reviewed_critical_failed is not None
                else i.critical_failed,
                len(findings.problems.get(i.id, ())),
                "；".join(findings.problems.get(i.id, ())),
                "；".join(findings.dismissed.get(i.id, ())),
                f"{base_url}/console/inspections/{i.id}" if link else "",
            )


@dataclass
class LedgerFindings:
    """Per inspection id, the cells of its findings: `problems` (问题: confirmed, and pending
    the office's review, marked 待审核) and `dismissed` (不予认定, never a problem)."""

    problems: dict[int, list[str]]
    dismissed: dict[int, list[str]]


def _findings_of(batch: list[Inspection], actor: User, numbers: ItemNumbers) -> LedgerFindings:
    """The findings this reader may see, per inspection of the batch (one query).

    A unit and a lead unit see confirmed findings only, so their `dismissed` stays empty:
    the ledger never tells them how many findings were dismissed. Offices and inspectors
    see every finding; the dismissed ones go to their own column, out of 问题数."""
    versions = {i.id: i.checklist_version_id for i in batch}
    rows = db.session.execute(
        select(
            Finding.inspection_id,
            Finding.item_code,
            Finding.title,
            Finding.severity,
            Finding.status,
        )
        .where(Finding.inspection_id.in_(versions), inspection_policy.finding_filter(actor))
        .order_by(Finding.inspection_id, Finding.id)
    )
    found = LedgerFindings({}, {})
    for inspection_id, code, title, severity, status in rows:
        item = numbers.label(versions[inspection_id], code, title)
        marks = SEVERITY_LABELS.get(severity, severity)
        if status == FindingStatus.pending:
            marks += f"，{FINDING_STATUS_LABELS[status]}"
        into = found.dismissed if status == FindingStatus.dismissed else found.problems
        into.setdefault(inspection_id, []).append(f"{item}（{marks}）")
    return found


# -- 整改台账 ----------------------------------------------------------------------------

# 状态 as the ledger writes it: the task's status, marked （逾期） when past its deadline.
OVERDUE_MARK = "（逾期）"
TASK_STATUSES = tuple(
    label + mark for label in TASK_STATUS_LABELS.values() for mark in ("", OVERDUE_MARK)
)

TASK_COLUMNS = (
    Column("任务编号", kind="int"),
    Column("被检查单位", 18, wrap=True),
    Column("行业领域", 10, wrap=True),
    Column("区域", 10, wrap=True),
    Column("检查项", 20, wrap=True),
    Column("严重程度", labels=SEVERITIES),
    Column("问题描述", 26, wrap=True),
    Column("发现日期", kind="date"),
    Column("整改期限", kind="date"),
    Column("状态", labels=TASK_STATUSES),
    Column("逾期天数", kind="int"),
    Column("整改轮次", kind="int"),
    Column("回复次数", kind="int"),
    Column("最近整改回复", 26, wrap=True),
    Column("复查结论", labels=tuple(VERDICT_LABELS.values())),
    Column("复查人", 10, wrap=True, labels=(inspection_policy.COVERT_TEAM,)),
    Column("复查时间", kind="datetime"),
    Column("销号时间", kind="datetime"),
    Column("立行立改", labels=YES_NO),
    Column("整改任务", 20, "url", wrap=True),
    Column("检查记录与照片", 20, "url", wrap=True),
)


def days_overdue(task: RectificationTask, today: date) -> int:
    """Days past the deadline: until today while the task is open, until it was closed
    (销号) once it is; 0 when on time."""
    if task.status == TaskStatus.closed:
        end = local(task.closed_at).date() if task.closed_at else task.due_on
    else:
        end = today
    return max(0, (end - task.due_on).days)


def task_rows(stmt: Select, actor: User, base_url: str) -> Iterator[tuple]:
    """One row per task of `stmt`, in its order."""
    numbers = ItemNumbers()
    today = local(utcnow()).date()
    task_link = may_follow(TASK_PAGE, actor)
    inspection_link = may_follow(REVIEW_PAGE, actor)
    for batch in _batches(stmt):
        ids = [t.id for t in batch]
        inspection_ids = {t.inspection_id for t in batch if t.inspection_id}
        inspections = {
            row.id: row
            for row in db.session.execute(
                select(Inspection.id, Inspection.started_at, Inspection.checklist_version_id).where(
                    Inspection.id.in_(inspection_ids)
                )
            )
        }
        replies = _replies_of(ids)
        hidden = inspection_policy.covert_ids_by_inspection(actor, inspection_ids)
        names = _names(r["verified_by_id"] for r in replies.values())
        for t in batch:
            inspection = inspections.get(t.inspection_id)
            reply = replies.get(t.id, {})
            verifier = reply.get("verified_by_id")
            if verifier in hidden.get(t.inspection_id, ()):
                verifier_name = inspection_policy.COVERT_TEAM
            else:
                verifier_name = names.get(verifier, "")
            found = inspection.started_at if inspection else t.created_at
            yield (
                t.id,
                t.unit.name,
                t.unit.sector.name,
                t.unit.region.name,
                numbers.label(
                    inspection.checklist_version_id if inspection else None, t.item_code, t.title
                ),
                SEVERITY_LABELS.get(t.severity, t.severity),
                t.description,
                local(found).date(),
                t.due_on,
                TASK_STATUS_LABELS[t.status] + (OVERDUE_MARK if t.is_overdue() else ""),
                days_overdue(t, today),
                t.round,
                reply.get("count", 0),
                reply.get("description", ""),
                VERDICT_LABELS.get(reply.get("verdict"), ""),
                verifier_name,
                reply.get("verified_at"),
                t.closed_at,
                t.fixed_on_spot,
                f"{base_url}/console/tasks/{t.id}" if task_link else "",
                f"{base_url}/console/inspections/{t.inspection_id}"
                if inspection_link and t.inspection_id
                else "",
            )


def _replies_of(task_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per task: how many replies, the latest one's words, and the latest verdict with
    who gave it and when (one query for the batch)."""
    rows = db.session.execute(
        select(
            TaskReply.task_id,
            TaskReply.description,
            TaskReply.verdict,
            TaskReply.verified_by_id,
            TaskReply.verified_at,
        )
        .where(TaskReply.task_id.in_(task_ids))
        .order_by(TaskReply.task_id, TaskReply.round)
    )
    found: dict[int, dict[str, Any]] = {}
    for task_id, description, verdict, verified_by_id, verified_at in rows:
        entry = found.setdefault(task_id, {"count": 0, "verified_by_id": None})
        entry["count"] += 1
        entry["description"] = description
        if verdict is not None:
            entry |= {
                "verdict": verdict,
                "verified_by_id": verified_by_id,
                "verified_at": verified_at,
            }
    return found


# -- writing ---------------------------------------------------------------------------

LEDGERS = {
    "inspections": ("检查台账", INSPECTION_COLUMNS, inspection_rows),
    "rectification": ("整改台账", TASK_COLUMNS, task_rows),
}


def title_of(ledger: str) -> str:
    return LEDGERS[ledger][0]


def write_ledger(ledger: str, stmt: Select, actor: User, base_url: str, sink: IO[bytes]) -> int:
    """Write the ledger of `stmt`'s rows into `sink`; returns how many rows."""
    title, columns, rows = LEDGERS[ledger]
    sheet = LedgerSheet(title, columns)
    sheet.extend(rows(stmt, actor, base_url.rstrip("/")))
    return sheet.save(sink)
