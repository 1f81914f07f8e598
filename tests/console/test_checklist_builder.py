"""The checklist builder in the console: draft from the published version, edit sections and
items, reorder, preview, publish — through the API's services, each edit proven current by
the draft's revision (the console's If-Match)."""

from __future__ import annotations

import re

import pytest

from accounts.models import Role
from checklists import service as checklists
from checklists.models import ChecklistVersion, VersionStatus
from core.db import db
from tests.console.conftest import ConsoleClient

CONTENT = {
    "name": "编辑器检查表",
    "sections": [
        {
            "code": "dress",
            "title": "仪容仪表",
            "items": [
                {"code": "dress.uniform", "kind": "pass_fail", "title": "统一着装", "points": 2},
                {"code": "dress.badge", "kind": "pass_fail", "title": "佩戴工牌", "points": 1},
            ],
        },
        {
            "code": "hall",
            "title": "大厅环境",
            "items": [{"code": "hall.clean", "kind": "pass_fail", "title": "干净整洁"}],
        },
    ],
}


@pytest.fixture
def published(app) -> ChecklistVersion:
    template = checklists.create_template(
        {"code": "builder", "name": "编辑器检查表", "all_sectors": True},
        actor=None,
        content=CONTENT,
    )
    version = checklists.publish(checklists.list_versions(template)[0], actor=None)
    db.session.commit()
    return version


def _draft(office_console: ConsoleClient, published: ChecklistVersion) -> ChecklistVersion:
    response = office_console.post(f"/console/checklists/{published.template_id}/drafts")
    assert response.status_code == 303
    match = re.search(r"/console/checklists/versions/(\d+)/edit$", response.headers["Location"])
    assert match, response.headers["Location"]
    office_console.get(response.headers["Location"])  # as the browser does: a CSRF token
    return db.session.get(ChecklistVersion, int(match.group(1)))


def _fresh(version: ChecklistVersion) -> ChecklistVersion:
    db.session.expire_all()
    return db.session.get(ChecklistVersion, version.id)


def _codes(version: ChecklistVersion, section: int = 0) -> list[str]:
    return [item["code"] for item in _fresh(version).content["sections"][section]["items"]]


ITEM_FORM = {
    "title": "工作人员微笑服务",
    "guidance": "观察窗口人员接待群众时的态度",
    "kind": "pass_fail",
    "points": "3",
    "severity": "major",
    "photo": "on_fail",
    "deadline_days": "5",
    "critical": "1",
    "fix_on_spot": "1",
}


def _add_item(console, draft, form=None, section="dress"):
    url = f"/console/checklists/versions/{draft.id}/sections/{section}/items"
    return console.post(url, {"version": str(_fresh(draft).revision)} | (form or ITEM_FORM))


def test_new_draft_copies_the_published_version(office_console, published):
    page = office_console.get("/console/checklists").get_data(as_text=True)
    assert 'data-new-draft="builder"' in page
    draft = _draft(office_console, published)
    assert draft.status == VersionStatus.draft
    assert draft.number == 2
    assert draft.content == published.content
    page = office_console.get(f"/console/checklists/versions/{draft.id}/edit").get_data(
        as_text=True
    )
    assert "统一着装" in page
    assert "干净整洁" in page
    # The list now leads to the draft instead of making a second one.
    listing = office_console.get("/console/checklists").get_data(as_text=True)
    assert "编辑草稿（第 2 版）" in listing


def test_adding_an_item_stores_every_field_typed(office_console, published):
    draft = _draft(office_console, published)
    response = _add_item(office_console, draft)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("#item-dress.3")
    item = _fresh(draft).content["sections"][0]["items"][-1]
    assert item == item | {
        "code": "dress.3",
        "title": "工作人员微笑服务",
        "guidance": "观察窗口人员接待群众时的态度",
        "kind": "pass_fail",
        "points": 3,
        "severity": "major",
        "photo": "on_fail",
        "deadline_days": 5,
        "critical": True,
        "fix_on_spot": True,
    }
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "已新增检查项" in page
    assert "工作人员微笑服务" in page


def test_editing_an_item_changes_only_what_the_form_says(office_console, published):
    draft = _draft(office_console, published)
    url = f"/console/checklists/versions/{draft.id}/items/dress.badge"
    form = office_console.get(url).get_data(as_text=True)
    assert "佩戴工牌" in form
    assert 'name="version"' in form
    response = office_console.post(
        url,
        {
            "version": str(_fresh(draft).revision),
            "title": "佩戴工作牌",
            "guidance": "",
            "kind": "pass_fail",
            "points": "1.5",
            "severity": "severe",
            "photo": "always",
            "deadline_days": "",
            "section": "hall",
        },
    )
    assert response.status_code == 303
    content = _fresh(draft).content
    assert [i["code"] for i in content["sections"][0]["items"]] == ["dress.uniform"]
    moved = content["sections"][1]["items"][-1]
    assert (
        moved
        | {
            "code": "dress.badge",
            "title": "佩戴工作牌",
            "points": 1.5,
            "severity": "severe",
            "photo": "always",
            "deadline_days": 3,  # blank: the severity's default
            "critical": False,
        }
        == moved
    )


def test_items_and_sections_move_up_and_down(office_console, published):
    draft = _draft(office_console, published)
    url = f"/console/checklists/versions/{draft.id}/items/dress.badge"
    response = office_console.post(url, {"version": str(_fresh(draft).revision), "op": "up"})
    assert response.status_code == 303
    assert _codes(draft) == ["dress.badge", "dress.uniform"]
    office_console.post(url, {"version": str(_fresh(draft).revision), "op": "down"})
    assert _codes(draft) == ["dress.uniform", "dress.badge"]
    section = f"/console/checklists/versions/{draft.id}/sections/hall"
    office_console.post(section, {"version": str(_fresh(draft).revision), "op": "up"})
    assert [s["code"] for s in _fresh(draft).content["sections"]] == ["hall", "dress"]
    page = office_console.get(f"/console/checklists/versions/{draft.id}/edit").get_data(
        as_text=True
    )
    assert page.index("大厅环境") < page.index("仪容仪表")


def test_deleting_an_item_and_a_section(office_console, published):
    draft = _draft(office_console, published)
    item = f"/console/checklists/versions/{draft.id}/items/dress.uniform"
    response = office_console.post(item, {"version": str(_fresh(draft).revision), "op": "delete"})
    assert response.status_code == 303
    assert _codes(draft) == ["dress.badge"]
    assert "已删除检查项“统一着装”" in office_console.get(response.headers["Location"]).get_data(
        as_text=True
    )
    section = f"/console/checklists/versions/{draft.id}/sections/hall"
    office_console.post(section, {"version": str(_fresh(draft).revision), "op": "delete"})
    assert [s["code"] for s in _fresh(draft).content["sections"]] == ["dress"]


def test_adding_and_editing_a_section(office_console, published):
    draft = _draft(office_console, published)
    response = office_console.post(
        f"/console/checklists/versions/{draft.id}/sections",
        {"version": str(_fresh(draft).revision), "title": "便民设施", "cap": "10"},
    )
    assert response.status_code == 303
    added = _fresh(draft).content["sections"][-1]
    assert (added["code"], added["title"], added["cap"], added["items"]) == (
        "s3",
        "便民设施",
        10,
        [],
    )
    response = office_console.post(
        f"/console/checklists/versions/{draft.id}/sections/s3",
        {"version": str(_fresh(draft).revision), "title": "便民服务设施", "cap": ""},
    )
    assert response.status_code == 303
    changed = _fresh(draft).content["sections"][-1]
    assert (changed["title"], changed["cap"]) == ("便民服务设施", None)


def test_a_stale_page_is_refused_and_loses_nothing(office_console, published):
    draft = _draft(office_console, published)
    shown = _fresh(draft).revision
    # Someone else edits the draft after the page was shown.
    _add_item(office_console, draft, ITEM_FORM | {"title": "他人新增的一项"})
    before = _fresh(draft).content
    response = office_console.post(
        f"/console/checklists/versions/{draft.id}/items/dress.uniform",
        {"version": str(shown), **ITEM_FORM, "title": "我刚刚打好的标题"},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "已被他人修改，请刷新" in page
    assert "我刚刚打好的标题" in page  # the form comes back as typed
    assert _fresh(draft).content == before  # and nothing was changed
    # Moves and deletes from a stale page are refused too.
    moved = office_console.post(
        f"/console/checklists/versions/{draft.id}/items/dress.uniform",
        {"version": str(shown), "op": "delete"},
    )
    assert moved.status_code == 303
    assert "已被他人修改，请刷新" in office_console.get(moved.headers["Location"]).get_data(
        as_text=True
    )
    assert _fresh(draft).content == before


@pytest.mark.parametrize(
    ("points", "message"),
    [("-1", "应大于等于 0"), ("abc", "应为数字"), ("5000", "应小于等于 1000")],
)
def test_invalid_points_are_refused_beside_the_field(office_console, published, points, message):
    draft = _draft(office_console, published)
    before = _fresh(draft).content
    response = _add_item(office_console, draft, ITEM_FORM | {"points": points})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'<span class="field-error" data-error="points">{message}</span>' in page
    assert "内容有误，请按提示修改（本次修改未保存）" in page
    assert "工作人员微笑服务" in page  # what was typed stays
    assert _fresh(draft).content == before


def test_other_refusals_name_their_field(office_console, published):
    draft = _draft(office_console, published)
    response = _add_item(
        office_console,
        draft,
        ITEM_FORM | {"title": "", "kind": "text", "code": "dress.uniform", "deadline_days": "x"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<span class="field-error" data-error="title">不能为空</span>' in page
    assert 'data-error="points">文字记录和拍照项不计分' in page
    assert 'data-error="critical">文字记录和拍照项不能设为一票否决' in page
    assert 'data-error="code">检查项编码重复' in page
    assert 'data-error="deadline_days">应为整数' in page


def test_preview_is_the_inspectors_form(office_console, published, office):
    draft = _draft(office_console, published)
    _add_item(office_console, draft)
    page = office_console.get(f"/console/checklists/versions/{draft.id}/preview")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    form = office.get(f"/api/v1/checklist-versions/{draft.id}/form").get_json()
    for section in form["sections"]:
        assert section["title"] in text
        for item in section["items"]:
            assert f'data-item="{item["code"]}"' in text
    assert text.count('class="phone-item"') == sum(len(s["items"]) for s in form["sections"])
    assert "不符合时拍照" in text
    assert "一票否决" in text


def test_publish_makes_the_built_draft_the_apis_published_version(
    office_console, published, office
):
    draft = _draft(office_console, published)
    _add_item(office_console, draft)
    url = f"/console/checklists/versions/{draft.id}/items/dress.3"
    office_console.post(url, {"version": str(_fresh(draft).revision), "op": "up"})
    built = _fresh(draft).content
    response = office_console.post(
        f"/console/checklists/versions/{draft.id}/publish",
        {"version": str(_fresh(draft).revision)},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/console/checklists/versions/{draft.id}")
    answer = office.get(f"/api/v1/checklist-versions/{draft.id}").get_json()
    assert answer["status"] == "published"
    assert answer["content"] == built
    assert [i["code"] for i in answer["content"]["sections"][0]["items"]] == [
        "dress.uniform",
        "dress.3",
        "dress.badge",
    ]
    old = office.get(f"/api/v1/checklist-versions/{published.id}").get_json()
    assert old["status"] == "retired"
    # A published version no longer opens in the editor.
    assert office_console.get(f"/console/checklists/versions/{draft.id}/edit").status_code == 409


def test_publish_refuses_an_empty_section_and_keeps_the_draft(office_console, published):
    draft = _draft(office_console, published)
    office_console.post(
        f"/console/checklists/versions/{draft.id}/sections",
        {"version": str(_fresh(draft).revision), "title": "空分区"},
    )
    response = office_console.post(
        f"/console/checklists/versions/{draft.id}/publish",
        {"version": str(_fresh(draft).revision)},
    )
    assert response.headers["Location"].endswith(f"/console/checklists/versions/{draft.id}/edit")
    page = office_console.get(response.headers["Location"]).get_data(as_text=True)
    assert "发布前每个分区至少需要一个检查项" in page
    assert _fresh(draft).status == VersionStatus.draft


def test_readers_and_regional_offices_do_not_author(console, world, published):
    viewer = world.users[Role.viewer]
    console.sign_in(viewer.username)
    listing = console.get("/console/checklists").get_data(as_text=True)
    assert "data-new-draft" not in listing
    assert "/drafts" not in listing
    assert console.post(f"/console/checklists/{published.template_id}/drafts").status_code == 403
    # A viewer may look at the preview, as at any version.
    assert console.get(f"/console/checklists/versions/{published.id}/preview").status_code == 200
    regional = world.scoped_offices[Role.office_admin]
    console.post("/console/logout")
    console.sign_in(regional.username)
    assert "data-new-draft" not in console.get("/console/checklists").get_data(as_text=True)
    assert console.post(f"/console/checklists/{published.template_id}/drafts").status_code == 403
