"""The database going down in the middle of a console page: signed in (the session's
lookup succeeds), then every statement the page itself runs fails. Every console route,
taken from the url_map so a new page cannot be missed, answers the 503 page saying the
database is unavailable, never a 500 (tests/test_database_down.py covers the lookup
itself failing, and the API)."""

from __future__ import annotations

import logging
import re
import uuid

import pytest
from sqlalchemy import event

from accounts import service as accounts
from api.auth import route_methods
from core.db import db

# A post that passes the forms' first checks (ids ticked, a client id), so the route goes
# on to read the database; fields a form does not know are ignored.
FORM = {"finding": "1", "task": "1", "decision": "confirm", "picked": "1"}

# Not a page of the console: files, and sign-in/out (covered where they are tested).
SKIP = re.compile(r"static|console\.login|console\.logout")


class Outage:
    """Makes every statement fail with the driver's "connection lost" error while on,
    counting the statements it failed."""

    def __init__(self):
        self.on = False
        self.failed = 0

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.failed += 1
            raise conn.dialect.loaded_dbapi.OperationalError("server closed the connection")


@pytest.fixture
def outage(app, monkeypatch):
    """On from the moment the session's user has been loaded, for the rest of the request."""
    down = Outage()
    engine = db.engine
    event.listen(engine, "before_cursor_execute", down)
    real = accounts.user_for_token

    def signed_in_then_down(token):
        user = real(token)
        down.on = True
        return user

    monkeypatch.setattr(accounts, "user_for_token", signed_in_then_down)
    yield down
    down.on = False
    event.remove(engine, "before_cursor_execute", down)


def test_every_console_route_answers_503_when_the_database_goes_down(
    app, office_console, outage, caplog
):
    routes = [
        (rule, method)
        for rule, method, endpoint in route_methods(app)
        if rule.startswith("/console/") and not SKIP.search(endpoint)
    ]
    assert len(routes) > 40
    wrong, reached = [], 0
    for rule, method in routes:
        url = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "1", rule)
        caplog.clear()
        outage.failed = 0
        with caplog.at_level(logging.WARNING):
            if method == "GET":
                response = office_console.client.get(url)
            else:
                form = FORM | {"client_id": str(uuid.uuid4())}
                response = office_console.post(url, form)
        outage.on = False
        page = response.get_data(as_text=True)
        if outage.failed == 0:  # a page that needs no database (a blank form) still works
            if response.status_code >= 500:
                wrong.append((method, rule, response.status_code))
        elif (
            response.status_code != 503
            or "数据库暂时不可用" not in page
            or int(response.headers.get("Retry-After", 0)) <= 0
        ):
            wrong.append((method, rule, response.status_code))
        elif not any("database unavailable" in r.getMessage() for r in caplog.records):
            wrong.append((method, rule, "not logged"))
        else:
            reached += 1
    assert wrong == [], wrong
    assert reached >= len(routes) - 3  # nearly every page reads the database
