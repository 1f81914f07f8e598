"""Inspections (检查记录) and their findings (问题): the inspector's day and the office's
review. Every create is keyed by the phone's client UUID; a retry returns the first result."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import ValidationError, fields, post_dump, validate

from accounts.models import Role
from api import examples
from api.auth import EVERYONE, OFFICE, current_user, requires
from api.etag import check_if_match, etag_of, if_match, sends_etag
from api.extensions import Blueprint
from api.operation_docs import idempotent
from api.pagination import paginate
from api.schemas import (
    AwareDateTime,
    Date,
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
from checklists.content import GRADES, SEVERITIES, SEVERITY_LABELS
from core.geo import COORD_SYSTEM_LABELS, CoordSystem
from evidence import seal as evidence_seal
from inspections import findings as findings_service
from inspections import policy, queries, service
from inspections.models import (
    FINDING_STATUS_LABELS,
    INSPECTION_STATUS_LABELS,
    VISIT_KIND_LABELS,
    FindingStatus,
    InspectionStatus,
    VisitKind,
)

blp = Blueprint(
    "inspections", __name__, url_prefix="/api/v1", description="检查记录、离线提交与问题审核"
)

Code = lambda: fields.String(validate=validate.Length(min=1, max=40))  # noqa: E731
ANSWER_RESULTS = {"pass": "符合", "fail": "不符合", "na": "不适用"}


class CheckInSchema(Schema):
    latitude = Float(required=True, allow_nan=False, validate=validate.Range(-90, 90))
    longitude = Float(required=True, allow_nan=False, validate=validate.Range(-180, 180))
    accuracy_m = Float(
        allow_none=True, allow_nan=False, validate=validate.Range(min=0, max=100_000)
    )
    at = AwareDateTime(metadata={"description": "手机上的签到时间；不填为服务器时间"})
    type = enum_field(
        CoordSystem,
        COORD_SYSTEM_LABELS,
        load_default=CoordSystem.wgs84,
        metadata={
            "description": "坐标系，与 wx.getLocation 的 type 相同：wgs84（默认，GPS 原始坐标）"
            "或 gcj02（腾讯/高德地图坐标）。与单位坐标比较前先换算到同一坐标系"
        },
    )


class ItemMap(fields.Dict):
    """{item code: value}, checked in plain Python: it is read on every submission, and
    what each answer may hold is the checklist's business (checklists.scoring)."""

    MAX_ITEMS = 500

    def __init__(self, check_value, **kwargs):
        super().__init__(keys=fields.String(), **kwargs)  # `values` only documents them
        self.check_value = check_value

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("应为对象，键为检查项编码")
        if len(value) > self.MAX_ITEMS:
            raise ValidationError(f"最多 {self.MAX_ITEMS} 个检查项")
        problems = {}
        for code, item in value.items():
            if not 1 <= len(code) <= 40:
                problems[code] = ["检查项编码长度应为 1–40"]
            elif (message := self.check_value(item)) is not None:
                problems[code] = [message]
        if problems:
            raise ValidationError(problems)
        return value


class AnswerSchema(Schema):
    """One item's answer (docs/scoring.md); which members apply follows the item's kind."""

    result = enum_field(
        ANSWER_RESULTS,
        ANSWER_RESULTS,
        description="pass_fail 项用 pass / fail；允许不适用的项可用 na",
    )
    value = fields.Raw(
        allow_none=True,
        metadata={
            "description": "score、number：数值；single_choice、text：字符串（选项值或文字）；"
            "multi_choice：选项值数组",
            "anyOf": [
                {"type": "number"},
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
            ],
        },
    )
    total = Float(metadata={"description": "带 total_label 的 number 项：总数（如安装的摄像头数）"})
    note = fields.String(
        validate=validate.Length(max=1000), metadata={"description": "备注，任何项均可带"}
    )


ANSWER_MAP = {"additionalProperties": {"$ref": "#/components/schemas/Answer"}}
PHOTO_REFS = {
    "type": "array",
    "maxItems": 20,
    "items": {"type": "string", "minLength": 1, "maxLength": 64},
}
PHOTO_MAP = {"additionalProperties": PHOTO_REFS}


def _answer_problem(answer) -> str | None:
    return None if isinstance(answer, dict) else "应为对象"


def _photos_problem(refs) -> str | None:
    if not isinstance(refs, list) or len(refs) > 20:
        return "应为不超过 20 个照片引用的数组"
    if not all(isinstance(r, str) and 1 <= len(r) <= 64 for r in refs):
        return "照片引用应为 1–64 位字符串"
    return None


class AnswersSchema(Schema):
    answers = ItemMap(
        _answer_problem,
        values=fields.Nested(AnswerSchema),  # documents the values; ItemMap checks them
        metadata={
            "description": '按检查项编码：{"result": "pass|fail|na"} 或 {"value": …}，可带 note'
        },
    )
    photos = ItemMap(
        _photos_problem,
        metadata={
            "description": '按检查项编码的照片引用，均为字符串：照片 id（如 "40212"）或客户端 UUID',
            **PHOTO_MAP,
        },
    )
    fixed_on_spot = fields.List(Code(), validate=validate.Length(max=500))


class StartSchema(Schema):
    client_uuid = fields.UUID(required=True)
    visit_id = Id(metadata={"description": "检查任务；临时检查不填，改填 unit_id"})
    unit_id = Id()
    check_in = fields.Nested(CheckInSchema, required=True)


class OfflineSubmitSchema(StartSchema, AnswersSchema):
    pass


class FindingSchema(Schema):
    id = Id()
    inspection_id = Id()
    unit_id = Id()
    item_code = fields.String()
    title = fields.String()
    severity = enum_field(SEVERITIES, SEVERITY_LABELS)
    description = fields.String()
    status = enum_field(FindingStatus, FINDING_STATUS_LABELS)
    fixed_on_spot = fields.Boolean()
    deadline_days = Int(allow_none=True)
    critical = fields.Boolean()
    photos = fields.List(fields.String())
    reason = fields.String(allow_none=True)
    reviewed_at = fields.DateTime(allow_none=True)
    version = Int()


class FindingReviewSchema(Schema):
    status = enum_field(
        [FindingStatus.confirmed.value, FindingStatus.dismissed.value], FINDING_STATUS_LABELS
    )
    severity = enum_field(SEVERITIES, SEVERITY_LABELS)
    deadline_days = Int(
        allow_none=True,
        validate=validate.Range(min=0, max=365),
        metadata={"description": "整改期限天数；0 为当天结束前（问题转入整改的当天 24 时）"},
    )
    description = Text(max_length=2000)
    reason = fields.String(validate=validate.Length(max=500))


class FindingFilter(PageArgs):
    inspection_id = QueryId()
    unit_id = QueryId()
    status = enum_field(FindingStatus, FINDING_STATUS_LABELS)
    severity = enum_field(SEVERITIES, SEVERITY_LABELS)


class ScoreEventSchema(Schema):
    at = fields.DateTime()
    actor_id = Int(allow_none=True)
    actor_name = fields.String(allow_none=True)
    before = fields.Dict()
    after = fields.Dict()
    reason = fields.String(allow_none=True)


class InspectionSchema(Schema):
    id = Id()
    client_uuid = fields.UUID()
    visit_id = Int(allow_none=True)
    plan_id = Int(allow_none=True)
    plan_name = fields.String(attribute="plan.name", allow_none=True)
    unit_id = Id()
    unit_name = fields.String(attribute="unit.name")
    sector_name = fields.String(attribute="unit.sector.name")
    region_name = fields.String(attribute="unit.region.name")
    kind = enum_field(VisitKind, VISIT_KIND_LABELS)
    ad_hoc = fields.Boolean()
    inspector_id = Int(allow_none=True, metadata={"description": "暗访不公开检查人员时为空"})
    inspector_name = fields.String(
        attribute="inspector.display_name",
        metadata={"description": "暗访不向被检查单位公开检查人员：为「暗访组」"},
    )
    status = enum_field(InspectionStatus, INSPECTION_STATUS_LABELS)
    started_at = fields.DateTime()
    checkin_distance_m = Float(allow_none=True)
    checkin_far = fields.Boolean(metadata={"description": "远离单位：距离超过签到半径"})
    checkin_imprecise = fields.Boolean(
        metadata={"description": "定位精度不足：accuracy_m 大于签到半径，不能判断是否在单位"}
    )
    submitted_at = fields.DateTime(allow_none=True)
    score = Float(allow_none=True, metadata={"description": "提交时得分"})
    max_score = Float(allow_none=True)
    grade = enum_field(GRADES, allow_none=True, description="提交时评级")
    critical_failed = fields.Boolean()
    reviewed_score = Float(
        allow_none=True,
        metadata={"description": "复核后得分：被驳回问题的检查项按符合计；尚未复核为 null"},
    )
    reviewed_grade = enum_field(GRADES, allow_none=True, description="复核后评级")
    reviewed_critical_failed = fields.Boolean(allow_none=True)
    findings_count = Int(
        metadata={
            "description": "问题数：未被不予认定的问题（待审核与已确认）；公开后即已确认的问题数。"
            "不含不予认定的问题（督查办在 findings 中仍可见到，标为不予认定）"
        }
    )
    published_at = fields.DateTime(allow_none=True)
    version = Int()

    @post_dump(pass_original=True)
    def _covert(self, data, inspection, **_):
        if not policy.names_inspectors(current_user(), inspection):
            data["inspector_id"], data["inspector_name"] = None, policy.COVERT_TEAM
        return data


class InspectionDetailSchema(InspectionSchema):
    checklist_version_id = Int(allow_none=True)
    checkin_latitude = Float(allow_none=True)
    checkin_longitude = Float(allow_none=True)
    checkin_accuracy_m = Float(allow_none=True)
    checkin_coord_system = enum_field(
        CoordSystem, COORD_SYSTEM_LABELS, metadata={"description": "签到坐标的坐标系"}
    )
    answers = fields.Dict(metadata=ANSWER_MAP)
    photos = fields.Dict(metadata=PHOTO_MAP)
    fixed_on_spot = fields.List(fields.String())
    missing_photos = fields.List(
        fields.String(), metadata={"description": "需要照片但照片尚未上传到服务器的检查项"}
    )
    missing_photos_reason = fields.String(
        allow_none=True, metadata={"description": "照片未齐时公开结果的原因"}
    )
    findings = fields.List(fields.Nested(FindingSchema), attribute="visible_findings")
    seal = fields.Function(
        evidence_seal.seal_of,
        metadata={
            "description": "证据封存：提交时对答案、问题和照片 SHA-256 的封存值（value），"
            "前 12 位为短码（short），之后每到一张照片延长一次（links）；提交前为 null",
            "type": "object",
            "nullable": True,
            "properties": {
                "value": {"type": "string"},
                "short": {"type": "string"},
                "links": {"type": "integer"},
            },
        },
    )
    score_history = fields.List(
        fields.Nested(ScoreEventSchema),
        metadata={"description": "复核改分记录（谁、何时、改前改后得分、理由）；被检查单位不可见"},
    )


class PublishSchema(Schema):
    missing_photos_reason = fields.String(
        validate=validate.Length(max=500),
        metadata={
            "description": "必拍照片尚未全部上传时必填：为何仍公开结果（记入检查记录与审计）"
        },
    )


class FindingBriefSchema(Schema):
    id = Id()
    item_code = fields.String()
    title = fields.String()
    severity = enum_field(SEVERITIES, SEVERITY_LABELS)
    status = enum_field(FindingStatus, FINDING_STATUS_LABELS)
    fixed_on_spot = fields.Boolean()
    deadline_days = Int(allow_none=True)


class SubmissionSchema(Schema):
    """What a phone needs back from an offline submission (it sent the answers itself):
    dumped from a `service.Submission`, its own `findings` and `missing_photos`, the rest
    read from its inspection."""

    OWN = frozenset({"findings", "missing_photos"})

    id = Id()
    client_uuid = fields.UUID()
    visit_id = Int(allow_none=True)
    unit_id = Id()
    ad_hoc = fields.Boolean()
    status = enum_field(InspectionStatus, INSPECTION_STATUS_LABELS)
    checkin_distance_m = Float(allow_none=True)
    checkin_far = fields.Boolean(metadata={"description": "远离单位：距离超过签到半径"})
    checkin_imprecise = fields.Boolean(
        metadata={"description": "定位精度不足：accuracy_m 大于签到半径，不能判断是否在单位"}
    )
    submitted_at = fields.DateTime(allow_none=True)
    score = Float(allow_none=True)
    max_score = Float(allow_none=True)
    grade = enum_field(GRADES, allow_none=True)
    critical_failed = fields.Boolean()
    findings_count = Int()
    findings = fields.List(fields.Nested(FindingBriefSchema))
    missing_photos = fields.List(
        fields.String(), metadata={"description": "需要照片但照片尚未上传到服务器的检查项"}
    )
    version = Int()

    def get_attribute(self, obj, attr, default):
        source = obj if attr in self.OWN else obj.inspection
        return super().get_attribute(source, attr, default)


class InspectionFilter(PageArgs):
    plan_id = QueryId()
    visit_id = QueryId()
    unit_id = QueryId()
    sector_id = QueryId()
    region_id = QueryId()
    inspector_id = QueryId()
    status = enum_field(InspectionStatus, INSPECTION_STATUS_LABELS)
    kind = enum_field(VisitKind, VISIT_KIND_LABELS)
    ad_hoc = fields.Boolean()
    date_from = Date()
    date_to = Date()
    score_min = Float(allow_nan=False)
    score_max = Float(allow_nan=False)
    has_findings = fields.Boolean()


def _detail(inspection):
    """The inspection with what its reader may see of its findings, and missing photos."""
    user = current_user()
    inspection.visible_findings = findings_service.visible_findings(inspection, user)
    inspection.missing_photos = findings_service.missing_photo_codes(inspection)
    inspection.score_history = findings_service.score_history(inspection, user)
    return inspection, {"ETag": etag_of(inspection.version)}


def _created(inspection, created: bool):
    body, headers = _detail(inspection)
    return body, 201 if created else 200, headers


# The phone's hot path: schema instances made once, not per request.
OFFLINE_SUBMIT = OfflineSubmitSchema()
SUBMISSION = SubmissionSchema()


@blp.route("/inspections")
class Inspections(MethodView):
    @requires(*EVERYONE)
    @blp.arguments(InspectionFilter, location="query")
    @blp.response(200, page_of(InspectionSchema))
    def get(self, args):
        """检查记录列表（按计划、单位、领域、区域、检查人员、状态、日期、得分、有无问题筛选）

        调用者可见的检查记录分页列表（不含答案）。A page of inspections, without answers.
        """
        page, per_page = args.pop("page"), args.pop("per_page")
        return paginate(queries.inspections_query(current_user(), args), page, per_page)

    @requires(Role.inspector)
    @sends_etag
    @blp.arguments(StartSchema, example=examples.START)
    @blp.response(201, InspectionDetailSchema, example=examples.INSPECTION)
    @blp.alt_response(200, description="同一 client_uuid 的重试：返回第一次的结果")
    def post(self, data):
        """到达现场签到，开始检查（按 client_uuid 幂等）

        新建一条草稿检查记录：记下签到位置、与单位的距离（远离单位、定位精度不足时标记），锁定所用
        检查表版本。Creates a draft inspection with the check-in.
        """
        return _created(*service.start_inspection(data, actor=current_user()))


@blp.route("/inspections/submissions")
class InspectionSubmissions(MethodView):
    @requires(Role.inspector)
    @sends_etag
    @blp.arguments(OFFLINE_SUBMIT, example=examples.OFFLINE)
    @blp.response(201, SUBMISSION, example=examples.SUBMISSION)
    @blp.alt_response(200, description="同一 client_uuid、相同内容的重试：返回第一次的结果")
    def post(self, data):
        """离线整单提交：签到、答案与照片引用一次发送（按 client_uuid 幂等；提交后改动为 409）

        一次完成签到、保存答案和提交：计算得分与评级，生成问题，封存证据。照片可在之后按
        owner_type=inspection 上传。Check-in, answers and submission in one request.
        """
        submission = service.submit_offline(data, actor=current_user())
        status = 201 if submission.created else 200
        return submission, status, {"ETag": etag_of(submission.inspection.version)}


@blp.route("/inspections/<int:inspection_id>")
class InspectionById(MethodView):
    @requires(*EVERYONE)
    @sends_etag
    @blp.response(200, InspectionDetailSchema)
    def get(self, inspection_id):
        """查看检查记录（窗口单位在结果公开后可见）

        一条检查记录：答案、照片引用、问题、缺少的照片、证据封存。One inspection in full.
        """
        return _detail(service.get_inspection(inspection_id, actor=current_user()))


@blp.route("/inspections/<int:inspection_id>/answers")
class InspectionAnswers(MethodView):
    @requires(Role.inspector)
    @sends_etag
    @blp.arguments(AnswersSchema, example=examples.ANSWERS)
    @blp.response(200, InspectionDetailSchema, example=examples.SAVED)
    def patch(self, data, inspection_id):
        """边查边存：按检查项保存答案与照片引用（可重复发送）

        合并给出的检查项答案与照片引用到草稿（未给出的检查项不变）；提交后为 409
        urn:problem:inspection-submitted。Merges the answers given into the draft.
        """
        inspection = service.get_inspection(inspection_id, actor=current_user())
        return _detail(service.save_answers(inspection, data, actor=current_user()))


@blp.route("/inspections/<int:inspection_id>/submit")
class InspectionSubmit(MethodView):
    @requires(Role.inspector)
    @idempotent(
        "以相同内容重发返回同一结果（200）；内容不同为 409 urn:problem:submission-differs / a "
        "resend with the same body answers the same result; other content is 409."
    )
    @sends_etag
    @blp.arguments(AnswersSchema, example=examples.SUBMIT)
    @blp.response(200, InspectionDetailSchema, example=examples.SUBMITTED)
    def post(self, data, inspection_id):
        """提交检查：校验必填项与必拍照片，计算得分，生成问题（重试返回同一结果）

        合并最后的答案，草稿变为已提交：计算得分与评级，生成待审核的问题，封存证据；之后答案不能再
        改。Submits the draft.
        """
        inspection = service.get_inspection(inspection_id, actor=current_user())
        return _detail(service.submit_inspection(inspection, data, actor=current_user()))


@blp.route("/inspections/<int:inspection_id>/publish")
class InspectionPublish(MethodView):
    @requires(*OFFICE)
    @idempotent(
        "已公开的检查再公开返回同一结果，不会重复建整改任务 / publishing again returns the same "
        "result."
    )
    @sends_etag
    @blp.arguments(PublishSchema)
    @blp.response(200, InspectionDetailSchema)
    @blp.alt_response(409, description="有问题未审核，或必拍照片未齐且未说明原因")
    def post(self, data, inspection_id):
        """向被检查单位公开检查结果；已确认的问题转入整改（照片未齐须说明原因）

        检查结果对被检查单位可见，每个已确认的问题建一个整改任务并通知单位。Publishes the result
        and opens rectification tasks.
        """
        inspection = service.get_inspection(inspection_id, actor=current_user())
        reason = data.get("missing_photos_reason")
        return _detail(
            findings_service.publish_inspection(
                inspection, actor=current_user(), missing_photos_reason=reason
            )
        )


@blp.route("/findings")
class Findings(MethodView):
    @requires(*EVERYONE)
    @blp.arguments(FindingFilter, location="query")
    @blp.response(200, page_of(FindingSchema))
    def get(self, args):
        """问题列表（窗口单位只看到已公开、已确认的本单位问题）

        调用者可见的问题分页列表。A page of findings.
        """
        page, per_page = args.pop("page"), args.pop("per_page")
        return paginate(findings_service.findings_query(current_user(), args), page, per_page)


@blp.route("/findings/<int:finding_id>")
class FindingById(MethodView):
    @requires(*EVERYONE)
    @sends_etag
    @blp.response(200, FindingSchema)
    def get(self, finding_id):
        """查看问题

        一个问题。One finding.
        """
        finding = findings_service.get_finding(finding_id, actor=current_user())
        return finding, 200, {"ETag": etag_of(finding.version)}

    @requires(*OFFICE)
    @sends_etag
    @blp.arguments(FindingReviewSchema)
    @blp.response(200, FindingSchema)
    @if_match
    def patch(self, data, finding_id):
        """审核问题：确认或驳回，修改严重程度或期限（需 If-Match；驳回与修改须说明原因）

        改问题的状态、严重程度、期限或说明，记入复核记录；驳回的问题不计扣分。Reviews one finding.
        """
        finding = findings_service.get_finding(finding_id, actor=current_user())
        policy.check_can_review(current_user(), finding.inspection)  # 403 before 428/412
        check_if_match(finding.version)
        finding = findings_service.review_finding(finding, data, actor=current_user())
        return finding, 200, {"ETag": etag_of(finding.version)}
