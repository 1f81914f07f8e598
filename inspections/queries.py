"""The office's lists of inspections: every filter the console offers, in SQL, scoped by
the reader's policy, ordered newest first (one count and one page query per request).

Scores here, on the dashboard and in rankings are `Inspection.effective_score`: the score
after the office's review when there is one, else the score at submission."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select

from accounts.models import Role, User
from checklists import content as fmt
from checklists.models import ChecklistVersion
from core.audit import AuditEvent
from core.clock import DISPLAY_TZ, local
from core.db import db
from inspections import policy
from inspections.models import Finding, FindingStatus, Inspection, InspectionStatus, Plan
from media import queries as photo_queries
from org.models import Region, Unit
from org.service import list_regions

KIND = "inspection"  # the owner type of an inspection's photos and audit events


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=DISPLAY_TZ).astimezone(UTC)


def inspections_query(user: User, f: dict[str, Any]) -> Select:
    """The inspections `user` may see, filtered; ordered newest first."""
    stmt = select(Inspection).where(policy.inspection_filter(user))
    for key in ("plan_id", "visit_id", "unit_id", "status", "kind", "ad_hoc"):
        if f.get(key) is not None:
            stmt = stmt.where(getattr(Inspection, key) == f[key])
    if f.get("inspector_id") is not None:
        named = policy.named_inspections(user)
        stmt = stmt.where(Inspection.inspector_id == f["inspector_id"], named)
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


# -- the review queue and one inspection's page ----------------------------------------


def photo_stats(ids: list[int]) -> dict[int, dict[str, int]]:
    """Per inspection: stored photos, and how many carry each evidence flag (one query)."""
    return photo_queries.photo_stats(KIND, ids)


def findings_by_status(
    ids: list[int], status: FindingStatus, actor: User | None = None
) -> dict[int, int]:
    """Per inspection: its findings in `status` (those `actor` may see, when given)."""
    if not ids:
        return {}
    stmt = select(Finding.inspection_id, func.count(Finding.id)).where(
        Finding.inspection_id.in_(ids), Finding.status == status
    )
    if actor is not None:
        stmt = stmt.where(policy.finding_filter(actor))
    rows = db.session.execute(stmt.group_by(Finding.inspection_id))
    return {inspection_id: count for inspection_id, count in rows}


def flagged(flag: str):
    """Inspections with a stored photo carrying evidence flag `flag`, or (far_checkin)
    checked in far from the unit: a WHERE clause."""
    if flag == "far_checkin":
        return Inspection.checkin_far.is_(True)
    return Inspection.id.in_(photo_queries.owners_with_flag(KIND, flag))


def flag_count():
    """Per inspection: its photos carrying any evidence flag, plus one for a far check-in."""
    photos = photo_queries.flagged_photo_count(KIND, Inspection.id, Inspection)
    return photos + case((Inspection.checkin_far.is_(True), 1), else_=0)


def queue_order(sort: str) -> list:
    """The queue's ORDER BY: submitted (first in first), date, score (unscored last) or
    flags (most first)."""
    if sort == "date":
        return [Inspection.started_at.desc()]
    if sort == "score":
        score = Inspection.effective_score
        return [score.is_(None), score]  # unscored last
    if sort == "flags":
        return [flag_count().desc(), Inspection.submitted_at]
    return [Inspection.submitted_at]


def region_choices(actor: User) -> list[Region]:
    """The regions an inspection filter or a plan's pool offers `actor`."""
    return list(db.session.scalars(list_regions().where(policy.region_choice_filter(actor))))


def queue_choices(actor: User) -> dict[str, Any]:
    """The queue's filter options, each within what `actor` may see: plans (newest 200),
    regions and inspectors by name."""
    return {
        "plans": db.session.execute(
            select(Plan.id, Plan.name)
            .where(policy.plan_filter(actor))
            .order_by(Plan.period_start.desc(), Plan.id.desc())
            .limit(200)
        ).all(),
        "regions": region_choices(actor),
        "inspectors": db.session.execute(
            select(User.id, User.display_name)
            .where(User.role == Role.inspector, policy.inspector_choice_filter(actor))
            .order_by(User.display_name)
        ).all(),
    }


def history_events(inspection: Inspection) -> list[tuple[AuditEvent, str | None]]:
    """The inspection's audit events and its findings', oldest first, each with its
    actor's display name (None for the system)."""
    finding_ids = [f.id for f in inspection.findings]
    rows = db.session.execute(
        select(AuditEvent, User.display_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            or_(
                and_(AuditEvent.entity_type == KIND, AuditEvent.entity_id == inspection.id),
                and_(AuditEvent.entity_type == "finding", AuditEvent.entity_id.in_(finding_ids)),
            )
        )
        .order_by(AuditEvent.id)
    )
    return [(event, name) for event, name in rows]


def next_submitted(inspection: Inspection, actor: User) -> int | None:
    """The submitted inspection after this one in the queue's order (first in, first
    reviewed) that `actor` may see."""
    if inspection.submitted_at is None:
        return None
    at, Row = inspection.submitted_at, Inspection
    return db.session.scalar(
        select(Row.id)
        .where(
            policy.inspection_filter(actor),
            Row.status == InspectionStatus.submitted,
            or_(Row.submitted_at > at, and_(Row.submitted_at == at, Row.id > inspection.id)),
        )
        .order_by(Row.submitted_at, Row.id)
        .limit(1)
    )


def inspection_or_none(inspection_id: int | None) -> Inspection | None:
    """The inspection by id, without a permission check: for labels of a row the reader
    already may see (a task's or a photo's source)."""
    return db.session.get(Inspection, inspection_id) if inspection_id else None


# -- the dashboard ------------------------------------------------------------------------
