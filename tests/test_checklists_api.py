"""Checklists over HTTP: authoring with ETags, publishing, the default library, the
mini program's cacheable form, export and import."""

from __future__ import annotations

import contextlib
import io

import pytest
from sqlalchemy import event, func, select

from accounts.models import Role
from checklists import library, transfer
from checklists.models import ChecklistVersion
from core.audit import AuditEvent
from core.db import db
from tests.conftest import assert_problem

API = "/api/v1"


@contextlib.contextmanager
def count_queries():
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def new_template(office, **over):
    body = {"code": "hall", "name": "大厅检查表", "all_sectors": True} | over
    response = office.post(f"{API}/checklist-templates", json=body)
    assert response.status_code == 201, response.get_json()
    template = response.get_json()
    draft = office.get(f"{API}/checklist-templates/{template['id']}/versions").get_json()[0]
    return template, draft


def etagged(office, method, url, version, **kw):
    headers = {"If-Match": f'"{version["revision"]}"'}
    return office.open(url, method=method, headers=headers, **kw)


ITEM = {"code": "dress.uniform", "kind": "pass_fail", "title": "统一着装", "points": 4}


def build_draft(office):
    template, draft = new_template(office)
    url = f"{API}/checklist-versions/{draft['id']}"
    response = etagged(
        office,
        "POST",
        f"{url}/sections",
        draft,
        json={"code": "dress", "title": "仪容仪表", "cap": 10},
    )
    assert response.status_code == 201, response.get_json()
    assert response.headers["ETag"] == f'"{response.get_json()["revision"]}"'
    response = etagged(
        office, "POST", f"{url}/sections/dress/items", response.get_json(), json=ITEM
    )
    assert response.status_code == 201, response.get_json()
    return template, response.get_json()


def test_default_library_is_loaded_by_the_demo_hook_and_visible(app, world, client_for):
    for hook in app.extensions["demo_hooks"]:
        if hook is library.install_default:
            hook()
    db.session.commit()
    inspector = client_for(world.users[Role.inspector])
    response = inspector.get(f"{API}/units/{world.unit_a.id}/checklist")
    assert response.status_code == 200
    form = response.get_json()
    assert form["name"] == "窗口服务明察暗访检查表"
    titles = {section["title"] for section in form["sections"]}
    assert {"仪容仪表", "禁烟", "环境卫生", "视频监控", "无障碍与便民设施"} <= titles
    assert sum(len(s["items"]) for s in form["sections"]) >= 30
    # Installing again is a no-op: same version, nothing new.
    assert library.install_default().id == form["version_id"]


def test_author_publish_and_freeze(app, office, world):
    _template, draft = build_draft(office)
    url = f"{API}/checklist-versions/{draft['id']}"
    assert draft["content"]["sections"][0]["items"][0]["severity"] == "general"

    assert_problem(office.post(f"{url}/publish"), 428)
    assert_problem(office.post(f"{url}/publish", headers={"If-Match": '"1"'}), 412)
    published = etagged(office, "POST", f"{url}/publish", draft)
    assert published.status_code == 200, published.get_json()
    body = published.get_json()
    assert body["status"] == "published"
    assert body["published_at"]

    # A published version answers every edit with 409 and says what to do.
    for method, path, payload in [
        ("PATCH", "/items/dress.uniform", {"points": 1}),
        ("DELETE", "/items/dress.uniform", None),
        ("POST", "/sections", {"code": "smoking", "title": "禁烟"}),
        ("PATCH", "/sections/dress", {"title": "着装"}),
        ("PUT", "/content", {"name": "x", "sections": []}),
        ("POST", "/publish", None),
    ]:
        response = etagged(office, method, url + path, body, json=payload)
        problem = assert_problem(response, 409)
        assert "新建草稿" in problem["detail"]
    stored = db.session.get(ChecklistVersion, draft["id"])
    assert stored.content_hash == body["content_hash"]
    assert stored.content["sections"][0]["items"][0]["points"] == 4


def test_stale_and_missing_if_match_on_item_edits(app, office):
    _, draft = build_draft(office)
    url = f"{API}/checklist-versions/{draft['id']}/items/dress.uniform"
    assert_problem(office.patch(url, json={"points": 2}), 428)
    stale = {"If-Match": f'"{draft["revision"] - 1}"'}
    assert_problem(office.patch(url, json={"points": 2}, headers=stale), 412)
    response = etagged(office, "PATCH", url, draft, json={"points": 2, "severity": "major"})
    assert response.status_code == 200
    item = response.get_json()["content"]["sections"][0]["items"][0]
    assert (item["points"], item["severity"]) == (2, "major")
    # The old ETag is now stale.
    assert_problem(etagged(office, "PATCH", url, draft, json={"points": 3}), 412)


def test_an_edit_that_changes_nothing_stores_nothing(app, office):
    """A resend, or a form saved as it was: 200 with the draft as it is, the revision and
    its ETag unchanged, no audit event claiming a change."""
    _, draft = build_draft(office)
    url = f"{API}/checklist-versions/{draft['id']}"
    item = draft["content"]["sections"][0]["items"][0]
    section = draft["content"]["sections"][0]
    edits = [
        (f"{url}/items/{item['code']}", {"points": item["points"]}),
        (f"{url}/items/{item['code']}", {"title": item["title"], "kind": item["kind"]}),
        (f"{url}/sections/{section['code']}", {"title": section["title"]}),
    ]
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    for path, payload in edits * 2:
        response = etagged(office, "PATCH", path, draft, json=payload)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["revision"] == draft["revision"]
        assert response.headers["ETag"] == f'"{draft["revision"]}"'
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before


def test_item_validation_names_the_path_and_stores_nothing(app, office):
    _, draft = build_draft(office)
    url = f"{API}/checklist-versions/{draft['id']}/sections/dress/items"
    response = etagged(
        office,
        "POST",
        url,
        draft,
        json={"code": "x", "kind": "score", "title": "评分", "points": -2},
    )
    problem = assert_problem(response, 422)
    assert problem["errors"]["sections[0].items[1].points"] == ["应大于等于 0"]
    assert problem["errors"]["sections[0].items[1].max"] == ["必填字段"]
    assert db.session.get(ChecklistVersion, draft["id"]).item_count == 1


def test_missing_section_and_item_are_404(app, office):
    _, draft = build_draft(office)
    url = f"{API}/checklist-versions/{draft['id']}"
    assert_problem(etagged(office, "DELETE", f"{url}/items/nope", draft), 404)
    assert_problem(etagged(office, "POST", f"{url}/sections/nope/items", draft, json=ITEM), 404)


def test_new_draft_then_publish_retires_the_old_version_which_still_renders(
    app, office, world, client_for
):
    template, draft = build_draft(office)
    first = etagged(
        office, "POST", f"{API}/checklist-versions/{draft['id']}/publish", draft
    ).get_json()
    versions = f"{API}/checklist-templates/{template['id']}/versions"
    second = office.post(versions, json={})
    assert second.status_code == 201
    second = second.get_json()
    assert (second["number"], second["status"]) == (2, "draft")
    assert_problem(office.post(versions, json={}), 409)  # one draft at a time
    url = f"{API}/checklist-versions/{second['id']}"
    second = etagged(
        office, "PATCH", f"{url}/items/dress.uniform", second, json={"title": "规范着装"}
    ).get_json()
    etagged(office, "POST", f"{url}/publish", second)

    inspector = client_for(world.users[Role.inspector])
    old = inspector.get(f"{API}/checklist-versions/{first['id']}").get_json()
    assert old["status"] == "retired"
    assert old["content"]["sections"][0]["items"][0]["title"] == "统一着装"
    assert old["content_hash"] == first["content_hash"]
    current = inspector.get(f"{API}/units/{world.unit_a.id}/checklist").get_json()
    assert current["version_id"] == second["id"]
    assert current["sections"][0]["items"][0]["title"] == "规范着装"
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.entity_type == "checklist_version")
    ).all()
    assert actions.count("publish") == 2
    assert "retire" in actions


def test_drafts_are_invisible_outside_the_office(app, office, world, client_for):
    _, draft = build_draft(office)
    for role in (Role.inspector, Role.unit_staff, Role.lead_unit_staff):
        client = client_for(world.users[role])
        assert_problem(client.get(f"{API}/checklist-versions/{draft['id']}"), 404)
        assert_problem(client.get(f"{API}/checklist-versions/{draft['id']}/form"), 404)
    viewer = client_for(world.users[Role.viewer])
    assert viewer.get(f"{API}/checklist-versions/{draft['id']}").status_code == 200


def test_form_is_one_compact_request_cacheable_by_etag(app, world, client_for):
    version = world.checklist
    inspector = client_for(world.users[Role.inspector])
    url = f"{API}/checklist-versions/{version.id}/form"
    with count_queries() as statements:
        response = inspector.get(url)
    assert response.status_code == 200
    assert len(statements) <= 3  # the token, the version's tag, the version
    etag = response.headers["ETag"]
    assert version.content_hash in etag
    body = response.get_json()
    assert body["labels"]["severity"]["severe"] == "严重"
    assert body["sections"][0]["items"][0] == {
        "code": "dress.uniform",
        "kind": "pass_fail",
        "title": "着装",
        "points": 0,
        "photo": "never",
        "severity": "general",
        "deadline_days": 15,
        "required": True,
        "allow_na": True,
    }
    with count_queries() as statements:
        cached = inspector.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert len(statements) <= 2  # the content is not even loaded
    assert cached.data == b""
    assert cached.headers["ETag"] == etag
    assert inspector.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_unit_checklist_prefers_a_template_for_the_units_sector(app, office, world, client_for):
    general = world.checklist
    template, draft = build_draft(office)
    patch = office.patch(
        f"{API}/checklist-templates/{template['id']}",
        json={"all_sectors": False, "sector_ids": [world.sector_a.id]},
        headers={"If-Match": f'"{template["revision"]}"'},
    )
    assert patch.status_code == 200, patch.get_json()
    assert patch.get_json()["sector_ids"] == [world.sector_a.id]
    etagged(office, "POST", f"{API}/checklist-versions/{draft['id']}/publish", draft)
    staff_a = client_for(world.users[Role.unit_staff])
    staff_b = client_for(world.unit_staff_b)
    assert (
        staff_a.get(f"{API}/units/{world.unit_a.id}/checklist").get_json()["version_id"]
        == (draft["id"])
    )
    assert staff_b.get(f"{API}/units/{world.unit_b.id}/checklist").get_json()["version_id"] == (
        general.id
    )
    assert_problem(staff_a.get(f"{API}/units/{world.unit_b.id}/checklist"), 404)


def test_unit_without_any_published_checklist_is_404(app, world, client_for):
    inspector = client_for(world.users[Role.inspector])
    problem = assert_problem(inspector.get(f"{API}/units/{world.unit_a.id}/checklist"), 404)
    assert "检查表" in problem["detail"]


def test_template_patch_needs_if_match(app, office):
    template, _ = new_template(office)
    url = f"{API}/checklist-templates/{template['id']}"
    assert_problem(office.patch(url, json={"name": "新名称"}), 428)
    assert_problem(office.patch(url, json={"name": "新名称"}, headers={"If-Match": '"9"'}), 412)
    assert_problem(
        office.post(f"{API}/checklist-templates", json={"code": "hall", "name": "重复"}), 409
    )


def test_export_import_round_trips_exactly(app, office):
    library.install_default()
    db.session.commit()
    version_id = office.get(f"{API}/checklist-templates").get_json()["items"][0]["id"]
    version_id = office.get(f"{API}/checklist-templates/{version_id}/versions").get_json()[0]["id"]
    exported = office.get(f"{API}/checklist-versions/{version_id}/export")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["Content-Disposition"]
    document = exported.get_json()

    imported = office.post(f"{API}/checklist-templates/import", json=document | {"code": "copy"})
    assert imported.status_code == 201, imported.get_json()
    draft = office.get(f"{API}/checklist-templates/{imported.get_json()['id']}/versions")
    draft = draft.get_json()[0]
    assert draft["content_hash"] == document["content_hash"]
    again = office.get(f"{API}/checklist-versions/{draft['id']}/export").get_json()
    assert again["content"] == document["content"]
    assert {k: v for k, v in again.items() if k not in ("code", "status")} == {
        k: v for k, v in document.items() if k not in ("code", "status")
    }


def test_import_errors_name_item_paths(app, office):
    document = library.read_default_document()
    document["code"] = "broken"
    document["content"]["sections"][2]["items"][4]["points"] = -1
    document["content"]["sections"][0]["items"][0]["kind"] = "essay"
    problem = assert_problem(office.post(f"{API}/checklist-templates/import", json=document), 422)
    assert problem["errors"]["content.sections[2].items[4].points"] == ["应大于等于 0"]
    assert "content.sections[0].items[0].kind" in problem["errors"]
    assert office.get(f"{API}/checklist-templates").get_json()["total"] == 0


@pytest.mark.parametrize(
    "body",
    [{"name": "x", "sections": "no"}, {"name": "x", "sections": [], "extra": 1}, {"sections": []}],
)
def test_replacing_content_validates(app, office, body):
    _, draft = new_template(office)
    url = f"{API}/checklist-versions/{draft['id']}/content"
    assert_problem(etagged(office, "PUT", url, draft, json=body), 422)


def test_replace_content_then_publish_requires_items(app, office):
    _, draft = new_template(office)
    url = f"{API}/checklist-versions/{draft['id']}"
    empty = {"name": "空表", "sections": [{"code": "a", "title": "甲"}]}
    draft = etagged(office, "PUT", f"{url}/content", draft, json=empty).get_json()
    problem = assert_problem(etagged(office, "POST", f"{url}/publish", draft), 422)
    assert list(problem["errors"]) == ["sections[0].items"]


HOSTILE = [None, True, 5e-324, -1, 2**63, 1.5, "", "x" * 5000, "\x00", [], {}, [{}], ["a"]]


def test_hostile_values_on_a_draft_are_422_never_500(app, office):
    """The policy-matrix fuzz reaches a published version (409); this one edits a draft."""
    _, draft = build_draft(office)
    url = f"{API}/checklist-versions/{draft['id']}"
    spec = office.get(f"{API}/openapi.json").get_json()
    item_fields = list(spec["components"]["schemas"]["Item"]["properties"])
    section_fields = list(spec["components"]["schemas"]["Section"]["properties"])
    attempts = [
        ("PATCH", f"{url}/items/dress.uniform", {name: value})
        for name in item_fields
        for value in HOSTILE
    ]
    attempts += [
        ("POST", f"{url}/sections/dress/items", {**ITEM, "code": "new", name: value})
        for name in item_fields
        for value in HOSTILE
    ]
    attempts += [
        ("POST", f"{url}/sections", {"code": "s2", "title": "新分区", name: value})
        for name in section_fields
        for value in HOSTILE
    ]
    attempts += [
        ("PUT", f"{url}/content", {"name": "x", "sections": value, "scoring": value})
        for value in [*HOSTILE, *([{"code": "s", "title": "t", "items": v}] for v in HOSTILE)]
    ]
    failures = []
    for method, target, body in attempts:
        response = etagged(office, method, target, draft, json=body)
        if response.status_code < 300:
            draft = response.get_json()  # an accepted edit moves the ETag on
        elif response.status_code >= 500 or response.mimetype != "application/problem+json":
            failures.append((method, target, body, response.status_code))
    assert not failures, failures[:5]


def test_deleting_templates_and_drafts(app, office, world):
    template, draft = new_template(office)
    template_url = f"{API}/checklist-templates/{template['id']}"
    version_url = f"{API}/checklist-versions/{draft['id']}"
    only_version = assert_problem(etagged(office, "DELETE", version_url, draft), 409)
    assert "唯一" in only_version["detail"]
    assert_problem(office.delete(template_url), 428)
    assert etagged(office, "DELETE", template_url, template).status_code == 204
    assert_problem(office.get(template_url), 404)
    assert db.session.get(ChecklistVersion, draft["id"]) is None

    published = world.checklist
    template_url = f"{API}/checklist-templates/{published.template_id}"
    headers = {"If-Match": f'"{published.template.revision}"'}
    assert_problem(office.delete(template_url, headers=headers), 409)
    second = office.post(f"{template_url}/versions", json={}).get_json()
    second_url = f"{API}/checklist-versions/{second['id']}"
    assert etagged(office, "DELETE", second_url, second).status_code == 204
    assert_problem(office.get(second_url), 404)
    assert office.post(f"{template_url}/versions", json={}).status_code == 201


def test_sections_and_items_move_and_change_kind(app, office):
    _, draft = build_draft(office)
    url = f"{API}/checklist-versions/{draft['id']}"
    draft = etagged(
        office,
        "POST",
        f"{url}/sections",
        draft,
        json={"code": "smoking", "title": "禁烟", "position": 0},
    ).get_json()
    assert [s["code"] for s in draft["content"]["sections"]] == ["smoking", "dress"]
    draft = etagged(
        office, "PATCH", f"{url}/items/dress.uniform", draft, json={"section": "smoking"}
    ).get_json()
    assert [len(s["items"]) for s in draft["content"]["sections"]] == [1, 0]
    nowhere = etagged(office, "PATCH", f"{url}/items/dress.uniform", draft, json={"section": "x"})
    assert assert_problem(nowhere, 422)["errors"] == {"section": ["没有这个分区"]}
    draft = etagged(
        office, "PATCH", f"{url}/items/dress.uniform", draft, json={"kind": "score", "max": 5}
    ).get_json()
    item = draft["content"]["sections"][0]["items"][0]
    assert (item["kind"], item["max"], item["pass_score"], item["allow_na"]) == (
        "score",
        5,
        5,
        True,
    )
    bad = etagged(office, "PATCH", f"{url}/items/dress.uniform", draft, json={"kind": "text"})
    assert assert_problem(bad, 422)["errors"] == {
        "sections[0].items[0].points": ["文字记录和拍照项不计分，分值应为 0"]
    }
    draft = etagged(
        office, "PATCH", f"{url}/sections/smoking", draft, json={"position": 5, "cap": 8}
    ).get_json()
    assert [(s["code"], s["cap"]) for s in draft["content"]["sections"]] == [
        ("dress", 10),
        ("smoking", 8),
    ]
    draft = etagged(office, "DELETE", f"{url}/sections/smoking", draft).get_json()
    assert [s["code"] for s in draft["content"]["sections"]] == ["dress"]


def test_a_section_cap_is_cleared_with_null(app, office):
    """The schema documents `cap` as nullable: null takes the cap away."""
    _, draft = build_draft(office)
    url = f"{API}/checklist-versions/{draft['id']}/sections/dress"
    response = etagged(office, "PATCH", url, draft, json={"cap": None})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["content"]["sections"][0]["cap"] is None


def test_concurrent_new_drafts_make_one_and_a_clear_conflict(app, office, world):
    """Both requests pass the one-draft check before either commits; the loser gets a 409
    (or 503 to retry, when SQLite refuses the second writer), never a 500 or two drafts."""
    import threading

    from checklists import service

    template_id = world.checklist.template_id
    barrier = threading.Barrier(2, timeout=10)
    real_max_number = service.list_versions

    def slow_list_versions(template):
        versions = real_max_number(template)
        barrier.wait()  # both have looked; neither has written
        return versions

    statuses = []

    def post():
        statuses.append(
            office.post(f"{API}/checklist-templates/{template_id}/versions", json={}).status_code
        )

    service.list_versions = slow_list_versions
    try:
        threads = [threading.Thread(target=post) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
    finally:
        service.list_versions = real_max_number
    assert sorted(statuses)[0] == 201
    assert sorted(statuses)[1] in (409, 503)
    db.session.expire_all()
    numbers = db.session.scalars(
        select(ChecklistVersion.number).where(ChecklistVersion.template_id == template_id)
    ).all()
    assert sorted(numbers) == [1, 2]


def upload(office, name: str, data: bytes):
    return office.post(
        f"{API}/checklist-templates/import-file",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    "extra", ["2026-01-01: 1", "2026-01-01 10:00:00: 1", "1: 1\nzzz: 2", "null: 1\ntrue: 2"]
)
def test_yaml_keys_that_are_not_text_are_named_not_a_server_error(app, office, extra):
    """YAML keys may be dates, numbers, null or booleans: each unknown one is named, as text."""
    version = library.install_default()
    db.session.commit()
    text = office.get(f"{API}/checklist-versions/{version.id}/export?format=yaml").get_data(
        as_text=True
    )
    text = text.replace("code: window_service", "code: window_keys", 1) + extra + "\n"
    problem = assert_problem(upload(office, "keys.yaml", text.encode()), 422)
    named = problem["errors"]
    named = named.get("json", named)
    assert any(key not in ("format", "code") for key in named), named


def test_yaml_export_imports_back_to_the_same_hash(app, office):
    version = library.install_default()
    db.session.commit()
    exported = office.get(f"{API}/checklist-versions/{version.id}/export?format=yaml")
    assert exported.status_code == 200
    assert exported.headers["Content-Type"] == "application/yaml; charset=utf-8"
    assert 'filename="window_service-v1.yaml"' in exported.headers["Content-Disposition"]
    text = exported.get_data(as_text=True)
    assert "窗口服务明察暗访检查表" in text  # readable, not \u escapes
    text = text.replace("code: window_service", "code: window_copy", 1)
    imported = upload(office, "copy.yaml", text.encode())
    assert imported.status_code == 201, imported.get_json()
    draft = office.get(f"{API}/checklist-templates/{imported.get_json()['id']}/versions")
    assert draft.get_json()[0]["content_hash"] == version.content_hash

    json_file = office.get(f"{API}/checklist-versions/{version.id}/export").get_data()
    again = upload(office, "again.json", json_file.replace(b"window_service", b"window_json", 1))
    assert again.status_code == 201, again.get_json()


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("x.txt", b"{}", "file"),
        ("x.json", b"{not json", "file"),
        ("x.yaml", b"a: [1, 2", "file"),
        ("x.yaml", b"\xff\xfe\x00", "file"),
        ("x.yaml", b"a: &x [1, 2]\nb: [*x, *x]\n", "file"),
        ("x.yaml", b"- just\n- a list\n", ""),
    ],
)
def test_bad_import_files_are_422_naming_the_problem(app, office, name, data, field):
    problem = assert_problem(upload(office, name, data), 422)
    assert field in problem["errors"]


def test_yaml_import_errors_name_item_paths(app, office):
    document = library.read_default_document()
    document["code"] = "from_yaml"
    document["content"]["sections"][1]["items"][2]["points"] = 10**400
    text = transfer.dump_yaml(document).encode()
    problem = assert_problem(upload(office, "bad.yml", text), 422)
    assert problem["errors"] == {"content.sections[1].items[2].points": ["应小于等于 1000"]}
