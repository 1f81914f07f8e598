"""Checklist templates and versions: authoring drafts, publishing, choosing the version a
unit is inspected with. Services flush, never commit."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm.exc import StaleDataError

from accounts.models import User
from checklists import content as fmt
from checklists import policy
from checklists.models import ChecklistTemplate, ChecklistVersion, VersionStatus, template_sector
from core import audit, errors
from core.clock import utcnow
from core.db import db
from org.models import Sector, Unit

DEFAULT_TEMPLATE_CODE = "window_service"
EXPORT_FORMAT = "window-inspection/checklist"
EXPORT_FORMAT_VERSION = 1

PUBLISHED_IS_FROZEN = "已发布的版本不可修改，请基于它新建草稿版本后再修改"


# -- reading ------------------------------------------------------------------------------


def get_template(template_id: int) -> ChecklistTemplate:
    template = db.session.get(ChecklistTemplate, template_id)
    if template is None:
        raise errors.NotFound("未找到该检查表")
    return template


def list_templates(*, sector_id: int | None = None, q: str | None = None) -> Select:
    stmt = select(ChecklistTemplate).order_by(ChecklistTemplate.id)
    if sector_id is not None:
        specific = select(template_sector.c.template_id).where(
            template_sector.c.sector_id == sector_id
        )
        stmt = stmt.where(
            ChecklistTemplate.all_sectors.is_(True) | ChecklistTemplate.id.in_(specific)
        )
    if q:
        stmt = stmt.where(ChecklistTemplate.name.like(f"%{q}%"))
    return stmt


def get_version(version_id: int, *, actor: User | None = None) -> ChecklistVersion:
    """The version by id; with an `actor`, only one they may see (drafts are the office's)."""
    version = db.session.get(ChecklistVersion, version_id)
    if version is None or (actor is not None and not policy.can_view_version(actor, version)):
        raise errors.NotFound("未找到该检查表版本")
    return version


def version_tag(version_id: int, *, actor: User) -> str:
    """`<id>.<content hash>` of a version the actor may see, without loading its content:
    enough to answer a revalidation with 304."""
    row = db.session.execute(
        select(ChecklistVersion.id, ChecklistVersion.status, ChecklistVersion.content_hash).where(
            ChecklistVersion.id == version_id
        )
    ).one_or_none()
    if row is None or (row.status == VersionStatus.draft and actor.role not in policy.AUTHORS):
        raise errors.NotFound("未找到该检查表版本")
    return f"{row.id}.{row.content_hash}"


def list_versions(template: ChecklistTemplate) -> list[ChecklistVersion]:
    stmt = (
        select(ChecklistVersion)
        .where(ChecklistVersion.template_id == template.id)
        .order_by(ChecklistVersion.number.desc())
    )
    return list(db.session.scalars(stmt))


def published_version_of(template: ChecklistTemplate) -> ChecklistVersion | None:
    stmt = select(ChecklistVersion).where(
        ChecklistVersion.template_id == template.id,
        ChecklistVersion.status == VersionStatus.published,
    )
    return db.session.scalar(stmt)


def published_version_for_unit(unit: Unit) -> ChecklistVersion:
    """The published version a unit is inspected with: a template naming the unit's sector
    wins over one for all sectors; among equals the most recently published."""
    names_sector = ChecklistTemplate.id.in_(
        select(template_sector.c.template_id).where(template_sector.c.sector_id == unit.sector_id)
    )
    stmt = (
        select(ChecklistVersion)
        .join(ChecklistVersion.template)
        .where(
            ChecklistVersion.status == VersionStatus.published,
            names_sector | ChecklistTemplate.all_sectors.is_(True),
        )
        .order_by(case((names_sector, 0), else_=1), ChecklistVersion.published_at.desc())
        .limit(1)
    )
    version = db.session.scalar(stmt)
    if version is None:
        raise errors.NotFound("该单位所在行业领域没有已发布的检查表")
    return version


def default_template_version() -> ChecklistVersion | None:
    """The published version of the default library (窗口服务明察暗访检查表), if loaded."""
    stmt = (
        select(ChecklistVersion)
        .join(ChecklistVersion.template)
        .where(
            ChecklistTemplate.code == DEFAULT_TEMPLATE_CODE,
            ChecklistVersion.status == VersionStatus.published,
        )
    )
    return db.session.scalar(stmt)


# -- templates ----------------------------------------------------------------------------


def _sectors(ids: list[int] | None = None, codes: list[str] | None = None) -> list[Sector]:
    if ids:
        found = list(db.session.scalars(select(Sector).where(Sector.id.in_(ids))))
        unknown = sorted(set(ids) - {s.id for s in found})
        if unknown:
            raise errors.InvalidInput(errors={"sector_ids": [f"行业领域不存在：{unknown}"]})
        return found
    if codes:
        found = list(db.session.scalars(select(Sector).where(Sector.code.in_(codes))))
        known = {s.code for s in found}
        problems = {
            f"sectors[{i}]": ["行业领域不存在"] for i, code in enumerate(codes) if code not in known
        }
        if problems:
            raise errors.InvalidInput(errors=problems)
        return found
    return []


def _check_code_free(code: str) -> None:
    if db.session.scalar(select(ChecklistTemplate.id).where(ChecklistTemplate.code == code)):
        raise errors.Conflict(f"编码 {code} 已被其他检查表使用", errors={"code": ["已存在"]})


def create_template(
    data: dict[str, Any], *, actor: User | None, content: dict[str, Any] | None = None
) -> ChecklistTemplate:
    """A template and its first draft (version 1), empty unless `content` is given."""
    _check_code_free(data["code"])
    template = ChecklistTemplate(
        code=data["code"],
        name=data["name"],
        description=data.get("description", ""),
        all_sectors=data.get("all_sectors", False),
        sectors=_sectors(data.get("sector_ids"), data.get("sector_codes")),
    )
    db.session.add(template)
    db.session.flush()
    start = content or {"name": template.name, "description": template.description}
    _new_version(template, 1, _valid(start), actor)
    audit.record(
        "checklist_template",
        template.id,
        "create",
        actor_id=_id(actor),
        after={"code": template.code},
    )
    return template


def update_template(
    template: ChecklistTemplate, data: dict[str, Any], *, actor: User
) -> ChecklistTemplate:
    before = {
        "name": template.name,
        "all_sectors": template.all_sectors,
        "sectors": template.sector_codes,
    }
    for key in ("name", "description", "all_sectors"):
        if key in data:
            setattr(template, key, data[key])
    if "sector_ids" in data:
        template.sectors = _sectors(data["sector_ids"])
    template.updated_at = utcnow()
    _flush()
    audit.record(
        "checklist_template",
        template.id,
        "update",
        actor_id=actor.id,
        before=before,
        after={
            "name": template.name,
            "all_sectors": template.all_sectors,
            "sectors": template.sector_codes,
        },
    )
    return template


def delete_template(template: ChecklistTemplate, *, actor: User) -> None:
    """Only a template that was never published may go: a published version may be pinned
    by inspections, and is retired instead."""
    if any(not version.is_draft for version in list_versions(template)):
        raise errors.Conflict("检查表已发布过，不能删除；请停用其已发布版本")
    audit.record(
        "checklist_template",
        template.id,
        "delete",
        actor_id=actor.id,
        before={"code": template.code, "name": template.name},
    )
    db.session.delete(template)
    _flush()


# -- versions -----------------------------------------------------------------------------


def _id(actor: User | None) -> int | None:
    return actor.id if actor is not None else None


def _valid(content: Any, *, for_publish: bool = False) -> dict[str, Any]:
    normal, problems = fmt.normalise(content, for_publish=for_publish)
    if problems:
        raise errors.InvalidInput("检查表内容有误", errors=problems)
    return normal


def _new_version(template, number, content, actor) -> ChecklistVersion:
    version = ChecklistVersion(
        template=template,
        number=number,
        status=VersionStatus.draft,
        content=content,
        content_hash=fmt.content_hash(content),
        created_by_id=_id(actor),
    )
    db.session.add(version)
    db.session.flush()
    return version


def create_draft(
    template: ChecklistTemplate,
    *,
    actor: User | None,
    from_version: ChecklistVersion | None = None,
    content: dict[str, Any] | None = None,
) -> ChecklistVersion:
    """A new draft: a copy of `from_version` (default: the latest version) or `content`."""
    drafts = [v for v in list_versions(template) if v.is_draft]
    if drafts:
        raise errors.Conflict(f"该检查表已有草稿版本（第 {drafts[0].number} 版），请先修改或发布它")
    if from_version is not None and from_version.template_id != template.id:
        raise errors.InvalidInput(errors={"from_version_id": ["不是该检查表的版本"]})
    if content is not None:
        start = _valid(content)
    else:
        source = from_version or (list_versions(template) or [None])[0]
        start = copy.deepcopy(source.content) if source else _valid({"name": template.name})
    number = (
        db.session.scalar(
            select(func.max(ChecklistVersion.number)).where(
                ChecklistVersion.template_id == template.id
            )
        )
        or 0
    ) + 1
    version = _new_version(template, number, start, actor)
    audit.record(
        "checklist_version", version.id, "create", actor_id=_id(actor), after={"number": number}
    )
    return version


def require_draft(version: ChecklistVersion) -> None:
    """Published and retired versions never change: 409, pointing at a new draft."""
    if not version.is_draft:
        raise errors.Conflict(PUBLISHED_IS_FROZEN)


_require_draft = require_draft


def _flush() -> None:
    """Flush; a row changed by a concurrent request since we read it is a stale write."""
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise errors.PreconditionFailed() from exc


def replace_content(
    version: ChecklistVersion, content: dict[str, Any], *, actor: User
) -> ChecklistVersion:
    _require_draft(version)
    return _store(version, _valid(content), actor, "edit")


def _store(version, content, actor, action, detail=None) -> ChecklistVersion:
    version.content = content
    version.content_hash = fmt.content_hash(content)
    db.session.flush()
    audit.record("checklist_version", version.id, action, actor_id=_id(actor), after=detail or None)
    return version


def _edit(version: ChecklistVersion, actor: User, action: str, change) -> ChecklistVersion:
    """Apply `change(content)` to a copy of a draft's content, validate, store."""
    _require_draft(version)
    content = copy.deepcopy(version.content)
    detail = change(content)
    return _store(version, _valid(content), actor, action, detail)


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
            s_index, i_index = _section_index(content, data["section"]), None
        _insert(content["sections"][s_index]["items"], item, data.get("position", i_index))
        return {"item": code, "fields": sorted(data)}

    return _edit(version, actor, "update_item", change)


def delete_item(version, code: str, *, actor: User) -> ChecklistVersion:
    def change(content):
        s_index, i_index = _item_place(content, code)
        content["sections"][s_index]["items"].pop(i_index)
        return {"item": code}

    return _edit(version, actor, "delete_item", change)


def discard_draft(version: ChecklistVersion, *, actor: User) -> None:
    """Throw a draft away (a template keeps at least one version)."""
    require_draft(version)
    if len(list_versions(version.template)) == 1:
        raise errors.Conflict("这是该检查表唯一的版本，不能删除；可删除整个检查表")
    audit.record(
        "checklist_version",
        version.id,
        "discard",
        actor_id=actor.id,
        before={"number": version.number},
    )
    db.session.delete(version)
    _flush()


def publish(version: ChecklistVersion, *, actor: User | None) -> ChecklistVersion:
    """Validate the whole version, freeze its hash, make it the template's published one
    (the previous published version retires: old inspections keep rendering with it)."""
    _require_draft(version)
    content = _valid(version.content, for_publish=True)
    now = utcnow()
    previous = published_version_of(version.template)
    if previous is not None:
        previous.status = VersionStatus.retired
        previous.retired_at = now
        _flush()
        audit.record("checklist_version", previous.id, "retire", actor_id=_id(actor))
    version.content = content
    version.content_hash = fmt.content_hash(content)
    version.status = VersionStatus.published
    version.published_at = now
    version.published_by_id = _id(actor)
    _flush()
    audit.record(
        "checklist_version",
        version.id,
        "publish",
        actor_id=_id(actor),
        after={"content_hash": version.content_hash},
    )
    return version


def retire(version: ChecklistVersion, *, actor: User) -> ChecklistVersion:
    if version.status != VersionStatus.published:
        raise errors.Conflict("只有已发布的版本可以停用")
    version.status = VersionStatus.retired
    version.retired_at = utcnow()
    _flush()
    audit.record("checklist_version", version.id, "retire", actor_id=actor.id)
    return version


# -- export and import --------------------------------------------------------------------


def export_document(version: ChecklistVersion) -> dict[str, Any]:
    """A self-contained JSON document; `import_document` gives back the same content."""
    template = version.template
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "code": template.code,
        "all_sectors": template.all_sectors,
        "sectors": template.sector_codes,
        "number": version.number,
        "status": version.status.value,
        "content_hash": version.content_hash,
        "content": version.content,
    }


IMPORT_FIELDS = {
    "format",
    "format_version",
    "code",
    "all_sectors",
    "sectors",
    "content",
    "number",
    "status",
    "content_hash",
}


def read_document(document: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(template fields, normalised content) from an exported document, or InvalidInput
    naming every problem by path."""
    if not isinstance(document, dict):
        raise errors.InvalidInput(errors={"": ["应为 JSON 对象"]})
    problems: fmt.Errors = {}
    for key in document:
        if key not in IMPORT_FIELDS:
            problems.setdefault(key, []).append("未知字段")
    if document.get("format") != EXPORT_FORMAT:
        problems.setdefault("format", []).append(f"应为 {EXPORT_FORMAT}")
    if document.get("format_version") != EXPORT_FORMAT_VERSION:
        problems.setdefault("format_version", []).append(f"应为 {EXPORT_FORMAT_VERSION}")
    code = document.get("code")
    if not isinstance(code, str) or not fmt.CODE_RE.match(code):
        problems.setdefault("code", []).append("编码应为 1–40 位小写字母、数字或 _ . -")
    all_sectors = document.get("all_sectors", False)
    if not isinstance(all_sectors, bool):
        problems.setdefault("all_sectors", []).append("应为布尔值 true/false")
    sectors = document.get("sectors", [])
    if not isinstance(sectors, list) or not all(isinstance(s, str) for s in sectors):
        problems.setdefault("sectors", []).append("应为行业领域编码数组")
        sectors = []
    content, content_problems = fmt.normalise(document.get("content"))
    problems.update({f"content.{path}": msgs for path, msgs in content_problems.items()})
    if problems:
        raise errors.InvalidInput("导入的检查表有误", errors=problems)
    fields = {
        "code": code,
        "name": content["name"],
        "description": content["description"],
        "all_sectors": all_sectors,
        "sector_codes": sectors,
    }
    return fields, content


def import_document(document: Any, *, actor: User | None) -> ChecklistTemplate:
    """A new template whose first draft holds the document's content."""
    fields, content = read_document(document)
    return create_template(fields, actor=actor, content=content)
