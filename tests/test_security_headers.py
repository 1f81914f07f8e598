"""Every answer forbids framing and MIME sniffing and keeps the referrer to the site:
pages, JSON, problems, 404s, static files, photo files and the health check alike. And
every answer of a route is kept by no shared cache: someone's data, a 通报 marked internal,
must not outlive the sign-out in a proxy or an office PC's browser cache."""

from __future__ import annotations

import io
import re

import pytest

from accounts.models import Role
from api.auth import public, route_methods
from tests.conftest import PASSWORD
from tests.test_policy_matrix import PARAMS

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _check(response, where) -> list:
    wrong = [
        (where, response.status_code, name)
        for name, value in EXPECTED.items()
        if response.headers.get(name) != value
    ]
    if "frame-ancestors 'none'" not in response.headers.get("Content-Security-Policy", ""):
        wrong.append((where, response.status_code, "Content-Security-Policy"))
    return wrong


def _cache_private(response) -> bool:
    """`no-store`, or a route's own `private` policy (photo URLs, checklists)."""
    policy = response.headers.get("Cache-Control", "")
    return "no-store" in policy or "private" in policy


def _url(rule: str, world) -> str:
    def fill(match):
        param = PARAMS.get(match.group(1))
        return str(param.own(world)) if param else "1"

    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", fill, rule)


def _console_client(app, user):
    client = app.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"username": user.username, "password": PASSWORD, "csrf_token": token}
    assert client.post("/console/login", data=form).status_code == 302
    return client


def test_every_route_sends_the_headers(app, world, client, client_for):
    office = client_for(world.users[Role.office_admin])
    console = _console_client(app, world.users[Role.office_admin])
    wrong, checked = [], 0
    for rule, method, _ in route_methods(app):
        if rule == "/api/v1/auth/logout":
            continue  # would end the token the rest of the walk uses
        url = _url(rule, world)
        callers = (client, console) if rule.startswith("/console") else (client, office)
        for caller in callers:
            kwargs = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
            if rule.startswith("/console"):
                kwargs = {"data": {}} if method == "POST" else {}
            response = caller.open(url, method=method, buffered=True, **kwargs)
            wrong += _check(response, f"{method} {rule}")
            static = rule.endswith("<path:filename>")  # files of the console and the docs
            if not _cache_private(response) and not static:
                wrong.append((f"{method} {rule}", response.status_code, "Cache-Control"))
            checked += 1
    assert not wrong, wrong[:10]
    assert checked > 150


@pytest.mark.parametrize(
    "url",
    [
        "/healthz",
        "/no/such/page",
        "/api/v1/no-such-thing",
        "/console/no-such-page",
        "/console/static/console.css",
        "/console/static/no-such.css",
        "/api/v1/docs",
        "/api/v1/docs/assets/swagger-ui.css",
        "/api/v1/openapi.json",
        "/api/v1/media/files/not-a-signed-token",
    ],
)
def test_errors_files_and_docs_send_the_headers(client, url):
    assert not _check(client.get(url, buffered=True), url)


def test_a_server_error_sends_the_headers(make_app):
    app = make_app()

    @public
    def boom():
        raise RuntimeError("a bug")

    app.add_url_rule("/boom", "boom", boom)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert not _check(response, "/boom")


def test_a_photo_file_keeps_its_own_policy_and_is_not_framed(app, client):
    """The photo file route sets `default-src 'none'`; framing is forbidden on top."""
    storage = app.extensions["storage"]
    storage.put(
        "photos/test/headers.jpg", io.BytesIO(b"not really a jpeg"), content_type="image/jpeg"
    )
    url = storage.signed_url("photos/test/headers.jpg", content_type="image/jpeg", expires_in=60)
    response = client.get(url, buffered=True)
    assert response.status_code == 200
    assert not _check(response, url)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy


@pytest.mark.parametrize(
    "url",
    [
        "/healthz",
        "/no/such/page",
        "/api/v1/no-such-thing",
        "/api/v1/units",
        "/console/login",
        "/api/v1/openapi.json",
    ],
)
def test_answers_are_not_cached(client, url):
    assert client.get(url, buffered=True).headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client):
    response = client.get("/console/static/console.css", buffered=True)
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
