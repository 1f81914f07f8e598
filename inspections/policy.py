"""Who may see and do what with plans, visits, inspections and findings.

The secrecy rule of 暗访: an unannounced visit does not exist for its unit or lead unit
until its inspection is submitted, and an inspection's result only once the office
publishes it. Inspectors see their own visits, from the visit's `visible_from`. Every list
and count applies these filters in SQL, every single read uses them too (the `visible_*`
getters), and whatever a caller may not see answers 404 exactly as a missing id does.

Offices work in their region's subtree (`org.policy.office_scope`); a city-wide office
everywhere. A plan belongs to the region of the office that made it (`Plan.region_id`,
None for a city plan): a district or town office edits, draws and publishes the plans of
its subtree, and sees a plan of a higher level read-only, with its own units' visits only.
It sees and reviews the inspections of its units whoever planned them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from accounts.models import Role, User
from core import errors
from core.clock import utcnow
from core.db import db
from inspections.models import (
    Finding,
    FindingStatus,
    Inspection,
    InspectionStatus,
    Plan,
    PlanStatus,
    Visit,
    VisitKind,
    VisitStatus,
    visit_inspector,
)
from org.models import Region, Unit
from org.policy import can_view_unit, office_scope, region_subtree

# -- filters ------------------------------------------------------------------------------


def _scoped_units(user: User, unit_column) -> ColumnElement[bool]:
    """Rows of the unit (unit staff) or the sector (lead unit staff) the user answers for."""
    if user.role == Role.unit_staff and user.unit_id is not None:
        return unit_column == user.unit_id
    if user.role == Role.lead_unit_staff and user.sector_id is not None:
        return unit_column.in_(select(Unit.id).where(Unit.sector_id == user.sector_id))
    return false()


def _team_visits(user: User):
    return select(visit_inspector.c.visit_id).where(visit_inspector.c.user_id == user.id)


def plan_filter(user: User) -> ColumnElement[bool]:
    """Plans are the office's: a city-wide office sees every plan; a scoped one the plans of
    its subtree and any other plan with a visit to one of its units (read-only)."""
    if not user.is_office:
        return false()
    if user.region_id is None:
        return true()
    # One subtree for both halves: two CTEs of one name in a statement do not compile.
    subtree = region_subtree(user.region_id)
    my_units = select(Unit.id).where(Unit.region_id.in_(subtree))
    with_my_units = select(Visit.plan_id).where(Visit.unit_id.in_(my_units))
    return or_(Plan.region_id.in_(subtree), Plan.id.in_(with_my_units))


def visit_filter(user: User, now: datetime) -> ColumnElement[bool]:
    if user.is_office:
        return office_scope(user, Visit.unit_id)
    if user.role == Role.inspector:
        return and_(Visit.id.in_(_team_visits(user)), Visit.visible_from <= now)
    return and_(
        _scoped_units(user, Visit.unit_id),
        or_(Visit.kind == VisitKind.announced, Visit.status == VisitStatus.submitted),
    )


def inspection_filter(user: User) -> ColumnElement[bool]:
    if user.is_office:
        return office_scope(user, Inspection.unit_id)
    if user.role == Role.inspector:
        return or_(Inspection.inspector_id == user.id, Inspection.visit_id.in_(_team_visits(user)))
    return and_(
        _scoped_units(user, Inspection.unit_id), Inspection.status == InspectionStatus.published
    )


def finding_filter(user: User) -> ColumnElement[bool]:
    if user.is_office:
        return office_scope(user, Finding.unit_id)
    visible = select(Inspection.id).where(inspection_filter(user))
    if user.role == Role.inspector:
        return Finding.inspection_id.in_(visible)
    return and_(Finding.status == FindingStatus.confirmed, Finding.inspection_id.in_(visible))


def region_choice_filter(user: User) -> ColumnElement[bool]:
    """Regions an office may filter by or put in a plan's pool: its subtree."""
    if user.is_office and user.region_id is not None:
        return Region.id.in_(region_subtree(user.region_id))
    return true()


def inspector_choice_filter(user: User) -> ColumnElement[bool]:
    """Inspectors a scoped office may filter its inspections by: those who inspected its
    units (inspectors themselves belong to no region; a city-wide office lists them all)."""
    if user.is_office and user.region_id is not None:
        return User.id.in_(select(Inspection.inspector_id).where(inspection_filter(user)))
    return true()


# -- getters: the object, or the same 404 as a missing id ---------------------------------


def _one(model, object_id: int, clause: ColumnElement[bool]):
    found = db.session.scalar(select(model).where(model.id == object_id, clause))
    if found is None:
        raise errors.NotFound()
    return found


def visible_plan(plan_id: int, actor: User) -> Plan:
    return _one(Plan, plan_id, plan_filter(actor))


def visible_visit(visit_id: int, actor: User) -> Visit:
    return _one(Visit, visit_id, visit_filter(actor, utcnow()))


def visible_inspection(inspection_id: int, actor: User) -> Inspection:
    return _one(Inspection, inspection_id, inspection_filter(actor))


def visible_finding(finding_id: int, actor: User) -> Finding:
    return _one(Finding, finding_id, finding_filter(actor))


def disclosed_plan(plan_id: int, actor: User) -> Plan:
    """一公开 is publication to everyone: any signed-in person, scoped or not, reads a
    published plan's disclosure; an unpublished plan is as good as missing."""
    return _one(Plan, plan_id, Plan.status == PlanStatus.published)


# -- object rules -------------------------------------------------------------------------


def can_create_plan(user: User) -> bool:
    return user.role == Role.office_admin


def plan_region_for(user: User) -> int | None:
    """The region a new plan of `user` belongs to: its own (None: a city plan)."""
    return user.office_region_id


def owns_plan(user: User, plan: Plan) -> bool:
    """A city-wide office owns every plan; a scoped one the plans of its subtree."""
    if not user.is_office:
        return False
    if user.region_id is None:
        return True
    if plan.region_id is None:
        return False
    return plan.region_id in set(db.session.scalars(region_subtree(user.region_id)))


def can_edit_plan(user: User, plan: Plan) -> bool:
    """Edit, draw and publish: an office admin who owns the plan."""
    return user.role == Role.office_admin and owns_plan(user, plan)


def check_can_edit_plan(user: User, plan: Plan) -> None:
    if not can_edit_plan(user, plan):
        if user.role == Role.office_admin:
            raise errors.Forbidden("该计划由上级督查办制定，本辖区只能查看")
        raise errors.Forbidden()


def pool_unit_filter(plan: Plan) -> ColumnElement[bool]:
    """A draw of a district or town plan chooses from its region's units only."""
    if plan.region_id is None:
        return true()
    return Unit.region_id.in_(region_subtree(plan.region_id))


def pool_region_filter(plan: Plan) -> ColumnElement[bool]:
    if plan.region_id is None:
        return true()
    return Region.id.in_(region_subtree(plan.region_id))


def visible_unit_ids(user: User, unit_ids: set[int]) -> set[int]:
    """Those of `unit_ids` the office may see (all of them for a city-wide office)."""
    if not unit_ids:
        return set()
    if user.is_office and user.region_id is None:
        return set(unit_ids)
    return set(
        db.session.scalars(
            select(Unit.id).where(Unit.id.in_(unit_ids), office_scope(user, Unit.id))
        )
    )


def can_review(user: User, inspection: Inspection) -> bool:
    """Review findings and publish the result: an office admin whose scope holds the unit
    (a district or town office reviews its units' inspections, whoever planned them)."""
    return user.role == Role.office_admin and can_view_unit(user, inspection.unit)


def check_can_review(user: User, inspection: Inspection) -> None:
    if not can_review(user, inspection):
        raise errors.Forbidden()


def check_can_pick_for_circular(user: User, finding: Finding) -> None:
    """Mark a confirmed finding as a typical problem (典型问题) of the circular, or unmark
    it: the offices that may review its inspection (the circular is theirs to issue)."""
    check_can_review(user, finding.inspection)


def sees_unreviewed_findings(user: User) -> bool:
    """Offices and inspectors see every finding; units and lead units the confirmed ones."""
    return user.is_office or user.role == Role.inspector


COVERT_TEAM = "暗访组"


def names_inspectors(user: User | None, work: Inspection | Visit | Plan) -> bool:
    """Whether `user` may learn who inspected (`work`: an inspection, a visit or a plan).

    The same people do the next 暗访, so the inspectors of an unannounced visit are not
    named to units and lead units, nor in the public disclosure (`user` None), unless its
    plan opts in (`Plan.disclose_inspectors`); they read `COVERT_TEAM` instead. Offices and
    inspectors always see the names; announced visits name them to everyone."""
    if user is not None and sees_unreviewed_findings(user):
        return True
    if work.kind == VisitKind.announced:
        return True
    plan = work if isinstance(work, Plan) else work.plan
    return plan is not None and plan.disclose_inspectors


def named_inspections(user: User) -> ColumnElement[bool]:
    """`names_inspectors` in SQL: the inspections whose inspectors `user` may learn. A
    filter or sort by inspector applies only to these, or it would answer "did N do this
    暗访?" with a count, though every row reads `COVERT_TEAM`."""
    if sees_unreviewed_findings(user):
        return true()
    disclosed = select(Plan.id).where(Plan.disclose_inspectors == true())
    return or_(Inspection.kind == VisitKind.announced, Inspection.plan_id.in_(disclosed))


def team_ids(work: Inspection | Visit) -> set[int]:
    """Everyone who inspected: the visit's team and whoever started the inspection."""
    if isinstance(work, Visit):
        return {m.id for m in work.inspectors}
    ids = {work.inspector_id}
    if work.visit is not None:
        ids |= {m.id for m in work.visit.inspectors}
    return ids


def covert_ids(user: User | None, work: Inspection | Visit | None) -> set[int]:
    """The people `user` must not see named in what hangs on `work` (empty: no secret)."""
    if work is None or names_inspectors(user, work):
        return set()
    return team_ids(work)


def visible_findings(inspection: Inspection, user: User) -> list[Finding]:
    if sees_unreviewed_findings(user):
        return list(inspection.findings)
    return [f for f in inspection.findings if f.status == FindingStatus.confirmed]


def can_edit_inspection(user: User, inspection: Inspection) -> bool:
    """The inspector who started it, or a member of its visit's team."""
    if user.role != Role.inspector:
        return False
    if inspection.inspector_id == user.id:
        return True
    visit = inspection.visit
    return visit is not None and any(m.id == user.id for m in visit.inspectors)


def covert_ids_of(user: User | None, inspection_id: int | None) -> set[int]:
    """`covert_ids` for what hangs on an inspection by id (a task, a photo, an audit trail)."""
    if inspection_id is None or (user is not None and sees_unreviewed_findings(user)):
        return set()
    return covert_ids(user, db.session.get(Inspection, inspection_id))


def covert_ids_by_inspection(user: User, inspection_ids: set[int]) -> dict[int, set[int]]:
    """`covert_ids_of` for a page of objects in one statement: the set form of
    `names_inspectors` (an unannounced inspection whose plan, if any, does not opt in)."""
    inspection_ids = {i for i in inspection_ids if i is not None}
    if not inspection_ids or sees_unreviewed_findings(user):
        return {}
    rows = db.session.execute(
        select(Inspection.id, Inspection.inspector_id, visit_inspector.c.user_id)
        .outerjoin(Plan, Plan.id == Inspection.plan_id)
        .outerjoin(visit_inspector, visit_inspector.c.visit_id == Inspection.visit_id)
        .where(
            Inspection.id.in_(inspection_ids),
            Inspection.kind == VisitKind.unannounced,
            or_(Plan.id.is_(None), Plan.disclose_inspectors == false()),
        )
    )
    hidden: dict[int, set[int]] = {}
    for inspection_id, inspector_id, member_id in rows:
        hidden.setdefault(inspection_id, {inspector_id}).add(member_id or inspector_id)
    return hidden
