"""The office reads checklists in the console: the templates and a version's items."""

from __future__ import annotations

from sqlalchemy import event

from checklists import library
from core.db import db


def test_templates_page_lists_versions_and_links_to_them(office_console, app):
    version = library.install_default()
    db.session.commit()
    page = office_console.get("/console/checklists").get_data(as_text=True)
    assert "窗口服务明察暗访检查表" in page
    assert "所有行业领域" in page
    assert f"/console/checklists/versions/{version.id}" in page
    assert "已发布" in page


def test_version_page_shows_every_item_with_its_rules(office_console, app):
    version = library.install_default()
    db.session.commit()
    response = office_console.get(f"/console/checklists/versions/{version.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for section in version.content["sections"]:
        assert section["title"] in page
        for item in section["items"]:
            assert item["code"] in page
    assert "一票否决" in page
    assert "002 第十八条" in page


def test_templates_page_queries_do_not_grow_with_templates(office_console, app, make_sector):
    def count():
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert office_console.get("/console/checklists").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    from checklists import service

    service.create_template({"code": "one", "name": "一", "all_sectors": True}, actor=None)
    db.session.commit()
    few = count()
    for n in range(5):
        service.create_template(
            {"code": f"more{n}", "name": f"多{n}", "sector_ids": [make_sector().id]}, actor=None
        )
    db.session.commit()
    assert count() == few


def test_missing_version_is_a_404_page(office_console):
    response = office_console.get("/console/checklists/versions/987654")
    assert response.status_code == 404
