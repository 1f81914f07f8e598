"""Reports the office issues: rankings (考核排名, JSON), the circular (通报, .docx) and one
inspection's report (检查报告, .docx). Every figure counts published inspections only, within
the reader's scope."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from marshmallow import fields, validate, validates_schema

from accounts.models import Role
from api.auth import OFFICE_READERS, current_user, requires
from api.extensions import Blueprint
from api.schemas import Date, Float, Id, Int, QueryId, QueryInt, Schema, Text, enum_field
from core import clock
from inspections import policy
from reports import issued, rankings
from reports.downloads import content_disposition
from reports.periods import KIND_LABELS, KINDS, period_of

blp = Blueprint(
    "reports_documents",
    __name__,
    url_prefix="/api/v1",
    description="考核排名、通报与检查报告（只统计已公开的检查结果）",
)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCX_RESPONSE = {
    "description": "Word 文档（.docx），Content-Disposition 带中文文件名（RFC 5987）",
    "content": {DOCX: {"schema": {"type": "string", "format": "binary"}}},
}
Weight = lambda: Float(  # noqa: E731
    allow_nan=False, validate=validate.Range(min=0, max=10)
)


def docx_response(download: issued.Download) -> Response:
    return Response(
        download.content,
        content_type=DOCX,
        headers={"Content-Disposition": content_disposition(download.filename, download.fallback)},
    )


class PeriodArgs(Schema):
    period = enum_field(KINDS, KIND_LABELS, load_default="month")
    year = QueryInt(validate=validate.Range(min=clock.FIRST_YEAR, max=clock.LAST_YEAR))
    month = QueryInt(validate=validate.Range(min=1, max=12))
    quarter = QueryInt(validate=validate.Range(min=1, max=4))
    date_from = Date(metadata={"description": "自定义时段的第一天"})
    date_to = Date(metadata={"description": "自定义时段的最后一天"})
    plan_id = QueryId(metadata={"description": "按计划统计时的计划"})

    @validates_schema
    def _plan(self, data, **_):
        if data.get("plan_id") is not None and data.get("period") != "plan":
            from marshmallow import ValidationError

            raise ValidationError("只在 period=plan 时使用", "plan_id")


class RankingArgs(PeriodArgs):
    top = QueryInt(load_default=rankings.DEFAULT_TOP, validate=validate.Range(min=1, max=100))
    repeat_months = QueryInt(
        load_default=rankings.DEFAULT_REPEAT_MONTHS,
        validate=validate.Range(min=1, max=36),
        metadata={"description": "同一单位同一检查项在此月数内再次发现即为重复问题"},
    )
    weight_score = Weight()
    weight_rectification = Weight()
    weight_critical = Weight()
    weight_repeat = Weight()
    weight_overdue = Weight()


class FiguresSchema(Schema):
    inspections = Int()
    avg_score = Float(allow_none=True, metadata={"description": "平均复核得分（百分制）"})
    grades = fields.Dict(keys=fields.String(), values=Int())
    critical_failed = Int(metadata={"description": "一票否决次数"})
    findings = Int()
    findings_per_inspection = Float(allow_none=True)
    repeat_findings = Int()
    tasks = Int()
    tasks_due = Int(metadata={"description": "到期的整改任务（已销号或已过期限）"})
    tasks_on_time = Int(metadata={"description": "其中按期销号的"})
    on_time_rate = Float(
        allow_none=True, metadata={"description": "按期整改率（0–1）：tasks_on_time ÷ tasks_due"}
    )
    overdue_tasks = Int()
    composite = Float(allow_none=True, metadata={"description": "综合得分"})


class UnitRankSchema(FiguresSchema):
    id = Id()
    name = fields.String()
    sector_id = Id()
    sector = fields.String()
    region_id = Id()
    region = fields.String()
    rank = Int()
    rank_in_sector = Int()
    rank_in_region = Int()
    previous_rank = Int(allow_none=True)
    movement = Int(allow_none=True, metadata={"description": "较上期名次变化，正数为上升"})


class GroupRankSchema(FiguresSchema):
    id = Id()
    name = fields.String()
    units = Int()
    rank = Int()


class PeriodSchema(Schema):
    kind = enum_field(KINDS, KIND_LABELS)
    start = Date()
    end = Date()
    label = fields.String()
    plan_id = Id(allow_none=True)


class RankingSchema(Schema):
    period = fields.Nested(PeriodSchema)
    previous_period = fields.Nested(PeriodSchema, allow_none=True)
    weights = fields.Dict(keys=fields.String(), values=Float())
    repeat_months = Int()
    summary = fields.Nested(type("SummarySchema", (FiguresSchema,), {"units": Int()}))
    units = fields.List(fields.Nested(UnitRankSchema))
    sectors = fields.List(fields.Nested(GroupRankSchema))
    regions = fields.List(fields.Nested(GroupRankSchema))
    list_size = Int(
        metadata={
            "description": "红榜、黑榜各自最多的单位数：top，且不超过参与排名单位数的一半"
            "（向下取整），两榜不重复"
        }
    )
    red_list = fields.List(
        fields.Nested(UnitRankSchema),
        metadata={"description": "红榜：综合得分前 list_size 名，一票否决或评为不合格的单位不列入"},
    )
    black_list = fields.List(
        fields.Nested(UnitRankSchema),
        metadata={"description": "黑榜：综合得分后 list_size 名，最差的在前"},
    )
    most_failed_items = fields.List(fields.Dict())
    inspector_workload = fields.List(
        fields.Dict(), allow_none=True, metadata={"description": "督查人员工作量（仅督查办）"}
    )


class CircularArgs(PeriodArgs):
    finding_ids = fields.List(
        QueryId(),
        validate=validate.Length(max=50),
        metadata={
            "description": "典型问题（可多次传入）；不填则用督查办在审核页面选定的本时段"
            "典型问题，未选定时每个单位取最严重的一个"
        },
    )
    top = QueryInt(load_default=10, validate=validate.Range(min=1, max=100))
    issuer = Text(max_length=60, metadata={"description": "发文机关署名"})


def _period(args):
    plan = None
    if args.get("period") == "plan" and args.get("plan_id") is not None:
        plan = policy.visible_plan(args["plan_id"], current_user())
    return period_of(args, plan)


@blp.route("/reports/rankings")
class Rankings(MethodView):
    @requires(*OFFICE_READERS, Role.lead_unit_staff)
    @blp.arguments(RankingArgs, location="query")
    @blp.response(200, RankingSchema)
    def get(self, args):
        """考核排名：单位（行业内、区域内）、行业、区域；红黑榜、高频问题、督查人员工作量

        按时间段与范围计算的排名（JSON）。Rankings over a period.
        """
        weights = {
            name: args[f"weight_{name}"]
            for name in rankings.DEFAULT_WEIGHTS
            if args.get(f"weight_{name}") is not None
        }
        return rankings.ranking(
            current_user(),
            _period(args),
            weights=weights,
            repeat_months=args["repeat_months"],
            top=args["top"],
        ).as_dict()


@blp.route("/reports/circular")
class Circular(MethodView):
    @requires(*OFFICE_READERS)
    @blp.arguments(CircularArgs, location="query")
    @blp.doc(responses={"200": DOCX_RESPONSE})
    def get(self, args):
        """通报（.docx，GB/T 9704 版式）：概况、排名、典型问题及照片、整改要求、附件

        按时间段生成的通报文件。The circular as .docx.
        """
        download = issued.circular_download(
            current_user(),
            _period(args),
            finding_ids=args.get("finding_ids"),
            top=args["top"],
            issuer=args.get("issuer"),
        )
        return docx_response(download)


@blp.route("/inspections/<int:inspection_id>/report")
class InspectionReport(MethodView):
    @requires(*OFFICE_READERS, Role.lead_unit_staff, Role.unit_staff)
    @blp.doc(responses={"200": DOCX_RESPONSE})
    @blp.alt_response(404, description="检查不存在、不在辖区内，或（单位、牵头单位）尚未公开")
    @blp.alt_response(409, description="检查尚未提交，暂无检查报告")
    def get(self, inspection_id):
        """检查报告（.docx）：单位可下载本单位已公开的报告，督查办、牵头单位按辖区

        一次检查的报告文件。One inspection's report as .docx.
        """
        actor = current_user()
        inspection = policy.visible_inspection(inspection_id, actor)
        return docx_response(issued.report_download(actor, inspection))
