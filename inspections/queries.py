"""The office's lists of inspections: every filter the console offers, in SQL, scoped by
the reader's policy, ordered newest first (one count and one page query per request).

Scores here, on the dashboard and in rankings are `Inspection.effective_score`: the score
after the office's review when there is one, else the score at submission."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from accounts.models import User
from checklists import content as fmt
from checklists.models import ChecklistVersion
from core.clock import DISPLAY_TZ, local
from core.db import db
from inspections import policy
from inspections.models import Finding, FindingStatus, Inspection, InspectionStatus
from org.models import Unit


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=DISPLAY_TZ).astimezone(UTC)


def inspections_query(user: User, f: dict[str, Any]) -> Select:
    """The inspections `user` may see, filtered; ordered newest first."""
    stmt = select(Inspection).where(policy.inspection_filter(user))
    for key in ("plan_id", "visit_id", "unit_id", "inspector_id", "status", "kind", "ad_hoc"):
        if f.get(key) is not None:
            stmt = stmt.where(getattr(Inspection, key) == f[key])
    if f.get("sector_id") is not None:
        stmt = stmt.where(
            Inspection.unit_id.in_(select(Unit.id).where(Unit.sector_id == f["sector_id"]))
        )
    if f.get("region_id") is not None:
        stmt = stmt.where(
            Inspection.unit_id.in_(select(Unit.id).where(Unit.region_id == f["region_id"]))
        )
    if f.get("unit_name"):
        named = select(Unit.id).where(Unit.name.contains(f["unit_name"], autoescape=True))
        stmt = stmt.where(Inspection.unit_id.in_(named))
    if f.get("date_from") is not None:
        stmt = stmt.where(Inspection.started_at >= _day_start(f["date_from"]))
    if f.get("date_to") is not None:
        stmt = stmt.where(Inspection.started_at < _day_start(f["date_to"] + timedelta(days=1)))
    if f.get("score_min") is not None:
        stmt = stmt.where(Inspection.effective_score >= f["score_min"])
    if f.get("score_max") is not None:
        stmt = stmt.where(Inspection.effective_score <= f["score_max"])
    if f.get("has_findings") is not None:
        has = Inspection.findings_count > 0
        stmt = stmt.where(has if f["has_findings"] else ~has)
    return stmt.order_by(Inspection.started_at.desc(), Inspection.id.desc())


# -- one unit's record: its scores over time and the problems that keep coming back ------

# How many of a unit's inspections its page lists and charts (newest first): years of
# visits for a window unit, few enough to read on one page.
UNIT_HISTORY = 60


def unit_inspections(user: User, unit_id: int, limit: int = UNIT_HISTORY) -> list[Inspection]:
    """The unit's scored inspections `user` may see, newest first (drafts have no score)."""
    stmt = (
        select(Inspection)
        .where(
            policy.inspection_filter(user),
            Inspection.unit_id == unit_id,
            Inspection.status != InspectionStatus.draft,
        )
        .order_by(Inspection.started_at.desc(), Inspection.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def scores_by_month(inspections: list[Inspection]) -> list[dict[str, Any]]:
    """Per calendar month (Beijing time, by the visit's day), oldest first: how many
    inspections, their average, lowest and highest effective score (the percentage of the
    maximum, so checklists of different sizes compare)."""
    months: dict[str, list[float]] = {}
    for inspection in inspections:
        percent = percent_of(inspection)
        if percent is None:
            continue
        months.setdefault(local(inspection.started_at).strftime("%Y-%m"), []).append(percent)
    return [
        {
            "month": month,
            "count": len(scores),
            "average": round(sum(scores) / len(scores), 1),
            "lowest": round(min(scores), 1),
            "highest": round(max(scores), 1),
        }
        for month, scores in sorted(months.items())
    ]


def percent_of(inspection: Inspection) -> float | None:
    """The effective score as a percentage of the maximum (None when not scored)."""
    score, most = inspection.effective_score, inspection.max_score
    if score is None or not most:
        return None
    return round(100 * score / most, 1)


def repeat_problems(user: User, unit_id: int) -> list[dict[str, Any]]:
    """Checklist items the unit failed in more than one inspection (findings the office
    did not dismiss, as far as `user` may see them), most often first: each with how many
    inspections, the last visit's day, and the item's number and title from the checklist
    of its latest failing inspection (its stored title when that checklist is gone)."""
    failing = (
        select(
            Finding.item_code,
            func.count(func.distinct(Finding.inspection_id)).label("times"),
            func.max(Inspection.started_at).label("last_at"),
        )
        .join(Inspection, Inspection.id == Finding.inspection_id)
        .where(
            policy.finding_filter(user),
            policy.inspection_filter(user),
            Finding.unit_id == unit_id,
            Finding.status != FindingStatus.dismissed,
        )
        .group_by(Finding.item_code)
        .having(func.count(func.distinct(Finding.inspection_id)) > 1)
    )
    rows = db.session.execute(failing).all()
    if not rows:
        return []
    latest = _latest_failures(unit_id, [row.item_code for row in rows])
    versions = {v for _, v in latest.values() if v is not None}
    contents = dict(
        db.session.execute(
            select(ChecklistVersion.id, ChecklistVersion.content).where(
                ChecklistVersion.id.in_(versions)
            )
        ).all()
    )
    labels = {v: fmt.item_labels(content) for v, content in contents.items()}
    found = []
    for row in rows:
        title, version_id = latest[row.item_code]
        label = labels.get(version_id, {}).get(row.item_code) or title or "（检查项已删除）"
        found.append(
            {"item_code": row.item_code, "label": label, "times": row.times, "last_at": row.last_at}
        )
    found.sort(key=lambda p: p["last_at"], reverse=True)
    return sorted(found, key=lambda p: p["times"], reverse=True)  # stable: latest first within


def _latest_failures(unit_id: int, codes: list[str]) -> dict[str, tuple[str, int | None]]:
    """For each item code: the stored title and checklist version of its latest finding."""
    stmt = (
        select(Finding.item_code, Finding.title, Inspection.checklist_version_id)
        .join(Inspection, Inspection.id == Finding.inspection_id)
        .where(Finding.unit_id == unit_id, Finding.item_code.in_(codes))
        .order_by(Inspection.started_at, Finding.id)
    )
    return {code: (title, version) for code, title, version in db.session.execute(stmt)}
