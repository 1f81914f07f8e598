"""rectification_extension.status 'lapsed': a request still pending when its task closed.
Such requests could never be decided (a closed task allows no decision) and left the task
marked 「延期待审批」; the ones already there are settled as the code now settles them when
a task closes: lapsed, as of the closing and by whoever closed the task, with the reason.
The status column is a plain string (non-native enum, 20 characters): no schema change.
The settled requests get no audit event here (the audit chain is written by the app); the
request row carries the reason.

Downgrading puts them back to pending, the only status the code before knows for them.

Revision ID: 0033_lapsed_extensions
Revises: 0032_findings_count_problems
Create Date: 2026-12-02 16:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0033_lapsed_extensions"
down_revision = "0032_findings_count_problems"
branch_labels = None
depends_on = None

REASON = "任务已销号，无需延期"

task = sa.table(
    "rectification_task",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("extension_pending", sa.Boolean),
    sa.column("closed_at", sa.DateTime),
    sa.column("closed_by_id", sa.Integer),
)
extension = sa.table(
    "rectification_extension",
    sa.column("task_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("decided_at", sa.DateTime),
    sa.column("decided_by_id", sa.Integer),
    sa.column("decision_reason", sa.Text),
)


def _of_task(column):
    return sa.select(column).where(task.c.id == extension.c.task_id).scalar_subquery()


def upgrade():
    closed = sa.select(task.c.id).where(task.c.status == "closed")
    op.execute(
        extension.update()
        .where(extension.c.status == "pending", extension.c.task_id.in_(closed))
        .values(
            status="lapsed",
            decided_at=_of_task(task.c.closed_at),
            decided_by_id=_of_task(task.c.closed_by_id),
            decision_reason=REASON,
        )
    )
    op.execute(
        task.update()
        .where(task.c.status == "closed", task.c.extension_pending.is_(True))
        .values(extension_pending=False)
    )


def downgrade():
    lapsed = sa.select(extension.c.task_id).where(extension.c.status == "lapsed")
    op.execute(task.update().where(task.c.id.in_(lapsed)).values(extension_pending=True))
    op.execute(
        extension.update()
        .where(extension.c.status == "lapsed")
        .values(status="pending", decided_at=None, decided_by_id=None, decision_reason=None)
    )
