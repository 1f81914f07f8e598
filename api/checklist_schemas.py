"""Request and response bodies of the checklist API (api/checklists.py)."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas import Id, Int, PageArgs, Pattern, Schema, Text, enum_doc, enum_field
from checklists import content as fmt
from checklists.models import STATUS_LABELS

CODE = Pattern(fmt.CODE_RE.pattern)


class TemplateSchema(Schema):
    id = Id(dump_only=True)
    code = fields.String(required=True, validate=CODE)
    name = Text(required=True, max_length=100)
    description = Text(min_length=0, max_length=2000)
    all_sectors = fields.Boolean(metadata={"description": "适用于所有行业领域"})
    sector_ids = fields.List(Id(), metadata={"description": "适用的行业领域"})
    sector_codes = fields.List(fields.String(), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    revision = Int(dump_only=True)


class TemplateUpdateSchema(Schema):
    name = Text(max_length=100)
    description = Text(min_length=0, max_length=2000)
    all_sectors = fields.Boolean()
    sector_ids = fields.List(Id())


class TemplateFilter(PageArgs):
    sector_id = Id()
    q = fields.String(validate=validate.Length(max=50))


class VersionSummarySchema(Schema):
    id = Id(dump_only=True)
    template_id = Id(dump_only=True)
    number = Int(dump_only=True)
    status = enum_field(list(STATUS_LABELS), STATUS_LABELS, dump_only=True)
    status_label = fields.Function(
        lambda v: STATUS_LABELS[v.status], dump_only=True, metadata={"type": "string"}
    )
    name = fields.Function(lambda v: v.content.get("name"), dump_only=True)
    item_count = Int(dump_only=True)
    content_hash = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)
    retired_at = fields.DateTime(dump_only=True, allow_none=True)
    revision = Int(dump_only=True)


class VersionSchema(VersionSummarySchema):
    content = fields.Dict(dump_only=True, metadata={"description": "见 checklists/__init__.py"})


class ContentSchema(Schema):
    """A whole version's content; checked in depth by the checklist validator, whose
    errors name the path (`sections[2].items[5].points`)."""

    name = fields.Raw(required=True, metadata={"type": "string"})
    description = fields.Raw(metadata={"type": "string"})
    scoring = fields.Raw(metadata={"type": "object"})
    sections = fields.Raw(metadata={"type": "array", "items": {"type": "object"}})


class NewDraftSchema(Schema):
    from_version_id = Id(metadata={"description": "复制哪个版本；默认最新版本"})
    content = fields.Nested(ContentSchema, metadata={"description": "或直接给出内容"})


class SectionSchema(Schema):
    code = fields.Raw(metadata={"type": "string"})
    title = fields.Raw(metadata={"type": "string"})
    description = fields.Raw(metadata={"type": "string"})
    # null clears the cap (the section then has no 最多扣分); the validator checks numbers.
    cap = fields.Raw(allow_none=True, metadata={"type": "number", "nullable": True})
    items = fields.Raw(metadata={"type": "array", "items": {"type": "object"}})
    position = Int(validate=validate.Range(min=0), metadata={"description": "插入位置，从 0 起"})


_ITEM_TYPES = {
    "code": "string",
    "kind": "string",
    "title": "string",
    "guidance": "string",
    "source": "string",
    "points": "number",
    "photo": "string",
    "severity": "string",
    "deadline_days": "integer",
    "fix_on_spot": "boolean",
    "critical": "boolean",
    "required": "boolean",
    "allow_na": "boolean",
    "max": "number",
    "pass_score": "number",
    "unit": "string",
    "min": "number",
    "integer": "boolean",
    "pass_min": "number",
    "pass_max": "number",
    "total_label": "string",
    "pass_ratio": "number",
    "max_length": "integer",
}
# A choice item's options. An array needs its `items` for a client generator to read it
# (openapi-python-client drops a schema whose array has none).
OPTIONS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["value", "label"],
        "properties": {
            "value": {"type": "string"},
            "label": {"type": "string"},
            "fail": {"type": "boolean"},
        },
    },
}


ItemSchema = Schema.from_dict(
    {name: fields.Raw(metadata={"type": kind}) for name, kind in _ITEM_TYPES.items()}
    | {
        # The closed sets documented as enums; the content's validation refuses the rest
        # with its own Chinese messages.
        "kind": fields.Raw(metadata=enum_doc(fmt.KINDS, fmt.KIND_LABELS)),
        "photo": fields.Raw(metadata=enum_doc(fmt.PHOTO_RULES, fmt.PHOTO_LABELS)),
        "severity": fields.Raw(metadata=enum_doc(fmt.SEVERITIES, fmt.SEVERITY_LABELS)),
        "options": fields.Raw(metadata=OPTIONS),
        "position": Int(validate=validate.Range(min=0)),
        "section": fields.String(metadata={"description": "移到另一分区（编码）"}),
    },
    name="ItemSchema",
)


# The compact form (checklists.content.compact): empty strings, nulls and false flags are
# left out, so every member but code, kind and title may be absent.
FORM_ITEM = {
    "type": "object",
    "required": ["code", "kind", "title"],
    "properties": {name: {"type": kind} for name, kind in _ITEM_TYPES.items()}
    | {
        "kind": enum_doc(fmt.KINDS, fmt.KIND_LABELS),
        "photo": enum_doc(fmt.PHOTO_RULES, fmt.PHOTO_LABELS),
        "severity": enum_doc(fmt.SEVERITIES, fmt.SEVERITY_LABELS),
        "options": OPTIONS,
    },
}
FORM_SECTION = {
    "type": "object",
    "required": ["code", "title", "items"],
    "properties": {
        "code": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "cap": {"type": "number"},
        "items": {"type": "array", "items": FORM_ITEM},
    },
}


class FormSchema(Schema):
    version_id = Id()
    template_id = Id()
    number = Int()
    content_hash = fields.String()
    name = fields.String()
    description = fields.String()
    scoring = fields.Dict()
    sections = fields.Raw(metadata={"type": "array", "items": FORM_SECTION})
    labels = fields.Dict(metadata={"description": "kind / photo / severity 的中文名"})


class ExportSchema(Schema):
    format = fields.String()
    format_version = Int()
    code = fields.String()
    all_sectors = fields.Boolean()
    sectors = fields.List(fields.String())
    number = Int()
    status = enum_field(list(STATUS_LABELS), STATUS_LABELS)
    content_hash = fields.String()
    content = fields.Dict()


class ExportArgs(Schema):
    format = enum_field(["json", "yaml"], load_default="json", description="json（默认）或 yaml")


class ChecklistFileSchema(Schema):
    file = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": ".json、.yaml 或 .yml"},
    )
