"""The office's lists of inspections: every filter the console offers, in SQL, scoped by
the reader's policy, ordered newest first (one count and one page query per request).

Scores here, on the dashboard and in rankings are `Inspection.effective_score`: the score
after the office's review when there is one, else the score at submission."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select

from accounts.models import User
from core.clock import DISPLAY_TZ
from inspections import policy
from inspections.models import Inspection
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
