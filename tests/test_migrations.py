"""The schema is made by migrations, and the migrations match the models."""

import os
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import Role, User
from bench._postgres import temporary_database
from core.clock import utcnow
from core.db import db
from rectification.models import ExtensionRequest, ExtensionStatus, RectificationTask, TaskStatus
from tests.rectification_support import replied_while_extension_waits


def test_single_migration_head(app):
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}; merge them"


# SQLite does not reflect expression indexes (user's lower(username)); PostgreSQL does.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_migrated_schema_matches_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations differ; add a revision: {diff}"


# -- usernames unique whatever their case (0031) ------------------------------------------


@pytest.fixture
def empty_database(database_url, tmp_path) -> Iterator[str]:
    """Another database on the test's server, with no schema yet."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        with temporary_database(os.environ["TEST_DATABASE_URL"], "inspection_migration") as url:
            yield url


def test_usernames_differing_in_case_stop_the_upgrade_until_renamed(
    make_app, empty_database, caplog
):
    with make_app(SQLALCHEMY_DATABASE_URI=empty_database).app_context():
        upgrade(revision="0030_seal_link_format")
        pair = [
            User(username=name, display_name="管理员", role=Role.viewer)
            for name in ("Admin", "admin")
        ]
        db.session.add_all(pair)
        db.session.commit()
        with pytest.raises(SystemExit):  # `flask db upgrade` prints the error, exits 1
            upgrade()
        assert f"{pair[0].id}:Admin, {pair[1].id}:admin" in caplog.text
        db.session.rollback()
        pair[0].username = "admin2"
        db.session.commit()
        upgrade()
        db.session.add(User(username="ADMIN", display_name="冒名", role=Role.office_admin))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.remove()


# -- extension requests left pending on closed tasks (0033) -------------------------------


def test_0033_settles_requests_left_pending_on_closed_tasks(app, world):
    """Before 0033 a task could close with its extension request pending (and so marked
    「延期待审批」 for ever): the migration settles those as the code now does, and leaves
    a request of a task still open alone. Downgrading puts them back to pending."""
    staff, office_id = world.users[Role.unit_staff], world.users[Role.office_admin].id
    closed, left = replied_while_extension_waits(world.unit_a, staff)
    still_open, waiting = replied_while_extension_waits(world.unit_a, staff)
    closed_at = utcnow()
    # As the code before closed a task: the request untouched.
    closed.status, closed.closed_at, closed.closed_by_id = TaskStatus.closed, closed_at, office_id
    db.session.commit()
    ids = closed.id, left.id, still_open.id, waiting.id
    db.session.remove()

    def states():
        """Read by the tables' columns: the models may be ahead of the downgraded schema."""
        task_id, left_id, open_id, waiting_id = ids
        ext, task = ExtensionRequest.__table__, RectificationTask.__table__

        def row(*columns, where):
            return db.session.execute(select(*columns).where(where)).one()

        found = (
            tuple(
                row(
                    ext.c.status,
                    ext.c.decision_reason,
                    ext.c.decided_by_id,
                    ext.c.decided_at,
                    where=ext.c.id == left_id,
                )
            ),
            row(task.c.extension_pending, where=task.c.id == task_id)[0],
            row(ext.c.status, where=ext.c.id == waiting_id)[0],
            row(task.c.extension_pending, where=task.c.id == open_id)[0],
        )
        db.session.remove()
        return found

    downgrade(revision="0032_findings_count_problems")
    upgrade()
    lapsed = (ExtensionStatus.lapsed, "任务已销号，无需延期", office_id, closed_at)
    assert states() == (lapsed, False, ExtensionStatus.pending, True)
    downgrade(revision="0032_findings_count_problems")
    try:
        pending = (ExtensionStatus.pending, None, None, None)
        assert states() == (pending, True, ExtensionStatus.pending, True)
    finally:
        upgrade()
