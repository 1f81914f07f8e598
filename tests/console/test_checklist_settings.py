"""The checklist builder's kind settings (a choice's options, a score's maximum, a number's
limits, a text's length) and 放弃草稿: through the same drafts service and content
validation as the API, each edit proven current by the draft's revision."""

from __future__ import annotations

import pytest

from checklists import service as checklists
from checklists.models import ChecklistVersion
from core.audit import AuditEvent
from core.db import db
from tests.console.test_checklist_builder import CONTENT, _draft, _fresh


@pytest.fixture
def published(app) -> ChecklistVersion:
    template = checklists.create_template(
        {"code": "settings", "name": "设置检查表", "all_sectors": True}, actor=None, content=CONTENT
    )
    version = checklists.publish(checklists.list_versions(template)[0], actor=None)
    db.session.commit()
    return version


BASE = {
    "title": "窗口服务态度",
    "guidance": "",
    "severity": "general",
    "photo": "never",
    "points": "2",
    "deadline_days": "",
    "settings": "1",
    "required": "1",
}


def _item_url(draft: ChecklistVersion, code: str) -> str:
    return f"/console/checklists/versions/{draft.id}/items/{code}"


def _item(draft: ChecklistVersion, code: str) -> dict:
    for section in _fresh(draft).content["sections"]:
        for item in section["items"]:
            if item["code"] == code:
                return item
    raise AssertionError(code)


def _post(console, draft, code, form):
    return console.post(_item_url(draft, code), {"version": str(_fresh(draft).revision)} | form)


def _options(*rows):
    form = {"option_count": str(len(rows))}
    for n, (value, label, fail) in enumerate(rows):
        form |= {f"option-{n}-value": value, f"option-{n}-label": label}
        if fail:
            form[f"option-{n}-fail"] = "1"
    return form


def test_a_pass_fail_item_becomes_a_choice_with_its_options(office_console, published):
    draft = _draft(office_console, published)
    form = (
        BASE
        | {"kind": "single_choice"}
        | _options(("", "热情主动", False), ("", "态度生硬", True), ("", "", False))
    )
    response = _post(office_console, draft, "dress.badge", form)
    assert response.status_code == 303, response.get_data(as_text=True)
    item = _item(draft, "dress.badge")
    assert item["kind"] == "single_choice"
    assert item["options"] == [
        {"value": "o1", "label": "热情主动", "fail": False},
        {"value": "o2", "label": "态度生硬", "fail": True},
    ]
    # The form shows them again; renaming one keeps its value, a blank name removes one.
    page = office_console.get(_item_url(draft, "dress.badge")).get_data(as_text=True)
    assert 'value="态度生硬"' in page
    assert 'name="option_count" value="5"' in page
    form = (
        BASE
        | {"kind": "single_choice"}
        | _options(
            ("o1", "热情主动、耐心", False),
            ("o2", "", True),
            ("", "冷漠", True),
            ("", "敷衍", True),
        )
    )
    assert _post(office_console, draft, "dress.badge", form).status_code == 303
    assert [(o["value"], o["label"]) for o in _item(draft, "dress.badge")["options"]] == [
        ("o1", "热情主动、耐心"),
        ("o2", "冷漠"),  # o2 was freed by the removal; values stay unique
        ("o3", "敷衍"),
    ]


def test_a_single_choice_needs_two_options_said_in_chinese(office_console, published):
    draft = _draft(office_console, published)
    before = _fresh(draft).revision
    form = BASE | {"kind": "single_choice"} | _options(("", "只有一个", False))
    response = _post(office_console, draft, "dress.badge", form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "选项：单选至少需要两个选项" in page
    assert 'value="只有一个"' in page  # as typed
    assert _fresh(draft).revision == before
    assert _item(draft, "dress.badge")["kind"] == "pass_fail"


def test_score_and_number_settings_are_stored_and_refused_beside_their_box(
    office_console, published
):
    draft = _draft(office_console, published)
    score = BASE | {"kind": "score", "score-max": "10", "score-pass_score": "6"}
    assert _post(office_console, draft, "dress.badge", score).status_code == 303
    assert _item(draft, "dress.badge") | {"max": 10, "pass_score": 6} == _item(draft, "dress.badge")
    page = office_console.get(_item_url(draft, "dress.badge")).get_data(as_text=True)
    assert 'name="score-max" inputmode="decimal" value="10"' in page

    number = BASE | {
        "kind": "number",
        "number-unit": "人",
        "number-min": "5",
        "number-max": "2",
        "number-integer": "1",
    }
    response = _post(office_console, draft, "dress.uniform", number)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-error="max">应大于等于最小值' in page
    assert 'name="number-min" inputmode="decimal" value="5"' in page
    assert _item(draft, "dress.uniform")["kind"] == "pass_fail"

    number |= {"number-max": "20", "number-pass_min": "3", "number-total_label": "窗口总数"}
    number |= {"number-pass_ratio": "0.8"}
    assert _post(office_console, draft, "dress.uniform", number).status_code == 303
    item = _item(draft, "dress.uniform")
    expected = {"kind": "number", "unit": "人", "min": 5, "max": 20, "integer": True}
    expected |= {"pass_min": 3, "pass_max": None, "total_label": "窗口总数", "pass_ratio": 0.8}
    assert item | expected == item


def test_text_length_required_and_not_applicable_are_editable(office_console, published):
    draft = _draft(office_console, published)
    form = BASE | {"kind": "text", "points": "0", "text-max_length": "300", "source": "服务规范"}
    form.pop("required")
    assert _post(office_console, draft, "dress.badge", form).status_code == 303
    item = _item(draft, "dress.badge")
    assert (item["max_length"], item["required"], item["allow_na"], item["source"]) == (
        300,
        False,
        False,
        "服务规范",
    )


def test_a_settings_edit_on_a_stale_page_is_refused(office_console, published):
    draft = _draft(office_console, published)
    shown = _fresh(draft).revision
    _post(office_console, draft, "dress.uniform", BASE | {"kind": "pass_fail", "title": "着装"})
    form = BASE | {"kind": "score", "score-max": "10", "version": str(shown)}
    response = office_console.post(_item_url(draft, "dress.badge"), form)
    assert response.status_code == 409
    assert 'name="score-max" inputmode="decimal" value="10"' in response.get_data(as_text=True)
    assert _item(draft, "dress.badge")["kind"] == "pass_fail"


def _discard(console, draft, **form):
    url = f"/console/checklists/versions/{draft.id}/discard"
    return console.post(url, {"version": str(_fresh(draft).revision), "confirm": "1"} | form)


def test_discarding_a_draft_keeps_the_published_version(office_console, published):
    draft = _draft(office_console, published)
    draft_id, template_id = draft.id, draft.template_id
    page = office_console.get(f"/console/checklists/versions/{draft.id}/edit").get_data(
        as_text=True
    )
    assert 'id="discard-draft"' in page
    assert "disabled" not in page.split('id="discard"')[1]
    response = _discard(office_console, draft)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/checklists")
    db.session.expire_all()
    assert db.session.get(ChecklistVersion, draft_id) is None
    template = db.session.get(ChecklistVersion, published.id).template
    assert template.id == template_id
    assert [v.id for v in checklists.list_versions(template)] == [published.id]
    event = db.session.scalars(
        db.select(AuditEvent).where(
            AuditEvent.entity_type == "checklist_version", AuditEvent.action == "discard"
        )
    ).one()
    assert event.entity_id == draft_id
    listing = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "已放弃第 2 版草稿" in listing


def test_discarding_is_refused_when_stale_or_unconfirmed(office_console, published):
    draft = _draft(office_console, published)
    shown = _fresh(draft).revision
    response = _discard(office_console, draft, confirm="")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("#discard")
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "请勾选“确认放弃本草稿”" in page
    _post(office_console, draft, "dress.uniform", BASE | {"kind": "pass_fail", "title": "着装"})
    response = _discard(office_console, draft, version=str(shown))
    assert response.headers["Location"].endswith("#discard")
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "该草稿已被他人修改" in page
    db.session.expire_all()
    assert db.session.get(ChecklistVersion, draft.id) is not None


def test_the_only_version_cannot_be_discarded(office_console, app):
    template = checklists.create_template(
        {"code": "lonely", "name": "唯一版本", "all_sectors": True},
        actor=None,
        content={"name": "唯一版本", "sections": []},
    )
    db.session.commit()
    draft = checklists.list_versions(template)[0]
    page = office_console.get(f"/console/checklists/versions/{draft.id}/edit").get_data(
        as_text=True
    )
    assert "这是该检查表唯一的版本，不能放弃" in page
    response = _discard(office_console, draft)
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "这是该检查表唯一的版本，不能删除" in page
    db.session.expire_all()
    assert db.session.get(ChecklistVersion, draft.id) is not None


def test_the_builder_folds_each_section(office_console, published):
    draft = _draft(office_console, published)
    page = office_console.get(f"/console/checklists/versions/{draft.id}/edit").get_data(
        as_text=True
    )
    assert page.count('<details class="card draft-section"') == 2
    assert "<summary><h2>1. 仪容仪表" in page
