"""检查报告: one inspection as a .docx, for the office (within its scope), the lead unit of
the sector and the unit itself once the result is published (the inspections policy
decides who sees the inspection at all; this module decides what the reader may read in it).

- inspectors are named as the plan's disclosure allows: a 暗访 team reads 暗访组 to the
  units' side unless the plan opts in (`policy.names_inspectors`);
- the units' side reads the confirmed findings only (`policy.visible_findings`); the
  heading counts the problems (not dismissed), an office's also the dismissed, apart;
- the score and grade are the reviewed ones (`Inspection.effective_score`).
"""

from __future__ import annotations

from sqlalchemy import select

from accounts.models import User
from checklists.content import SEVERITY_LABELS
from core import errors
from core.clock import local
from core.db import db
from evidence import seal
from inspections import policy
from inspections.findings import count_problems, is_problem
from inspections.models import (
    CHECKIN_FLAG_LABELS,
    FINDING_STATUS_LABELS,
    VISIT_KIND_LABELS,
    FindingStatus,
    Inspection,
    InspectionStatus,
)
from rectification.models import STATUS_LABELS, RectificationTask
from reports.circular import item_label, problem_text
from reports.documents import layout, wording
from reports.documents.photos import previews_of

PHOTOS_PER_FINDING = 4


def _when(moment) -> str:
    return layout.cn_datetime(local(moment)) if moment else "—"


def inspectors_text(inspection: Inspection, actor: User) -> str:
    if not policy.names_inspectors(actor, inspection):
        return policy.COVERT_TEAM
    ids = policy.team_ids(inspection)
    names = db.session.scalars(select(User.display_name).where(User.id.in_(ids)).order_by(User.id))
    return "、".join(names)


def score_text(inspection: Inspection) -> str:
    score = inspection.effective_score
    if score is None:
        return "—"
    text = f"{score:g} / {inspection.max_score:g} 分"
    if inspection.reviewed_score is not None and inspection.reviewed_score != inspection.score:
        text += f"（复核后；提交时 {inspection.score:g} 分）"
    return text


def facts(inspection: Inspection, actor: User) -> list[tuple[str, str]]:
    unit, visit, plan = inspection.unit, inspection.visit, inspection.plan
    flags = [
        label
        for flag, label in CHECKIN_FLAG_LABELS.items()
        if getattr(inspection, f"checkin_{flag}")
    ]
    critical = inspection.reviewed_critical_failed
    if critical is None:
        critical = inspection.critical_failed
    return [
        ("被检查单位", unit.name),
        ("行业领域", unit.sector.name if unit.sector else "—"),
        ("所属区域", unit.region.name if unit.region else "—"),
        ("单位地址", unit.address or "—"),
        (
            "检查方式",
            VISIT_KIND_LABELS[inspection.kind] + ("（临时检查）" if inspection.ad_hoc else ""),
        ),
        ("督查计划", plan.name if plan else "—"),
        ("检查时段", f"{_when(visit.window_start)} 至 {_when(visit.window_end)}" if visit else "—"),
        ("到达签到", _when(inspection.started_at) + (f"（{'、'.join(flags)}）" if flags else "")),
        ("检查人员", inspectors_text(inspection, actor)),
        ("提交时间", _when(inspection.submitted_at)),
        ("公开时间", _when(inspection.published_at)),
        ("得分", score_text(inspection)),
        ("等级", inspection.effective_grade or "—"),
        ("一票否决", "是" if critical else "否"),
        # The seal's short form: `flask evidence verify` and the office's records match it.
        ("证据封存", seal.seal_short(inspection) or "—"),
    ]


def build_report(inspection: Inspection, *, actor: User) -> layout.Built:
    """The report as .docx bytes. A draft has no result yet: 409."""
    if inspection.status == InspectionStatus.draft:
        raise errors.Conflict(
            "检查尚未提交，暂无检查报告", type="urn:problem:inspection-not-submitted"
        )
    # The problems first, then (offices only) the dismissed findings.
    findings = sorted(policy.visible_findings(inspection, actor), key=lambda f: not is_problem(f))
    tasks = {
        t.finding_id: t
        for t in db.session.scalars(
            select(RectificationTask).where(
                RectificationTask.finding_id.in_([f.id for f in findings])
            )
        )
    }
    prints = previews_of(
        ((inspection.id, f.item_code) for f in findings), per_item=PHOTOS_PER_FINDING
    )
    missing = wording.photos_missing([inspection])[inspection.id] if findings else set()

    doc = layout.new_document()
    layout.title(doc, "窗口单位明察暗访检查报告")
    if inspection.status != InspectionStatus.published:
        layout.note(doc, "本报告对应的检查结果尚未公开，仅供督查办内部审核。")
    layout.table(doc, ("项目", "内容"), facts(inspection, actor))

    # The heading counts the problems, as every list does; an office's report also prints
    # the dismissed findings (marked 不予认定), counted apart.
    problems = count_problems(findings)
    dismissed = len(findings) - problems
    counted = f"{problems}个" + (f"，另有{dismissed}个不予认定" if dismissed else "")
    layout.heading(doc, f"一、发现的问题（{counted}）")
    if not findings:
        layout.body(doc, "本次检查未发现问题。")
    figure = 0
    for number, finding in enumerate(findings, 1):
        item = item_label(inspection, finding)
        marks = [SEVERITY_LABELS.get(finding.severity, finding.severity)]
        if finding.critical:
            marks.append("一票否决项")
        if finding.fixed_on_spot:
            marks.append("已立行立改")
        if policy.sees_unreviewed_findings(actor):
            marks.append(FINDING_STATUS_LABELS[finding.status])
            if finding.status == FindingStatus.dismissed:
                marks.append("不计扣分")
        # A problem reads as the requirement it failed; a dismissed finding is no problem:
        # its item, marked 不予认定.
        what = problem_text(inspection, finding) if is_problem(finding) else item
        paragraph = layout.heading(doc, f"（{number}）{what}", level=2)
        layout.add(paragraph, f"（{'，'.join(marks)}）")
        if finding.description:
            layout.body(doc, f"情况说明：{finding.description}")
        task = tasks.get(finding.id)
        if task is not None:
            state = "已逾期" if task.is_overdue() else STATUS_LABELS[task.status]
            text = f"整改任务：{state}，整改期限{layout.cn_date(task.due_on)}，第{task.round}轮"
            if task.closed_at:
                text += f"，{_when(task.closed_at)}销号"
            layout.body(doc, text + "。")
        shots = prints.get((inspection.id, finding.item_code), [])
        if not shots and finding.item_code in missing:
            layout.body(doc, wording.photos_missing_line(inspection))
        for shot in shots:
            figure += 1
            caption = shot.caption(figure, inspection.unit.name, item)
            if shot.jpeg is None:
                layout.note(doc, f"（照片预览缺失）{caption}")
            else:
                layout.picture(doc, shot.jpeg, caption, width=layout.Mm(100))

    layout.heading(doc, "二、说明")
    layout.body(
        doc,
        "照片下方注明单位、检查项、拍摄时间及原始照片 SHA-256 摘要前 12 位，"
        "可据此在系统中核对原始证据；应拍照片未上传的检查项，注明照片缺失及督查办记录的原因。"
        "得分和等级以督查办复核结果为准。",
    )
    return layout.Built(layout.to_bytes(doc), len(findings))
