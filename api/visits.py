"""Visits: the unit × team × window a draw made. Scoped by the secrecy rules of
inspections/policy.py: an unannounced visit does not exist for its unit until submitted."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, post_dump, validate

from api import examples
from api.auth import EVERYONE, OFFICE, current_user, requires
from api.etag import check_if_match, etag_of, if_match, sends_etag
from api.extensions import Blueprint
from api.pagination import paginate
from api.schemas import (
    AwareDateTime,
    Float,
    Id,
    Int,
    PageArgs,
    QueryId,
    Schema,
    Text,
    enum_field,
    page_of,
)
from inspections import plans, policy, visits
from inspections.models import VISIT_KIND_LABELS, VISIT_STATUS_LABELS, VisitKind, VisitStatus

blp = Blueprint("visits", __name__, url_prefix="/api/v1", description="检查任务（明察 / 暗访）")


class TeamMemberSchema(Schema):
    id = Int()
    display_name = fields.String()


class VisitSchema(Schema):
    id = Id()
    plan_id = Id()
    plan_name = fields.String(attribute="plan.name")
    unit_id = Id()
    unit_name = fields.String(attribute="unit.name")
    unit_address = fields.String(attribute="unit.address")
    unit_latitude = Float(attribute="unit.latitude", allow_none=True)
    unit_longitude = Float(attribute="unit.longitude", allow_none=True)
    kind = enum_field(VisitKind, VISIT_KIND_LABELS)
    status = enum_field(VisitStatus, VISIT_STATUS_LABELS)
    window_start = fields.DateTime(
        metadata={"description": "检查时段开始：抽取或督查办改派时定下的某天的一个办公时段"}
    )
    window_end = fields.DateTime()
    visible_from = fields.DateTime(
        metadata={"description": "检查人员从此时起可见该任务（窗口开始前的提前量）"}
    )
    inspectors = fields.List(
        fields.Nested(TeamMemberSchema),
        metadata={"description": "暗访不向被检查单位公开检查人员：为空列表"},
    )
    team_label = fields.String(
        dump_only=True, metadata={"description": "检查组：检查人员姓名，或「暗访组」"}
    )

    @post_dump(pass_original=True)
    def _covert(self, data, visit, **_):
        if policy.names_inspectors(current_user(), visit):
            data["team_label"] = "、".join(m["display_name"] for m in data["inspectors"])
        else:
            data["inspectors"], data["team_label"] = [], policy.COVERT_TEAM
        return data


class VisitReassignSchema(Schema):
    window_start = AwareDateTime(
        metadata={
            "description": "新的检查时段开始（须带时区）；须在计划期内、该单位同一天的办公时间内"
        }
    )
    window_end = AwareDateTime(metadata={"description": "新的检查时段结束（须带时区）"})
    inspector_ids = fields.List(
        Id(),
        validate=validate.Length(min=1, max=10),
        metadata={"description": "新的检查组：本计划的检查人员，人数等于每组人数，回避规则同抽取"},
    )
    reason = Text(required=True, max_length=500)


class VisitFilter(PageArgs):
    plan_id = QueryId()
    unit_id = QueryId()
    status = enum_field(VisitStatus, VISIT_STATUS_LABELS)
    kind = enum_field(VisitKind, VISIT_KIND_LABELS)


@blp.route("/visits")
class Visits(MethodView):
    @requires(*EVERYONE)
    @blp.arguments(VisitFilter, location="query")
    @blp.response(200, page_of(VisitSchema), example=examples.VISIT_PAGE)
    def get(self, args):
        """检查任务列表（检查人员只看到分派给自己的；窗口单位看不到未提交的暗访）

        调用者可见的检查任务分页列表；检查人员从 visible_from 起可见。A page of the visits the
        caller may see.
        """
        page, per_page = args.pop("page"), args.pop("per_page")
        return paginate(plans.visits_query(current_user(), args), page, per_page)


@blp.route("/visits/<int:visit_id>")
class VisitById(MethodView):
    @requires(*EVERYONE)
    @sends_etag
    @blp.response(200, VisitSchema)
    def get(self, visit_id):
        """查看检查任务

        一个检查任务（暗访不向被检查单位公开检查人员）。One visit.
        """
        visit = plans.get_visit(visit_id, actor=current_user())
        return visit, 200, {"ETag": etag_of(visit.version)}

    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(VisitReassignSchema)
    @blp.response(200, VisitSchema)
    @if_match
    def patch(self, data, visit_id):
        """改派检查任务：改检查时段和/或检查人员，不重新抽取（需 If-Match；检查开始前）

        改检查时段和/或检查组，记入审计（含理由）；版本号加一。Moves or reassigns one visit,
        audited.
        """
        visit = plans.get_visit(visit_id, actor=current_user())
        policy.check_can_edit_plan(current_user(), visit.plan)  # 403 before 428/412
        check_if_match(visit.version)
        visit = visits.reassign_visit(visit, data, actor=current_user())
        return visit, 200, {"ETag": etag_of(visit.version)}
