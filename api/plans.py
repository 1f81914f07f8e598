"""Plans (督查计划), their double-random draws (双随机) and publication (一公开)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import ValidationError, fields, validate, validates_schema

from api.auth import EVERYONE, OFFICE, OFFICE_READERS, current_user, requires
from api.etag import check_if_match, etag_of, if_match, sends_etag
from api.extensions import Blueprint
from api.operation_docs import idempotent, not_idempotent
from api.pagination import paginate
from api.schemas import (
    Date,
    Float,
    Id,
    Int,
    Integer,
    PageArgs,
    Pattern,
    Schema,
    Text,
    enum_field,
    page_of,
)
from checklists.content import GRADES
from inspections import plans, policy
from inspections.models import (
    PLAN_STATUS_LABELS,
    VISIT_KIND_LABELS,
    VISIT_STATUS_LABELS,
    VISIT_WINDOWS_LABELS,
    PlanStatus,
    VisitKind,
    VisitStatus,
    VisitWindows,
)

blp = Blueprint(
    "plans", __name__, url_prefix="/api/v1", description="督查计划、双随机抽取与结果公开"
)

Ids = lambda: fields.List(Id(), validate=validate.Length(max=5000))  # noqa: E731


class PoolSchema(Schema):
    sector_ids = Ids()
    region_ids = Ids()
    unit_ids = Ids()


class StratumSchema(Schema):
    sector_id = Id(required=True)
    region_id = Id(required=True)
    size = Int(required=True, validate=validate.Range(min=0, max=10_000))


class SamplingSchema(Schema):
    size = Int(validate=validate.Range(min=0, max=10_000), metadata={"description": "每层抽取数"})
    rate = Float(
        allow_nan=False,
        validate=validate.Range(min=0, max=1),
        metadata={"description": "每层抽取比例（向上取整）"},
    )
    overrides = fields.List(fields.Nested(StratumSchema), validate=validate.Length(max=1000))

    @validates_schema
    def _one_rule(self, data, **_):
        if ("size" in data) == ("rate" in data):
            raise ValidationError("size 与 rate 须且只能填写一个", field_name="size")


class ExclusionSchema(Schema):
    inspector_id = Id(required=True)
    unit_id = Id(required=True)


class PlanSchema(Schema):
    id = Id(dump_only=True)
    name = Text(required=True, min_length=2, max_length=100)
    kind = enum_field(VisitKind, VISIT_KIND_LABELS, required=True)
    status = enum_field(PlanStatus, PLAN_STATUS_LABELS, dump_only=True)
    period_start = Date(required=True)
    period_end = Date(required=True)
    checklist_template_id = Id(allow_none=True)
    pool = fields.Nested(PoolSchema, load_default=dict)
    sampling = fields.Nested(SamplingSchema, required=True)
    inspector_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=1000))
    team_size = Int(load_default=2, validate=validate.Range(min=1, max=10))
    exclusions = fields.List(
        fields.Nested(ExclusionSchema), load_default=list, validate=validate.Length(max=5000)
    )
    lead_time_hours = Int(allow_none=True, validate=validate.Range(min=0, max=24 * 30))
    disclose_inspectors = fields.Boolean(
        load_default=False,
        metadata={"description": "暗访：是否向被检查单位、牵头单位和公开结果中列出检查人员姓名"},
    )
    visit_windows = enum_field(
        VisitWindows,
        VISIT_WINDOWS_LABELS,
        metadata={
            "description": "检查时段：drawn（默认）抽取时为每个检查任务抽定计划期内的一天及"
            "该单位当天的一个办公时段；period 为整个计划期"
        },
    )
    region_id = Int(
        dump_only=True,
        allow_none=True,
        metadata={"description": "制定计划的督查办所在区域；空为全市计划"},
    )
    created_at = fields.DateTime(dump_only=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)
    version = Integer(dump_only=True)


class PlanUpdateSchema(PlanSchema):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class PlanFilter(PageArgs):
    status = enum_field(PlanStatus, PLAN_STATUS_LABELS)
    kind = enum_field(VisitKind, VISIT_KIND_LABELS)


class DrawArgs(Schema):
    seed = fields.String(
        validate=Pattern(r"^[A-Za-z0-9_-]{1,64}$", error="只能包含字母、数字、- 和 _，至多 64 个"),
        metadata={"description": "随机种子；不填则由服务器生成"},
    )
    reason = fields.String(validate=validate.Length(max=500))


class DrawnVisitSchema(Schema):
    unit_id = Int()
    inspector_ids = fields.List(Int())


class DrawSchema(Schema):
    id = Id()
    plan_id = Id()
    number = Int()
    seed = fields.String(metadata={"description": "公开的随机种子：抽取检查对象"})
    team_seed = fields.String(
        allow_none=True,
        metadata={
            "description": "检查组种子（dr-v2）：服务器随机生成，用于组成检查组；仅制定计划的"
            "督查办可见，dr-v1 的抽取为空（其检查组也由 seed 决定）"
        },
    )
    team_seed_sha256 = fields.String(
        allow_none=True,
        metadata={"description": "检查组种子的 SHA-256（十六进制），与公开结果中的一致"},
    )
    algorithm = fields.String(
        metadata={"description": "抽取算法：dr-v2（检查对象与检查组分用两个种子）或 dr-v1"}
    )
    current = fields.Boolean()
    drawn_at = fields.DateTime()
    drawn_by_id = Int(allow_none=True)
    reason = fields.String(allow_none=True)
    inputs = fields.Dict(metadata={"description": "抽取时的对象池、规则与回避名单"})
    result = fields.List(fields.Nested(DrawnVisitSchema))


class DisclosedVisitSchema(Schema):
    unit_id = Int()
    unit_name = fields.String()
    inspectors = fields.List(
        fields.String(), metadata={"description": "暗访且计划未选择公开时为空"}
    )
    team_label = fields.String(metadata={"description": "检查组：检查人员姓名，或「暗访组」"})
    team_size = Int()
    status = enum_field(VisitStatus, VISIT_STATUS_LABELS)
    score = Float(allow_none=True)
    grade = enum_field(GRADES, allow_none=True)


class DisclosedPlanSchema(Schema):
    id = Id()
    name = fields.String()
    kind = enum_field(VisitKind, VISIT_KIND_LABELS)
    period_start = Date()
    period_end = Date()
    published_at = fields.DateTime()


class DisclosedDrawSchema(Schema):
    number = Int()
    seed = fields.String(
        allow_none=True,
        metadata={
            "description": "随机种子，可据以复核抽取的检查对象；暗访且计划未选择公开检查人员、"
            "按 dr-v1 抽取（种子同时决定检查组）时为空"
        },
    )
    team_seed = fields.String(
        allow_none=True,
        metadata={
            "description": "检查组种子（dr-v2）；暗访且计划未选择公开检查人员时为空，"
            "检查组无法由公开内容推算"
        },
    )
    team_seed_sha256 = fields.String(
        allow_none=True,
        metadata={
            "description": "检查组种子的 SHA-256（十六进制）：抽取时即已确定，事后出示的"
            "检查组种子须与之相符；dr-v1 的抽取为空"
        },
    )
    algorithm = fields.String(metadata={"description": "抽取算法：dr-v2 或 dr-v1"})
    drawn_at = fields.DateTime()
    inputs = fields.Dict(
        metadata={"description": "暗访且计划未选择公开时，检查人员池与回避名单只给人数"}
    )


class DisclosureSchema(Schema):
    plan = fields.Nested(DisclosedPlanSchema)
    draw = fields.Nested(DisclosedDrawSchema)
    reproducible = fields.Boolean()
    visits = fields.List(fields.Nested(DisclosedVisitSchema))


@blp.route("/plans")
class Plans(MethodView):
    @requires(*OFFICE_READERS)
    @blp.arguments(PlanFilter, location="query")
    @blp.response(200, page_of(PlanSchema))
    def get(self, args):
        """督查计划列表

        计划分页列表。A page of plans.
        """
        page, per_page = args.pop("page"), args.pop("per_page")
        actor = current_user()
        result = paginate(plans.list_plans(actor=actor, **args), page, per_page)
        result["items"] = [plans.plan_as_seen_by(p, actor=actor) for p in result["items"]]
        return result

    @requires(*OFFICE)
    @not_idempotent(
        "每次请求新建一个计划：超时后先 GET /plans 查看是否已建成再重发 / each call creates a "
        "plan: after a timeout list the plans before resending."
    )
    @sends_etag
    @blp.arguments(PlanSchema)
    @blp.response(201, PlanSchema)
    def post(self, data):
        """新建督查计划（明察或暗访；对象池、分层抽样规则、检查人员池与回避名单）

        新建一个草稿计划，尚不抽取。Creates a draft plan; nothing is drawn yet.
        """
        plan = plans.save_plan(data, actor=current_user())
        return plan, 201, {"ETag": etag_of(plan.version)}


@blp.route("/plans/<int:plan_id>")
class PlanById(MethodView):
    @requires(*OFFICE_READERS)
    @sends_etag
    @blp.response(200, PlanSchema)
    def get(self, plan_id):
        """查看督查计划（区县、乡镇督查办查看全市计划时只列本辖区的单位）

        一个计划：对象池、抽样规则、检查人员池、状态。One plan.
        """
        actor = current_user()
        plan = plans.get_plan(plan_id, actor=actor)
        return plans.plan_as_seen_by(plan, actor=actor), 200, {"ETag": etag_of(plan.version)}

    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(PlanUpdateSchema)
    @blp.response(200, PlanSchema)
    @if_match
    def patch(self, data, plan_id):
        """修改督查计划（需 If-Match；抽取后规则不可改）

        只改给出的字段；抽取后只能改名称和说明。Changes the fields given.
        """
        plan = plans.get_plan(plan_id, actor=current_user())
        policy.check_can_edit_plan(current_user(), plan)  # 403 before 428/412
        check_if_match(plan.version)
        plan = plans.save_plan(data, actor=current_user(), plan=plan)
        return plan, 200, {"ETag": etag_of(plan.version)}


@blp.route("/plans/<int:plan_id>/draws")
class PlanDraws(MethodView):
    @requires(*OFFICE_READERS)
    @blp.response(200, DrawSchema(many=True))
    def get(self, plan_id):
        """抽取记录（每次抽取的种子、输入与结果，可复核）

        该计划的全部抽取，新的在前。The plan's draws.
        """
        actor = current_user()
        return plans.list_draws(plans.get_plan(plan_id, actor=actor), actor=actor)

    @requires(*OFFICE)
    @not_idempotent(
        "每次请求都重新抽取一次（新种子、新结果）：超时后先 GET 抽取记录确认，再决定是否重抽 / "
        "each call draws again: check the draws before resending."
    )
    @blp.arguments(DrawArgs)
    @blp.response(201, DrawSchema)
    def post(self, args, plan_id):
        """双随机抽取检查对象与检查人员（重新抽取须说明原因，检查开始后不可重抽）

        记录一次抽取（种子、输入、结果），生成检查任务并取代上一次抽取的任务。Records a draw and
        replaces the visits of the previous one.
        """
        plan = plans.get_plan(plan_id, actor=current_user())
        return plans.draw_plan(
            plan, seed=args.get("seed"), reason=args.get("reason"), actor=current_user()
        )


@blp.route("/plans/<int:plan_id>/publish")
class PlanPublish(MethodView):
    @requires(*OFFICE)
    @idempotent(
        "已公开的计划再公开返回同一计划 / publishing a published plan returns it unchanged."
    )
    @blp.response(200, PlanSchema)
    def post(self, plan_id):
        """公开抽取过程与结果（计划期结束后）

        计划状态改为已公开，抽取结果对所有人可见。Publishes the plan's draw.
        """
        actor = current_user()
        return plans.publish_plan(plans.get_plan(plan_id, actor=actor), actor=actor)


@blp.route("/plans/<int:plan_id>/disclosure")
class PlanDisclosure(MethodView):
    @requires(*EVERYONE)
    @blp.response(200, DisclosureSchema)
    def get(self, plan_id):
        """已公开计划的抽取结果与检查结果（一公开）

        已公开计划的抽取与检查结果；未公开为 404。A published plan's disclosure.
        """
        return plans.disclosure(plan_id, actor=current_user())
