"""Every problem `type` the API answers with, in one table: a client branches on `type`,
never on the Chinese `detail`.

Code raises a domain error with `type="urn:problem:…"` (a literal, so tests can find it);
an error raised without one gets its status's generic type below. `api.errors.problem`
refuses, under TESTING, a type this table does not hold; tests/test_problem_types.py
checks that every URN written in the code is here, that every 409 names its own type,
and that docs/errors.md lists the table. The OpenAPI document's `Problem.type` is the
enum of these URNs.

Titles are Chinese (people read them); descriptions are English (developers read them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemType:
    urn: str
    status: int
    title: str
    description: str


_TYPES = [
    # Generic: the status says it all; a more precise type below wins where one exists.
    ProblemType("urn:problem:malformed-request", 400, "请求格式错误", "The body is not JSON, or cannot be parsed."),
    ProblemType("urn:problem:unauthenticated", 401, "未登录或登录已失效", "No bearer token, or it expired or was revoked: sign in again."),
    ProblemType("urn:problem:forbidden", 403, "无权访问", "Your role may not do this."),
    ProblemType("urn:problem:not-found", 404, "未找到", "No such resource, or it is not visible to you (the two look the same)."),
    ProblemType("urn:problem:method-not-allowed", 405, "不支持该请求方法", "The path exists, the method does not; see the Allow header."),
    ProblemType("urn:problem:conflict", 409, "状态冲突", "Generic state conflict. Code must name a precise type; a test refuses a 409 without one."),
    ProblemType("urn:problem:stale-version", 412, "数据已变更", "If-Match does not match the current ETag: read again, then retry."),
    ProblemType("urn:problem:payload-too-large", 413, "请求体过大", "The body exceeds the size allowed for this route."),
    ProblemType("urn:problem:unsupported-media-type", 415, "不支持的内容类型", "The body is not of the type this operation reads (JSON in UTF-8, or multipart/form-data; `detail` names it), or a photo is not JPEG, PNG, HEIC or WebP."),
    ProblemType("urn:problem:invalid-input", 422, "数据校验未通过", "Field-level validation failed; `errors` maps location → field → messages."),
    ProblemType("urn:problem:if-match-required", 428, "缺少前置条件", "This update needs an If-Match header with the ETag you last read."),
    ProblemType("urn:problem:too-many-requests", 429, "请求过于频繁", "Rate limited; wait Retry-After seconds."),
    ProblemType("urn:problem:internal-error", 500, "服务器内部错误", "A bug; it was logged. Retrying the same request may not help."),
    ProblemType("urn:problem:upstream-error", 502, "上游服务错误", "WeChat answered with an error we cannot fix by retrying now."),
    ProblemType("urn:problem:unavailable", 503, "服务暂不可用", "A dependency is down; retry after Retry-After seconds."),
    # Reading the request.
    ProblemType("urn:problem:number-too-long", 400, "数字位数过多", "A number in the body has more digits than the API reads."),
    ProblemType("urn:problem:json-too-deep", 400, "嵌套层数过多", "The JSON body is nested deeper than the API reads."),
    ProblemType("urn:problem:invalid-characters", 422, "文本含非法字符", "Text holds characters that cannot be stored (NUL, lone surrogates)."),
    # Signing in.
    ProblemType("urn:problem:bad-credentials", 401, "用户名或密码错误", "Wrong username or password (the answer never says which)."),
    ProblemType("urn:problem:sign-in-throttled", 429, "登录尝试过于频繁", "Too many sign-in attempts; wait Retry-After seconds."),
    ProblemType("urn:problem:wechat-invalid-code", 422, "微信登录凭证无效", "The wx.login code is invalid or already used: call wx.login again."),
    ProblemType("urn:problem:wechat-risky-user", 403, "微信账号存在风险", "WeChat flagged the account as risky and refused the sign-in."),
    ProblemType("urn:problem:wechat-binding-required", 403, "未绑定微信", "The WeChat account is bound to no user: bind it with a binding code first."),
    ProblemType("urn:problem:wechat-not-bound", 409, "账号未绑定微信", "The account has no WeChat binding to remove."),
    ProblemType("urn:problem:wechat-bound-elsewhere", 409, "账号已绑定其他微信", "The account is bound to another WeChat account; the office must unbind it first."),
    ProblemType("urn:problem:account-disabled", 409, "账号已停用", "A disabled account gets no binding code."),
    ProblemType("urn:problem:username-taken", 409, "用户名已被使用", "Another account has this username."),
    # Offices and units.
    ProblemType("urn:problem:city-office-only", 403, "仅市督查办可操作", "Only the city office manages this (accounts, sectors, units)."),
    ProblemType("urn:problem:already-exists", 409, "记录已存在", "A unique field (code, name) is already used by another record; `errors` names it."),
    ProblemType("urn:problem:unit-name-taken", 409, "同名窗口单位已存在", "A unit with this name already exists in the region."),
    ProblemType("urn:problem:import-too-large", 413, "导入表格过大", "The spreadsheet has too many rows or columns; import in batches."),
    ProblemType("urn:problem:xlsx-dtd", 422, "表格含不安全内容", "The .xlsx holds a DTD (entity declarations), refused for safety."),
    # Checklists.
    ProblemType("urn:problem:checklist-code-taken", 409, "检查表编码已存在", "Another checklist uses this code."),
    ProblemType("urn:problem:checklist-was-published", 409, "检查表已发布过", "A checklist that was ever published cannot be deleted; retire its version."),
    ProblemType("urn:problem:draft-exists", 409, "已有草稿版本", "The checklist already has a draft: edit or publish it instead of starting another."),
    ProblemType("urn:problem:version-frozen", 409, "已发布版本不可修改", "Published and retired versions never change; start a new draft."),
    ProblemType("urn:problem:last-version", 409, "唯一版本不能删除", "The only version of a checklist cannot be deleted; delete the checklist."),
    ProblemType("urn:problem:version-not-published", 409, "版本未发布", "Only a published version can be retired."),
    ProblemType("urn:problem:no-published-checklist", 409, "没有已发布的检查表", "No checklist is published for this unit's sector yet."),
    # Plans and visits.
    ProblemType("urn:problem:plan-drawn", 409, "计划已抽取", "The plan was drawn: its rules and dates are fixed."),
    ProblemType("urn:problem:plan-published", 409, "计划已公开", "A published plan cannot be drawn again."),
    ProblemType("urn:problem:inspections-started", 409, "已有检查开始", "An inspection of this plan has started: it cannot be drawn again."),
    ProblemType("urn:problem:plan-not-drawn", 409, "计划尚未抽取", "Nothing to publish: draw the plan first."),
    ProblemType("urn:problem:plan-period-open", 409, "计划期未结束", "A plan's draw is published only after its period ends."),
    # Inspections and findings.
    ProblemType("urn:problem:reassign-plan-published", 409, "计划已公开，不能改派", "The plan's draw is public: its visits can no longer be moved or reassigned."),
    ProblemType("urn:problem:reassign-visit-started", 409, "检查已开始，不能改派", "Someone checked in for this visit: it can no longer be moved or reassigned."),
    ProblemType("urn:problem:outside-visit-window", 409, "不在检查时间窗口内", "Check-in is outside the visit's time window."),
    ProblemType("urn:problem:own-unit-recusal", 409, "须回避本人单位", "An inspector may not inspect the unit they work in."),
    ProblemType("urn:problem:unit-inactive", 409, "窗口单位已停用", "The visit's unit was deactivated after the draw: nobody checks in there."),
    ProblemType("urn:problem:teammate-started", 409, "同组人员已开始检查", "A teammate already started this visit: continue in their inspection."),
    ProblemType("urn:problem:inspection-submitted", 409, "检查已提交", "The inspection was submitted: answers and photos can no longer change."),
    ProblemType("urn:problem:submission-differs", 409, "重复提交内容不一致", "This client_uuid was already submitted with other content; a replay must send the same body."),
    ProblemType("urn:problem:inspection-not-submitted", 409, "检查尚未提交", "The inspection is still a draft: it can be neither published nor reported on."),
    ProblemType("urn:problem:findings-unreviewed", 409, "有问题未审核", "Confirm or dismiss every finding before publishing; `errors.findings` lists them."),
    ProblemType("urn:problem:missing-photos", 409, "必拍照片未齐", "Required photos have not arrived; publish with `missing_photos_reason` or wait. `missing_photos` lists them."),
    ProblemType("urn:problem:inspection-published", 409, "检查结果已公开", "The result is published: findings and photos can no longer change."),
    ProblemType("urn:problem:finding-not-confirmed", 409, "问题尚未确认", "Only a confirmed finding can be marked as a typical problem of the circular (通报)."),
    # Photos.
    ProblemType("urn:problem:upload-closed", 409, "上传已关闭", "The photo is already confirmed or its upload expired."),
    ProblemType("urn:problem:upload-expired", 409, "上传已过期", "The direct upload expired: request a new one."),
    ProblemType("urn:problem:upload-missing", 409, "存储中尚无该照片", "Confirm came before the file reached storage: upload, then confirm."),
    ProblemType("urn:problem:upload-id-in-direct-use", 409, "上传编号已用于直传", "This client id belongs to a direct upload: confirm it, or use a new id."),
    ProblemType("urn:problem:client-id-reused", 409, "客户端编号已用于其他对象", "This client id was used for another object: generate a new one."),
    ProblemType("urn:problem:object-exists", 409, "原图已存在", "Storage already holds an object under this key; originals are written once."),
    ProblemType("urn:problem:upload-size-mismatch", 422, "文件大小不符", "The stored file's size differs from the size announced."),
    ProblemType("urn:problem:image-bomb", 413, "图片像素过多", "Too many pixels (a decompression bomb): refused before decoding."),
    ProblemType("urn:problem:image-truncated", 422, "图片数据不完整", "The image ends early; upload the original again."),
    ProblemType("urn:problem:image-too-large", 413, "图片过大", "Decoding the image would take more memory than allowed."),
    ProblemType("urn:problem:decoder-busy", 503, "图片处理繁忙", "Every decoder is busy; retry after Retry-After seconds."),
    # Rectification.
    ProblemType("urn:problem:export-not-ready", 409, "导出尚未完成", "The export job is still queued or running: poll it, then download."),
    ProblemType("urn:problem:export-expired", 404, "导出文件已过期", "The export's file was deleted after its retention time (or never kept): export again."),
    ProblemType("urn:problem:illegal-transition", 409, "任务状态不允许该操作", "The task's state does not allow this action; `state` says the current one."),
    ProblemType("urn:problem:task-not-overdue", 409, "任务未逾期", "Only an overdue task can be escalated (督办)."),
    ProblemType("urn:problem:no-pending-extension", 409, "没有待审批的延期申请", "The task has no extension request waiting for a decision."),
    ProblemType("urn:problem:extension-pending", 409, "已有延期申请待审批", "An extension request is already waiting; do not ask twice."),
    ProblemType("urn:problem:extension-decided", 409, "延期申请已处理", "The extension request was already approved or refused."),
    ProblemType("urn:problem:reply-not-opened", 409, "整改回复尚未查看", "Accepting several replies at once (the console's task list) takes only replies the same person has opened."),
    ProblemType("urn:problem:task-not-awaiting-reply", 409, "任务无需整改回复", "The task does not expect a reply now: no rectification photos."),
    # Races and dependencies.
    ProblemType("urn:problem:concurrent-change", 409, "记录刚被他人修改", "Someone else changed the record a moment ago: read it again, then retry."),
    ProblemType("urn:problem:integrity-conflict", 409, "与已有记录冲突", "A concurrent request wrote a conflicting row; read again, then retry."),
    ProblemType("urn:problem:database-unavailable", 503, "数据库暂不可用", "The database cannot answer; retry after Retry-After seconds."),
    ProblemType("urn:problem:unhealthy", 503, "服务暂不可用", "Health check: a component is down; `checks` says which."),
]  # fmt: skip

REGISTRY: dict[str, ProblemType] = {p.urn: p for p in _TYPES}

# The type of an error raised without one: its status's generic row.
GENERIC: dict[int, str] = {
    400: "urn:problem:malformed-request",
    401: "urn:problem:unauthenticated",
    403: "urn:problem:forbidden",
    404: "urn:problem:not-found",
    405: "urn:problem:method-not-allowed",
    409: "urn:problem:conflict",
    412: "urn:problem:stale-version",
    413: "urn:problem:payload-too-large",
    415: "urn:problem:unsupported-media-type",
    422: "urn:problem:invalid-input",
    428: "urn:problem:if-match-required",
    429: "urn:problem:too-many-requests",
    500: "urn:problem:internal-error",
    502: "urn:problem:upstream-error",
    503: "urn:problem:unavailable",
}


def type_for(status: int, urn: str | None) -> str:
    """The `type` of an answer: the URN given, else the status's generic one."""
    return urn or GENERIC.get(status, "about:blank")


def of_status(status: int) -> list[ProblemType]:
    return [p for p in _TYPES if p.status == status]


def markdown_table() -> str:
    """The table docs/errors.md holds (a test compares the two)."""
    lines = ["| type | HTTP | 标题 | meaning |", "| --- | --- | --- | --- |"]
    for p in sorted(_TYPES, key=lambda p: (p.status, p.urn)):
        lines.append(f"| `{p.urn}` | {p.status} | {p.title} | {p.description} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m api.problems: the table for docs/errors.md
    print(markdown_table())
