"""The checklist content format: what a version holds, its validation and its hash.

Pure functions over plain dicts (no database), shared by the service, the importer, the
scoring and the tests. `normalise(content)` returns the content with every default filled
in, plus the errors found, keyed by path (`sections[2].items[5].points`). Stored content is
always normalised, so export → import gives back the same bytes and the same hash.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

from core.text import trim, visible_length

KINDS = ("pass_fail", "score", "single_choice", "multi_choice", "number", "text", "photo")
KIND_LABELS = {
    "pass_fail": "是否符合",
    "score": "评分",
    "single_choice": "单选",
    "multi_choice": "多选",
    "number": "数值",
    "text": "文字记录",
    "photo": "拍照",
}
# Kinds that can fail, carry points and be critical.
JUDGED_KINDS = frozenset(KINDS) - {"text", "photo"}

PHOTO_RULES = ("always", "on_fail", "never")
PHOTO_LABELS = {"always": "必须拍照", "on_fail": "不符合时拍照", "never": "无需拍照"}

SEVERITIES = ("general", "major", "severe")
SEVERITY_LABELS = {"general": "一般", "major": "较重", "severe": "严重"}
DEFAULT_DEADLINE_DAYS = {"general": 15, "major": 7, "severe": 3}

SCORING_METHODS = ("deduction", "weighted")
GRADES = ("优秀", "良好", "合格", "不合格")
DEFAULT_BANDS = {"excellent": 90, "good": 80, "pass": 60}

# Checked with fullmatch (a bare `$` also matches before a final "\n"); ASCII only.
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$", re.ASCII)
MAX_SECTIONS = 50
MAX_ITEMS = 500
MAX_OPTIONS = 30

Errors = dict[str, list[str]]

COMMON_ITEM_FIELDS = (
    "code",
    "kind",
    "title",
    "guidance",
    "source",
    "points",
    "photo",
    "severity",
    "deadline_days",
    "fix_on_spot",
    "critical",
    "required",
    "allow_na",
)
KIND_FIELDS = {
    "pass_fail": (),
    "score": ("max", "pass_score"),
    "single_choice": ("options",),
    "multi_choice": ("options",),
    "number": (
        "unit",
        "min",
        "max",
        "integer",
        "pass_min",
        "pass_max",
        "total_label",
        "pass_ratio",
    ),
    "text": ("max_length",),
    "photo": (),
}
SECTION_FIELDS = ("code", "title", "description", "cap", "items")
TOP_FIELDS = ("name", "description", "scoring", "sections")
SCORING_FIELDS = ("method", "base", "bands")


def canonical_json(content: dict[str, Any]) -> str:
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content).encode()).hexdigest()


def iter_items(content: dict[str, Any]):
    for section in content.get("sections") or ():
        yield from section.get("items") or ()


def items_by_code(content: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["code"]: item for item in iter_items(content)}


def item_numbers(content: dict[str, Any]) -> dict[str, str]:
    """Each item's number as people cite it: "1.2" is the second item of the first
    section (the order the checklist shows). Codes are for machines, numbers for people."""
    return {
        item["code"]: f"{s}.{i}"
        for s, section in enumerate(content.get("sections") or (), start=1)
        for i, item in enumerate(section.get("items") or (), start=1)
    }


def item_labels(content: dict[str, Any]) -> dict[str, str]:
    """ "1.2 在岗人员统一规范着装" for each item code."""
    numbers = item_numbers(content)
    return {
        code: f"{numbers[code]} {item.get('title') or ''}".strip()
        for code, item in items_by_code(content).items()
    }


# -- small field checkers -----------------------------------------------------------------


def is_number(value: Any) -> bool:
    """A JSON number: ints of any size (math.isfinite would overflow on 10**400), finite
    floats; never a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


class _Checker:
    """Collects errors under a path prefix while reading fields out of a dict."""

    def __init__(self, errors: Errors, path: str, data: dict[str, Any]):
        self.errors, self.path, self.data = errors, path, data

    def add(self, field: str | None, message: str) -> None:
        key = f"{self.path}.{field}" if field and self.path else (field or self.path)
        self.errors.setdefault(key, []).append(message)

    def unknown(self, allowed) -> None:
        for key in self.data:
            if key not in allowed:
                self.add(key, "未知字段")

    def text(self, field: str, *, required=False, max_len=200, default="") -> str | None:
        value = self.data.get(field)
        if value is None:
            if required:
                self.add(field, "必填字段")
            return default
        if not isinstance(value, str):
            self.add(field, "应为字符串")
            return default
        value = trim(value)
        if required and not visible_length(value):
            self.add(field, "不能为空")
        if len(value) > max_len:
            self.add(field, f"长度不能超过 {max_len}")
        return value

    def code(self, field: str = "code") -> str | None:
        value = self.data.get(field)
        if not isinstance(value, str) or not CODE_RE.fullmatch(value):
            self.add(field, "编码应为 1–40 位小写字母、数字或 _ . -，以字母或数字开头")
            return None
        return value

    def number(self, field, *, default=None, lo=None, hi=None, integer=False, required=False):
        value = self.data.get(field)
        if value is None:
            if required:
                self.add(field, "必填字段")
            return default
        if not is_number(value) or (integer and not isinstance(value, int)):
            self.add(field, "应为整数" if integer else "应为数字")
            return default
        if lo is not None and value < lo:
            self.add(field, f"应大于等于 {lo}")
        if hi is not None and value > hi:
            self.add(field, f"应小于等于 {hi}")
        return value

    def flag(self, field: str, default: bool) -> bool:
        value = self.data.get(field, default)
        if not isinstance(value, bool):
            self.add(field, "应为布尔值 true/false")
            return default
        return value

    def choice(self, field: str, choices, default) -> str:
        value = self.data.get(field, default)
        if value not in choices:
            self.add(field, "取值必须是 " + ", ".join(choices) + " 之一")
            return default
        return value


# -- normalisation ------------------------------------------------------------------------


def normalise(content: Any, *, for_publish: bool = False) -> tuple[dict[str, Any], Errors]:
    """The content with defaults filled in, and the errors found, by path.

    Drafts may have empty sections; `for_publish` also demands at least one section and
    an item in every section.
    """
    errors: Errors = {}
    if not isinstance(content, dict):
        return {}, {"content": ["应为对象"]}
    top = _Checker(errors, "", content)
    top.unknown(TOP_FIELDS)
    out: dict[str, Any] = {
        "name": top.text("name", required=True, max_len=100),
        "description": top.text("description", max_len=2000),
        "scoring": normalise_scoring(content.get("scoring"), errors),
        "sections": [],
    }
    sections = content.get("sections", [])
    if not isinstance(sections, list):
        top.add("sections", "应为数组")
        sections = []
    if len(sections) > MAX_SECTIONS:
        top.add("sections", f"分区不能超过 {MAX_SECTIONS} 个")
    if for_publish and not sections:
        top.add("sections", "发布前至少需要一个分区")
    section_codes: dict[str, str] = {}
    item_codes: dict[str, str] = {}
    for s_index, section in enumerate(sections):
        path = f"sections[{s_index}]"
        normal = _normalise_section(section, path, errors, for_publish=for_publish)
        if normal.get("code"):
            _unique(errors, section_codes, normal["code"], f"{path}.code", "分区编码重复")
        for i_index, item in enumerate(normal.get("items", [])):
            if item.get("code"):
                _unique(
                    errors,
                    item_codes,
                    item["code"],
                    f"{path}.items[{i_index}].code",
                    "检查项编码重复",
                )
        out["sections"].append(normal)
    if len(item_codes) > MAX_ITEMS:
        top.add("sections", f"检查项不能超过 {MAX_ITEMS} 个")
    return out, errors


def _unique(errors: Errors, seen: dict[str, str], code: str, path: str, message: str) -> None:
    if code in seen:
        errors.setdefault(path, []).append(f"{message}（与 {seen[code]} 相同）")
    else:
        seen[code] = path.removesuffix(".code")


def normalise_scoring(scoring: Any, errors: Errors) -> dict[str, Any]:
    if scoring is None:
        scoring = {}
    if not isinstance(scoring, dict):
        errors.setdefault("scoring", []).append("应为对象")
        scoring = {}
    check = _Checker(errors, "scoring", scoring)
    check.unknown(SCORING_FIELDS)
    bands_in = scoring.get("bands") or {}
    if not isinstance(bands_in, dict):
        check.add("bands", "应为对象")
        bands_in = {}
    bands_check = _Checker(errors, "scoring.bands", bands_in)
    bands_check.unknown(DEFAULT_BANDS)
    bands = {
        key: bands_check.number(key, default=default, lo=0, hi=100)
        for key, default in DEFAULT_BANDS.items()
    }
    if not bands["excellent"] >= bands["good"] >= bands["pass"]:
        check.add("bands", "分档线应满足 优秀 ≥ 良好 ≥ 合格")
    return {
        "method": check.choice("method", SCORING_METHODS, "deduction"),
        "base": check.number("base", default=100, lo=1, hi=1000),
        "bands": bands,
    }


def _normalise_section(section: Any, path: str, errors: Errors, *, for_publish: bool):
    if not isinstance(section, dict):
        errors.setdefault(path, []).append("应为对象")
        return {}
    check = _Checker(errors, path, section)
    check.unknown(SECTION_FIELDS)
    out = {
        "code": check.code(),
        "title": check.text("title", required=True, max_len=100),
        "description": check.text("description", max_len=1000),
        "cap": check.number("cap", lo=0, hi=1000),
        "items": [],
    }
    items = section.get("items", [])
    if not isinstance(items, list):
        check.add("items", "应为数组")
        items = []
    if for_publish and not items:
        check.add("items", "发布前每个分区至少需要一个检查项")
    out["items"] = [
        normalise_item(item, f"{path}.items[{index}]", errors) for index, item in enumerate(items)
    ]
    return out


def normalise_item(item: Any, path: str, errors: Errors) -> dict[str, Any]:
    """One item with its defaults; errors go under `path`."""
    if not isinstance(item, dict):
        errors.setdefault(path, []).append("应为对象")
        return {}
    check = _Checker(errors, path, item)
    kind = item.get("kind")
    if kind not in KINDS:
        check.add("kind", "取值必须是 " + ", ".join(KINDS) + " 之一")
        return {"code": check.code()}
    check.unknown(COMMON_ITEM_FIELDS + KIND_FIELDS[kind])
    judged = kind in JUDGED_KINDS
    severity = check.choice("severity", SEVERITIES, "general")
    out: dict[str, Any] = {
        "code": check.code(),
        "kind": kind,
        "title": check.text("title", required=True, max_len=200),
        "guidance": check.text("guidance", max_len=2000),
        "source": check.text("source", max_len=200),
        "points": check.number("points", default=0, lo=0, hi=1000),
        "photo": check.choice("photo", PHOTO_RULES, "always" if kind == "photo" else "never"),
        "severity": severity,
        "deadline_days": check.number(
            "deadline_days", default=DEFAULT_DEADLINE_DAYS[severity], lo=0, hi=365, integer=True
        ),
        "fix_on_spot": check.flag("fix_on_spot", False),
        "critical": check.flag("critical", False),
        "required": check.flag("required", kind not in ("text", "photo")),
        "allow_na": check.flag("allow_na", kind == "pass_fail"),
    }
    if not judged:
        if out["points"]:
            check.add("points", "文字记录和拍照项不计分，分值应为 0")
        if out["critical"]:
            check.add("critical", "文字记录和拍照项不能设为一票否决")
        if out["photo"] == "on_fail":
            check.add("photo", "文字记录和拍照项不会“不符合”，不能设为不符合时拍照")
    if kind == "photo" and out["photo"] != "always":
        check.add("photo", "拍照项的拍照要求应为 always")
    out.update(_KIND_NORMALISERS[kind](check))
    return out


def _score_fields(check: _Checker) -> dict[str, Any]:
    top = check.number("max", required=True, lo=1, hi=1000, default=1)
    pass_score = check.number("pass_score", default=top, lo=0)
    if is_number(top) and is_number(pass_score) and pass_score > top:
        check.add("pass_score", f"应小于等于满分 {top}")
    return {"max": top, "pass_score": pass_score}


def _choice_fields(check: _Checker) -> dict[str, Any]:
    options = check.data.get("options")
    if not isinstance(options, list) or not options:
        check.add("options", "至少需要一个选项")
        return {"options": []}
    if len(options) > MAX_OPTIONS:
        check.add("options", f"选项不能超过 {MAX_OPTIONS} 个")
    if check.data["kind"] == "single_choice" and len(options) < 2:
        check.add("options", "单选至少需要两个选项")
    out, seen = [], set()
    for index, option in enumerate(options):
        sub = _Checker(check.errors, f"{check.path}.options[{index}]", option)
        if not isinstance(option, dict):
            sub.add(None, "应为对象")
            continue
        sub.unknown(("value", "label", "fail"))
        value = sub.code("value")
        if value in seen:
            sub.add("value", "选项值重复")
        seen.add(value)
        out.append(
            {
                "value": value,
                "label": sub.text("label", required=True, max_len=100),
                "fail": sub.flag("fail", False),
            }
        )
    return {"options": out}


def _number_fields(check: _Checker) -> dict[str, Any]:
    integer = check.flag("integer", True)
    lo = check.number("min", default=0, integer=integer)
    hi = check.number("max", integer=integer)
    if is_number(lo) and is_number(hi) and hi < lo:
        check.add("max", "应大于等于最小值")
    pass_min = check.number("pass_min")
    pass_max = check.number("pass_max")
    if is_number(pass_min) and is_number(pass_max) and pass_max < pass_min:
        check.add("pass_max", "应大于等于合格下限")
    total_label = check.text("total_label", max_len=40, default=None) or None
    pass_ratio = check.number("pass_ratio", lo=0, hi=1)
    if pass_ratio is not None and total_label is None:
        check.add("pass_ratio", "设置合格比例时需同时设置 total_label（总数的名称）")
    return {
        "unit": check.text("unit", max_len=10),
        "min": lo,
        "max": hi,
        "integer": integer,
        "pass_min": pass_min,
        "pass_max": pass_max,
        "total_label": total_label,
        "pass_ratio": pass_ratio,
    }


def _text_fields(check: _Checker) -> dict[str, Any]:
    return {"max_length": check.number("max_length", default=500, lo=1, hi=2000, integer=True)}


_KIND_NORMALISERS = {
    "pass_fail": lambda check: {},
    "score": _score_fields,
    "single_choice": _choice_fields,
    "multi_choice": _choice_fields,
    "number": _number_fields,
    "text": _text_fields,
    "photo": lambda check: {},
}


def compact(content: dict[str, Any]) -> dict[str, Any]:
    """The content for the phone: empty strings, nulls and false flags left out (absent
    means "", null or false), everything an inspector needs kept, in the same order."""

    def lean(mapping: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in mapping.items() if not (v is None or v is False or v == "")}

    return {
        **lean({k: v for k, v in content.items() if k != "sections"}),
        "sections": [
            {
                **lean({k: v for k, v in section.items() if k != "items"}),
                "items": [
                    {
                        **lean({k: v for k, v in item.items() if k != "options"}),
                        **(
                            {"options": [lean(o) for o in item["options"]]}
                            if "options" in item
                            else {}
                        ),
                    }
                    for item in section["items"]
                ],
            }
            for section in content["sections"]
        ],
    }
