"""Console fixtures: a browser-like client that signs in through the login form."""

from __future__ import annotations

import re

import pytest

from accounts.models import Role
from tests.conftest import PASSWORD, IsolatedClient

# Real Chromium's fixtures, for every browser test here.
from tests.console.browser import browser, live_server, size, sized_page  # noqa: F401

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="[^"]+">')


def without_tokens(response) -> str:
    """A page without its CSRF tokens, in forms and in the head: they are signed with a
    timestamp, so two requests a second apart differ there and nowhere else."""
    return CSRF_META.sub("", CSRF.sub("", response.get_data(as_text=True)))


def csrf_token(page: str) -> str:
    match = CSRF.search(page)
    assert match, "page has no CSRF token"
    return match.group(1)


class ConsoleClient:
    """Wraps Flask's test client: keeps cookies, and fills in the CSRF token on posts."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kw):
        response = self.client.get(url, **kw)
        page = response.get_data(as_text=True)
        if CSRF.search(page):
            self.token = csrf_token(page)
        return response

    def post(self, url, data=None, *, with_csrf=True, **kw):
        data = dict(data or {})
        if with_csrf:
            if self.token is None:
                self.get("/console/login")
            data["csrf_token"] = self.token
        return self.client.post(url, data=data, **kw)

    def sign_in(self, username, password=PASSWORD):
        self.get("/console/login")
        response = self.post("/console/login", {"username": username, "password": password})
        if response.status_code == 302:
            self.get(response.headers["Location"])  # as a browser would: a fresh CSRF token
        return response


@pytest.fixture
def console(app):
    app.test_client_class = IsolatedClient
    return ConsoleClient(app.test_client())


@pytest.fixture
def office_console(console, world):
    response = console.sign_in(world.users[Role.office_admin].username)
    assert response.status_code == 302
    return console
