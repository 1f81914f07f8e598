"""`flask evidence verify`: recompute every seal and audit chain, re-hash the originals.

Each problem names the object that no longer holds (an inspection, an audit event, a
photo key); nothing here repairs anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from core import canonical
from core.audit import AuditEvent, chain_start, event_hash
from core.db import db
from evidence import seal
from evidence.models import EvidenceSeal, SealReason
from inspections.models import Finding, Inspection, InspectionStatus
from media import verify as media_verify
from media.models import Photo, PhotoStatus

PAGE = 500


@dataclass
class Report:
    inspections: int = 0
    unsealed: int = 0  # submitted before sealing began (no chained submit event)
    events: int = 0
    unchained: int = 0  # written before chains began
    # The id of the first chained event (core.audit.AuditChainStart); None: not recorded,
    # so no event may be unchained.
    chain_start: int | None = None
    originals: int = 0
    problems: list[str] = field(default_factory=list)


# -- seals --------------------------------------------------------------------------------


def _as_submitted(finding: dict[str, Any], reviews: list[AuditEvent]) -> dict[str, Any] | str:
    """The finding as submitted: its reviewed columns with its recorded reviews undone,
    newest first; a column that is not what the newest review of it says is a change
    nobody recorded (returned as a message)."""
    values = dict(finding)
    for event in reversed(reviews):
        for key, before in (event.before or {}).items():
            if key not in seal.REVIEWED_FIELDS:
                continue
            if canonical.plain(values[key]) != canonical.plain((event.after or {}).get(key)):
                code = finding["item_code"]
                return f"finding {finding['id']} ({code}): {key} changed without a review"
            values[key] = before
    return values


def _reviews(finding_ids: list[int]) -> dict[int, list[AuditEvent]]:
    """Each finding's chained review events, in chain order (an unchained one explains
    nothing: see `check_unchained`)."""
    found: dict[int, list[AuditEvent]] = {i: [] for i in finding_ids}
    if finding_ids:
        for event in db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.entity_type == "finding",
                AuditEvent.entity_id.in_(finding_ids),
                AuditEvent.action == "review",
                AuditEvent.seq.is_not(None),
            )
            .order_by(AuditEvent.entity_id, AuditEvent.seq)
        ):
            found[event.entity_id].append(event)
    return found


# The inspection's own chained events verify reads (never unchained ones: nothing
# protects them, so they explain nothing).
MILESTONES = ("submit", "publish", "rescore")
FIGURES = ("score", "grade", "critical_failed")  # what a rescore sets, as reviewed_*


def _milestones(inspection_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.entity_type == "inspection",
                AuditEvent.entity_id == inspection_id,
                AuditEvent.action.in_(MILESTONES),
                AuditEvent.seq.is_not(None),
            )
            .order_by(AuditEvent.seq)
        )
    )


def check_inspection(inspection: Inspection, report: Report) -> None:
    """Recompute the inspection's seal from its rows as they are now, and hold its status
    and reviewed figures to its chain."""
    links = list(
        db.session.scalars(
            select(EvidenceSeal)
            .where(EvidenceSeal.inspection_id == inspection.id)
            .order_by(EvidenceSeal.number)
        )
    )
    events = _milestones(inspection.id)
    sealed = bool(links) or any(event.action == "submit" for event in events)
    check_status(inspection, sealed, events, report)
    check_figures(inspection, sealed, events, report)
    if sealed:
        check_unchained(inspection, links, report)
    if not links:
        if sealed:
            report.problems.append(f"inspection {inspection.id}: seal missing")
        else:
            report.unsealed += 1
        return
    check_seal(inspection, links, report)


def check_unchained(inspection: Inspection, links: list[EvidenceSeal], report: Report) -> None:
    """A sealed inspection was submitted after chains began: its findings (written by the
    submission) and its late photos have no unchained event, nor has it an unchained
    submission, publication or rescore. (Unchained events from after the start of the
    chains are named by `check_chains` already.)"""
    if report.chain_start is None:
        return  # every unchained event is named by check_chains
    late = [link.photo_id for link in links if link.reason == SealReason.photo]
    finding_ids = select(Finding.id).where(Finding.inspection_id == inspection.id)
    stmt = select(AuditEvent).where(
        AuditEvent.seq.is_(None),
        AuditEvent.id < report.chain_start,
        or_(
            (AuditEvent.entity_type == "inspection")
            & (AuditEvent.entity_id == inspection.id)
            & AuditEvent.action.in_(MILESTONES),
            (AuditEvent.entity_type == "finding") & AuditEvent.entity_id.in_(finding_ids),
            (AuditEvent.entity_type == "photo") & AuditEvent.entity_id.in_(late),
        ),
    )
    for event in db.session.scalars(stmt.order_by(AuditEvent.id)):
        report.problems.append(
            f"{_name(event)}: not chained, though sealed inspection {inspection.id} "
            "was submitted after chains began"
        )


def check_status(
    inspection: Inspection, sealed: bool, events: list[AuditEvent], report: Report
) -> None:
    """A sealed inspection was submitted: it is no draft; it is published exactly when its
    chain records the publication."""
    name = f"inspection {inspection.id}"
    published = any(event.action == "publish" for event in events)
    if inspection.status == InspectionStatus.draft and sealed:
        report.problems.append(f"{name}: a draft, though it was sealed at submission")
    elif inspection.status == InspectionStatus.published and sealed and not published:
        report.problems.append(f"{name}: published, though its audit chain records no publish")
    elif published and inspection.status != InspectionStatus.published:
        report.problems.append(
            f"{name}: {inspection.status}, though its audit chain records a publish"
        )


def check_figures(
    inspection: Inspection, sealed: bool, events: list[AuditEvent], report: Report
) -> None:
    """The reviewed figures (what units and rankings see) are those of the newest rescore
    event, or unset when there is none; the figures at submission it names are the
    inspection's. (Its `dismissed` list is not compared: a later review that leaves the
    figures as they were writes no rescore.)"""
    name = f"inspection {inspection.id}"
    reviewed = {key: getattr(inspection, f"reviewed_{key}") for key in FIGURES}
    rescores = [event for event in events if event.action == "rescore"]
    if not rescores:
        if sealed and any(value is not None for value in reviewed.values()):
            report.problems.append(f"{name}: reviewed figures set without a rescore")
        return
    newest = rescores[-1]
    after = newest.after or {}
    expected = {f"reviewed_{key}": after.get(key) for key in FIGURES} | {
        "score": after.get("submitted_score"),
        "grade": after.get("submitted_grade"),
    }
    differ = [
        column
        for column, value in expected.items()
        if canonical.plain(getattr(inspection, column)) != canonical.plain(value)
    ]
    if differ:
        report.problems.append(
            f"{name}: {', '.join(differ)} differ(s) from its newest rescore "
            f"(audit event {newest.id})"
        )


def check_seal(inspection: Inspection, links: list[EvidenceSeal], report: Report) -> None:
    """The links 1…n, each late photo, and link 1 recomputed from the rows."""
    name = f"inspection {inspection.id}"
    photos = seal.stored_photos(inspection.id)
    by_id = {p["id"]: p for p in photos}
    late = {link.photo_id for link in links if link.reason == SealReason.photo}
    prev = None
    for number, link in enumerate(links, start=1):
        where = f"{name}: seal link {link.number}"
        expected_reason = SealReason.submit if number == 1 else SealReason.photo
        if link.number != number or link.reason != expected_reason:
            report.problems.append(f"{where}: out of order (expected link {number})")
            return
        if link.reason == SealReason.submit and link.format != 1:
            report.problems.append(f"{where}: unknown format {link.format}")
        if link.reason == SealReason.photo:
            photo = by_id.get(link.photo_id)
            digest = None if photo is None else seal.photo_digest(photo, link.format)
            if photo is None:
                report.problems.append(f"{where}: photo {link.photo_id} is gone")
            elif digest is None:
                report.problems.append(f"{where}: unknown format {link.format}")
            elif link.format == 1 and digest != link.digest:
                report.problems.append(f"{where}: photo {photo['key']} has another SHA-256")
            elif digest != link.digest:
                report.problems.append(
                    f"{where}: photo {photo['key']} has another item or SHA-256 than sealed"
                )
        if link.prev_seal != prev or link.seal != seal.link_seal(prev, link.digest):
            report.problems.append(f"{where}: broken (seal does not follow from the links)")
        prev = link.seal

    findings = seal.stored_findings(inspection.id)
    reviews = _reviews([f["id"] for f in findings])
    submitted = []
    for finding in findings:
        values = _as_submitted(finding, reviews[finding["id"]])
        if isinstance(values, str):
            report.problems.append(f"{name}: {values}")
            return
        submitted.append(values)
    at_submit = [p for p in photos if p["id"] not in late]
    content = seal.submission_content(inspection, submitted, at_submit)
    if canonical.sha256_hex(content) != links[0].digest:
        report.problems.append(
            f"{name}: answers, findings or photos differ from what was sealed at submission"
        )


def check_gone(inspection_id: int | None, report: Report) -> None:
    """Inspections whose chain records a submission but whose row is gone (deleting the
    row takes its findings and seal with it: only the chain still tells)."""
    stmt = select(AuditEvent.entity_id).where(
        AuditEvent.entity_type == "inspection",
        AuditEvent.action == "submit",
        AuditEvent.seq.is_not(None),
        AuditEvent.entity_id.not_in(select(Inspection.id)),
    )
    if inspection_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == inspection_id)
    for gone in db.session.scalars(stmt.order_by(AuditEvent.entity_id)):
        report.problems.append(
            f"inspection {gone}: gone, though its audit chain records a submission"
        )


def sealed_inspections(inspection_id: int | None) -> Iterator[Inspection]:
    """Submitted and published inspections, and any other one that was sealed or whose
    chain records a submission (a draft now: set back behind the app's back)."""
    stmt = select(Inspection).where(
        or_(
            Inspection.status != InspectionStatus.draft,
            Inspection.id.in_(select(EvidenceSeal.inspection_id).where(EvidenceSeal.number == 1)),
            Inspection.id.in_(
                select(AuditEvent.entity_id).where(
                    AuditEvent.entity_type == "inspection",
                    AuditEvent.action == "submit",
                    AuditEvent.seq.is_not(None),
                )
            ),
        )
    )
    if inspection_id is not None:
        stmt = stmt.where(Inspection.id == inspection_id)
    after = 0
    while True:
        page = list(
            db.session.scalars(
                stmt.where(Inspection.id > after).order_by(Inspection.id).limit(PAGE)
            )
        )
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].id
        db.session.expunge_all()


# -- audit chains -------------------------------------------------------------------------


def _subjects_of(inspection_id: int):
    """The chains that concern one inspection: its own, its findings', its photos'."""
    finding_ids = select(Finding.id).where(Finding.inspection_id == inspection_id)
    photo_ids = select(Photo.id).where(
        Photo.owner_type == seal.OWNER, Photo.owner_id == inspection_id
    )
    return or_(
        (AuditEvent.entity_type == "inspection") & (AuditEvent.entity_id == inspection_id),
        (AuditEvent.entity_type == "finding") & AuditEvent.entity_id.in_(finding_ids),
        (AuditEvent.entity_type == "photo") & AuditEvent.entity_id.in_(photo_ids),
    )


def _events(inspection_id: int | None) -> Iterator[AuditEvent]:
    """Events chain by chain, in chain order, page by page (keyset on the sort order)."""
    order = (AuditEvent.entity_type, AuditEvent.entity_id, AuditEvent.id)
    stmt = select(AuditEvent)
    if inspection_id is not None:
        stmt = stmt.where(_subjects_of(inspection_id))
    last = None
    while True:
        page_stmt = stmt
        if last is not None:
            t, i, n = last
            page_stmt = stmt.where(
                or_(
                    AuditEvent.entity_type > t,
                    (AuditEvent.entity_type == t) & (AuditEvent.entity_id > i),
                    (AuditEvent.entity_type == t)
                    & (AuditEvent.entity_id == i)
                    & (AuditEvent.id > n),
                )
            )
        page = list(db.session.scalars(page_stmt.order_by(*order).limit(PAGE)))
        yield from page
        if len(page) < PAGE:
            return
        last = (page[-1].entity_type, page[-1].entity_id, page[-1].id)
        db.session.expunge_all()


def _values(event: AuditEvent) -> dict[str, Any]:
    return {
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "seq": event.seq,
        "at": event.at,
        "actor_id": event.actor_id,
        "action": event.action,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
    }


def _name(event: AuditEvent) -> str:
    return f"audit event {event.id} ({event.entity_type} {event.entity_id} {event.action})"


def check_chains(events: Iterable[AuditEvent], report: Report) -> None:
    """Each subject's events: unchained ones only first, and only older than the first
    chained event of all (`report.chain_start`: written before chains began); then seq
    1, 2, 3… each naming the hash of the one before and hashing to its own."""
    subject = None
    seq, prev = 0, None
    for event in events:
        report.events += 1
        here = (event.entity_type, event.entity_id)
        if here != subject:
            subject, seq, prev = here, 0, None
        name = _name(event)
        start = report.chain_start
        if event.seq is None:
            if seq:
                report.problems.append(f"{name}: not chained, after chained events")
            elif start is None:
                report.problems.append(f"{name}: not chained (no record of when chains began)")
            elif event.id >= start:
                report.problems.append(
                    f"{name}: not chained, though written after chains began (event {start})"
                )
            else:
                report.unchained += 1
            continue
        if start is not None and event.id < start:
            report.problems.append(
                f"{name}: chained, though older than the start of the chains (event {start})"
            )
        if event.seq != seq + 1:
            report.problems.append(
                f"{name}: chain position {event.seq}, expected {seq + 1} "
                f"(an event of {event.entity_type} {event.entity_id} was deleted or moved)"
            )
        elif event.prev_hash != prev:
            report.problems.append(f"{name}: does not follow the event before it")
        if event.hash != event_hash(_values(event), event.prev_hash):
            report.problems.append(f"{name}: content changed after it was written")
        seq, prev = event.seq, event.hash


# -- originals ----------------------------------------------------------------------------


def check_originals(photos: Iterable[Photo], report: Report) -> None:
    """Re-read originals with `flask media verify`'s machinery (which also logs and audits
    each mismatch)."""
    checked, found = media_verify.verify_photos(photos)
    report.originals += checked
    report.problems.extend(mismatch.line() for mismatch in found)


def inspection_photos(inspection_id: int) -> list[Photo]:
    return list(
        db.session.scalars(
            select(Photo)
            .where(
                Photo.owner_type == seal.OWNER,
                Photo.owner_id == inspection_id,
                Photo.status == PhotoStatus.stored,
            )
            .order_by(Photo.id)
        )
    )


def verify(inspection_id: int | None = None) -> Report:
    """Check seals, then audit chains (before re-hashing writes its own events), then
    originals: of one inspection, or of everything."""
    report = Report(chain_start=chain_start())
    for inspection in sealed_inspections(inspection_id):
        report.inspections += 1
        check_inspection(inspection, report)
    check_gone(inspection_id, report)
    check_chains(_events(inspection_id), report)
    if inspection_id is None:
        check_originals(media_verify.stored_photos(), report)
    else:
        check_originals(inspection_photos(inspection_id), report)
    return report
