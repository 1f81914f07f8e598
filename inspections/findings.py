"""Findings (问题): made from failed items on submit, reviewed by the office, handed to
rectification when the inspection's result is published to the unit."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Select, bindparam, insert, select

from accounts.models import User
from checklists.content import item_numbers
from core import audit, errors, reasons
from core.clock import utcnow
from core.db import Prepared, db, lock_for_update, python_defaults, with_defaults
from core.text import trim, visible_length
from inspections import checklist, photos, policy
from inspections.models import Finding, FindingStatus, Inspection, InspectionStatus

# The app's hooks called with each inspection as its result is published, and who
# published it, inside the same transaction: `app.extensions[PUBLISHED_HOOKS]`, filled by
# `on_published(app, handler)` from the consumers' init_app (see inspections/__init__.py).
PUBLISHED_HOOKS = "inspection_published"
PublishedHook = Callable[[Inspection, User], None]


def on_published(app: Flask, handler: PublishedHook) -> None:
    """Call `handler(inspection, actor)` whenever this app publishes an inspection."""
    app.extensions.setdefault(PUBLISHED_HOOKS, []).append(handler)


@dataclass(frozen=True, slots=True)
class NewFinding:
    """A finding a submission will make, before it has an id. The columns it leaves out
    (status, created_at, version, the review's) take the model's defaults on insert."""

    item_code: str
    title: str
    severity: str
    description: str
    fixed_on_spot: bool
    deadline_days: int | None
    critical: bool
    photos: list[str]


@dataclass(frozen=True, slots=True, order=True)
class FindingBrief:
    """What a phone is told of each finding its submission made: the same whether the
    rows were just written or read back on a retry."""

    id: int
    item_code: str
    title: str
    severity: str
    status: FindingStatus
    fixed_on_spot: bool
    deadline_days: int | None


_NEW_FINDING_FIELDS = tuple(field.name for field in fields(NewFinding))
_BRIEF_COLUMNS = tuple(Finding.__table__.c[field.name] for field in fields(FindingBrief))


def make_findings(
    content: dict[str, Any], failed_codes: list[str], state: dict[str, Any]
) -> list[NewFinding]:
    """The findings of a submission, one per failed item (written by `write_findings`
    once the inspection has its id)."""
    items = checklist.items_of(content)
    made = []
    for code in failed_codes:
        item = items[code]
        answer = state["answers"].get(code) or {}
        made.append(
            NewFinding(
                item_code=code,
                title=item.get("title", "")[:200],
                severity=item.get("severity") or "general",
                description=answer.get("note") or "",
                fixed_on_spot=code in state["fixed_on_spot"],
                deadline_days=item.get("deadline_days"),
                critical=bool(item.get("critical")),
                photos=list(state["photos"].get(code) or []),
            )
        )
    return made


_OWNER = ("inspection_id", "unit_id")


@functools.lru_cache(maxsize=64)
def _insert_findings(
    n: int, with_ids: bool
) -> tuple[Prepared, tuple[tuple[str, Any], ...], tuple[str, ...]]:
    """The INSERT of `n` findings in one statement (multi-row VALUES, bound `<column>_<i>`),
    built once per number of findings: returning their brief columns, or given their ids
    (`with_ids`) and returning nothing. With it, the model's `default=`s of the columns a
    new finding does not set (status, created_at, version, …) to be given with the values,
    as the unit of work would give them (tests/test_submission_rows.py). Returns
    (statement, those defaults, the columns)."""
    table = Finding.__table__
    defaults = python_defaults(table, (*_NEW_FINDING_FIELDS, *_OWNER))
    keys = (*_NEW_FINDING_FIELDS, *_OWNER, *(key for key, _ in defaults))
    if with_ids:
        keys = ("id", *keys)
    rows = [
        {key: bindparam(f"{key}_{i}", type_=table.c[key].type) for key in keys} for i in range(n)
    ]
    statement = insert(table).values(rows)
    return Prepared(statement if with_ids else statement.returning(*_BRIEF_COLUMNS)), defaults, keys


def write_findings(
    inspection: Inspection, made: list[NewFinding], *, ids: list[int] | None = None
) -> list[FindingBrief]:
    """Insert a submission's findings with one statement; returns them with their ids.

    A submission makes several findings at once, and the unit of work would insert them
    one by one on SQLite; the ORM collection loads them from the table when asked. Given
    their `ids` (drawn on PostgreSQL by the inspection's INSERT), nothing needs to be read
    back: the statement goes out with the COMMIT (`Prepared.later`)."""
    if not made:
        return []
    statement, defaults, keys = _insert_findings(len(made), ids is not None)
    owner = {"inspection_id": inspection.id, "unit_id": inspection.unit_id}
    params, inserted = {}, []
    for i, finding in enumerate(made):
        given = {name: getattr(finding, name) for name in _NEW_FINDING_FIELDS}
        values = with_defaults(given | owner, defaults)
        if ids is not None:
            values["id"] = ids[i]
        params.update((f"{key}_{i}", values[key]) for key in keys)
        inserted.append(values)
    connection = db.session.connection()
    if ids is None:
        rows = statement.rows(connection, params)
    else:
        statement.later(connection, params)
        rows = [tuple(values[column.key] for column in _BRIEF_COLUMNS) for values in inserted]
    return sorted(FindingBrief(*row) for row in rows)  # by id, as `finding_briefs`


def sealed(written: list[FindingBrief], made: list[NewFinding]) -> list[dict[str, Any]]:
    """What the seal takes of findings just written, without reading them back: each row's
    returned columns (its id, the status its default gave) and the rest as inserted."""
    inserted = {finding.item_code: finding for finding in made}
    return [
        {
            "item_code": brief.item_code,
            "title": brief.title,
            "fixed_on_spot": brief.fixed_on_spot,
            "critical": inserted[brief.item_code].critical,
            "photos": inserted[brief.item_code].photos,
            "status": brief.status,
            "severity": brief.severity,
            "deadline_days": brief.deadline_days,
            "description": inserted[brief.item_code].description,
        }
        for brief in written
    ]


def finding_briefs(inspection: Inspection) -> list[FindingBrief]:
    """The stored findings of an inspection, as `write_findings` returns them."""
    stmt = select(*_BRIEF_COLUMNS).where(Finding.inspection_id == inspection.id)
    return [FindingBrief(*row) for row in db.session.execute(stmt.order_by(Finding.id))]


def missing_photo_codes(inspection: Inspection) -> list[str]:
    """Required photos that have not arrived yet (the phone may still be uploading):
    decided by the stored photos, never by the references a submission names."""
    if inspection.checklist_version_id is None:
        return []
    content = checklist.content_of(inspection)
    arrived = photos.arrived_photo_codes(inspection)
    required = checklist.required_photo_codes(content, inspection.answers or {})
    return [code for code in required if code not in arrived]


def missing_photos(inspection: Inspection) -> list[dict[str, str]]:
    """`missing_photo_codes` with each item's number and title, for people ("label":
    "3.1 监控设备正常运行"; the code stays for programs)."""
    codes = missing_photo_codes(inspection)
    if not codes:
        return []
    content = checklist.content_of(inspection)
    items = checklist.items_of(content)
    numbers = item_numbers(content)
    return [
        {
            "code": code,
            "number": numbers[code],
            "title": items[code].get("title") or numbers[code],
            "label": f"{numbers[code]} {items[code].get('title') or ''}".strip(),
        }
        for code in codes
    ]


def is_problem(finding: Finding) -> bool:
    """A problem (问题) is a finding the office did not dismiss: confirmed, or pending its
    review. Once the result is published every finding is confirmed or dismissed, so a
    published inspection's problems are its confirmed findings."""
    return finding.status != FindingStatus.dismissed


def count_problems(findings: Iterable[Finding]) -> int:
    """`Inspection.findings_count`: how many of these findings are problems."""
    return sum(is_problem(f) for f in findings)


def visible_findings(inspection: Inspection, user: User) -> list[Finding]:
    """Units and lead units see only confirmed findings (of published inspections)."""
    return policy.visible_findings(inspection, user)


# -- office review ------------------------------------------------------------------------


def findings_query(user: User, f: dict[str, Any]) -> Select:
    stmt = select(Finding).where(policy.finding_filter(user))
    for key in ("inspection_id", "unit_id", "status", "severity"):
        if f.get(key) is not None:
            stmt = stmt.where(getattr(Finding, key) == f[key])
    return stmt.order_by(Finding.id.desc())


def get_finding(finding_id: int, *, actor: User) -> Finding:
    """The finding, or the same 404 as a missing id when `actor` may not see it."""
    return policy.visible_finding(finding_id, actor)


def review_finding(finding: Finding, data: dict[str, Any], *, actor: User) -> Finding:
    """Confirm or dismiss a finding, or change its severity or deadline, with a reason.

    `finding` as the caller checked it against the client's version (If-Match, the console
    form's). The reviews of one inspection's findings and its publication take turns on the
    inspection's row (each re-scores it; a publication turns findings into tasks); a
    finding someone reviewed meanwhile is refused, not reviewed again on top (409)."""
    policy.check_can_review(actor, finding.inspection)
    seen = finding.version
    lock_for_update(finding.inspection)
    db.session.refresh(finding)
    if finding.version != seen:
        raise errors.Conflict(
            "该问题刚被他人审核，请刷新后重试", type="urn:problem:concurrent-change"
        )
    if finding.inspection.status != InspectionStatus.submitted:
        raise errors.Conflict(
            "检查结果已公开，问题不能再修改", type="urn:problem:inspection-published"
        )
    reason = trim(data.get("reason") or "")
    changes = {
        key: data[key]
        for key in ("status", "severity", "deadline_days", "description")
        if key in data and data[key] != getattr(finding, key)
    }
    needs_reason = changes.keys() - {"status"} or changes.get("status") == "dismissed"
    if needs_reason:
        reasons.check(reason, "不予认定问题或修改严重程度、期限须说明理由")
    if not changes:
        return finding
    if "status" in changes:
        changes["status"] = FindingStatus(changes["status"])
    before = {key: _plain(getattr(finding, key)) for key in changes}
    for key, value in changes.items():
        setattr(finding, key, value)
    # The reason explains this review: a dismissal's reason does not stay on a finding
    # confirmed again (the audit trail keeps every earlier one).
    finding.reason = reason or (None if "status" in changes else finding.reason)
    finding.reviewed_by_id = actor.id
    finding.reviewed_at = utcnow()
    if "status" in changes:
        finding.inspection.findings_count = count_problems(finding.inspection.findings)
    db.session.flush()
    audit.record(
        "finding",
        finding.id,
        "review",
        actor_id=actor.id,
        before=before,
        after={key: _plain(value) for key, value in changes.items()},
        reason=reason or None,
    )
    rescore_inspection(finding.inspection, reason=reason or None, actor=actor)
    return finding


def _figures(score: float | None, grade: str | None, critical: bool | None) -> dict[str, Any]:
    return {"score": score, "grade": grade, "critical_failed": critical}


def rescore_inspection(inspection: Inspection, *, reason: str | None, actor: User) -> None:
    """Score the inspection again from its stored answers, the dismissed findings' items
    counting as passed, into `reviewed_*`; the figures at submission stay as they were.

    Only a finding's status moves the score: points and 一票否决 belong to the checklist
    item, not to the severity the office may change. An event `rescore` (before, after,
    the reviewer's reason) is written when the reviewed figures are set the first time
    or change."""
    dismissed = {f.item_code for f in inspection.findings if f.status == FindingStatus.dismissed}
    result = checklist.score(
        checklist.content_of(inspection), inspection.answers or {}, None, cleared=dismissed
    )
    after = _figures(result.score, result.grade, result.critical_failed)
    if inspection.reviewed_score is None:
        before = _figures(inspection.score, inspection.grade, inspection.critical_failed)
    else:
        before = _figures(
            inspection.reviewed_score,
            inspection.reviewed_grade,
            inspection.reviewed_critical_failed,
        )
        if before == after:
            return
    inspection.reviewed_score = result.score
    inspection.reviewed_grade = result.grade
    inspection.reviewed_critical_failed = result.critical_failed
    db.session.flush()
    audit.record(
        "inspection",
        inspection.id,
        "rescore",
        actor_id=actor.id,
        before=before,
        after=after
        | {
            "submitted_score": inspection.score,
            "submitted_grade": inspection.grade,
            "dismissed": sorted(dismissed),
        },
        reason=reason,
    )


def score_history(inspection: Inspection, user: User) -> list[dict[str, Any]]:
    """The inspection's re-scores, oldest first, with who did them: for the office and
    inspectors (a unit sees both figures, not the reviewers' reasons)."""
    if not policy.sees_unreviewed_findings(user):
        return []
    rows = db.session.execute(
        select(audit.AuditEvent, User.display_name)
        .outerjoin(User, User.id == audit.AuditEvent.actor_id)
        .where(
            audit.AuditEvent.entity_type == "inspection",
            audit.AuditEvent.entity_id == inspection.id,
            audit.AuditEvent.action == "rescore",
        )
        .order_by(audit.AuditEvent.id)
    )
    return [
        {
            "at": event.at,
            "actor_id": event.actor_id,
            "actor_name": name,
            "before": event.before,
            "after": event.after,
            "reason": event.reason,
        }
        for event, name in rows
    ]


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, FindingStatus) else value


MISSING_PHOTOS_REASON_MIN = 5
REASON_MIN = reasons.MIN_LENGTH


def publish_inspection(
    inspection: Inspection, *, actor: User, missing_photos_reason: str | None = None
) -> Inspection:
    """Release the result to the unit. Every finding must be confirmed or dismissed, and
    every required photo must have arrived unless the office says why it publishes
    without it; confirmed findings go on to rectification. A resent publication waits for
    the first (and reviews for it, on the inspection's row), then finds it done."""
    policy.check_can_review(actor, inspection)
    lock_for_update(inspection)
    if inspection.status == InspectionStatus.published:
        return inspection
    if inspection.status != InspectionStatus.submitted:
        raise errors.Conflict(
            "检查尚未提交，不能公开结果", type="urn:problem:inspection-not-submitted"
        )
    pending = [f.item_code for f in inspection.findings if f.status == FindingStatus.pending]
    if pending:
        raise errors.Conflict(
            f"还有 {len(pending)} 个问题未审核（确认或驳回）",
            errors={"findings": pending},
            type="urn:problem:findings-unreviewed",
        )
    missing = missing_photos(inspection)
    reason = _missing_photos_reason(missing, missing_photos_reason)
    inspection.status = InspectionStatus.published
    inspection.published_at = utcnow()
    inspection.missing_photos_reason = reason
    db.session.flush()
    after: dict[str, Any] = {"status": "published"}
    if missing:
        after["missing_photos"] = [m["code"] for m in missing]
    audit.record(
        "inspection",
        inspection.id,
        "publish",
        actor_id=actor.id,
        before={"status": "submitted"},
        after=after,
        reason=reason,
    )
    # KeyError on an app the factory did not make: better than opening no tasks silently.
    for hook in current_app.extensions[PUBLISHED_HOOKS]:
        hook(inspection, actor)
    return inspection


def _missing_photos_reason(missing: list[dict[str, str]], given: str | None) -> str | None:
    """None when every required photo arrived; else the office's reason, or a refusal
    that names each missing item."""
    if not missing:
        return None
    reason = trim(given or "")
    if not visible_length(reason):
        titles = "、".join(m["label"] for m in missing)
        raise errors.Conflict(
            f"还有 {len(missing)} 个检查项的照片尚未上传：{titles}。"
            "请等照片上传后再公开，或说明缺少照片的原因",
            type="urn:problem:missing-photos",
            missing_photos=missing,
        )
    if visible_length(reason) < MISSING_PHOTOS_REASON_MIN:
        raise errors.InvalidInput(
            errors={
                "missing_photos_reason": [
                    f"请说明缺少照片的原因（至少 {MISSING_PHOTOS_REASON_MIN} 个字）"
                ]
            }
        )
    return reason


def confirmed_findings_for_rectification(inspection: Inspection) -> list[Finding]:
    """The findings rectification turns into tasks: confirmed, of a published inspection."""
    if inspection.status != InspectionStatus.published:
        return []
    return [f for f in inspection.findings if f.status == FindingStatus.confirmed]
