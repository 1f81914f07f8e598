"""Answers and scores: pure functions over a version's content, no database.

Answers are keyed by item code. Each answer is a dict:

- pass/fail: `{"result": "pass" | "fail" | "na"}`;
- every other kind: `{"value": ...}` (score and number: a number; single choice: an option
  value; multi choice: a list of option values; text: a string; photo: nothing);
- any item with `allow_na`: `{"result": "na"}` marks it 不适用;
- every answer may carry `"note"` (the inspector's remark, ≤ 1000 chars).

An empty answer (`{}` or only a note) is "not answered yet": drafts may hold it; `score`
lists the required ones in `missing_required` so submission can be refused.
The rules are documented for people in docs/scoring.md.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

from checklists.content import DEFAULT_BANDS, GRADES, Errors, is_number, iter_items

ANSWER_FIELDS = ("result", "value", "note")
RESULTS = ("pass", "fail", "na")
MAX_NOTE = 1000


@dataclass(frozen=True)
class Score:
    score: float
    max_score: float
    grade: str  # 优秀 / 良好 / 合格 / 不合格
    critical_failed: bool
    failed_codes: list[str] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    na_codes: list[str] = field(default_factory=list)
    # Points lost per section code (after its cap), for the report.
    section_losses: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- one item -----------------------------------------------------------------------------


def is_na(answer: dict[str, Any] | None) -> bool:
    return isinstance(answer, dict) and answer.get("result") == "na"


def is_answered(item: dict[str, Any], answer: dict[str, Any] | None) -> bool:
    if not answer or not isinstance(answer, dict):
        return False
    if answer.get("result") is not None:
        return True
    if item["kind"] == "photo":
        return True  # a photo item is answered by its photos, checked elsewhere
    value = answer.get("value")
    return value is not None and value != "" and value != []


def is_failed(item: dict[str, Any], answer: dict[str, Any] | None) -> bool:
    """Whether this answer makes the item a finding. Unanswered and N/A never fail."""
    if not isinstance(answer, dict) or not answer or is_na(answer):
        return False
    kind = item["kind"]
    if kind == "pass_fail":
        return answer.get("result") == "fail"
    value = answer.get("value")
    if value is None:
        return False
    if kind == "score":
        return is_number(value) and value < item["pass_score"]
    if kind == "single_choice":
        return any(o["fail"] for o in item["options"] if o["value"] == value)
    if kind == "multi_choice":
        chosen = {v for v in value if isinstance(v, str)} if isinstance(value, list) else set()
        return any(o["fail"] for o in item["options"] if o["value"] in chosen)
    if kind == "number":
        return _number_failed(item, answer)
    return False


def _number_failed(item: dict[str, Any], answer: dict[str, Any]) -> bool:
    value = answer["value"]
    if not is_number(value):
        return False
    if item["pass_min"] is not None and value < item["pass_min"]:
        return True
    if item["pass_max"] is not None and value > item["pass_max"]:
        return True
    if item["pass_ratio"] is not None:
        total = answer.get("total")
        if not is_number(total):
            return False
        # 0 of 0 fails: a thing that should exist and does not is not working either.
        # Exact arithmetic: JSON ints may be far beyond what a float holds.
        return total == 0 or Fraction(value) < Fraction(item["pass_ratio"]) * Fraction(total)
    return False


def points_lost(item: dict[str, Any], answer: dict[str, Any] | None) -> float:
    """Points this answer loses: all of them on a failure; a score loses its shortfall."""
    points = item.get("points") or 0
    if not points or not answer or is_na(answer):
        return 0.0
    if item["kind"] == "score":
        value = answer.get("value")
        if not is_number(value):
            return 0.0
        value = min(max(value, 0), item["max"])  # unvalidated answers must not overflow
        return points * (item["max"] - value) / item["max"]
    return float(points) if is_failed(item, answer) else 0.0


def required_photo_codes(content: dict[str, Any], answers: dict[str, Any]) -> list[str]:
    """Items whose photo rule demands a photo given these answers (N/A never needs one)."""
    codes = []
    for item in iter_items(content):
        answer = answers.get(item["code"])
        if is_na(answer):
            continue
        if item["photo"] == "always" or (item["photo"] == "on_fail" and is_failed(item, answer)):
            codes.append(item["code"])
    return codes


# -- validation ---------------------------------------------------------------------------


def validate_answers(content: dict[str, Any], answers: Any) -> Errors:
    """Errors by path (`<code>.value`) for the answers given; completeness is not checked
    here (see `Score.missing_required`), so a half-filled draft validates."""
    if not isinstance(answers, dict):
        return {"answers": ["应为对象，键为检查项编码"]}
    items = {item["code"]: item for item in iter_items(content)}
    errors: Errors = {}
    for code, answer in answers.items():
        item = items.get(code)
        if item is None:
            errors.setdefault(str(code), []).append("未知检查项")
            continue
        for key, message in _answer_errors(item, answer):
            errors.setdefault(f"{code}.{key}" if key else code, []).append(message)
    return errors


def _answer_errors(item: dict[str, Any], answer: Any):
    if not isinstance(answer, dict):
        yield None, "应为对象"
        return
    allowed = ANSWER_FIELDS + (("total",) if item.get("total_label") else ())
    for key in answer:
        if key not in allowed:
            yield key, "未知字段"
    note = answer.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        yield "note", f"应为不超过 {MAX_NOTE} 字的字符串"
    result = answer.get("result")
    if result is not None:
        if item["kind"] == "pass_fail" and result not in RESULTS:
            yield "result", "取值必须是 pass, fail, na 之一"
        elif item["kind"] != "pass_fail" and result != "na":
            yield "result", "此类检查项只能用 result 标记 na（不适用）"
        elif result == "na" and not item["allow_na"]:
            yield "result", "此检查项不允许标记为不适用"
        if answer.get("value") is not None:
            yield "value", "是否符合类检查项或不适用时不应填写 value"
        return
    value = answer.get("value")
    if value is None:
        return
    yield from _VALUE_CHECKS[item["kind"]](item, value, answer)


def _check_pass_fail(item, value, answer):
    yield "value", "是否符合类检查项请用 result 作答"


def _check_score(item, value, answer):
    if not is_number(value):
        yield "value", "应为数字"
    elif not 0 <= value <= item["max"]:
        yield "value", f"应在 0 到 {item['max']} 之间"


def _check_single(item, value, answer):
    if not isinstance(value, str) or value not in {o["value"] for o in item["options"]}:
        yield "value", "不是该检查项的选项"


def _check_multi(item, value, answer):
    options = {o["value"] for o in item["options"]}
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        yield "value", "应为选项值数组"
    elif len(set(value)) != len(value):
        yield "value", "选项重复"
    elif not set(value) <= options:
        yield "value", "含有不是该检查项的选项"


def _check_number(item, value, answer):
    yield from _number_in_range(item, value, "value")
    if not item.get("total_label"):
        return
    total = answer.get("total")
    if total is None:
        yield "total", f"请填写{item['total_label']}"
        return
    problems = list(_number_in_range(item, total, "total"))
    yield from problems
    if not problems and is_number(value) and value > total:
        yield "value", f"不能大于{item['total_label']}"


def _number_in_range(item, value, key):
    if not is_number(value) or (item["integer"] and not isinstance(value, int)):
        yield key, "应为整数" if item["integer"] else "应为数字"
        return
    if item["min"] is not None and value < item["min"]:
        yield key, f"应大于等于 {item['min']}"
    if item["max"] is not None and value > item["max"]:
        yield key, f"应小于等于 {item['max']}"


def _check_text(item, value, answer):
    if not isinstance(value, str):
        yield "value", "应为字符串"
    elif len(value) > item["max_length"]:
        yield "value", f"长度不能超过 {item['max_length']}"


def _check_photo(item, value, answer):
    yield "value", "拍照项不填写 value，照片单独上传"


_VALUE_CHECKS = {
    "pass_fail": _check_pass_fail,
    "score": _check_score,
    "single_choice": _check_single,
    "multi_choice": _check_multi,
    "number": _check_number,
    "text": _check_text,
    "photo": _check_photo,
}


# -- the score ----------------------------------------------------------------------------


def grade_for(percent: float, bands: dict[str, float] | None = None) -> str:
    bands = {**DEFAULT_BANDS, **(bands or {})}
    if percent >= bands["excellent"]:
        return GRADES[0]
    if percent >= bands["good"]:
        return GRADES[1]
    if percent >= bands["pass"]:
        return GRADES[2]
    return GRADES[3]


def score(
    content: dict[str, Any],
    answers: dict[str, Any],
    rules: dict[str, Any] | None = None,
    *,
    cleared: Collection[str] = (),
) -> Score:
    """Score answers against normalised content. `rules` defaults to the content's own
    `scoring` (method, base, bands); answers are assumed valid (`validate_answers`).

    `cleared`: codes of answered items that count as passed whatever the answer says,
    losing no points (the findings the office dismissed on review)."""
    rules = {"method": "deduction", "base": 100, **(content.get("scoring") or {}), **(rules or {})}
    failed, missing, na = [], [], []
    critical = False
    section_losses: dict[str, float] = {}
    earned = possible = 0.0
    for section in content.get("sections") or ():
        lost_here = 0.0
        for item in section["items"]:
            answer = answers.get(item["code"])
            if not is_answered(item, answer):
                if item["required"]:
                    missing.append(item["code"])
                continue
            if is_na(answer):
                na.append(item["code"])
                continue
            if item["code"] in cleared:
                lost = 0.0
            else:
                if is_failed(item, answer):
                    failed.append(item["code"])
                    critical = critical or item["critical"]
                lost = points_lost(item, answer)
            lost_here += lost
            if item["kind"] in ("text", "photo"):
                continue
            earned += item["points"] - lost
            possible += item["points"]
        if section.get("cap") is not None:
            lost_here = min(lost_here, section["cap"])
        section_losses[section["code"]] = round(lost_here, 2)

    if rules["method"] == "weighted":
        max_score = 100.0
        value = 100.0 if possible == 0 else 100.0 * earned / possible
    else:
        max_score = float(rules["base"])
        value = max(0.0, max_score - sum(section_losses.values()))
    value = round(value, 2)
    grade = GRADES[3] if critical else grade_for(100.0 * value / max_score, rules.get("bands"))
    return Score(
        score=value,
        max_score=max_score,
        grade=grade,
        critical_failed=critical,
        failed_codes=failed,
        missing_required=missing,
        na_codes=na,
        section_losses=section_losses,
    )
