"""Schema building blocks every resource uses.

- unknown fields are refused (marshmallow's RAISE, stated here so nobody loosens it);
- integers are strict: `5e-324` or `"3"` is not an integer (FACTS.md);
- one pagination envelope for every list.
"""

from __future__ import annotations

import functools

import marshmallow as ma
from marshmallow import fields, validate
from werkzeug.routing import IntegerConverter

# Database integer columns are 32-bit: a larger number is a 422 here, not an overflow there.
INT_MAX = 2**31 - 1
_int_range = validate.Range(min=-INT_MAX - 1, max=INT_MAX)
_id_range = validate.Range(min=1, max=INT_MAX)


class IdConverter(IntegerConverter):
    """Every route's `<int:…>`: a number beyond the id columns does not match, so it is a
    404 like any missing id, never an overflow in the database."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", INT_MAX)
        super().__init__(url_map, *args, **kwargs)


Int = functools.partial(fields.Integer, strict=True, validate=_int_range)
Id = functools.partial(fields.Integer, strict=True, validate=_id_range)
# Query strings and form fields are text: "2" is how an integer arrives there ("2.5" and
# "5e-324" still fail), so those locations use the non-strict kind.
QueryInt = functools.partial(fields.Integer, validate=_int_range)
QueryId = functools.partial(fields.Integer, validate=_id_range)


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


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error is sent."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String(metadata={"example": "数据校验未通过"})
    status = Int(metadata={"example": 422})
    detail = fields.String()
    errors = fields.Dict(metadata={"description": "per-field messages, by location"})


class PageArgs(Schema):
    page = QueryInt(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = QueryInt(load_default=20, validate=validate.Range(min=1, max=100))


@functools.cache
def page_of(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The envelope `{items, page, per_page, total, pages}` around `item_schema`."""
    return type(
        f"{item_schema.__name__.removesuffix('Schema')}PageSchema",
        (Schema,),
        {
            "items": fields.List(fields.Nested(item_schema)),
            "page": Int(),
            "per_page": Int(),
            "total": Int(),
            "pages": Int(),
        },
    )


def partial_of(schema: type[Schema]) -> type[Schema]:
    """The same fields, all optional: the body of a PATCH. Named `<X>UpdateSchema`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        schema.__init__(self, *args, **kwargs)

    name = schema.__name__.removesuffix("Schema") + "UpdateSchema"
    return type(name, (schema,), {"__init__": __init__})
