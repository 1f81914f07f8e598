"""The content format and the default library file: validation names paths; the library
is complete, cites its seeds and round-trips."""

from __future__ import annotations

import copy

import pytest

from checklists import content as fmt
from checklists import library

REQUIRED_AREAS = {"仪容仪表", "禁烟", "环境卫生", "视频监控", "无障碍与便民设施"}


@pytest.fixture(scope="module")
def default_content():
    content, errors = fmt.normalise(library.read_default_document()["content"], for_publish=True)
    assert errors == {}
    return content


def test_default_library_covers_the_areas_with_enough_items(default_content):
    titles = [section["title"] for section in default_content["sections"]]
    scored = [s for s in default_content["sections"] if any(i["points"] for i in s["items"])]
    assert set(titles) >= REQUIRED_AREAS
    assert len(scored) >= 8
    assert sum(len(s["items"]) for s in scored) >= 30
    assert default_content["name"] == "窗口服务明察暗访检查表"


def test_every_default_item_cites_a_seed_and_guides_the_inspector(default_content):
    for item in fmt.iter_items(default_content):
        assert item["source"][:3] in {"000", "001", "002", "003", "004"}, item["code"]
        assert len(item["guidance"]) >= 15, item["code"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in item["title"]), item["code"]


def test_normalising_twice_changes_nothing(default_content):
    again, errors = fmt.normalise(copy.deepcopy(default_content))
    assert errors == {}
    assert fmt.canonical_json(again) == fmt.canonical_json(default_content)


def content_with(item: dict, position: int = 5) -> dict:
    filler = [{"code": f"x{i}", "kind": "pass_fail", "title": "填充"} for i in range(position)]
    sections = [{"code": f"s{i}", "title": "分区", "items": []} for i in range(2)]
    sections.append({"code": "s2", "title": "分区", "items": [*filler, item]})
    return {"name": "测试", "sections": sections}


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"points": -1}, "points", "应大于等于 0"),
        ({"points": "3"}, "points", "应为数字"),
        ({"kind": "essay"}, "kind", "取值必须是"),
        ({"photo": "sometimes"}, "photo", "取值必须是"),
        ({"severity": "一般"}, "severity", "取值必须是"),
        ({"deadline_days": 1.5}, "deadline_days", "应为整数"),
        ({"critical": "yes"}, "critical", "应为布尔值"),
        ({"code": "Bad Code"}, "code", "编码"),
        ({"title": ""}, "title", "不能为空"),
        ({"colour": "red"}, "colour", "未知字段"),
        ({"kind": "score"}, "max", "必填字段"),
        ({"kind": "score", "max": 5, "pass_score": 6}, "pass_score", "应小于等于满分"),
        ({"kind": "single_choice", "options": [{"value": "a", "label": "甲"}]}, "options", "两个"),
        ({"kind": "number", "pass_ratio": 1}, "pass_ratio", "total_label"),
        ({"kind": "text", "points": 2}, "points", "不计分"),
        ({"kind": "photo", "photo": "never"}, "photo", "always"),
    ],
)
def test_item_errors_point_at_the_item_path(change, path, message):
    item = {"code": "target", "kind": "pass_fail", "title": "检查项"} | change
    _, errors = fmt.normalise(content_with(item))
    key = f"sections[2].items[5].{path}"
    assert key in errors, errors
    assert any(message in text for text in errors[key]), errors[key]


def test_duplicate_codes_name_both_places():
    item = {"code": "x1", "kind": "pass_fail", "title": "重复"}
    _, errors = fmt.normalise(content_with(item))
    assert errors == {
        "sections[2].items[5].code": ["检查项编码重复（与 sections[2].items[1] 相同）"]
    }


def test_option_errors_point_at_the_option():
    item = {
        "code": "c",
        "kind": "single_choice",
        "title": "选择",
        "options": [{"value": "a", "label": "甲"}, {"value": "a", "label": ""}],
    }
    _, errors = fmt.normalise(content_with(item, 0))
    assert set(errors) == {
        "sections[2].items[0].options[1].value",
        "sections[2].items[0].options[1].label",
    }


def test_publishing_demands_items_in_every_section():
    _, draft_errors = fmt.normalise({"name": "空", "sections": [{"code": "a", "title": "A"}]})
    assert draft_errors == {}
    _, errors = fmt.normalise(
        {"name": "空", "sections": [{"code": "a", "title": "A"}]}, for_publish=True
    )
    assert list(errors) == ["sections[0].items"]


def test_bands_must_descend():
    _, errors = fmt.normalise(
        {"name": "x", "sections": [], "scoring": {"bands": {"excellent": 70, "good": 80}}}
    )
    assert list(errors) == ["scoring.bands"]


def test_compact_form_drops_only_empty_values(default_content):
    form = fmt.compact(default_content)
    cams = next(i for s in form["sections"] for i in s["items"] if i["code"] == "video.working")
    assert cams["min"] == 0  # zero is a value, not emptiness
    assert "fix_on_spot" not in cams
    assert len(fmt.canonical_json(form)) < len(fmt.canonical_json(default_content))
