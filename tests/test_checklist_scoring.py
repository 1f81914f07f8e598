"""Scoring rules (docs/scoring.md) on their edge cases: pure functions, no database."""

from __future__ import annotations

import pytest

from checklists import content as fmt
from checklists.scoring import (
    grade_for,
    is_failed,
    required_photo_codes,
    score,
    validate_answers,
)


def build(*sections, method="deduction", bands=None):
    raw = {
        "name": "测试",
        "scoring": {"method": method, **({"bands": bands} if bands else {})},
        "sections": [
            {"code": code, "title": code, "cap": cap, "items": items}
            for code, cap, items in sections
        ],
    }
    content, errors = fmt.normalise(raw, for_publish=True)
    assert errors == {}
    return content


def pf(code, points, **kw):
    return {"code": code, "kind": "pass_fail", "title": code, "points": points, **kw}


PASS, FAIL, NA = {"result": "pass"}, {"result": "fail"}, {"result": "na"}


def test_deduction_subtracts_points_of_failed_items():
    content = build(("a", None, [pf("a1", 5), pf("a2", 3), pf("a3", 2)]))
    result = score(content, {"a1": FAIL, "a2": PASS, "a3": FAIL})
    assert (result.score, result.max_score, result.grade) == (93.0, 100.0, "优秀")
    assert result.failed_codes == ["a1", "a3"]
    assert result.section_losses == {"a": 7}


def test_section_cap_bounds_what_one_area_can_lose():
    content = build(("a", 6, [pf("a1", 5), pf("a2", 5)]), ("b", None, [pf("b1", 5), pf("b2", 5)]))
    answers = {"a1": FAIL, "a2": FAIL, "b1": FAIL, "b2": FAIL}
    result = score(content, answers)
    assert result.section_losses == {"a": 6, "b": 10}
    assert result.score == 84.0


def test_deduction_never_goes_below_zero():
    content = build(("a", None, [pf(f"a{i}", 30) for i in range(5)]))
    result = score(content, {f"a{i}": FAIL for i in range(5)})
    assert (result.score, result.grade) == (0.0, "不合格")


def test_not_applicable_is_excluded_from_the_weighted_denominator():
    content = build(("a", None, [pf("a1", 6), pf("a2", 4), pf("a3", 10)]), method="weighted")
    with_na = score(content, {"a1": PASS, "a2": FAIL, "a3": NA})
    assert with_na.score == 60.0  # 6 of 10, not 6 of 20
    assert with_na.na_codes == ["a3"]
    assert with_na.missing_required == []
    failed_instead = score(content, {"a1": PASS, "a2": FAIL, "a3": FAIL})
    assert failed_instead.score == 30.0


def test_all_not_applicable_scores_full_marks():
    content = build(("a", None, [pf("a1", 6)]), method="weighted")
    assert score(content, {"a1": NA}).score == 100.0


def test_not_applicable_deducts_nothing_and_needs_no_photo():
    content = build(("a", None, [pf("a1", 6, photo="always")]))
    result = score(content, {"a1": NA})
    assert result.score == 100.0
    assert required_photo_codes(content, {"a1": NA}) == []


@pytest.mark.parametrize("method", ["deduction", "weighted"])
def test_critical_fault_fails_the_grade_whatever_the_score(method):
    content = build(
        ("a", None, [pf("a1", 1, critical=True)] + [pf(f"x{i}", 10) for i in range(9)]),
        method=method,
    )
    answers = {"a1": FAIL} | {f"x{i}": PASS for i in range(9)}
    result = score(content, answers)
    assert result.score >= 98
    assert result.critical_failed is True
    assert result.grade == "不合格"
    passing = score(content, answers | {"a1": PASS})
    assert (passing.critical_failed, passing.grade) == (False, "优秀")


@pytest.mark.parametrize(
    ("percent", "grade"),
    [
        (100, "优秀"),
        (90, "优秀"),
        (89.99, "良好"),
        (80, "良好"),
        (79.5, "合格"),
        (60, "合格"),
        (59.99, "不合格"),
        (0, "不合格"),
    ],
)
def test_default_bands_include_their_lower_bound(percent, grade):
    assert grade_for(percent) == grade


def test_bands_are_configurable_per_version():
    content = build(("a", None, [pf("a1", 15)]), bands={"excellent": 95, "good": 85, "pass": 70})
    assert score(content, {"a1": FAIL}).grade == "良好"  # 85
    assert score(build(("a", None, [pf("a1", 15)])), {"a1": FAIL}).grade == "良好"  # 85, 90/80/60
    assert score(content, {"a1": PASS}).grade == "优秀"


def test_rules_argument_overrides_the_content():
    content = build(("a", None, [pf("a1", 15)]))
    result = score(content, {"a1": FAIL}, {"bands": {"excellent": 99, "good": 90, "pass": 86}})
    assert result.grade == "不合格"


def test_score_item_loses_its_shortfall_and_fails_below_pass_score():
    item = {"code": "s", "kind": "score", "title": "态度", "points": 10, "max": 5, "pass_score": 3}
    content = build(("a", None, [item]))
    assert score(content, {"s": {"value": 4}}).score == 98.0
    assert score(content, {"s": {"value": 4}}).failed_codes == []
    low = score(content, {"s": {"value": 2}})
    assert (low.score, low.failed_codes) == (94.0, ["s"])


def test_unanswered_required_items_are_listed_and_not_scored():
    content = build(
        ("a", None, [pf("a1", 5), pf("a2", 5), {"code": "t", "kind": "text", "title": "备注"}])
    )
    result = score(content, {"a1": FAIL, "a2": {"note": "稍后再看"}})
    assert result.missing_required == ["a2"]
    assert result.score == 95.0


CAMERAS = {
    "code": "cams",
    "kind": "number",
    "title": "正常工作的摄像头",
    "points": 5,
    "photo": "on_fail",
    "total_label": "安装总数",
    "pass_ratio": 1,
}


@pytest.mark.parametrize(
    ("answer", "failed"),
    [
        ({"value": 4, "total": 4}, False),
        ({"value": 3, "total": 4}, True),
        ({"value": 0, "total": 0}, True),
        (NA, False),
        ({}, False),
    ],
)
def test_number_with_ratio(answer, failed):
    content = build(("v", None, [CAMERAS | {"allow_na": True}]))
    item = content["sections"][0]["items"][0]
    assert is_failed(item, answer) is failed
    assert required_photo_codes(content, {"cams": answer}) == (["cams"] if failed else [])


def test_choices_fail_on_a_failing_option():
    options = [{"value": "ok", "label": "好"}, {"value": "bad", "label": "差", "fail": True}]
    single = {
        "code": "c1",
        "kind": "single_choice",
        "title": "卫生",
        "points": 3,
        "options": options,
    }
    multi = {"code": "c2", "kind": "multi_choice", "title": "行为", "points": 4, "options": options}
    content = build(("a", None, [single, multi]))
    result = score(content, {"c1": {"value": "ok"}, "c2": {"value": ["ok", "bad"]}})
    assert result.failed_codes == ["c2"]
    assert result.score == 96.0


def test_validate_answers_names_each_problem_by_code():
    options = [{"value": "ok", "label": "好"}, {"value": "bad", "label": "差", "fail": True}]
    content = build(
        (
            "a",
            None,
            [
                pf("p", 1, allow_na=False),
                {"code": "s", "kind": "score", "title": "s", "points": 1, "max": 5},
                {"code": "c", "kind": "single_choice", "title": "c", "options": options},
                CAMERAS,
                {"code": "t", "kind": "text", "title": "t", "max_length": 5},
            ],
        )
    )
    errors = validate_answers(
        content,
        {
            "p": {"result": "na"},
            "s": {"value": 6},
            "c": {"value": "maybe"},
            "cams": {"value": 5, "total": 4, "extra": 1},
            "t": {"value": "太长了太长了"},
            "nope": {"result": "pass"},
        },
    )
    assert set(errors) == {
        "p.result",
        "s.value",
        "c.value",
        "cams.value",
        "cams.extra",
        "t.value",
        "nope",
    }
    assert validate_answers(content, {"p": PASS, "s": {"value": 5, "note": "好"}}) == {}
    assert validate_answers(content, {"cams": {"value": 1}}) == {"cams.total": ["请填写安装总数"]}
    assert validate_answers(content, ["p"]) == {"answers": ["应为对象，键为检查项编码"]}


def test_photo_rules():
    content = build(
        (
            "a",
            None,
            [
                pf("always", 1, photo="always"),
                pf("on_fail", 1, photo="on_fail"),
                pf("never", 1),
                {"code": "pic", "kind": "photo", "title": "全景"},
            ],
        )
    )
    answers = {"always": PASS, "on_fail": FAIL, "never": FAIL}
    assert required_photo_codes(content, answers) == ["always", "on_fail", "pic"]
    assert required_photo_codes(content, answers | {"on_fail": PASS}) == ["always", "pic"]


HOSTILE = [
    None,
    True,
    5e-324,
    -1,
    2**63,
    10**400,
    1.5,
    "",
    "x" * 5000,
    "\x00",
    [],
    {},
    [{}],
    ["ok", {}],
]


def test_hostile_answers_are_reported_never_raised():
    from checklists import library

    content, _ = fmt.normalise(library.read_default_document()["content"])
    for item in fmt.iter_items(content):
        for value in HOSTILE:
            for answer in (
                {"value": value},
                {"result": value},
                {"total": value, "value": 1},
                {"note": value},
                value,
            ):
                answers = {item["code"]: answer}
                validate_answers(content, answers)  # must not raise
                score(content, answers)
                required_photo_codes(content, answers)
