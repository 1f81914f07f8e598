"""Who may see which plan, visit, inspection and finding.

The secrecy rule of 暗访: an unannounced visit does not exist for its unit or lead unit
until its inspection is submitted, and an inspection's result only once the office
publishes it. Inspectors see their own visits, from the visit's `visible_from`. Every list
and count applies these filters in SQL, every single read uses them too, and whatever a
caller may not see answers 404 exactly as a missing id does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from accounts.models import Role, User
from inspections.models import (
    Finding,
    FindingStatus,
    Inspection,
    InspectionStatus,
    Visit,
    VisitKind,
    VisitStatus,
    visit_inspector,
)
from org.models import Unit


def _scoped_units(user: User, unit_column) -> ColumnElement[bool]:
    """Rows of the unit (unit staff) or the sector (lead unit staff) the user answers for."""
    if user.role == Role.unit_staff and user.unit_id is not None:
        return unit_column == user.unit_id
    if user.role == Role.lead_unit_staff and user.sector_id is not None:
        return unit_column.in_(select(Unit.id).where(Unit.sector_id == user.sector_id))
    return false()


def _team_visits(user: User):
    return select(visit_inspector.c.visit_id).where(visit_inspector.c.user_id == user.id)


def visit_filter(user: User, now: datetime) -> ColumnElement[bool]:
    if user.is_office:
        return true()
    if user.role == Role.inspector:
        return and_(Visit.id.in_(_team_visits(user)), Visit.visible_from <= now)
    return and_(
        _scoped_units(user, Visit.unit_id),
        or_(Visit.kind == VisitKind.announced, Visit.status == VisitStatus.submitted),
    )


def inspection_filter(user: User) -> ColumnElement[bool]:
    if user.is_office:
        return true()
    if user.role == Role.inspector:
        return or_(Inspection.inspector_id == user.id, Inspection.visit_id.in_(_team_visits(user)))
    return and_(
        _scoped_units(user, Inspection.unit_id), Inspection.status == InspectionStatus.published
    )


def finding_filter(user: User) -> ColumnElement[bool]:
    if user.is_office:
        return true()
    visible = select(Inspection.id).where(inspection_filter(user))
    if user.role == Role.inspector:
        return Finding.inspection_id.in_(visible)
    return and_(Finding.status == FindingStatus.confirmed, Finding.inspection_id.in_(visible))


def can_edit_inspection(user: User, inspection: Inspection) -> bool:
    """The inspector who started it, or a member of its visit's team."""
    if user.role != Role.inspector:
        return False
    if inspection.inspector_id == user.id:
        return True
    visit = inspection.visit
    return visit is not None and any(m.id == user.id for m in visit.inspectors)
