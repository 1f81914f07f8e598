"""典型问题 for the circular (通报): the office marks confirmed findings on the review page;
the circular of a period prints the marked findings whose inspection falls in it.

Marking and unmarking set a state (picked or not), so a resent form changes nothing and
answers the same; only a real change is an audit event on the finding. Units are never
named before publication: the circular and the rankings page read the picks through
`rankings.counted` (published inspections in the reader's scope).
"""

from __future__ import annotations

from sqlalchemy import and_, delete, select

from accounts.models import User
from core import audit, errors
from core.claims import claim
from core.clock import utcnow
from core.db import db
from inspections import policy
from inspections.models import Finding, FindingStatus, Inspection
from org.models import Unit
from reports import rankings
from reports.models import CircularPick
from reports.periods import Period


def set_picked(finding: Finding, picked: bool, *, actor: User) -> bool:
    """Mark (`picked`) or unmark `finding` as a typical problem; True when that changed
    anything, and only then an audit event. Only a confirmed finding can be marked;
    unmarking always may."""
    policy.check_can_pick_for_circular(actor, finding)
    if picked and finding.status != FindingStatus.confirmed:
        raise errors.Conflict(
            "只有已确认的问题才能列为通报典型问题",
            type="urn:problem:finding-not-confirmed",
        )
    if picked:
        row = CircularPick(finding_id=finding.id, picked_by_id=actor.id, picked_at=utcnow())
        changed = claim(row)
    else:
        gone = delete(CircularPick).where(CircularPick.finding_id == finding.id)
        changed = db.session.execute(gone).rowcount > 0
    if changed:
        audit.record(
            "finding",
            finding.id,
            "circular_pick" if picked else "circular_unpick",
            actor_id=actor.id,
            before={"circular_pick": not picked},
            after={"circular_pick": picked},
        )
    return changed


def picked_ids(finding_ids: list[int]) -> set[int]:
    """Which of these findings are marked (one query)."""
    if not finding_ids:
        return set()
    return set(
        db.session.scalars(
            select(CircularPick.finding_id).where(CircularPick.finding_id.in_(finding_ids))
        )
    )


def picks_in(actor: User, period: Period, *, limit: int) -> list[tuple[Finding, Inspection, str]]:
    """(finding, inspection, unit name) of the marked findings the circular of `period`
    prints for `actor`: still confirmed, their inspection published, counted in the period
    and within the reader's scope; in the order they were marked."""
    rows = db.session.execute(
        select(Finding, Inspection, Unit.name)
        .join(CircularPick, CircularPick.finding_id == Finding.id)
        .join(Inspection, Inspection.id == Finding.inspection_id)
        .join(Unit, Unit.id == Finding.unit_id)
        .where(
            and_(
                Finding.status == FindingStatus.confirmed,
                policy.finding_filter(actor),
                rankings.counted(actor, period),
            )
        )
        .order_by(CircularPick.picked_at, Finding.id)
        .limit(limit)
    ).all()
    return [tuple(r) for r in rows]
