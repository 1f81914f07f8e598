"""Every closed set in the OpenAPI document is an enum, so a generated client gets a type
for it and a mini-program developer sees every value: kinds, statuses, severities, grades,
photo rules, roles, levels, decisions, flags, owner types and periods, in bodies and in
query parameters alike (issue: the API contract, typed payloads)."""

from __future__ import annotations

import pytest

from rectification import notify
from tests.openapi_support import document, operations

# Property and parameter names that only ever hold one of a fixed set of values.
CLOSED = {
    "kind", "status", "owner_type", "severity", "grade", "photo", "role", "level",
    "decision", "channel", "flag", "result", "period",
}  # fmt: skip


@pytest.fixture
def spec(app):
    return document(app)


def _open_strings(schema: dict) -> bool:
    schema = schema.get("items", schema)
    return schema.get("type") == "string" and "enum" not in schema


def test_every_closed_property_is_an_enum(spec):
    open_ = [
        f"{name}.{prop}"
        for name, schema in spec["components"]["schemas"].items()
        for prop, described in (schema.get("properties") or {}).items()
        if prop in CLOSED and _open_strings(described)
    ]
    assert open_ == []


def test_every_closed_query_parameter_is_an_enum(spec):
    open_ = [
        f"{method.upper()} {path} ?{parameter['name']}"
        for path, method, operation in operations(spec)
        for parameter in operation.get("parameters", [])
        if isinstance(parameter, dict)
        and parameter.get("name") in CLOSED
        and _open_strings(parameter.get("schema", {}))
    ]
    assert open_ == []


def test_the_named_sets_have_their_values(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["Photo"]["properties"]["owner_type"]["enum"] == [
        "inspection",
        "rectification_task",
    ]
    assert schemas["InboxMessage"]["properties"]["kind"]["enum"] == list(notify.MESSAGE_KINDS)
    assert "plan" in schemas["Period"]["properties"]["kind"]["enum"]
    assert "pass_fail" in schemas["Item"]["properties"]["kind"]["enum"]
    assert schemas["VersionSummary"]["properties"]["status"]["enum"] == [
        "draft",
        "published",
        "retired",
    ]


def test_a_message_kind_outside_the_documented_set_is_a_programming_error(world):
    from tests.rectification_support import open_task

    task = open_task(world.unit_a)
    with pytest.raises(ValueError, match="MESSAGE_KINDS"):
        notify._message(task, "surprise", "", "标题", "正文", "状态", "备注")


def test_enum_fields_name_each_value_in_chinese(spec):
    """api.schemas.enum_field lists each value with its label from the map beside the enum."""
    from inspections.models import INSPECTION_STATUS_LABELS

    status = spec["components"]["schemas"]["Inspection"]["properties"]["status"]
    assert status["description"] == "；".join(
        f"{k.value} {v}" for k, v in INSPECTION_STATUS_LABELS.items()
    )
    period = spec["components"]["schemas"]["Period"]["properties"]["kind"]
    assert "plan 按计划" in period["description"]
