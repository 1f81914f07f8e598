"""通报: the office's circular on a period or a plan, as a .docx in the official layout.

It names units, so it draws only on PUBLISHED inspections within the reader's scope (the
ranking's `counted`); typical problems are confirmed findings of published inspections,
the office's picks or by default the most severe finding of each unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from docx.enum.text import WD_ALIGN_PARAGRAPH
from sqlalchemy import and_, case, func, select

from accounts.models import User
from checklists.content import GRADES, SEVERITY_LABELS, item_numbers
from core import errors
from core.clock import local, utcnow
from core.db import db
from inspections import policy
from inspections.models import Finding, FindingStatus, Inspection, InspectionStatus
from org.models import Region, Unit
from rectification.models import STATUS_LABELS, RectificationTask, TaskStatus
from reports import picks, rankings
from reports.documents import layout, wording
from reports.documents.photos import previews_of
from reports.periods import Period

MAX_TYPICAL = 20
MAX_ORDERED = 300
SEVERITY_RANK = {"severe": 3, "major": 2, "general": 1}
DEFAULT_ISSUER = "市明察暗访工作领导小组办公室"  # a city-wide office's
REGIONAL_ISSUER = "{region}明察暗访工作领导小组办公室"  # a district or town office's
RANKING_HEADER = ("名次", "单位", "行业领域", "区域", "检查次数", "平均得分", "问题数", "综合得分")
# Column widths in mm (the type area is 156 mm): the unit's name gets the room it needs.
RANKING_WIDTHS = (9, 36, 21, 25, 14, 17, 14, 20)
TASK_HEADER = ("单位", "问题", "严重程度", "整改期限", "状态")
TASK_WIDTHS = (42, 52, 16, 28, 18)


def _severity_order():
    return case(SEVERITY_RANK, value=Finding.severity, else_=0)


def typical_findings(actor: User, period: Period, finding_ids: list[int] | None) -> list:
    """(finding, inspection, unit name) to print: the findings asked for (`finding_ids`) in
    their order; else those the office marked on the review pages that fall in the period
    (`reports.picks`); else the most severe confirmed finding of each unit (critical
    first, then the earliest)."""
    published = and_(
        Inspection.id == Finding.inspection_id,
        Inspection.status == InspectionStatus.published,
        Finding.status == FindingStatus.confirmed,
        policy.finding_filter(actor),
        policy.inspection_filter(actor),
    )
    if finding_ids:
        rows = db.session.execute(
            select(Finding, Inspection, Unit.name)
            .join(Unit, Unit.id == Finding.unit_id)
            .where(published, Finding.id.in_(finding_ids))
        ).all()
        found = {r[0].id: r for r in rows}
        unknown = [i for i in finding_ids if i not in found]
        if unknown:
            raise errors.InvalidInput(
                "所选问题不存在、未确认或所属检查尚未公开",
                errors={"finding_ids": [f"无法用于通报的问题：{unknown}"]},
            )
        return [tuple(found[i]) for i in dict.fromkeys(finding_ids)]
    marked = picks.picks_in(actor, period, limit=MAX_TYPICAL)
    if marked:
        return marked
    order = func.row_number().over(
        partition_by=Finding.unit_id,
        order_by=(_severity_order().desc(), Finding.critical.desc(), Finding.id),
    )
    ranked = (
        select(Finding.id.label("id"), order.label("n"))
        .where(published, rankings.counted(actor, period))
        .subquery()
    )
    rows = db.session.execute(
        select(Finding, Inspection, Unit.name)
        .join(ranked, ranked.c.id == Finding.id)
        .join(Inspection, Inspection.id == Finding.inspection_id)
        .join(Unit, Unit.id == Finding.unit_id)
        .where(ranked.c.n == 1)
        .order_by(_severity_order().desc(), Finding.critical.desc(), Unit.name, Finding.id)
        .limit(MAX_TYPICAL)
    ).all()
    return [tuple(r) for r in rows]


def ordered_tasks(actor: User, period: Period) -> list[tuple[RectificationTask, str]]:
    """The rectification still owed for the period's published inspections: each open or
    responded task with its unit, by unit and deadline."""
    return [
        tuple(r)
        for r in db.session.execute(
            select(RectificationTask, Unit.name)
            .join(Inspection, Inspection.id == RectificationTask.inspection_id)
            .join(Unit, Unit.id == RectificationTask.unit_id)
            .where(rankings.counted(actor, period), RectificationTask.status != TaskStatus.closed)
            .order_by(Unit.name, RectificationTask.due_on, RectificationTask.id)
            .limit(MAX_ORDERED)
        )
    ]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _on_time(summary: dict[str, Any]) -> str:
    """The on-time rate with what it is a rate of: a bare 0.0% over one task due reads
    as a verdict on all of them."""
    due = summary["tasks_due"]
    if not due:
        return "尚无到期任务"
    return (
        f"到期{due}项，按期整改{summary['tasks_on_time']}项，"
        f"按期整改率{_percent(summary['on_time_rate'])}"
    )


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def summary_text(summary: dict[str, Any], period: Period, where: str = "") -> str:
    """`where`: the region a district or town office covers ("" for the city)."""
    grades = "、".join(f"{g}{summary['grades'].get(g, 0)}家次" for g in GRADES)
    return (
        f"{period.label}共检查{where}窗口单位{summary['units']}家、{summary['inspections']}家次，"
        f"平均得分{_number(summary['avg_score'])}分；其中{grades}；"
        f"一票否决{summary['critical_failed']}家次。共确认问题{summary['findings']}个"
        f"（平均每次检查{_number(summary['findings_per_inspection'])}个），"
        f"其中{summary['repeat_findings']}个为近期重复出现的问题；"
        f"已下达整改任务{summary['tasks']}项，{_on_time(summary)}，"
        f"逾期未整改{summary['overdue_tasks']}项。"
    )


def ranking_rows(units: Iterable[dict[str, Any]]) -> list[tuple]:
    return [
        (
            r["rank"],
            r["name"],
            r["sector"],
            r["region"],
            r["inspections"],
            _number(r["avg_score"]),
            r["findings"],
            _number(r["composite"]),
        )
        for r in units
    ]


def region_of(actor: User) -> Region | None:
    """The region a district or town office covers; None for a city-wide office."""
    region_id = actor.office_region_id
    return db.session.get(Region, region_id) if region_id is not None else None


def honour_lists_text(ranking: rankings.Ranking, top: int) -> list[str]:
    """The 红榜/黑榜 paragraphs, as `rankings.honour_lists` draws them: each says how far it
    reaches, and why it is shorter than `top` when it is."""
    ranked = sum(1 for r in ranking.units if r["composite"] is not None)
    size = ranking.list_size
    if not size:
        return [f"本期参与排名的单位{ranked}家，不足2家，不设红榜、黑榜。"]
    names = "、".join(r["name"] for r in ranking.red_list) or "无"
    left_out = size - len(ranking.red_list)
    red = f"红榜（综合得分前{size}名"
    if left_out:
        red += f"，其中{left_out}家因一票否决或评为不合格不列入"
    lines = [
        f"{red}）：{names}。",
        f"黑榜（综合得分后{size}名）：{'、'.join(r['name'] for r in ranking.black_list)}。",
    ]
    if size < top:
        lines.append(
            f"本期参与排名的单位{ranked}家，红榜、黑榜各取不超过半数（{size}家），两榜不重复。"
        )
    return lines


def build_circular(
    actor: User,
    period: Period,
    *,
    finding_ids: list[int] | None = None,
    top: int = 10,
    issuer: str | None = None,
) -> layout.Built:
    """The circular as .docx bytes, with the number of units it ranks. A district or town
    office's circular names its region in the title, the text and the default 落款."""
    region = region_of(actor)
    where = region.name if region is not None else ""
    if not issuer:
        issuer = REGIONAL_ISSUER.format(region=where) if region is not None else DEFAULT_ISSUER
    ranking = rankings.ranking(actor, period, top=top, compare=False)
    typical = typical_findings(actor, period, finding_ids)
    tasks = ordered_tasks(actor, period)

    doc = layout.new_document()
    # 发文字号: left for the office to fill in when it registers the document.
    layout.body(doc, "〔    〕第    号", indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    layout.title(doc, f"关于{where}{period.label}窗口单位明察暗访情况的通报")
    layout.body(doc, "各有关单位：", indent=False)
    layout.body(
        doc,
        f"为持续提升窗口单位服务质量，{issuer}对{period.label}{where}窗口单位服务情况"
        "开展明察暗访。"
        "现将有关情况通报如下：",
    )

    layout.heading(doc, "一、总体情况")
    layout.body(doc, summary_text(ranking.summary, period, where))

    layout.heading(doc, "二、考核排名")
    if ranking.units:
        layout.table(doc, RANKING_HEADER, ranking_rows(ranking.units), RANKING_WIDTHS)
        for line in honour_lists_text(ranking, top):
            layout.body(doc, line)
    else:
        layout.body(doc, "本期无已公开的检查结果。")

    layout.heading(doc, "三、典型问题")
    _typical(doc, typical)

    layout.heading(doc, "四、整改要求")
    if tasks:
        layout.body(
            doc,
            "请以下单位对照问题逐项整改，于整改期限内通过系统报送整改情况及整改后照片；"
            "逾期未整改的，将提请牵头单位督办并在下期通报中予以通报。",
        )
        layout.table(
            doc,
            TASK_HEADER,
            [
                (
                    unit,
                    wording.failed_requirement(task.title),
                    SEVERITY_LABELS.get(task.severity, task.severity),
                    layout.cn_date(task.due_on),
                    "已逾期" if task.is_overdue() else STATUS_LABELS[task.status],
                )
                for task, unit in tasks
            ],
            TASK_WIDTHS,
        )
    else:
        layout.body(doc, "本期检查发现的问题均已整改销号。")

    # No 附件 list: the ranking, the photos and the tasks are sections of the body above,
    # and a circular lists as 附件 only what is attached to it.
    layout.body(doc)
    layout.body(doc)
    layout.body(doc, issuer, indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    today = local(utcnow()).date()
    layout.body(
        doc,
        layout.cn_date(today),
        indent=False,
        align=WD_ALIGN_PARAGRAPH.RIGHT,
    )
    return layout.Built(layout.to_bytes(doc), len(ranking.units))


NUMERALS = "一二三四五六七八九十"


def _numeral(n: int) -> str:
    if n <= 10:
        return NUMERALS[n - 1]
    tens, ones = divmod(n, 10)
    return (NUMERALS[tens - 1] if tens > 1 else "") + "十" + (NUMERALS[ones - 1] if ones else "")


def item_number(inspection: Inspection, finding: Finding) -> str | None:
    """ "1.2": the item's number in its checklist (people never read codes)."""
    version = inspection.checklist_version
    return item_numbers(version.content).get(finding.item_code) if version else None


def item_label(inspection: Inspection, finding: Finding) -> str:
    """ "1.2 在岗人员统一规范着装": the item as its checklist numbers it (no code)."""
    number = item_number(inspection, finding)
    return f"{number} {finding.title}" if number else finding.title


def problem_text(inspection: Inspection, finding: Finding) -> str:
    """不符合第1.2项“在岗人员统一规范着装”的要求: the finding as the failed requirement."""
    return wording.failed_requirement(finding.title, item_number(inspection, finding))


def _typical(doc, typical: list) -> None:
    if not typical:
        layout.body(doc, "本期未发现需通报的典型问题。")
        return
    prints = previews_of((inspection.id, f.item_code) for f, inspection, _ in typical)
    missing = wording.photos_missing([inspection for _, inspection, _ in typical])
    figure = 0
    for number, (finding, inspection, unit) in enumerate(typical, 1):
        item = item_label(inspection, finding)
        when = local(inspection.started_at)
        paragraph = layout.heading(doc, f"（{_numeral(number)}）{unit}。", level=2)
        detail = (
            f"{layout.cn_date(when)}检查发现：{problem_text(inspection, finding)}"
            f"（{SEVERITY_LABELS.get(finding.severity, finding.severity)}"
            f"{'，一票否决项' if finding.critical else ''}）。"
        )
        if note := wording.sentence(finding.description):
            detail += f"现场情况：{note}"
        layout.add(paragraph, detail)
        shots = prints.get((inspection.id, finding.item_code), [])
        if not shots and finding.item_code in missing[inspection.id]:
            layout.body(doc, wording.photos_missing_line(inspection))
        for shot in shots:
            figure += 1
            caption = shot.caption(figure, unit, item)
            if shot.jpeg is None:
                layout.note(doc, f"（照片预览缺失）{caption}")
            else:
                layout.picture(doc, shot.jpeg, caption)
