"""Real Chromium for the console's browser tests: one browser per test process, a live
server, pages at a laptop's and a phone's width, and the steps every walk takes (sign in,
submit a form, save a screenshot). The fixtures reach every test in tests/console through
its conftest.

Runs when /usr/bin/chromium exists and skips with a clear message when it does not; CI
installs Chromium and sets REQUIRE_BROWSER=1, which turns the skip into a failure.
Screenshots land in test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

import pytest

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

# One Chromium per test process, however many test modules import the `browser` fixture
# (each import is a fixture of its own, and Playwright's sync API starts once per thread).
_CHROMIUM: dict = {}


def _shared_browser():
    if "browser" not in _CHROMIUM:
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        _CHROMIUM.update(playwright=playwright, browser=browser)
        atexit.register(lambda: (browser.close(), playwright.stop()))
    return _CHROMIUM["browser"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: apt-get install -y chromium"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    return _shared_browser()


@pytest.fixture
def live_server(app):
    with BackgroundServer(app) as server:
        yield server.url


# A laptop's and a phone's screen, for the tests that walk a page at both widths: their
# module takes `size` and `sized_page` (as its `page`), and may set its own SIZES.
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture(params=list(SIZES))
def size(request) -> str:
    return request.param


@pytest.fixture
def sized_page(browser, size, request):
    """A page at `size` (the module's SIZES, else these), touch and mobile on a phone."""
    width, height = getattr(request.module, "SIZES", SIZES)[size]
    context = browser.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN",
        has_touch=size == "phone",
        is_mobile=size == "phone",
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def no_sideways_scroll(page) -> int:
    """How far the page scrolls sideways (0 or less: it fits the window's width)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/console/")


def submit(page, locator) -> None:
    """Click a form's button and wait for the page the redirect leads to."""
    with page.expect_navigation():
        locator.click()
