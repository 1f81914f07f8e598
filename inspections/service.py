"""Inspections: check-in, answers, submission (online or offline in one request), lists.

Every create a phone may retry is keyed by the phone's `client_uuid`: a retry returns the
first result; two concurrent requests with one UUID make one row (the unique constraint
decides through INSERT … ON CONFLICT DO NOTHING, and the loser reads the winner's row).
A change to a submitted inspection is refused with 409; a retry of the same submission is
not a change.

Services flush, never commit; the request edge commits once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import Integer, bindparam, func, inspect, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached

from accounts.models import User
from core import audit, errors
from core.clock import local, utcnow
from core.db import (
    Prepared,
    db,
    lock_for_update,
    python_defaults,
    with_defaults,
    written_by_core,
)
from core.geo import CoordSystem, distance_m
from evidence import seal
from inspections import checklist, findings, photos, policy
from inspections.models import (
    Inspection,
    InspectionStatus,
    Visit,
    VisitKind,
    VisitStatus,
)
from org.models import Unit

CLOCK_SKEW = timedelta(minutes=10)  # phones' clocks drift; check-in times get this slack


# -- reading ------------------------------------------------------------------------------


def by_uuid(client_uuid: uuid.UUID) -> Inspection | None:
    return db.session.scalar(select(Inspection).where(Inspection.client_uuid == client_uuid))


def get_inspection(inspection_id: int, *, actor: User) -> Inspection:
    """The inspection, or the same 404 as a missing id when `actor` may not see it."""
    return policy.visible_inspection(inspection_id, actor)


# -- starting: check-in -------------------------------------------------------------------


def start_inspection(data: dict[str, Any], *, actor: User) -> tuple[Inspection, bool]:
    """Check in at a visit's unit (or at any unit, ad hoc). Returns (inspection, created);
    a retry with the same `client_uuid` returns the first inspection."""
    existing = by_uuid(data["client_uuid"])
    if existing is not None:
        return _same_start(_owned(existing, actor), data), False
    inspection, created, _ = _insert(_new_inspection(data, actor).inspection, data, actor)
    if created:
        _record_check_in(inspection, actor)
    return inspection, created


class UnitForCheckIn(NamedTuple):
    """What an ad-hoc check-in needs of its unit (a visit's brings its `Unit`)."""

    id: int
    active: bool
    sector_id: int | None
    latitude: float | None
    longitude: float | None
    coord_system: CoordSystem | None


# The table's columns, not the entity: an ad-hoc submission runs it every time, nothing
# of the unit beyond these is read, and a Core statement on the session's connection
# costs a fifth of loading the entity (the same goes for the inserts below).
_UNIT_FOR_CHECK_IN = Prepared(
    select(*(Unit.__table__.c[name] for name in UnitForCheckIn._fields)).where(
        Unit.__table__.c.id == bindparam("unit_id")
    )
)


class NewInspection(NamedTuple):
    """A checked-in inspection built in memory (nothing written yet), and the content of
    the checklist version it pins."""

    inspection: Inspection
    content: dict[str, Any]


def _new_inspection(data: dict[str, Any], actor: User) -> NewInspection:
    """A checked-in inspection, built in memory. Only what the check-in decides is set:
    the columns left unset take the model's defaults when it is written (`_insert`)."""
    check_in = data["check_in"]
    at = check_in.get("at") or utcnow()
    if at > utcnow() + CLOCK_SKEW:
        raise errors.InvalidInput(errors={"check_in.at": ["签到时间晚于当前时间"]})
    max_age = current_app.config["CHECKIN_MAX_AGE_DAYS"]
    if at < utcnow() - timedelta(days=max_age):
        raise errors.InvalidInput(errors={"check_in.at": [f"签到时间早于 {max_age} 天前"]})
    if data.get("visit_id") is not None:
        visit = _visit_for_inspector(data["visit_id"], actor)
        if not visit.window_start - CLOCK_SKEW <= at <= visit.window_end + CLOCK_SKEW:
            raise errors.Conflict(
                f"不在本次检查的时间窗口内（{_window_text(visit)}，北京时间），不能签到",
                type="urn:problem:outside-visit-window",
            )
        unit, plan_id, kind = visit.unit, visit.plan_id, visit.kind
        template_id = visit.plan.checklist_template_id
        # Drawn before the unit was closed, or before the inspector joined it.
        if not unit.active:
            raise errors.Conflict(
                "窗口单位已停用，本次检查不能签到，请联系办公室", type="urn:problem:unit-inactive"
            )
        if unit.id == actor.unit_id:
            raise errors.Conflict(
                "检查人员须回避本人所在单位，请联系办公室改派", type="urn:problem:own-unit-recusal"
            )
    elif data.get("unit_id") is not None:
        visit = None
        rows = _UNIT_FOR_CHECK_IN.rows(db.session.connection(), {"unit_id": data["unit_id"]})
        unit = UnitForCheckIn(*rows[0]) if rows else None
        if unit is None or not unit.active:
            raise errors.InvalidInput(errors={"unit_id": ["窗口单位不存在或已停用"]})
        if unit.id == actor.unit_id:
            raise errors.Conflict("检查人员须回避本人所在单位", type="urn:problem:own-unit-recusal")
        plan_id, kind, template_id = None, VisitKind.unannounced, None
    else:
        raise errors.InvalidInput(errors={"visit_id": ["请指定检查任务或（临时检查时）窗口单位"]})

    version_id, content = checklist.version_for(template_id, unit)
    inspection = Inspection(
        client_uuid=data["client_uuid"],
        visit_id=visit.id if visit else None,
        plan_id=plan_id,
        unit_id=unit.id,
        kind=kind,
        ad_hoc=visit is None,
        inspector_id=actor.id,
        checklist_version_id=version_id,
        started_at=at,
        checkin_latitude=check_in["latitude"],
        checkin_longitude=check_in["longitude"],
        checkin_accuracy_m=check_in.get("accuracy_m"),
        # wx.getLocation's own default: a reading that names no system is WGS-84.
        checkin_coord_system=CoordSystem(check_in.get("type") or CoordSystem.wgs84),
    )
    _place_check_in(inspection, unit)
    return NewInspection(inspection, content)


def _window_text(visit: Visit) -> str:
    """ "12月1日 09:00至12:00", or with both dates when the window spans days."""
    start, end = local(visit.window_start), local(visit.window_end)
    same_day = start.date() == end.date()
    last = f"{end:%H:%M}" if same_day else f"{end.month}月{end.day}日 {end:%H:%M}"
    return f"{start.month}月{start.day}日 {start:%H:%M}至{last}"


def _place_check_in(inspection: Inspection, unit: Unit | UnitForCheckIn) -> None:
    """Distance to the unit, each side in its own datum; a reading coarser than the radius
    is flagged imprecise (定位精度不足), never far (远离单位): it cannot tell either way."""
    radius = current_app.config["CHECKIN_RADIUS_M"]
    accuracy = inspection.checkin_accuracy_m
    inspection.checkin_imprecise = accuracy is not None and accuracy > radius
    if unit.latitude is None or unit.longitude is None:
        return
    here = (
        inspection.checkin_latitude,
        inspection.checkin_longitude,
        inspection.checkin_coord_system,
    )
    metres = distance_m(here, (unit.latitude, unit.longitude, unit.coord_system))
    inspection.checkin_distance_m = round(metres, 1)
    inspection.checkin_far = not inspection.checkin_imprecise and metres > radius


def _set_columns(obj: Any) -> dict[str, Any]:
    """The column values set on a new, unsaved object: what its INSERT names. A column
    left unset (or set to None while it has a default) is not named, so the model's
    `default=` and server defaults fill it, exactly as when the unit of work inserts the
    object (tests/test_submission_rows.py compares the two, column by column)."""
    state = inspect(obj)
    given = state.dict
    values = {}
    for key, has_default in _columns_of(state.mapper):
        if key in given and not (has_default and given[key] is None):
            values[key] = given[key]
    return values


@functools.cache
def _columns_of(mapper) -> tuple[tuple[str, bool], ...]:
    """(attribute, whether its column has a default) of each column of `mapper`, read
    once: `_set_columns` runs on every check-in and submission."""
    return tuple(
        (
            prop.key,
            prop.columns[0].default is not None or prop.columns[0].server_default is not None,
        )
        for prop in mapper.column_attrs
    )


class _InsertForm(NamedTuple):
    statement: Prepared
    defaults: tuple[tuple[str, Any], ...]  # the model's `default=`s of the unset columns
    returned: tuple[str, ...]  # the rest (the id, server defaults), returned by the INSERT


# PostgreSQL: ids for the findings a submission is about to write, drawn from their own
# sequence (the one PostgreSQL made for the serial `finding.id`) by the inspection's INSERT,
# so that the findings' INSERT needs no answer and goes out with the COMMIT
# (`findings.write_findings`): one round trip fewer. NULL for 0.
_FINDING_IDS = (
    select(func.array_agg(func.nextval(literal_column("'finding_id_seq'::regclass"))))
    .select_from(func.generate_series(1, bindparam("finding_count", type_=Integer)))
    .scalar_subquery()
    .label("finding_ids")
)


@functools.cache
def _insert_statement(dialect: str, named: frozenset[str], finding_ids: bool) -> _InsertForm:
    """One statement per dialect and set of columns set (values come as parameters). It
    also names the columns whose model `default=` is computed in Python, given the values
    SQLAlchemy would have given them, and returns the others (the id, server defaults), so
    the object holds every column as stored; with `finding_ids` (PostgreSQL), last, the ids
    of `finding_count` findings to come."""
    table = Inspection.__table__
    defaults = python_defaults(table, named)
    given = named | {key for key, _ in defaults}
    returned = [column for column in table.columns if column.key not in given]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    extra = [_FINDING_IDS] if finding_ids else []
    statement = insert(table).on_conflict_do_nothing().returning(*returned, *extra)
    return _InsertForm(Prepared(statement, sorted(given)), defaults, tuple(c.key for c in returned))


class Inserted(NamedTuple):
    """What `_insert` did: the inspection (new, or the row that won the race), whether
    this request made it, and (PostgreSQL, when findings were announced) their ids."""

    inspection: Inspection
    created: bool
    finding_ids: list[int] | None = None


def _insert(
    inspection: Inspection, data: dict[str, Any], actor: User, *, findings: int = 0
) -> Inserted:
    """Write a new inspection, and on PostgreSQL draw the ids of the `findings` it is
    about to be given.

    INSERT … ON CONFLICT DO NOTHING (PostgreSQL and SQLite alike): when a retry with the
    same UUID races the first request, PostgreSQL makes the second INSERT wait for the
    first transaction and then insert nothing; the loser reads the winner's row. No
    exception, no savepoint, and the same outcome when a teammate already started the
    visit (its unique `visit_id`).

    A Core statement rather than the unit of work or an ORM-enabled INSERT … RETURNING
    (under a profiler that one cost more than three times as much): the object is then
    put in the session as if just read back."""
    connection = db.session.connection()
    values = _set_columns(inspection)
    finding_ids = findings > 0 and connection.dialect.name == "postgresql"
    form = _insert_statement(connection.dialect.name, frozenset(values), finding_ids)
    values = with_defaults(values, form.defaults)
    if finding_ids:
        values["finding_count"] = findings
    rows = form.statement.rows(connection, values)
    if not rows:
        existing = by_uuid(data["client_uuid"])
        if existing is not None:
            return Inserted(_same_start(_owned(existing, actor), data), False)
        raise errors.Conflict(
            "同组检查人员已开始本次检查，请在其检查记录中继续", type="urn:problem:teammate-started"
        )
    for key, _ in form.defaults:
        setattr(inspection, key, values[key])
    row = rows[0]
    for key, value in zip(form.returned, row[: len(form.returned)], strict=True):
        setattr(inspection, key, value)
    audit.chain_starts("inspection", inspection.id)
    make_transient_to_detached(inspection)  # a loaded row now, as if just read back
    db.session.add(inspection)
    written_by_core(inspection)  # an offline submission counts from here (rollups)
    if inspection.visit is not None and inspection.status == InspectionStatus.draft:
        inspection.visit.status = VisitStatus.in_progress
    return Inserted(inspection, True, row[-1] if finding_ids else None)  # (after the columns)


def _check_in_facts(inspection: Inspection) -> dict[str, Any]:
    return {
        "visit_id": inspection.visit_id,
        "unit_id": inspection.unit_id,
        "distance_m": inspection.checkin_distance_m,
        "far": inspection.checkin_far,
        "imprecise": inspection.checkin_imprecise,
        "coord_system": str(inspection.checkin_coord_system),
    }


def _record_check_in(inspection: Inspection, actor: User) -> None:
    audit.record(
        "inspection",
        inspection.id,
        "check_in",
        actor_id=actor.id,
        after=_check_in_facts(inspection),
    )


def _owned(inspection: Inspection, actor: User) -> Inspection:
    if not policy.can_edit_inspection(actor, inspection):
        # A UUID is the phone's own; another person's is as good as missing.
        raise errors.NotFound()
    return inspection


def _same_start(existing: Inspection, data: dict[str, Any]) -> Inspection:
    """`existing`, made by a request with this `client_uuid`, if `data` starts the same
    inspection: the same visit (or, ad hoc, unit) and the same reading. A resend carries
    the reading the phone took; another unit, visit or place under the same UUID is a bug
    in the app that must not be answered with someone else's inspection (409). The time
    is not compared: an inspection checked in online without one (the server's clock) is
    completed by an offline submission that names it."""
    check_in = data["check_in"]
    if data.get("visit_id") is not None:
        same_place = existing.visit_id == data["visit_id"]
    else:
        same_place = existing.visit_id is None and existing.unit_id == data.get("unit_id")
    reading = (
        check_in["latitude"],
        check_in["longitude"],
        check_in.get("accuracy_m"),
        CoordSystem(check_in.get("type") or CoordSystem.wgs84),
    )
    stored = (
        existing.checkin_latitude,
        existing.checkin_longitude,
        existing.checkin_accuracy_m,
        existing.checkin_coord_system,
    )
    if not same_place or reading != stored:
        raise errors.Conflict(
            "该 client_uuid 已用于另一次签到（单位、检查任务或位置不同），请为新的检查生成新编号",
            type="urn:problem:client-id-reused",
        )
    return existing


def _visit_for_inspector(visit_id: int, actor: User) -> Visit:
    """The visit `actor` checks in at, locked with its plan (in that order, as everywhere):
    a redraw, which replaces the plan's visits, and a reassignment of the visit wait for
    the check-in or it for them, and it is read again once they are done."""
    query = select(Visit).where(Visit.id == visit_id, policy.visit_filter(actor, utcnow()))
    visit = db.session.scalar(query)
    if visit is not None:
        locked = lock_for_update(visit.plan) and lock_for_update(visit)
        visit = db.session.scalar(query) if locked else None  # redrawn or reassigned?
    if visit is None:
        raise errors.InvalidInput(errors={"visit_id": ["检查任务不存在"]})
    return visit


# -- answers and submission ---------------------------------------------------------------


def _state(inspection: Inspection) -> dict[str, Any]:
    return {
        "answers": dict(inspection.answers or {}),
        "photos": dict(inspection.photos or {}),
        "fixed_on_spot": sorted(inspection.fixed_on_spot or []),
    }


def _merged(inspection: Inspection, data: dict[str, Any]) -> dict[str, Any]:
    """The state after a partial save: answers and photos replace per item code."""
    state = _state(inspection)
    state["answers"].update(data.get("answers") or {})
    state["photos"].update(data.get("photos") or {})
    if data.get("fixed_on_spot") is not None:
        state["fixed_on_spot"] = sorted(set(data["fixed_on_spot"]))
    return state


def _replaced(data: dict[str, Any]) -> dict[str, Any]:
    """The state an offline submission sends whole."""
    return {
        "answers": dict(data.get("answers") or {}),
        "photos": dict(data.get("photos") or {}),
        "fixed_on_spot": sorted(set(data.get("fixed_on_spot") or [])),
    }


def _digest(state: dict[str, Any]) -> str:
    canonical = json.dumps(state, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_state(
    content: dict[str, Any], state: dict[str, Any], *, submitting: bool = False
) -> dict[str, list[str]]:
    """What is wrong with a saved or submitted state, by field. An item fixed on the spot
    (立行立改) must be one that failed: once answered while a draft, and at submission."""
    items = checklist.items_of(content)
    problems = {
        f"answers.{path}": messages
        for path, messages in checklist.validate_answers(content, state["answers"]).items()
    }
    for code in state["photos"]:
        if code not in items:
            problems[f"photos.{code}"] = ["未知检查项"]
    for code in state["fixed_on_spot"]:
        if code not in items:
            problems[f"fixed_on_spot.{code}"] = ["未知检查项"]
        elif not items[code].get("fix_on_spot"):
            problems[f"fixed_on_spot.{code}"] = ["此检查项不支持立行立改"]
        elif (submitting or code in state["answers"]) and not checklist.is_failed(
            items[code], state["answers"].get(code)
        ):
            problems[f"fixed_on_spot.{code}"] = ["此检查项未判为不合格，不能标记立行立改"]
    return problems


def _apply(inspection: Inspection, state: dict[str, Any]) -> None:
    inspection.answers = state["answers"]
    inspection.photos = state["photos"]
    inspection.fixed_on_spot = state["fixed_on_spot"]


def save_answers(inspection: Inspection, data: dict[str, Any], *, actor: User) -> Inspection:
    """A partial save: the items given replace what was there; the same save twice leaves
    the same inspection."""
    _owned(inspection, actor)
    lock_for_update(inspection)  # a resent save waits for the first, then finds it done
    state = _merged(inspection, data)
    if inspection.status != InspectionStatus.draft:
        if _state(inspection) == state:
            return inspection
        raise errors.Conflict("检查已提交，不能再修改", type="urn:problem:inspection-submitted")
    problems = _check_state(checklist.content_of(inspection), state)
    if problems:
        raise errors.InvalidInput(errors=problems)
    if state != _state(inspection):
        _apply(inspection, state)
        db.session.flush()
    return inspection


def submit_inspection(inspection: Inspection, data: dict[str, Any], *, actor: User) -> Inspection:
    """Submit a started inspection, with any last answers."""
    _owned(inspection, actor)
    lock_for_update(inspection)  # a resent submission waits for the first, then finds it
    return _submit(inspection, _merged(inspection, data), actor=actor)


@dataclass(frozen=True, slots=True)
class Submission:
    """What an offline submission answers: the inspection; whether this request made it
    (False for a retry); its findings (just written, or read back on a retry); and the
    required photos that have not reached the server yet."""

    inspection: Inspection
    created: bool
    findings: list[findings.FindingBrief]
    missing_photos: list[str]


def submit_offline(data: dict[str, Any], *, actor: User) -> Submission:
    """The whole inspection in one request, sent when the phone is back online. A retry
    (same UUID, same content) returns the first result; other content is a 409.

    A new inspection is checked, scored and given its findings in memory first, then
    written in one short burst: on SQLite the write lock is held only for the inserts."""
    state = _replaced(data)
    try:
        new = _new_inspection(data, actor)
        scored = _score(new.inspection, state, new.content)
    except errors.DomainError:
        # A retry may come when a new inspection would be refused (the window closed,
        # a photo rule changed): the first result wins over the refusal.
        existing = by_uuid(data["client_uuid"])
        if existing is None:
            raise
        return _submitted_before(_same_start(_owned(existing, actor), data), state, actor)
    # Most submissions are new: the insert itself tells a retry (nothing inserted).
    inspection, created, finding_ids = _insert(
        new.inspection, data, actor, findings=len(scored.findings)
    )
    if not created:
        return _submitted_before(inspection, state, actor)
    written = findings.write_findings(inspection, scored.findings, ids=finding_ids)
    if inspection.visit is not None:
        inspection.visit.status = VisitStatus.submitted
    audit.record(
        "inspection",
        inspection.id,
        "submit",
        actor_id=actor.id,
        after=_check_in_facts(inspection) | _result_facts(inspection),
    )
    seal.seal_submission(inspection, findings.sealed(written, scored.findings), new=True)
    # Nothing can be attached to an inspection this request made (a photo names its id):
    # every required photo is still to come.
    return Submission(inspection, True, written, scored.required_photos)


def _submitted_before(inspection: Inspection, state: dict[str, Any], actor: User) -> Submission:
    """An offline submission for an inspection that exists: a retry, or the submission of
    one started online (which this request makes: `created`, answered 201 like a new one)."""
    lock_for_update(inspection)  # copies of one submission take turns
    submitting = inspection.status == InspectionStatus.draft  # else a retry
    inspection = _submit(inspection, state, actor=actor)
    return Submission(
        inspection,
        submitting,
        findings.finding_briefs(inspection),
        findings.missing_photo_codes(inspection),
    )


def _submit(inspection: Inspection, state: dict[str, Any], *, actor: User) -> Inspection:
    if inspection.status != InspectionStatus.draft:
        if _digest(state) == inspection.submission_hash:
            return inspection
        raise errors.Conflict(
            "该检查已用不同内容提交过，不能再修改", type="urn:problem:submission-differs"
        )
    made = _score(inspection, state, checklist.content_of(inspection)).findings
    if inspection.visit is not None:
        inspection.visit.status = VisitStatus.submitted
    db.session.flush()
    written = findings.write_findings(inspection, made)
    audit.record(
        "inspection",
        inspection.id,
        "submit",
        actor_id=actor.id,
        before={"status": "draft"},
        after=_result_facts(inspection),
    )
    seal.seal_submission(inspection, findings.sealed(written, made))
    return inspection


class Scored(NamedTuple):
    """What `_score` decided beyond the inspection's own columns: the findings to write
    once the inspection has its id, and the items whose answers require a photo."""

    findings: list[findings.NewFinding]
    required_photos: list[str]


def _score(inspection: Inspection, state: dict[str, Any], content: dict[str, Any]) -> Scored:
    """Check the state is complete, then apply it to the inspection (score, grade). All of
    it runs before the submission's first write: on SQLite the write lock is held from the
    first INSERT to the commit."""
    problems = _check_state(content, state, submitting=True)
    if problems:
        raise errors.InvalidInput(errors=problems)
    result = checklist.score(content, state["answers"], None)
    for code in result.missing_required:
        problems.setdefault(f"answers.{code}", []).append("必填检查项未作答")
    arrived = photos.arrived_photo_codes(inspection)
    required = checklist.required_photo_codes(content, state["answers"])
    for code in required:
        if not state["photos"].get(code) and code not in arrived:
            problems.setdefault(f"photos.{code}", []).append("此检查项需要照片")
    if problems:
        raise errors.InvalidInput("提交内容不完整", errors=problems)

    _apply(inspection, state)
    inspection.status = InspectionStatus.submitted
    inspection.submitted_at = utcnow()
    inspection.submission_hash = _digest(state)
    inspection.score = result.score
    inspection.max_score = result.max_score
    inspection.grade = result.grade
    inspection.critical_failed = result.critical_failed
    made = findings.make_findings(content, result.failed_codes, state)
    inspection.findings_count = len(made)
    return Scored(made, required)


def _result_facts(inspection: Inspection) -> dict[str, Any]:
    return {
        "status": "submitted",
        "score": inspection.score,
        "grade": inspection.grade,
        "findings": inspection.findings_count,
    }
