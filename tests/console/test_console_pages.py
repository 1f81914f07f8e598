"""The console as the office meets it: sign-in, pages, roles, CSRF."""

import pytest
from flask import current_app

from accounts.models import Role
from api.auth import policy_of, route_methods
from tests.conftest import PASSWORD


def console_pages():
    """Every GET page of the console without URL parameters, from the URL map."""
    return sorted(
        rule
        for rule, method, _ in route_methods(current_app)
        if rule.startswith("/console")
        and method == "GET"
        and "<" not in rule
        and rule not in {"/console/login"}
        and not rule.startswith("/console/static")
        and not rule.endswith((".docx", ".xlsx", "/file"))  # downloads, not pages
    )


def test_sign_in_leads_to_the_dashboard(console, world):
    response = console.sign_in(world.users[Role.office_admin].username)
    assert response.status_code == 302
    page = console.get("/console/").get_data(as_text=True)
    assert "工作台" in page
    assert world.users[Role.office_admin].display_name in page


def test_wrong_password_stays_on_the_form(console, world):
    response = console.sign_in(world.users[Role.office_admin].username, "wrong")
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_pages_need_sign_in(console):
    response = console.get("/console/units")
    assert response.status_code == 302
    assert "/console/login?next=" in response.headers["Location"]


def test_every_page_renders_for_the_office(office_console):
    pages = console_pages()
    assert "/console/" in pages
    for url in pages:
        response = office_console.get(url)
        assert response.status_code == 200, url
        assert "<html" in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.inspector, Role.unit_staff])
def test_other_roles_cannot_use_the_console(console, world, role):
    response = console.sign_in(world.users[role].username)
    assert response.status_code == 403
    assert "控制台仅供督查办和牵头单位使用" in response.get_data(as_text=True)
    for url in console_pages():
        assert console.get(url).status_code == 302, url


def test_a_lead_unit_opens_its_pages_and_no_others(console, world):
    assert console.sign_in(world.users[Role.lead_unit_staff].username).status_code == 302
    for rule, method, endpoint in route_methods(current_app):
        if rule not in console_pages() or method != "GET":
            continue
        allowed = Role.lead_unit_staff in policy_of(current_app, endpoint, method)
        assert console.get(rule).status_code == (200 if allowed else 403), rule


def test_viewer_reads_the_console(console, world):
    assert console.sign_in(world.users[Role.viewer].username).status_code == 302
    assert console.get("/console/units").status_code == 200


def test_a_post_without_the_csrf_token_is_refused(office_console):
    response = office_console.post("/console/logout", with_csrf=False)
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    # Still signed in: the forged request changed nothing.
    assert office_console.get("/console/units").status_code == 200


def test_sign_in_without_csrf_is_refused(console, world):
    response = console.post(
        "/console/login",
        {"username": world.users[Role.office_admin].username, "password": PASSWORD},
        with_csrf=False,
    )
    assert response.status_code == 400


def test_sign_out_ends_the_session(office_console):
    assert office_console.post("/console/logout").status_code == 302
    assert office_console.get("/console/units").status_code == 302


def test_no_open_redirect_after_sign_in(console, world):
    console.get("/console/login")
    response = console.post(
        "/console/login",
        {
            "username": world.users[Role.office_admin].username,
            "password": PASSWORD,
            "next": "https://evil.example/",
        },
    )
    assert response.headers["Location"] == "/console/"


def test_units_page_lists_units(office_console, world):
    page = office_console.get("/console/units?q=" + world.unit_b.name).get_data(as_text=True)
    assert world.unit_b.name in page
    assert world.unit_a.name not in page
