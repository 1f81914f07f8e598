"""Rectification tasks: lists and counts, the unit's replies, verification, extensions,
and each task's audit trail."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields, post_dump, validate

from accounts.models import Role
from api import examples, pagination
from api.auth import EVERYONE, OFFICE, current_user, requires
from api.etag import check_if_match, etag_of, if_match, sends_etag
from api.extensions import Blueprint
from api.operation_docs import idempotent
from api.pagination import paginate
from api.photos import PhotoSchema
from api.schemas import Date, Id, Int, PageArgs, QueryId, Schema, Text, enum_field, page_of
from checklists.content import SEVERITIES, SEVERITY_LABELS
from inspections import policy as inspection_policy
from rectification import service
from rectification.models import (
    EXTENSION_STATUS_LABELS,
    STATUS_LABELS,
    ExtensionStatus,
    RectificationTask,
    TaskStatus,
)
from rectification.states import ACTION_LABELS, Action

blp = Blueprint(
    "rectification",
    __name__,
    url_prefix="/api/v1/rectification",
    description="整改：整改任务、整改回复、复查销号、延期申请",
)
# The office's two decisions, worded as the task's history words them.
VERIFY_DECISIONS = {"accept": ACTION_LABELS[Action.accept], "reject": ACTION_LABELS[Action.reject]}
EXTENSION_DECISIONS = {
    "approve": ACTION_LABELS[Action.approve_extension],
    "deny": ACTION_LABELS[Action.deny_extension],
}

VERIFIERS = (Role.office_admin, Role.inspector)
CHASERS = (Role.lead_unit_staff, Role.office_admin)
REPLAY = "同一 client_id 的重试（含与首次同时到达的）：返回首次的结果"


# -- schemas ------------------------------------------------------------------------------


class ReplySchema(Schema):
    id = Id()
    round = Int()
    description = fields.String()
    photo_ids = fields.List(Int())
    author_id = Int(allow_none=True)
    created_at = fields.DateTime()
    verdict = fields.String(allow_none=True)
    verdict_reason = fields.String(allow_none=True)
    verified_by_id = Int(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)

    @post_dump(pass_original=True)
    def _covert(self, data, reply, **_):
        if reply.verified_by_id in _covert_ids(reply.task):
            data["verified_by_id"] = None
        return data


class ReplyCreateSchema(Schema):
    client_id = fields.UUID(required=True, metadata={"description": "客户端生成，重试时不变"})
    description = Text(required=True, max_length=2000)
    photo_ids = fields.List(
        Id(),
        required=True,
        validate=validate.Length(min=1, max=9),
        metadata={
            "description": "整改后照片：先以 owner_type=rectification_task、owner_id=任务 id "
            "上传，再在此列出照片 id"
        },
    )


class ExtensionSchema(Schema):
    id = Id()
    status = enum_field(ExtensionStatus, EXTENSION_STATUS_LABELS)
    requested_due_on = Date()
    previous_due_on = Date()
    granted_due_on = Date(allow_none=True)
    reason = fields.String()
    requested_by_id = Int(allow_none=True)
    requested_at = fields.DateTime()
    decided_by_id = Int(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)

    @post_dump(pass_original=True)
    def _covert(self, data, extension, **_):
        # An inspector who verifies settles the request a closing lapses (decided_by_id).
        if extension.decided_by_id in _covert_ids(extension.task):
            data["decided_by_id"] = None
        return data


class ExtensionCreateSchema(Schema):
    client_id = fields.UUID(required=True)
    due_on = Date(
        required=True,
        metadata={"description": "申请延至的日期：晚于当前期限，也晚于今天（北京时间），一年以内"},
    )
    reason = Text(required=True, max_length=500)


class ExtensionDecisionSchema(Schema):
    decision = enum_field(EXTENSION_DECISIONS, EXTENSION_DECISIONS, required=True)
    reason = fields.String(validate=validate.Length(max=500))
    due_on = Date(
        metadata={
            "description": "批准的新期限（晚于当前期限，也晚于今天）；缺省为申请的日期，"
            "该日期已到时须另定"
        }
    )


class ChaseCreateSchema(Schema):
    client_id = fields.UUID(required=True, metadata={"description": "客户端生成，重试时不变"})
    message = fields.String(
        validate=validate.Length(max=200), metadata={"description": "督办意见（可选）"}
    )


class ChaseSchema(Schema):
    id = Id()
    task_id = Int()
    message = fields.String()
    due_on = Date(metadata={"description": "督办时已过的整改期限"})
    sent_by_id = Int(allow_none=True)
    sent_at = fields.DateTime()


class VerificationSchema(Schema):
    decision = enum_field(VERIFY_DECISIONS, VERIFY_DECISIONS, required=True)
    reason = fields.String(validate=validate.Length(max=500))
    due_on = Date(
        metadata={"description": "退回时可设新的整改期限（晚于今天，一年以内）；缺省不变"}
    )


class TaskSchema(Schema):
    id = Id()
    finding_id = Int(allow_none=True)
    inspection_id = Int(allow_none=True)
    plan_id = Int(allow_none=True)
    unit_id = Int()
    unit_name = fields.String(attribute="unit.name")
    sector_id = Int(attribute="unit.sector_id")
    region_id = Int(attribute="unit.region_id")
    inspector_id = Int(allow_none=True)
    item_code = fields.String()
    title = fields.String()
    description = fields.String()
    severity = enum_field(SEVERITIES, SEVERITY_LABELS)
    status = enum_field(TaskStatus, STATUS_LABELS)
    status_label = fields.Function(
        lambda t: STATUS_LABELS[t.status], metadata={"type": "string", "description": "状态中文名"}
    )
    overdue = fields.Boolean()
    closed_late = fields.Boolean()
    fixed_on_spot = fields.Boolean()
    due_on = Date()
    due_at = fields.DateTime()
    deadline_days = Int()
    day_mode = fields.String()
    round = Int()
    rejections = Int()
    extension_pending = fields.Boolean()
    created_at = fields.DateTime()
    responded_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    version = Int()

    @post_dump(pass_original=True)
    def _covert(self, data, task, **_):
        if task.inspector_id in _covert_ids(task):
            data["inspector_id"] = None
        return data


class ReviewSchema(Schema):
    """Before and after, side by side, for the verifier."""

    round = Int()
    before = fields.List(fields.Nested(PhotoSchema), metadata={"description": "检查时的照片"})
    after = fields.List(fields.Nested(PhotoSchema), metadata={"description": "本轮整改后照片"})
    description = fields.String(allow_none=True)
    verdict = fields.String(allow_none=True)


class TaskDetailSchema(TaskSchema):
    replies = fields.List(fields.Nested(ReplySchema))
    extensions = fields.List(fields.Nested(ExtensionSchema))
    review = fields.Nested(ReviewSchema)
    allowed_actions = fields.List(fields.String())


class TaskFilter(PageArgs):
    status = fields.List(enum_field(TaskStatus, STATUS_LABELS))
    overdue = fields.Boolean()
    sector_id = QueryId()
    region_id = QueryId()
    unit_id = QueryId()
    plan_id = QueryId()
    inspection_id = QueryId()
    severity = enum_field(SEVERITIES, SEVERITY_LABELS)
    fixed_on_spot = fields.Boolean()
    due_from = Date()
    due_to = Date()


class CountFilter(TaskFilter):
    class Meta:
        exclude = ("page", "per_page")


class CountsSchema(Schema):
    total = Int()
    overdue = Int()
    by_status = fields.Dict(keys=fields.String(), values=Int())
    capped = fields.List(
        fields.String(),
        metadata={
            "description": "数到上限（1000）即停止的数目（状态名、overdue、total）："
            "这些数目表示“至少这么多”"
        },
    )


class AuditEventSchema(Schema):
    at = fields.DateTime()
    action = fields.String()
    actor_id = Int(allow_none=True)
    actor_name = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    reason = fields.String(allow_none=True)


# -- helpers ------------------------------------------------------------------------------


def _covert_ids(task: RectificationTask) -> set[int]:
    """The 暗访 team this caller may not see named on the task (inspections/policy.py);
    a list page works them out for all its tasks at once (`_mark_covert`)."""
    known = getattr(task, "covert_ids", None)
    if known is not None:
        return known
    return inspection_policy.covert_ids_of(current_user(), task.inspection_id)


def _mark_covert(tasks: list[RectificationTask]) -> None:
    hidden = inspection_policy.covert_ids_by_inspection(
        current_user(), {t.inspection_id for t in tasks}
    )
    for task in tasks:
        task.covert_ids = hidden.get(task.inspection_id, set())


def _trail(task: RectificationTask) -> list[dict]:
    hidden = _covert_ids(task)
    trail = service.task_trail(task)
    for event in trail:
        if event["actor_id"] in hidden:
            event["actor_id"], event["actor_name"] = None, inspection_policy.COVERT_TEAM
    return trail


def _detail(task: RectificationTask) -> RectificationTask:
    """The task with what this caller may do next and the before/after review attached."""
    task.allowed_actions = service.allowed_actions(task, current_user())
    task.review = service.review_of(task)
    return task


def _task_for_update(task_id: int, action: Action, extension_id: int | None = None):
    """The task (and its extension), checked against If-Match when the client sends one
    (412 when stale): after the lookups (404) and `actor`'s right to `action` (403), so a
    refused caller never hears about versions. Transitions are guarded by the state
    machine, so If-Match is optional here."""
    actor = current_user()
    task = service.get_task(task_id, actor=actor)
    extension = None
    if extension_id is not None:
        extension = service.get_extension(task, extension_id, actor=actor)
    service.check_may(task, action, actor=actor)
    check_if_match(task.version)  # optional: see @if_match(required=False) below
    return task, extension


# -- routes -------------------------------------------------------------------------------


@blp.route("/tasks")
class Tasks(MethodView):
    @requires(*EVERYONE)
    @blp.arguments(TaskFilter, location="query")
    @blp.response(200, page_of(TaskSchema), example=examples.TASK_PAGE)
    def get(self, args):
        """整改任务列表（窗口单位只见本单位，牵头单位见本领域，督查办见全部）

        调用者可见的整改任务分页列表。A page of the tasks the caller may see.
        """
        page, per_page = args.pop("page"), args.pop("per_page")
        result = paginate(service.tasks_query(current_user(), args), page, per_page)
        _mark_covert(result["items"])
        return result


@blp.route("/tasks/counts")
class TaskCounts(MethodView):
    @requires(*EVERYONE)
    @blp.arguments(CountFilter, location="query")
    @blp.response(200, CountsSchema)
    def get(self, args):
        """按状态统计整改任务（含逾期数），筛选条件同列表

        总数、逾期数与各状态的数目。Counts by status.
        """
        return service.count_tasks(current_user(), args, bound=pagination.COUNT_BOUND)


@blp.route("/tasks/<int:task_id>")
class TaskById(MethodView):
    @requires(*EVERYONE)
    @sends_etag
    @blp.response(200, TaskDetailSchema, example=examples.TASK_DETAIL)
    def get(self, task_id):
        """整改任务详情：各轮回复、延期申请、整改前后照片对照、当前可执行的操作

        一个任务与其回复、延期申请、前后照片、allowed_actions。One task in full.
        """
        task = service.get_task(task_id, actor=current_user())
        return _detail(task), 200, {"ETag": etag_of(task.version)}


@blp.route("/tasks/<int:task_id>/audit")
class TaskAudit(MethodView):
    @requires(*EVERYONE)
    @blp.response(200, AuditEventSchema(many=True))
    def get(self, task_id):
        """整改任务的操作记录（谁、何时、从何状态到何状态、理由）

        任务的全部操作，旧的在前。The task's audit trail.
        """
        return _trail(service.get_task(task_id, actor=current_user()))


@blp.route("/tasks/<int:task_id>/replies")
class TaskReplies(MethodView):
    @requires(*EVERYONE)
    @blp.response(200, ReplySchema(many=True))
    def get(self, task_id):
        """各轮整改回复（历史保留）

        任务的全部回复。The task's replies.
        """
        return service.get_task(task_id, actor=current_user()).replies

    @requires(Role.unit_staff)
    @sends_etag
    @blp.arguments(ReplyCreateSchema, example=examples.REPLY_CREATE)
    @blp.response(201, ReplySchema, example=examples.REPLY)
    @blp.alt_response(200, schema=ReplySchema, description=REPLAY)
    @if_match(required=False)
    def post(self, data, task_id):
        """提交整改回复（说明 + 整改后照片）；同一 client_id 重试返回首次结果

        新建本轮回复，任务进入待复查，通知复查人员；照片须先以 owner_type=rectification_task
        上传。Adds this round's reply; the task awaits verification.
        """
        task = service.get_task(task_id, actor=current_user())
        earlier = service.earlier_reply(task, data["client_id"])
        return _once(task, earlier, service.respond, Action.respond, data)


def _once(task, earlier, create, action: Action, data):
    """A create keyed by client_id on a task: a retry gets the first result (200) before
    If-Match is looked at, since it carries the ETag the first copy was sent with; a new
    one needs the caller's right to `action` (403), then a current If-Match, and a copy
    racing the first also answers 200."""
    if earlier is not None:
        return earlier, 200, {"ETag": etag_of(task.version)}
    service.check_may(task, action, actor=current_user())
    check_if_match(task.version)
    made, created = create(task, data, actor=current_user())
    return made, 201 if created else 200, {"ETag": etag_of(task.version)}


@blp.route("/tasks/<int:task_id>/verification")
class TaskVerification(MethodView):
    @requires(*VERIFIERS)
    @idempotent(
        "状态机保证只生效一次：重发得到 409 urn:problem:illegal-transition（说明已处理），GET "
        "任务查看结果 / a resend meets the new state (409)."
    )
    @sends_etag
    @blp.arguments(VerificationSchema)
    @blp.response(200, TaskDetailSchema)
    @if_match(required=False)
    def post(self, data, task_id):
        """复查：通过（销号）或退回（需说明理由，下一次回复进入新一轮）

        通过：任务销号（关闭），尚待审批的延期申请随之失效（lapsed）；退回：任务回到待整改，
        可设新期限。记入操作记录并通知单位。Closes (a pending extension request lapses) or
        returns the task.
        """
        action = Action.accept if data["decision"] == "accept" else Action.reject
        task, _ = _task_for_update(task_id, action)
        service.verify(
            task,
            accept=data["decision"] == "accept",
            reason=data.get("reason"),
            due_on=data.get("due_on"),
            actor=current_user(),
        )
        return _detail(task), 200, {"ETag": etag_of(task.version)}


@blp.route("/tasks/<int:task_id>/extensions")
class TaskExtensions(MethodView):
    @requires(Role.unit_staff)
    @sends_etag
    @blp.arguments(ExtensionCreateSchema, example=examples.EXTENSION_CREATE)
    @blp.response(201, ExtensionSchema, example=examples.EXTENSION)
    @blp.alt_response(200, schema=ExtensionSchema, description=REPLAY)
    @if_match(required=False)
    def post(self, data, task_id):
        """申请延期（同一时间只能有一份待审批的申请；同一 client_id 重试返回首次结果）

        新建一份待审批的延期申请并通知督查办；任务期限在批准后才改变。Files an extension request.
        """
        task = service.get_task(task_id, actor=current_user())
        earlier = service.earlier_extension(task, data["client_id"])
        return _once(task, earlier, service.request_extension, Action.request_extension, data)


@blp.route("/tasks/<int:task_id>/extensions/<int:extension_id>/decision")
class ExtensionDecision(MethodView):
    @requires(*OFFICE)
    @idempotent("已处理的申请再审批得到 409 urn:problem:extension-decided / deciding twice is 409.")
    @sends_etag
    @blp.arguments(ExtensionDecisionSchema)
    @blp.response(200, ExtensionSchema)
    @if_match(required=False)
    def post(self, data, task_id, extension_id):
        """审批延期：批准（新期限）或驳回（需说明理由）

        批准时任务期限改为新日期；驳回时不变。记入操作记录并通知单位。Approves (moves the deadline)
        or denies.
        """
        approve = data["decision"] == "approve"
        action = Action.approve_extension if approve else Action.deny_extension
        task, extension = _task_for_update(task_id, action, extension_id)
        extension = service.decide_extension(
            task,
            extension,
            approve=approve,
            reason=data.get("reason"),
            due_on=data.get("due_on"),
            actor=current_user(),
        )
        return extension, 200, {"ETag": etag_of(task.version)}


@blp.route("/tasks/<int:task_id>/chases")
class TaskChases(MethodView):
    @requires(*CHASERS)
    @blp.arguments(ChaseCreateSchema)
    @blp.response(201, ChaseSchema)
    @blp.alt_response(200, schema=ChaseSchema, description=REPLAY)
    def post(self, data, task_id):
        """督办逾期任务（牵头单位督办本领域、督查办督办辖区内的逾期任务）：记入任务操作记录，
        并通知被检查单位；未逾期的任务不能督办（409 urn:problem:task-not-overdue）

        新建一条督办记录。Records a chase and notifies the unit.
        """
        task = service.get_task(task_id, actor=current_user())
        chase, created = service.chase(task, data, actor=current_user())
        return chase, 201 if created else 200
