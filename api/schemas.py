"""Schema building blocks every resource uses.

- unknown fields are refused (marshmallow's RAISE, stated here so nobody loosens it);
- integers are strict: `5e-324` or `"3"` is not an integer (marshmallow's own Integer takes both);
- one pagination envelope for every list;
- one way to declare a closed set (`enum_field`), its values' Chinese names documented.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC
from enum import Enum
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter

from api import problems
from core import clock, errors
from core.text import trim, visible_length

# The fields people fill in, by the names the schemas and services use, as a form labels
# them: a refusal names the field in Chinese ("理由：必填字段"), never as `reason`.
FIELD_LABELS = {
    "reason": "理由",
    "severity": "严重程度",
    "deadline_days": "整改期限",
    "description": "说明",
    "status": "状态",
    "due_on": "期限",
    "missing_photos_reason": "缺少照片的原因",
    "message": "督办意见",
    "photo_ids": "照片",
    "item_code": "检查项",
    "file": "文件",
    "name": "名称",
    "code": "编码",
    "kind": "检查方式",
    "period_start": "开始日期",
    "period_end": "结束日期",
    "checklist_template_id": "检查表",
    "pool": "检查对象范围",
    "pool.sector_ids": "行业领域",
    "pool.region_ids": "区域",
    "sector_ids": "行业领域",
    "sector_id": "行业领域",
    "region_ids": "区域",
    "region_id": "工作区域",
    "unit_id": "窗口单位",
    "parent_id": "上级区域",
    "sampling": "抽取数量",
    "inspector_ids": "检查人员",
    "team_size": "每组人数",
    "lead_time_hours": "提前通知",
    "exclusions": "回避",
    "seed": "随机种子",
    "username": "用户名",
    "password": "密码",
    "visit_id": "检查任务",
    "section": "分区",
    "rows": "行",
    "size": "大小",
    "address": "地址",
    "latitude": "纬度",
    "longitude": "经度",
    "coord_system": "坐标系",
    "lead_unit_id": "牵头单位",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "service_hours": "办公时间",
}


def field_label(name: str) -> str | None:
    """The Chinese label of a field, or None for a name no form shows."""
    return FIELD_LABELS.get(name)


# Database integer columns are 32-bit: a larger number is a 422 here, not an overflow there.
INT_MAX = 2**31 - 1
# Built before the Chinese messages below are set on the class (an instance keeps the
# messages of its creation), so they say theirs themselves.
_RANGE = "应大于等于 {min} 且小于等于 {max}"
_int_range = validate.Range(min=-INT_MAX - 1, max=INT_MAX, error=_RANGE)
_id_range = validate.Range(min=1, max=INT_MAX, error=_RANGE)


def _at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0..`limit` (no sign): every shorter
    number, then each way of staying below `limit` digit by digit, then `limit` itself."""
    digits = str(limit)
    shorter = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    below = [
        f"{digits[:i]}[0-{int(d) - 1}]"
        + (rf"\d{{{len(digits) - i - 1}}}" if i < len(digits) - 1 else "")
        for i, d in enumerate(digits)
        if d != "0"
    ]
    return "(?:" + "|".join([*shorter, *below, digits]) + ")"


class IdConverter(IntegerConverter):
    """Every route's `<int:…>`: a number beyond the id columns does not match, so it is a
    404 like any missing id, never an overflow in the database. The limit is in the
    pattern, not only in the conversion: werkzeug answers 405 when a path matches another
    method's rule before a conversion fails (a POST beside a GET on one path)."""

    regex = _at_most(INT_MAX)

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", INT_MAX)
        super().__init__(url_map, *args, **kwargs)


# JSON bodies: deeper nesting than any of our documents has is refused before it reaches
# a schema (deep enough, it would exhaust the parser's stack, and later every recursive
# walk); so is text no database column can store.
MAX_JSON_DEPTH = 32
BAD_TEXT = "含有无法保存的字符（NUL 或不成对的 Unicode 代理项）"
NOT_UTF8 = "请求体须为 UTF-8 编码的 JSON（不接受 UTF-16、GBK 等编码）"


def invalid_json_message(error: Exception) -> str:
    """What the client reads in `errors.json` for a body that is not JSON: in Chinese, with
    where the parser stopped (the decoder's own message is English and stays in the log)."""
    if isinstance(error, json.JSONDecodeError):
        return f"请求体不是合法的 JSON：第 {error.lineno} 行第 {error.colno} 列无法解析"
    return "请求体不是合法的 JSON"


def load_json_body(data: bytes) -> Any:
    """Parse a request's JSON body; raises `json.JSONDecodeError` for what is not JSON (the
    parser's own 400) and a problem naming the reason for what JSON allows but we do not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # JSON travels as UTF-8 (RFC 8259 §8.1): a UTF-16 or GBK body is not read as one.
        raise errors.MalformedInput(NOT_UTF8) from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep() from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer longer than Python converts (sys.int_info)
        raise errors.MalformedInput(
            "请求体中的数字位数过多", type="urn:problem:number-too-long"
        ) from None
    if _SUSPECT_ESCAPE.search(text):
        _check_tree(value)  # names each field holding a NUL or a lone surrogate
    elif text.count("{") + text.count("[") > MAX_JSON_DEPTH:
        _check_depth(value)
    return value


# NUL and lone surrogates can only come from \u escapes (JSON refuses them raw, and valid
# UTF-8 cannot carry a surrogate): bodies without such an escape skip the text walk.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _check_depth(value: Any) -> None:
    """Containers nested deeper than MAX_JSON_DEPTH, level by level: the common body skips
    the per-value walk of `_check_tree`, which costs a submission a tenth of a millisecond."""
    level = [value]
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return
    raise _too_deep()


def _too_deep() -> errors.MalformedInput:
    return errors.MalformedInput(
        f"请求体嵌套层数过多（最多 {MAX_JSON_DEPTH} 层）", type="urn:problem:json-too-deep"
    )


def _check_tree(value: Any) -> None:
    """Depth and text of every key and value, without recursion."""
    bad: dict[str, list[str]] = {}
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            if not _storable(node):
                bad[path or "_schema"] = [BAD_TEXT]
            continue
        if not isinstance(node, dict | list):
            continue
        if depth >= MAX_JSON_DEPTH:
            raise _too_deep()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            name = str(key)
            if not _storable(name):  # named, but in a form the answer can carry
                name = name.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")
                bad[f"{path}.{name}" if path else name] = [BAD_TEXT]
            child_path = f"{path}.{name}" if path else name
            stack.append((child, child_path, depth + 1))
    if bad:
        raise errors.InvalidInput(
            "提交的文本" + BAD_TEXT, errors={"json": bad}, type="urn:problem:invalid-characters"
        )


def _storable(text: str) -> bool:
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a "\ud800" escape in the JSON
        return False
    return True


# A number written as text (a query string, a form, a JSON string) in ASCII: Python's
# int() and float() also read full-width and Arabic-Indic digits and underscores ("１２",
# "٢٣.٥", "1_0"), which no one types as a number on purpose.
_ASCII_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")
_ASCII_NUMBER = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*")


class _AsciiWritten:
    """A number field that refuses a number written as text unless it is `written`."""

    written: re.Pattern[str]

    def _validated(self, value: Any) -> Any:
        if isinstance(value, str) and not self.written.fullmatch(value):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Integer(_AsciiWritten, fields.Integer):
    written = _ASCII_INTEGER


class Float(_AsciiWritten, fields.Float):
    written = _ASCII_NUMBER


Int = functools.partial(Integer, strict=True, validate=_int_range)
Id = functools.partial(Integer, strict=True, validate=_id_range)
# Query strings and form fields are text: "2" is how an integer arrives there ("2.5" and
# "5e-324" still fail), so those locations use the non-strict kind.
QueryInt = functools.partial(Integer, validate=_int_range)
QueryId = functools.partial(Integer, validate=_id_range)


# Dates and times from outside, in the application's years (core.clock): beyond them a
# conversion to UTC or to the city's day overflows, and a stored year 1 breaks every later
# request that reads it. Every schema takes dates and times through these two fields.
class Date(fields.Date):
    """A YYYY-MM-DD date in the application's years."""

    default_error_messages = {"out_of_range": clock.OUT_OF_RANGE_DAY}

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not clock.day_in_range(day):
            raise self.make_error("out_of_range")
        return day


class AwareDateTime(fields.AwareDateTime):
    """An ISO-8601 time with its offset, whose moment lies in the application's years
    (on the city's clock: 2099-12-31T23:59:59-14:00 is already 2100 there). Loaded as
    UTC, as it is stored: the answer to the first request and to its retry, read back from
    the row, write the same moment the same way."""

    default_error_messages = {"out_of_range": clock.OUT_OF_RANGE_TIME}

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if not clock.instant_in_range(moment):
            raise self.make_error("out_of_range")
        return moment.astimezone(UTC)


def enum_doc(values: Iterable[Any], labels: Mapping[Any, str] | None = None) -> dict[str, Any]:
    """The OpenAPI description of a closed set: its values, each with its Chinese name
    (`labels`: the `*_LABELS` map beside the enum), for schemas written as JSON Schema."""
    values = [v.value if isinstance(v, Enum) else v for v in values]
    doc: dict[str, Any] = {"type": "string", "enum": values}
    if labels:
        doc["description"] = _label_text(values, labels)
    return doc


def _label_text(values: list[Any], labels: Mapping[Any, str]) -> str:
    named = {(k.value if isinstance(k, Enum) else k): v for k, v in labels.items()}
    return "；".join(f"{v} {named[v]}" for v in values if v in named)


def enum_field(
    values: type[Enum] | Iterable[str],
    labels: Mapping[Any, str] | None = None,
    *,
    description: str = "",
    **kwargs: Any,
) -> fields.Field:
    """A field that holds one value of a closed set, the one way every schema declares
    one: an Enum class loads to its member (marshmallow's `fields.Enum`), a sequence of
    strings to the string (`OneOf`); either way the OpenAPI document lists the values as
    an enum, with `description` followed by each value's Chinese name from `labels`."""
    metadata = dict(kwargs.pop("metadata", None) or {})
    if isinstance(values, type) and issubclass(values, Enum):
        names = [member.value for member in values]
        field: type[fields.Field] = fields.Enum
        args: tuple[Any, ...] = (values,)
    else:
        names = [v.value if isinstance(v, Enum) else v for v in values]
        field, args = fields.String, ()
        kwargs["validate"] = validate.OneOf(names)
    text = description or metadata.get("description", "")
    if labels:
        listed = _label_text(names, labels)
        text = f"{text}：{listed}" if text else listed
    if text:
        metadata["description"] = text
    return field(*args, metadata=metadata, **kwargs)


class Pattern(validate.Regexp):
    """The one way a schema checks text against a pattern: the WHOLE value must match
    (`re.fullmatch`; a `$` alone also matches before a final "\\n"), and with ASCII
    classes (`\\d` and `\\w` otherwise take "４" or "٤"). Write patterns with `^…$`
    anyway: the OpenAPI document publishes them, and JSON Schema patterns search."""

    def __init__(self, regex: str, *, error: str | None = None):
        super().__init__(regex, re.ASCII, error=error)

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


class VisibleLength(validate.Length):
    """`Length` counting what a reader sees (`core.text.visible_length`) for the minimum:
    "   " or four zero-width spaces are no name and no reason. The maximum stays the
    stored length (the column's)."""

    def __call__(self, value: str) -> str:
        seen = visible_length(value)
        if self.min and seen == 0:
            raise ma.ValidationError("不能为空")
        short = self.min is not None and seen < self.min
        if short or (self.max is not None and len(value) > self.max):
            # Length's own messages: "长度应在 2 到 100 之间" when both bounds are set.
            both = self.min is not None and self.max is not None
            message = self.message_all if both else self.message_min if short else self.message_max
            raise ma.ValidationError(self._format_error(value, message))
        return value


class Text(fields.String):
    """Text a person writes (a name, title, description, reason): loaded trimmed of
    leading and trailing whitespace and invisible characters (`core.text.trim`, as the
    console and the checklist format store it), and at least `min_length` visible
    characters long. The one field for every required name or reason, and, with
    `min_length=0`, for optional prose (an address, a description), which may be empty."""

    def __init__(self, *, min_length: int = 1, max_length: int, **kwargs: Any):
        super().__init__(validate=VisibleLength(min=min_length, max=max_length), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return trim(super()._deserialize(value, attr, data, **kwargs))


class Schema(ma.Schema):
    error_messages = {
        "unknown": "未知字段",
        "type": "数据格式错误，应为对象",
    }

    class Meta:
        unknown = ma.RAISE
        ordered = True


# People read validation messages: say them in Chinese, once, for every field.
_CHINESE_MESSAGES: dict[type[fields.Field], dict[str, str]] = {
    fields.Field: {
        "required": "必填字段",
        "null": "不能为空",
        "validator_failed": "取值无效",
    },
    fields.String: {"invalid": "应为字符串", "invalid_utf8": "不是合法的 UTF-8 字符串"},
    fields.Integer: {"invalid": "应为整数", "too_large": "数值过大"},
    fields.Number: {"invalid": "应为数字", "too_large": "数值过大"},
    fields.Float: {"special": "不能为 NaN 或无穷大"},
    fields.Boolean: {"invalid": "应为布尔值 true/false"},
    fields.DateTime: {"invalid": "应为 ISO-8601 时间", "invalid_awareness": "时间需带时区"},
    fields.Date: {"invalid": "应为日期 YYYY-MM-DD"},
    fields.List: {"invalid": "应为数组"},
    fields.Dict: {"invalid": "应为对象"},
    fields.Nested: {"type": "应为对象"},
    fields.UUID: {"invalid_uuid": "应为 UUID"},
    fields.Enum: {"unknown": "取值必须是 {choices} 之一"},
}
for _field, _messages in _CHINESE_MESSAGES.items():
    _field.default_error_messages = {**_field.default_error_messages, **_messages}
validate.Length.message_min = "长度不能少于 {min}"
validate.Length.message_max = "长度不能超过 {max}"
validate.Length.message_all = "长度应在 {min} 到 {max} 之间"
validate.Length.message_equal = "长度应为 {equal}"
validate.Range.message_min = "应{min_op} {{min}}"
validate.Range.message_max = "应{max_op} {{max}}"
validate.Range.message_all = "应{min_op} {{min}} 且{max_op} {{max}}"
validate.Range.message_gte = "大于等于"
validate.Range.message_gt = "大于"
validate.Range.message_lte = "小于等于"
validate.Range.message_lt = "小于"
validate.OneOf.default_message = "取值必须是 {choices} 之一"
validate.Regexp.default_message = "格式不正确"


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, as every error is sent (`application/problem+json`).
    Branch on `type` (api/problems.py, docs/errors.md); `detail` is Chinese for people.
    Some types add members, e.g. `state`, `missing_photos`, `checks`."""

    class Meta:
        unknown = ma.INCLUDE

    type = enum_field(
        sorted(problems.REGISTRY), required=True, metadata={"example": "urn:problem:invalid-input"}
    )
    title = fields.String(required=True, metadata={"example": "数据校验未通过"})
    status = Int(required=True, metadata={"example": 422})
    detail = fields.String(
        required=True, metadata={"example": "提交的数据未通过校验，详见 errors。"}
    )
    errors = fields.Raw(
        metadata={
            "description": "校验错误：按位置（json、query、files）与字段列出的中文消息；"
            "部分冲突为编码列表（如 findings）",
            "example": {"json": {"deadline_days": ["应大于等于 0"]}},
        }
    )


class PageArgs(Schema):
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = QueryInt(load_default=20, validate=validate.Range(min=1, max=100))


@functools.cache
def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The envelope `{items, page, per_page, total, total_exact, pages}` around
    `item_schema`. The total is counted up to a bound (`api.pagination`)."""
    return type(
        f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
        (Schema,),
        {
            "items": fields.List(fields.Nested(item_schema)),
            "page": Int(),
            "per_page": Int(),
            "total": Int(
                metadata={
                    "description": "条数，最多数到 1000 条或本页末尾（取较大者）；"
                    "total_exact 为 false 时表示“至少这么多”"
                }
            ),
            "total_exact": fields.Boolean(
                metadata={"description": "total 是否为确切条数；false 时后面还有更多，可继续翻页"}
            ),
            "pages": Int(
                metadata={"description": "按 total 计算的页数（total_exact 为 false 时同为下限）"}
            ),
        },
    )


def partial_of(schema: type[Schema]) -> type[Schema]:
    """The same fields, all optional: the body of a PATCH. Named `<X>UpdateSchema`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        schema.__init__(self, *args, **kwargs)

    name = schema.__name__.removesuffix("Schema") + "UpdateSchema"
    return type(name, (schema,), {"__init__": __init__})
