"""The console in real Chromium, driven by Playwright, against a live server.

Runs when /usr/bin/chromium exists and skips with a clear message when it does not;
CI installs Chromium and sets REQUIRE_BROWSER=1, which turns the skip into a failure.
Screenshots land in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from accounts.models import Role
from tests.conftest import PASSWORD
from tests.fakes.server import BackgroundServer

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: apt-get install -y chromium"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    with BackgroundServer(app) as server:
        yield server.url


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{request.node.name}-last.png", full_page=True)
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/")


def test_office_signs_in_and_browses(page, live_server, world):
    sign_in(page, live_server, world.users[Role.office_admin].username)
    assert page.locator("h1").inner_text() == "工作台"
    shot(page, "dashboard")
    page.click("nav >> text=窗口单位")
    assert page.locator(f"text={world.unit_a.name}").count() == 1
    shot(page, "units")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "units-phone")
    page.click("text=退出")
    page.wait_for_url(f"{live_server}/console/login")


def test_an_inspector_is_turned_away(page, live_server, world):
    page.goto(f"{live_server}/console/login")
    page.fill("input[name=username]", world.users[Role.inspector].username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert page.locator("text=控制台仅供督查办使用").count() == 1


def test_office_reads_the_default_checklist(page, live_server, world):
    from checklists import library
    from core.db import db

    library.install_default()
    db.session.commit()
    sign_in(page, live_server, world.users[Role.office_admin].username)
    page.click("nav >> text=检查表")
    page.click("text=第 1 版")
    assert "窗口服务明察暗访检查表" in page.locator("h1").inner_text()
    assert page.locator("h2").count() >= 10
    shot(page, "checklist-version")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "checklist-version-phone")
