"""Offices at every level in the console: lead units sign in and see their sector, a town
office sees its subtree, the navigation shows what each may open, every dashboard figure
equals the list it links to, and a city-wide admin binds office accounts to regions on the
人员 page (issue: offices at every level, points 1, 2 and 6)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select

from accounts.models import Role, User
from api.auth import PUBLIC, policy_of
from core.audit import AuditEvent
from core.clock import utcnow
from core.db import db
from org.models import RegionLevel
from rectification.deadlines import end_of_day
from tests.console.conftest import without_tokens
from tests.console.support import inspection_to_review, responded_task
from tests.console.test_dashboard import figure
from tests.rectification_support import open_task

FIGURE = re.compile(
    r'<a class="figure[^"]*" href="([^"]+)">\s*<span class="value">([^<]+)</span>'
    r'<span class="label">([^<]+)</span>'
)
TOTAL = re.compile(r"共 (\d+) 条")


def page_of(console, url: str) -> str:
    response = console.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def nav_labels(page: str) -> list[str]:
    block = re.search(r'<nav class="nav"[^>]*>(.*?)</nav>', page, re.S).group(1)
    return re.findall(r">([^<]+)</a>", block)


def options(page: str, name: str) -> set[str]:
    block = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    return {label.strip() for label in re.findall(r"<option[^>]*>([^<]*)</option>", block)} - {
        "全部"
    }


def table_rows(page: str) -> str:
    return re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)


@pytest.fixture
def tree(make_region, world):
    """普宁市 → 流沙东街道 (unit A's street) → 社区; 普宁市 → 占陇镇 (unit B's town)."""
    city = make_region(level=RegionLevel.city)
    liusha = world.unit_a.region
    liusha.parent_id = city.id
    community = make_region(level=RegionLevel.community, parent_id=liusha.id)
    zhanlong = world.unit_b.region
    zhanlong.parent_id = city.id
    db.session.commit()
    return city, liusha, community, zhanlong


@pytest.fixture
def sign_in(console, make_user):
    def sign(user: User):
        response = console.sign_in(user.username)
        assert response.status_code == 302, response.get_data(as_text=True)
        return console

    return sign


# -- who signs in ---------------------------------------------------------------------------


def test_a_lead_unit_signs_in_to_its_sector(console, world):
    response = console.sign_in(world.users[Role.lead_unit_staff].username)
    assert response.status_code == 302
    page = page_of(console, "/console/")
    assert world.users[Role.lead_unit_staff].display_name in page
    assert "牵头单位" in page
    units = page_of(console, "/console/units")
    assert world.unit_a.name in units
    assert world.unit_b.name not in units
    assert options(units, "sector_id") == {world.sector_a.name}


@pytest.mark.parametrize("role", [Role.unit_staff, Role.inspector])
def test_units_and_inspectors_are_still_turned_away(console, world, role):
    response = console.sign_in(world.users[role].username)
    assert response.status_code == 403
    assert "请使用小程序" in response.get_data(as_text=True)
    assert console.get("/console/").status_code == 302


# -- navigation -------------------------------------------------------------------------------


def _allowed(endpoint: str, role: Role) -> bool:
    policy = policy_of(current_app, endpoint, "GET")
    return policy == PUBLIC or role in policy


@pytest.mark.parametrize("role", [Role.office_admin, Role.viewer, Role.lead_unit_staff])
def test_the_navigation_shows_what_the_role_may_open(console, world, role):
    assert console.sign_in(world.users[role].username).status_code == 302
    shown = nav_labels(page_of(console, "/console/"))
    registry = current_app.extensions["console_nav"]
    assert shown == [e.label for e in registry if _allowed(e.endpoint, role)]
    for entry in registry:
        response = console.get(current_app.url_map.bind("localhost").build(entry.endpoint))
        assert response.status_code == (200 if entry.label in shown else 403), entry


def test_a_lead_unit_sees_no_office_work_in_the_navigation(console, world):
    assert console.sign_in(world.users[Role.lead_unit_staff].username).status_code == 302
    shown = nav_labels(page_of(console, "/console/"))
    assert shown[:1] == ["工作台"]
    assert "窗口单位" in shown
    for office_only in ("督查计划", "检查表", "人员"):
        assert office_only not in shown


def test_a_nav_entry_may_be_narrowed_to_some_roles(make_app):
    from console.views import NAV, add_nav

    app = make_app()
    add_nav(app, "console.units", "本行业单位", roles=(Role.lead_unit_staff,))
    entries = [e for e in app.extensions[NAV] if e.endpoint == "console.units"]
    assert [(e.label, e.roles) for e in entries] == [
        ("窗口单位", None),
        ("本行业单位", frozenset({Role.lead_unit_staff})),
    ]


# -- dashboard figures are the lists they link to ---------------------------------------------


@pytest.fixture
def work(world, tree):
    """An inspection to review at A; open, late, responded tasks at A and B."""
    inspection_to_review(world)
    for unit in (world.unit_a, world.unit_b):
        late = open_task(unit)
        late.due_on = (utcnow() - timedelta(days=2)).date()
        late.due_at = end_of_day(late.due_on)
        open_task(unit)
    db.session.commit()
    responded_task(world)
    responded_task(world, unit=world.unit_b, staff=world.unit_staff_b)
    return world


def people(world, tree, make_user) -> dict[str, User]:
    _, liusha, _, _ = tree
    return {
        "city office": world.users[Role.office_admin],
        "city viewer": world.users[Role.viewer],
        "town office": make_user(Role.office_admin, region_id=liusha.id),
        "town viewer": make_user(Role.viewer, region_id=liusha.id),
        "lead unit": world.users[Role.lead_unit_staff],
    }


@pytest.mark.parametrize(
    "who", ["city office", "city viewer", "town office", "town viewer", "lead unit"]
)
def test_every_figure_equals_the_list_it_links_to(work, tree, make_user, sign_in, who):
    console = sign_in(people(work, tree, make_user)[who])
    for period in ("month", "year"):
        page = page_of(console, f"/console/?period={period}")
        figures = FIGURE.findall(page)
        assert any("窗口单位" in label for _, _, label in figures), "the units figure links"
        for link, value, label in figures:
            listed = page_of(console, html.unescape(link))
            assert TOTAL.search(listed), link
            assert int(value) == int(TOTAL.search(listed).group(1)), (label, link)


def test_a_town_office_dashboard_covers_its_subtree(work, tree, make_user, sign_in):
    _, liusha, _, _ = tree
    console = sign_in(make_user(Role.office_admin, region_id=liusha.id))
    page = page_of(console, "/console/?period=year")
    assert figure(page, "在册窗口单位") == "1"
    assert f"{work.sector_a.name}</text>" in page
    assert f"{work.sector_b.name}</text>" not in page
    assert f"{work.unit_b.region.name}</text>" not in page


def test_a_lead_unit_dashboard_covers_its_sector(work, sign_in):
    console = sign_in(work.users[Role.lead_unit_staff])
    page = page_of(console, "/console/?period=year")
    assert figure(page, "在册窗口单位") == "1"
    assert f"{work.sector_a.name}</text>" in page
    assert f"{work.sector_b.name}</text>" not in page
    assert "待审核" not in page  # a lead unit never sees unpublished inspections


# -- units ------------------------------------------------------------------------------------


def test_a_town_office_sees_its_subtrees_units_and_regions(
    world, tree, make_unit, make_user, sign_in
):
    _city, liusha, community, zhanlong = tree
    in_community = make_unit(region_id=community.id, sector_id=world.sector_b.id)
    console = sign_in(make_user(Role.viewer, region_id=liusha.id))
    page = page_of(console, "/console/units")
    rows = table_rows(page)
    assert world.unit_a.name in rows
    assert in_community.name in rows
    assert world.unit_b.name not in rows
    assert options(page, "region_id") == {liusha.name, community.name}
    assert options(page, "sector_id") == {world.sector_a.name, world.sector_b.name}
    by_region = page_of(console, f"/console/units?region_id={community.id}")
    assert in_community.name in table_rows(by_region)
    assert world.unit_a.name not in table_rows(by_region)
    # Another region as a filter shows nothing, as a missing one would.
    assert TOTAL.search(page_of(console, f"/console/units?region_id={zhanlong.id}")).group(1) == "0"


def test_a_unit_page_answers_404_outside_the_scope_like_a_missing_one(
    world, tree, make_user, sign_in
):
    _, liusha, _, _ = tree
    for user in (
        make_user(Role.office_admin, region_id=liusha.id),
        world.users[Role.lead_unit_staff],
    ):
        console = sign_in(user)
        mine = console.get(f"/console/units/{world.unit_a.id}")
        assert mine.status_code == 200
        assert world.unit_a.address in mine.get_data(as_text=True)
        foreign = console.get(f"/console/units/{world.unit_b.id}")
        missing = console.get("/console/units/987654")
        assert foreign.status_code == missing.status_code == 404
        assert without_tokens(foreign) == without_tokens(missing)
        console.post("/console/logout")


# -- 人员: regions and WeChat ------------------------------------------------------------------


def _version(user_id: int) -> str:
    db.session.expire_all()
    return str(db.session.get(User, user_id).version)


def test_a_city_admin_binds_and_frees_an_office_on_the_people_page(
    office_console, world, tree, make_user
):
    _, liusha, _, zhanlong = tree
    person = make_user(Role.viewer)
    page = page_of(office_console, "/console/users")
    assert person.display_name in page
    assert f'action="/console/users/{person.id}/region"' in page
    assert liusha.name in options(page, "region_id")

    url = f"/console/users/{person.id}/region"
    response = office_console.post(url, {"region_id": zhanlong.id, "version": _version(person.id)})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, person.id).region_id == zhanlong.id
    listed = page_of(office_console, "/console/users")
    assert zhanlong.name in table_rows(listed)

    response = office_console.post(url, {"region_id": "", "version": _version(person.id)})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, person.id).region_id is None
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.entity_id == person.id, AuditEvent.action == "update")
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.before["region_id"], e.after["region_id"]) for e in events] == [
        (None, zhanlong.id),
        (zhanlong.id, None),
    ]


def test_a_region_form_for_someone_who_is_not_an_office_is_refused(office_console, world, tree):
    _, liusha, _, _ = tree
    inspector = world.users[Role.inspector]
    response = office_console.post(
        f"/console/users/{inspector.id}/region",
        {"region_id": liusha.id, "version": _version(inspector.id)},
    )
    assert response.status_code == 303
    assert "只有督查办账号可以绑定区域" in page_of(office_console, response.headers["Location"])
    db.session.expire_all()
    assert db.session.get(User, inspector.id).region_id is None


def test_a_stale_region_form_changes_nothing(office_console, make_user, tree):
    _, liusha, _, _ = tree
    person = make_user(Role.viewer)
    response = office_console.post(
        f"/console/users/{person.id}/region", {"region_id": liusha.id, "version": "999"}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, person.id).region_id is None


def test_the_people_page_unbinds_wechat(office_console, world):
    staff = world.users[Role.unit_staff]
    staff.wechat_openid = "openid-of-a-lost-phone"
    db.session.commit()
    page = page_of(office_console, "/console/users")
    assert f'action="/console/users/{staff.id}/wechat"' in page
    response = office_console.post(
        f"/console/users/{staff.id}/wechat", {"version": _version(staff.id)}
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(User, staff.id).wechat_openid is None
    assert db.session.scalar(
        select(AuditEvent.id).where(
            AuditEvent.entity_id == staff.id, AuditEvent.action == "wechat_unbound"
        )
    )


def test_a_town_admin_reads_its_people_and_changes_nothing(world, tree, make_user, sign_in):
    _, liusha, community, zhanlong = tree
    me = make_user(Role.office_admin, region_id=liusha.id)
    colleague = make_user(Role.viewer, region_id=community.id)
    outsider = make_user(Role.viewer, region_id=zhanlong.id)
    console = sign_in(me)
    page = page_of(console, "/console/users")
    rows = table_rows(page)
    assert colleague.display_name in rows
    assert world.users[Role.unit_staff].display_name in rows  # unit A is in its street
    assert outsider.display_name not in rows
    assert world.unit_staff_b.display_name not in rows
    assert "/region" not in page
    assert "/wechat" not in page

    response = console.post(
        f"/console/users/{colleague.id}/region",
        {"region_id": "", "version": _version(colleague.id)},
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(User, colleague.id).region_id == community.id
    response = console.post(
        f"/console/users/{outsider.id}/region", {"region_id": "", "version": "1"}
    )
    assert response.status_code == 404


def test_the_people_page_is_for_offices(console, world):
    assert console.sign_in(world.users[Role.lead_unit_staff].username).status_code == 302
    assert console.get("/console/users").status_code == 403


def test_a_town_office_figures_count_its_subtree_only(work, tree, make_user, sign_in):
    _, liusha, _, _ = tree
    console = sign_in(make_user(Role.office_admin, region_id=liusha.id))
    page = page_of(console, "/console/?period=year")
    # Unit A (its street): the inspection to review, two open tasks of which one is late,
    # one responded; unit B (another town) has as many tasks, which must not count.
    assert figure(page, "待审核") == "1"
    assert figure(page, "待整改任务") == "2"
    assert figure(page, "逾期未销号") == "1"
    assert figure(page, "待复查") == "1"
