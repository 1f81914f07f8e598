"""Evidence review: the queue of submitted inspections, one inspection with its answers,
photos and evidence flags, the review of each finding, and publication to the unit.

Views read through `inspections.queries` (and the inspections and media services) and
change things only through the services. The queue takes a fixed number of queries
whatever the page size: rows come with their unit, sector, region, inspector and plan
joined; photo and finding counts come in one grouped query each.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask, abort, current_app, g, render_template, request, url_for

from accounts import queries as user_queries
from accounts.models import Role, User
from api.auth import OFFICE, OFFICE_READERS, requires
from api.inspections import FindingReviewSchema, PublishSchema
from api.pagination import paginate
from checklists import content as fmt
from checklists import scoring
from console.common import (
    act,
    arg_choice,
    arg_date,
    arg_int,
    check_version,
    each,
    form_ids,
    form_values,
    load_form,
    page_args,
)
from console.views import add_nav, bp
from core import errors, reasons
from inspections import findings as findings_service
from inspections import policy, queries
from inspections import service as inspections
from inspections.models import (
    FINDING_STATUS_LABELS,
    INSPECTION_STATUS_LABELS,
    VISIT_KIND_LABELS,
    Finding,
    FindingStatus,
    Inspection,
    InspectionStatus,
)
from media import service as media
from media.models import PHOTO_FLAG_LABELS, Photo
from org import queries as org_queries
from org import service as org
from reports import picks

KIND = "inspection"
HISTORY_LABELS = {
    "check_in": "到达现场签到",
    "submit": "提交检查",
    "publish": "公开结果",
    "rescore": "复核后重新计分",
}
# A finding the office does not uphold is 不予认定; 驳回 is for a unit's request (延期).
FINDING_VERBS = {"confirmed": "确认", "dismissed": "不予认定"}
CIRCULAR_VERBS = {"circular_pick": "列为通报典型问题", "circular_unpick": "取消通报典型问题"}
QUEUE_FLAGS = {**PHOTO_FLAG_LABELS, "far_checkin": "签到位置偏远"}


QUEUE_SORTS = {
    "submitted": "提交时间（先提交的在前）",
    "date": "检查日期（最近的在前）",
    "score": "得分（低分在前）",
    "flags": "证据提示（多的在前）",
}


def _filter_choices(actor: User) -> dict[str, Any]:
    """The queue's filter options, each within what `actor` may see."""
    return {"sectors": org.list_sectors()} | queries.queue_choices(actor)


# -- the queue ------------------------------------------------------------------------------


QUEUE_KEYS = ("plan_id", "sector_id", "region_id", "inspector_id")


def queue_params() -> dict[str, Any]:
    """The queue's filters from the query string, as plain values (the 导出台账 of this
    page keeps them in its export job: dates as ISO strings)."""
    status = arg_choice("status", ("submitted", "published", "all"), "submitted")
    dates = {key: arg_date(key) for key in ("date_from", "date_to")}
    return (
        {key: arg_int(key) for key in QUEUE_KEYS}
        | {key: day.isoformat() if day else None for key, day in dates.items()}
        | {
            "status": status,
            "flag": arg_choice("flag", QUEUE_FLAGS),
            "q": request.args.get("q", "").strip()[:50] or None,
            "sort": arg_choice(
                "sort", QUEUE_SORTS, "submitted" if status == "submitted" else "date"
            ),
        }
    )


def _queue_filters(params: dict[str, Any]) -> dict[str, Any]:
    filters: dict[str, Any] = {key: params.get(key) for key in QUEUE_KEYS}
    # The visit's date (when the inspection started), as the dashboard's period counts it.
    for key in ("date_from", "date_to"):
        filters[key] = date.fromisoformat(params[key]) if params.get(key) else None
    filters["unit_name"] = params.get("q")
    status = params.get("status", "submitted")
    if status != "all":
        filters["status"] = InspectionStatus(status)
    return filters


def queue_query(actor: User, params: dict[str, Any]):
    """The queue's statement: the same rows in the same order for the page and its ledger."""
    status, flag = params.get("status", "submitted"), params.get("flag")
    stmt = queries.inspections_query(actor, _queue_filters(params))
    if flag in QUEUE_FLAGS:
        stmt = stmt.where(queries.flagged(flag))
    if status != "submitted":
        stmt = stmt.where(Inspection.status != InspectionStatus.draft)
    # First in, first reviewed (the queue); or by the visit's date, the score, the flags.
    sort = params.get("sort") if params.get("sort") in QUEUE_SORTS else "submitted"
    return stmt.order_by(None).order_by(*queries.queue_order(sort), Inspection.id)


@bp.get("/inspections")
@requires(*OFFICE_READERS)
def review_queue():
    params = queue_params()
    filters = _queue_filters(params)
    stmt = queue_query(g.user, params)
    page, per_page = page_args()
    result = paginate(stmt, page, per_page)
    ids = [i.id for i in result["items"]]
    return render_template(
        "console/review_queue.html",
        result=result,
        stats=queries.photo_stats(ids),
        pending=queries.findings_by_status(ids, FindingStatus.pending),
        filters=filters | {key: params[key] for key in ("status", "flag", "sort")},
        sorts=QUEUE_SORTS,
        choices=_filter_choices(g.user),
        flag_labels=QUEUE_FLAGS,
        status_labels=INSPECTION_STATUS_LABELS,
        kind_labels=VISIT_KIND_LABELS,
    )


# -- published results, read-only (lead units follow their sector here) ---------------------


@bp.get("/results")
@requires(*OFFICE_READERS, Role.lead_unit_staff)
def published_inspections():
    """Published inspections within the reader's scope (a lead unit: its sector's units),
    newest first; nothing unpublished ever shows here."""
    filters: dict[str, Any] = {"status": InspectionStatus.published, "unit_id": arg_int("unit_id")}
    stmt = queries.inspections_query(g.user, filters)
    stmt = stmt.order_by(None).order_by(Inspection.published_at.desc(), Inspection.id.desc())
    page, per_page = page_args()
    result = paginate(stmt, page, per_page)
    return render_template(
        "console/published_inspections.html",
        result=result,
        confirmed=queries.findings_by_status(
            [i.id for i in result["items"]], FindingStatus.confirmed, g.user
        ),
        units=org_queries.visible_units(g.user),
        filters=filters,
        kind_labels=VISIT_KIND_LABELS,
    )


# -- one inspection -------------------------------------------------------------------------


def answer_text(item: dict[str, Any], answer: dict[str, Any] | None) -> str:
    """The answer as the inspector gave it, in words."""
    if not answer:
        return "未作答"
    if scoring.is_na(answer):
        return "不适用"
    kind, value = item["kind"], answer.get("value")
    if kind == "pass_fail":
        return {"pass": "符合", "fail": "不符合"}.get(answer.get("result"), "未作答")
    if kind == "score":
        return f"{value} / {item.get('max')} 分"
    labels = {o["value"]: o["label"] for o in item.get("options") or ()}
    if kind == "single_choice":
        return labels.get(value, str(value))
    if kind == "multi_choice":
        return "、".join(labels.get(v, str(v)) for v in value or []) or "未选择"
    if kind == "number":
        text = f"{value}{item.get('unit') or ''}"
        if answer.get("total") is not None:
            text += f"（{item.get('total_label') or '总数'} {answer['total']}）"
        return text
    if kind == "text":
        return str(value or "")
    return "已拍照" if value or answer.get("note") else "未作答"


def item_labels_of(inspection: Inspection | None) -> dict[str, str]:
    """ "1.2 在岗人员统一规范着装" by item code, from the checklist version the inspection
    used: what people read wherever an item is named (codes are for machines)."""
    if inspection is None or inspection.checklist_version is None:
        return {}
    return fmt.item_labels(inspection.checklist_version.content)


def _photo_view(photo: Photo, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": photo.id,
        "thumb": media.signed_url(photo, "thumb") or media.signed_url(photo, "original"),
        "preview": media.signed_url(photo, "preview") or media.signed_url(photo, "original"),
        "original": media.signed_url(photo, "original"),
        "flags": media.flags_of(photo),
        "duplicate_of": photo.near_duplicate_of_id,
        "distance_m": photo.distance_m,
        "taken_at": photo.exif_taken_at or photo.client_taken_at,
        "item_code": photo.item_code,
        "item": (labels or {}).get(photo.item_code or "", ""),
        "size": f"{photo.width}×{photo.height}" if photo.width else "",
    }


def photo_views(photos: list[Photo], labels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    return [_photo_view(p, labels) for p in photos]


def _sections(
    inspection: Inspection, photos: list[Photo], findings_: list[Finding]
) -> list[dict[str, Any]]:
    content = inspection.checklist_version.content if inspection.checklist_version else {}
    numbers = fmt.item_numbers(content)
    labels = fmt.item_labels(content)
    by_item: dict[str | None, list[dict]] = {}
    for photo in photos:
        by_item.setdefault(photo.item_code, []).append(_photo_view(photo, labels))
    findings = {f.item_code: f for f in findings_}
    answers = inspection.answers or {}
    sections = []
    for section in content.get("sections") or ():
        rows = []
        for item in section["items"]:
            answer = answers.get(item["code"])
            rows.append(
                {
                    "item": item,
                    "number": numbers.get(item["code"], ""),
                    "answer": answer_text(item, answer),
                    "note": (answer or {}).get("note"),
                    "failed": scoring.is_failed(item, answer),
                    "photos": by_item.pop(item["code"], []),
                    "finding": findings.get(item["code"]),
                    "on_spot": item["code"] in (inspection.fixed_on_spot or []),
                }
            )
        notable = [r for r in rows if r["failed"] or r["photos"] or r["finding"] or r["on_spot"]]
        rest = [r for r in rows if r not in notable]
        sections.append({"title": section["title"], "rows": notable, "rest": rest})
    leftover = [p for photos_ in by_item.values() for p in photos_]
    if leftover:
        sections.append({"title": "其他照片", "rows": [], "rest": [], "photos": leftover})
    return sections


def _history(inspection: Inspection) -> list[dict[str, Any]]:
    """The inspection's events and its findings' reviews, oldest first, with names."""
    titles = {f.id: f.title for f in inspection.findings}
    rows = queries.history_events(inspection)
    history = []
    labels: dict[str, str] = {}
    for event, name in rows:
        what = HISTORY_LABELS.get(event.action, event.action)
        if event.action == "publish" and (event.after or {}).get("missing_photos"):
            labels = labels or item_labels_of(inspection)
            missing = [labels.get(code, code) for code in event.after["missing_photos"]]
            what += f"（缺少照片：{'、'.join(missing)}）"
        if event.action == "rescore":
            what += _rescore_text(event.before or {}, event.after or {})
        if event.entity_type == "finding":
            status = (event.after or {}).get("status")
            verb = CIRCULAR_VERBS.get(event.action) or f"{FINDING_VERBS.get(status, '修改')}问题"
            what = f"{verb}「{titles.get(event.entity_id, '')}」"
        history.append(
            {"at": event.at, "who": name or "系统", "what": what, "reason": event.reason}
        )
    return history


def _figure(figures: dict[str, Any]) -> str:
    score = figures.get("score")
    text = "—" if score is None else f"{score:g} 分"
    if figures.get("grade"):
        text += f"（{figures['grade']}）"
    return text


def _rescore_text(before: dict[str, Any], after: dict[str, Any]) -> str:
    """ "：提交时得分 85 分（良好），复核后得分 95 分（优秀）→ …" for the history."""
    submitted = {"score": after.get("submitted_score"), "grade": after.get("submitted_grade")}
    return f"：提交时得分 {_figure(submitted)}；复核后得分 {_figure(before)} → {_figure(after)}"


def _next_in_queue(inspection: Inspection, actor: User) -> int | None:
    """The inspection the office reviews after this one, in the queue's order."""
    if not policy.sees_unreviewed_findings(actor):
        return None
    return queries.next_submitted(inspection, actor)


@bp.get("/inspections/<int:inspection_id>")
@requires(*OFFICE_READERS, Role.lead_unit_staff)
def review_inspection(inspection_id: int):
    """One inspection: the office's review page; for a lead unit, the published result
    read-only (confirmed findings only, no review forms, no history)."""
    inspection = inspections.get_inspection(inspection_id, actor=g.user)
    if inspection.status == InspectionStatus.draft:
        abort(404)
    photos = media.photos_for(KIND, inspection.id)
    shown = findings_service.visible_findings(inspection, g.user)
    office = policy.sees_unreviewed_findings(g.user)
    pending = [f for f in shown if f.status == FindingStatus.pending]
    # 问题 are the findings not dismissed (what every list and ledger counts); the office
    # also reads how many it dismissed, the lead unit never sees one (confirmed only).
    problem_count = findings_service.count_problems(shown)
    team = inspection.visit.inspectors if inspection.visit else [inspection.inspector]
    return render_template(
        "console/review_inspection.html",
        inspection=inspection,
        sections=_sections(inspection, photos, shown),
        findings=shown,
        problem_count=problem_count,
        dismissed_count=len(shown) - problem_count,
        photo_count=len(photos),
        pending=pending,
        can_review=policy.can_review(g.user, inspection),
        office=office,
        missing=findings_service.missing_photos(inspection) if office else [],
        item_labels=item_labels_of(inspection),
        reason_min=findings_service.MISSING_PHOTOS_REASON_MIN,
        finding_reason_min=findings_service.REASON_MIN,
        history=_history(inspection) if office else [],
        circular_picks=picks.picked_ids([f.id for f in shown]) if office else set(),
        next_id=_next_in_queue(inspection, g.user),
        team=team if policy.names_inspectors(g.user, inspection) else [],
        covert_team=policy.COVERT_TEAM,
        flag_labels=PHOTO_FLAG_LABELS,
        status_labels=INSPECTION_STATUS_LABELS,
        finding_labels=FINDING_STATUS_LABELS,
        kind_labels=VISIT_KIND_LABELS,
        severity_labels=fmt.SEVERITY_LABELS,
        radius=current_app.config["CHECKIN_RADIUS_M"],
    )


@bp.post("/findings/<int:finding_id>/review")
@requires(*OFFICE)
def review_finding(finding_id: int):
    finding = findings_service.get_finding(finding_id, actor=g.user)
    back = url_for("console.review_inspection", inspection_id=finding.inspection_id)
    back += f"#finding-{finding.id}"
    decision = request.form.get("decision")
    if decision not in ("confirm", "dismiss"):
        abort(400)

    def change():
        check_version(finding.version)
        status = "confirmed" if decision == "confirm" else "dismissed"
        form = form_values("reason", "severity", "deadline_days")
        data = load_form(FindingReviewSchema, form | {"status": status})
        findings_service.review_finding(finding, data, actor=g.user)

    verb = FINDING_VERBS["confirmed" if decision == "confirm" else "dismissed"]
    done = f"已{verb}问题：{finding.title}"
    return act(change, done=done, back=back, form=f"finding-{finding.id}")


@bp.post("/inspections/<int:inspection_id>/findings/review")
@requires(*OFFICE)
def review_findings(inspection_id: int):
    """确认所选 / 不予认定所选: several findings of one inspection, one reason for all. Each
    goes through `review_finding` as on its own (its own version check, its own audit
    event), all in one transaction: one refusal and none of them changes, and the page
    says which finding it was."""
    inspection = inspections.get_inspection(inspection_id, actor=g.user)
    back = url_for("console.review_inspection", inspection_id=inspection.id) + "#bulk-findings"
    decision = request.form.get("decision")
    if decision not in ("confirm", "dismiss"):
        abort(400)
    status = "confirmed" if decision == "confirm" else "dismissed"
    labels = item_labels_of(inspection)

    def change():
        reason = load_form(FindingReviewSchema, form_values("reason")).get("reason", "")
        if status == "dismissed":  # one reason for all: said once, not once per finding
            reasons.check(reason, "不予认定问题须说明理由")
        chosen = [findings_service.get_finding(i, actor=g.user) for i in form_ids("finding")]
        if any(f.inspection_id != inspection.id for f in chosen):
            raise errors.NotFound("未找到该问题")  # another inspection's: as if missing

        def review(finding: Finding) -> None:
            check_version(finding.version, f"version-{finding.id}")
            data = {"status": status, "reason": reason}
            findings_service.review_finding(finding, data, actor=g.user)

        each(chosen, lambda f: f"问题「{labels.get(f.item_code, f.title)}」", review)

    count = len(set(request.form.getlist("finding")))
    done = f"已{FINDING_VERBS[status]}所选 {count} 个问题"
    return act(change, done=done, back=back, form="bulk-findings", once=True)


@bp.post("/inspections/<int:inspection_id>/publish")
@requires(*OFFICE)
def publish_inspection(inspection_id: int):
    inspection = inspections.get_inspection(inspection_id, actor=g.user)
    back = url_for("console.review_inspection", inspection_id=inspection.id)

    def change():
        check_version(inspection.version)
        data = load_form(PublishSchema, form_values("missing_photos_reason"))
        findings_service.publish_inspection(
            inspection, actor=g.user, missing_photos_reason=data.get("missing_photos_reason", "")
        )

    confirmed = sum(f.status == FindingStatus.confirmed for f in inspection.findings)
    done = f"检查结果已公开给被检查单位，{confirmed} 个已确认问题转入整改"
    return act(change, done=done, back=back + "#publish-form", form="publish")


def _labels_of_owner(photo: Photo) -> dict[str, str]:
    """The item labels of the checklist behind a photo: its inspection's, or for an
    after-photo, the inspection its task came from."""
    inspection_id = photo.owner_id if photo.owner_type == KIND else None
    if photo.owner_type == "rectification_task":
        from rectification import queries as task_queries

        inspection_id = task_queries.inspection_id_of_task(photo.owner_id)
    return item_labels_of(queries.inspection_or_none(inspection_id))


@bp.get("/photos/<int:photo_id>")
@requires(*OFFICE_READERS, Role.lead_unit_staff)
def photo(photo_id: int):
    """One photo large, with every fact kept about it (the target of near-duplicate links).
    Whether the reader may see it is its owner's rule (media.get_photo)."""
    found = media.get_photo(photo_id, actor=g.user)
    owner = None
    if found.owner_type == KIND:
        owner = ("检查记录", url_for("console.review_inspection", inspection_id=found.owner_id))
    elif found.owner_type == "rectification_task":
        owner = ("整改任务", url_for("console.task", task_id=found.owner_id))
    # Inspectors of unannounced visits are not named to lead units (inspections/policy.py).
    hidden = policy.covert_ids_of(g.user, found.owner_id if found.owner_type == KIND else None)
    uploader = policy.COVERT_TEAM
    if found.uploaded_by_id not in hidden:
        person = user_queries.user_or_none(found.uploaded_by_id)
        uploader = person.display_name if person else "—"
    view = _photo_view(found, _labels_of_owner(found))
    return render_template(
        "console/photo.html",
        photo=found,
        view=view,
        owner=owner,
        uploader=uploader,
        flag_labels=PHOTO_FLAG_LABELS,
    )


def init_app(app: Flask) -> None:
    add_nav(app, "console.review_queue", "证据审核", before="console.units")
    # For lead units (offices have the queue): the layout should show it to them only.
    add_nav(app, "console.published_inspections", "检查结果", before="console.units")
