"""Checklist templates and versions: authoring drafts, publishing, choosing the version a
unit is inspected with. Services flush, never commit."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.exc import IntegrityError
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

PUBLISHED_IS_FROZEN = "已发布的版本不可修改，请基于它新建草稿版本后再修改"


# -- reading ------------------------------------------------------------------------------


def get_template(template_id: int, *, actor: User) -> ChecklistTemplate:
    """The template by id, through the one rule (`checklists.policy`)."""
    return policy.visible_template(template_id, actor)


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
        # A search for text, not a pattern: "%" and "_" are the characters themselves.
        stmt = stmt.where(ChecklistTemplate.name.contains(q, autoescape=True))
    return stmt


def get_version(version_id: int, *, actor: User) -> ChecklistVersion:
    """The version by id, only one the actor may see (drafts are the office's)."""
    return policy.visible_version(version_id, actor)


def version_tag(version_id: int, *, actor: User) -> str:
    """`<id>.<content hash>` of a version the actor may see, without loading its content:
    enough to answer a revalidation with 304."""
    row = db.session.execute(
        select(ChecklistVersion.id, ChecklistVersion.status, ChecklistVersion.content_hash).where(
            ChecklistVersion.id == version_id
        )
    ).one_or_none()
    if row is None or not policy.can_view_status(actor, row.status):
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
        raise errors.Conflict(
            f"编码 {code} 已被其他检查表使用",
            errors={"code": ["已存在"]},
            type="urn:problem:checklist-code-taken",
        )


def create_template(
    data: dict[str, Any], *, actor: User | None, content: dict[str, Any] | None = None
) -> ChecklistTemplate:
    """A template and its first draft (version 1), empty unless `content` is given."""
    policy.check_author(actor)
    _check_code_free(data["code"])
    template = ChecklistTemplate(
        code=data["code"],
        name=data["name"],
        description=data.get("description", ""),
        all_sectors=data.get("all_sectors", False),
        sectors=_sectors(data.get("sector_ids"), data.get("sector_codes")),
    )
    db.session.add(template)
    flush(
        conflict=f"编码 {template.code} 已被其他检查表使用",
        conflict_type="urn:problem:checklist-code-taken",
    )
    start = content or {"name": template.name, "description": template.description}
    _new_version(template, 1, validated(start), actor)
    audit.record(
        "checklist_template",
        template.id,
        "create",
        actor_id=actor_id(actor),
        after={"code": template.code},
    )
    return template


def update_template(
    template: ChecklistTemplate, data: dict[str, Any], *, actor: User
) -> ChecklistTemplate:
    policy.check_author(actor)
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
    flush()
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
    policy.check_author(actor)
    if any(not version.is_draft for version in list_versions(template)):
        raise errors.Conflict(
            "检查表已发布过，不能删除；请停用其已发布版本",
            type="urn:problem:checklist-was-published",
        )
    audit.record(
        "checklist_template",
        template.id,
        "delete",
        actor_id=actor.id,
        before={"code": template.code, "name": template.name},
    )
    db.session.delete(template)
    flush()


# -- versions -----------------------------------------------------------------------------


def actor_id(actor: User | None) -> int | None:
    return actor.id if actor is not None else None


def validated(content: Any, *, for_publish: bool = False) -> dict[str, Any]:
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
        created_by_id=actor_id(actor),
    )
    db.session.add(version)
    flush(conflict="其他人刚刚新建了该检查表的版本，请刷新后重试")
    return version


def create_draft(
    template: ChecklistTemplate,
    *,
    actor: User | None,
    from_version: ChecklistVersion | None = None,
    content: dict[str, Any] | None = None,
) -> ChecklistVersion:
    """A new draft: a copy of `from_version` (default: the latest version) or `content`."""
    policy.check_author(actor)
    drafts = [v for v in list_versions(template) if v.is_draft]
    if drafts:
        raise errors.Conflict(
            f"该检查表已有草稿版本（第 {drafts[0].number} 版），请先修改或发布它",
            type="urn:problem:draft-exists",
        )
    if from_version is not None and from_version.template_id != template.id:
        raise errors.InvalidInput(errors={"from_version_id": ["不是该检查表的版本"]})
    if content is not None:
        start = validated(content)
    else:
        source = from_version or (list_versions(template) or [None])[0]
        start = copy.deepcopy(source.content) if source else validated({"name": template.name})
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
        "checklist_version",
        version.id,
        "create",
        actor_id=actor_id(actor),
        after={"number": number},
    )
    return version


def require_draft(version: ChecklistVersion) -> None:
    """Published and retired versions never change: 409, pointing at a new draft."""
    if not version.is_draft:
        raise errors.Conflict(PUBLISHED_IS_FROZEN, type="urn:problem:version-frozen")


def flush(
    *, conflict: str | None = None, conflict_type: str = "urn:problem:concurrent-change"
) -> None:
    """Flush, turning a lost race into an answer: a row changed by a concurrent request
    since we read it is a stale write (412); with `conflict`, a unique key another request
    just took is a 409 with that message and `conflict_type`."""
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise errors.PreconditionFailed() from exc
    except IntegrityError as exc:
        if conflict is None:
            raise
        raise errors.Conflict(conflict, type=conflict_type) from exc


def discard_draft(version: ChecklistVersion, *, actor: User) -> None:
    """Throw a draft away (a template keeps at least one version)."""
    policy.check_author(actor)
    require_draft(version)
    if len(list_versions(version.template)) == 1:
        raise errors.Conflict(
            "这是该检查表唯一的版本，不能删除；可删除整个检查表", type="urn:problem:last-version"
        )
    audit.record(
        "checklist_version",
        version.id,
        "discard",
        actor_id=actor.id,
        before={"number": version.number},
    )
    db.session.delete(version)
    flush()


def publish(version: ChecklistVersion, *, actor: User | None) -> ChecklistVersion:
    """Validate the whole version, freeze its hash, make it the template's published one
    (the previous published version retires: old inspections keep rendering with it)."""
    policy.check_author(actor)
    require_draft(version)
    content = validated(version.content, for_publish=True)
    now = utcnow()
    previous = published_version_of(version.template)
    if previous is not None:
        previous.status = VersionStatus.retired
        previous.retired_at = now
        flush()
        audit.record("checklist_version", previous.id, "retire", actor_id=actor_id(actor))
    version.content = content
    version.content_hash = fmt.content_hash(content)
    version.status = VersionStatus.published
    version.published_at = now
    version.published_by_id = actor_id(actor)
    flush()
    audit.record(
        "checklist_version",
        version.id,
        "publish",
        actor_id=actor_id(actor),
        after={"content_hash": version.content_hash},
    )
    return version


def retire(version: ChecklistVersion, *, actor: User) -> ChecklistVersion:
    policy.check_author(actor)
    if version.status != VersionStatus.published:
        raise errors.Conflict("只有已发布的版本可以停用", type="urn:problem:version-not-published")
    version.status = VersionStatus.retired
    version.retired_at = utcnow()
    flush()
    audit.record("checklist_version", version.id, "retire", actor_id=actor.id)
    return version
