"""One transaction per request, ended in one place (the request edge): a success is
committed, an error rolled back unless it asked to keep what it wrote, and a commit that
the database refuses becomes 409 (a constraint) or 503 (the database is gone)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import OperationalError

from api.auth import public
from core import errors
from core.audit import AuditEvent
from core.db import Prepared, db
from org.models import Sector
from tests.conftest import PASSWORD, assert_problem


@pytest.fixture
def writer(make_app):
    """An app with one extra route that adds a sector, then ends as `how` says."""
    app = make_app()

    @public
    def write(how: str):
        db.session.add(Sector(code=f"s_{how}", name=f"领域{how}"))
        db.session.flush()
        if how == "refuse":
            raise errors.Conflict("不行", type="urn:problem:concurrent-change")
        if how == "refuse-but-keep":
            raise errors.Conflict(
                "不行，但记下了", type="urn:problem:concurrent-change", keep_changes=True
            )
        if how == "database-gone":
            raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))
        if how == "duplicate":
            db.session.add(Sector(code="s_duplicate", name="重复"))
        if how == "later-duplicate":  # a statement sent with the COMMIT (PostgreSQL)
            _ADD_SECTOR.later(db.session.connection(), {"code": "s_taken", "name": "重复"})
        if how == "later-database-gone":
            connection = db.session.connection()
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            _ADD_SECTOR.later(connection, {"code": "s_late", "name": "迟到"})
            with db.engine.connect() as other:  # the server drops this request's connection
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
        return {"ok": True}

    app.add_url_rule("/write/<how>", "write", write, methods=["POST"])
    return app.test_client()


_ADD_SECTOR = Prepared(insert(Sector.__table__), ["code", "name"])


def _sector(code: str) -> Sector | None:
    db.session.expire_all()
    return db.session.scalar(select(Sector).where(Sector.code == code))


@pytest.mark.parametrize(
    ("how", "status", "kept"),
    [
        ("ok", 200, True),
        ("refuse", 409, False),
        ("refuse-but-keep", 409, True),
        ("database-gone", 503, False),
    ],
)
def test_the_edge_commits_or_rolls_back(app, writer, how, status, kept):
    response = writer.post(f"/write/{how}")
    assert response.status_code == status
    if status >= 400:
        assert_problem(response, status)
    if how == "database-gone":
        assert response.headers["Retry-After"]
    assert (_sector(f"s_{how}") is not None) is kept


def test_a_constraint_at_commit_is_a_conflict(app, writer):
    db.session.add(Sector(code="s_taken", name="重复"))
    db.session.commit()
    assert_problem(writer.post("/write/duplicate"), 409)


def test_a_statement_sent_later_and_refused_at_commit_is_a_conflict_that_keeps_nothing(app, writer):
    """On PostgreSQL the refused INSERT goes out with the COMMIT (`Prepared.later`); on
    SQLite it runs at once. Either way: 409, and the request's other write is gone."""
    db.session.add(Sector(code="s_taken", name="重复"))
    db.session.commit()
    assert_problem(writer.post("/write/later-duplicate"), 409)
    assert _sector("s_later-duplicate") is None


def test_the_database_gone_when_statements_sent_later_go_out_is_a_503(app, writer):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a SQLite file has no server to lose")
    response = writer.post("/write/later-database-gone")
    assert_problem(response, 503)
    assert response.headers["Retry-After"]
    assert _sector("s_later-database-gone") is None
    assert _sector("s_late") is None
    assert writer.post("/write/ok").status_code == 200  # the pool recovers


def test_a_refused_console_sign_in_keeps_its_audit_event(make_app, make_user):
    """The console's sign-in answers an error page and still keeps what the refusal wrote:
    the audit event of a throttled account."""
    limited = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        SIGN_IN_LIMIT_PER_ACCOUNT_ADDRESS="1/hour",
    )
    user = make_user()
    client = limited.test_client()
    page = client.get("/console/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"username": user.username, "password": PASSWORD + "x", "csrf_token": token}
    assert client.post("/console/login", data=form).status_code == 401
    assert client.post("/console/login", data=form).status_code == 429
    db.session.expire_all()
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.entity_id == user.id, AuditEvent.action == "sign_in_throttled"
        )
    ).all()
    assert len(events) == 1


def test_only_the_edge_commits():
    """Error handlers and console views leave the commit to the request edge."""
    root = Path(__file__).parent.parent
    committing = [
        str(path.relative_to(root))
        for folder in ("api", "console")
        for path in (root / folder).rglob("*.py")
        if "session.commit(" in path.read_text(encoding="utf-8")
    ]
    assert committing == ["api/__init__.py"]
