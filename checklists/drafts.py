"""Editing a draft: whole content, or one section or item at a time.

Every edit applies to a copy of the draft's content, validates the whole result (so errors
name the path, `sections[2].items[5].points`) and stores it with a new content hash.
Published and retired versions refuse every edit (409).
"""

from __future__ import annotations

import copy
from typing import Any

from accounts.models import User
from checklists import content as fmt
from checklists import policy, service
from checklists.models import ChecklistVersion
from core import audit, errors


def replace_content(
    version: ChecklistVersion, content: dict[str, Any], *, actor: User
) -> ChecklistVersion:
    service.require_draft(version)
    return _store(version, service.validated(content), actor, "edit")


def _store(version, content, actor, action, detail=None) -> ChecklistVersion:
    """Store an edited draft, audited; an edit that changes nothing (a resend, a form saved
    as it was) stores nothing and leaves no event: the draft's revision stays."""
    policy.check_author(actor)  # every draft edit passes here
    if content == version.content:
        return version
    version.content = content
    version.content_hash = fmt.content_hash(content)
    service.flush()
    audit.record(
        "checklist_version",
        version.id,
        action,
        actor_id=service.actor_id(actor),
        after=detail or None,
    )
    return version


def _edit(version: ChecklistVersion, actor: User, action: str, change) -> ChecklistVersion:
    """Apply `change(content)` to a copy of a draft's content, validate, store."""
    service.require_draft(version)
    content = copy.deepcopy(version.content)
    detail = change(content)
    return _store(version, service.validated(content), actor, action, detail)


def _section_index(content: dict[str, Any], code: str) -> int:
    for index, section in enumerate(content["sections"]):
        if section["code"] == code:
            return index
    raise errors.NotFound("未找到该分区")


def _item_place(content: dict[str, Any], code: str) -> tuple[int, int]:
    for s_index, section in enumerate(content["sections"]):
        for i_index, item in enumerate(section["items"]):
            if item["code"] == code:
                return s_index, i_index
    raise errors.NotFound("未找到该检查项")


def _insert(seq: list, value: Any, position: int | None) -> int:
    position = len(seq) if position is None else max(0, min(position, len(seq)))
    seq.insert(position, value)
    return position


def add_section(version, data: dict[str, Any], *, actor: User) -> ChecklistVersion:
    def change(content):
        section = {k: v for k, v in data.items() if k != "position"}
        section.setdefault("items", [])
        _insert(content["sections"], section, data.get("position"))
        return {"section": section.get("code")}

    return _edit(version, actor, "add_section", change)


def update_section(version, code: str, data: dict[str, Any], *, actor: User) -> ChecklistVersion:
    def change(content):
        index = _section_index(content, code)
        section = content["sections"].pop(index)
        section.update({k: v for k, v in data.items() if k != "position"})
        _insert(content["sections"], section, data.get("position", index))
        return {"section": code, "fields": sorted(data)}

    return _edit(version, actor, "update_section", change)


def delete_section(version, code: str, *, actor: User) -> ChecklistVersion:
    def change(content):
        content["sections"].pop(_section_index(content, code))
        return {"section": code}

    return _edit(version, actor, "delete_section", change)


def add_item(version, section_code: str, data: dict[str, Any], *, actor: User):
    def change(content):
        items = content["sections"][_section_index(content, section_code)]["items"]
        _insert(items, {k: v for k, v in data.items() if k != "position"}, data.get("position"))
        return {"item": data.get("code")}

    return _edit(version, actor, "add_item", change)


def update_item(version, code: str, data: dict[str, Any], *, actor: User) -> ChecklistVersion:
    """Merge `data` into the item; `section` moves it, `position` orders it. Changing the
    kind drops the old kind's own fields."""

    def change(content):
        s_index, i_index = _item_place(content, code)
        item = content["sections"][s_index]["items"].pop(i_index)
        fields = {k: v for k, v in data.items() if k not in ("position", "section")}
        if "kind" in fields and fields["kind"] != item["kind"]:
            item = {k: v for k, v in item.items() if k in fmt.COMMON_ITEM_FIELDS}
        item.update(fields)
        if "section" in data:
            codes = [section["code"] for section in content["sections"]]
            if data["section"] not in codes:
                raise errors.InvalidInput(errors={"section": ["没有这个分区"]})
            s_index, i_index = codes.index(data["section"]), None
        _insert(content["sections"][s_index]["items"], item, data.get("position", i_index))
        return {"item": code, "fields": sorted(data)}

    return _edit(version, actor, "update_item", change)


def delete_item(version, code: str, *, actor: User) -> ChecklistVersion:
    def change(content):
        s_index, i_index = _item_place(content, code)
        content["sections"][s_index]["items"].pop(i_index)
        return {"item": code}

    return _edit(version, actor, "delete_item", change)
