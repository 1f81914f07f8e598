"""Export and import: a version as one self-contained document, in JSON or YAML.

Stored content is normalised, so export → import → export gives back the same content and
the same hash; import errors name the path inside the document
(`content.sections[2].items[5].points`).
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from accounts.models import User
from checklists import content as fmt
from checklists import service
from checklists.models import ChecklistTemplate, ChecklistVersion
from core import errors

EXPORT_FORMAT = "window-inspection/checklist"
EXPORT_FORMAT_VERSION = 1


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
        if key not in IMPORT_FIELDS:  # (YAML keys may be dates, numbers, null: named as text)
            problems.setdefault(str(key), []).append("未知字段")
    if document.get("format") != EXPORT_FORMAT:
        problems.setdefault("format", []).append(f"应为 {EXPORT_FORMAT}")
    if document.get("format_version") != EXPORT_FORMAT_VERSION:
        problems.setdefault("format_version", []).append(f"应为 {EXPORT_FORMAT_VERSION}")
    code = document.get("code")
    if not isinstance(code, str) or not fmt.CODE_RE.fullmatch(code):
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
    return service.create_template(fields, actor=actor, content=content)


# -- files: JSON or YAML -----------------------------------------------------------------

MAX_FILE_BYTES = 1024 * 1024
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed


def dump_yaml(document: dict[str, Any]) -> str:
    """YAML that people can edit (Chinese kept readable, keys in export order) and that
    `parse_file` reads back to the same document."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def parse_file(filename: str, data: bytes) -> Any:
    """The document in an uploaded .json, .yaml or .yml file, or InvalidInput."""
    if len(data) > MAX_FILE_BYTES:
        raise errors.PayloadTooLarge(f"文件不能超过 {MAX_FILE_BYTES // 1024} KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise errors.InvalidInput(errors={"file": ["文件不是 UTF-8 编码的文本"]}) from exc
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix == "json":
        try:
            return json.loads(text)
        except ValueError as exc:
            raise errors.InvalidInput(errors={"file": [f"不是合法的 JSON：{exc}"]}) from exc
    if suffix in ("yaml", "yml"):
        return _load_yaml(text)
    raise errors.InvalidInput(errors={"file": ["请上传 .json、.yaml 或 .yml 文件"]})


def _load_yaml(text: str) -> Any:
    try:
        # Anchors and aliases could make a small file expand into a huge tree (the YAML
        # "billion laughs"); an exported checklist never uses them, so refuse them.
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(text, _YAML_LOADER)):
            raise errors.InvalidInput(errors={"file": ["YAML 中不允许使用锚点和别名（& 和 *）"]})
        return yaml.load(text, _YAML_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        raise errors.InvalidInput(errors={"file": [f"不是合法的 YAML：{exc}"]}) from exc
