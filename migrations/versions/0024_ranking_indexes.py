"""Covering indexes for the rankings: a period's rollup rows (unit figures, items) and
its published inspections read from the index alone (most-failed items, inspector
workload, overdue tasks of the period's inspections)

Revision ID: 0024_ranking_indexes
Revises: 0023_rollups
Create Date: 2026-12-01 03:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024_ranking_indexes"
down_revision = "0023_rollups"
branch_labels = None
depends_on = None

PUBLISHED = sa.text("status = 'published'")
# reports.rollups.VALUE_COLUMNS, as of this revision
UNIT_MONTH_VALUES = [
    "unit_id",
    "inspections",
    "score_sum",
    "scored",
    "percent_sum",
    "percent_scored",
    "critical",
    "grade_excellent",
    "grade_good",
    "grade_pass",
    "grade_fail",
    "findings",
    "repeat_findings",
    "tasks",
    "tasks_closed",
    "tasks_on_time",
]


def upgrade():
    with op.batch_alter_table("unit_month", schema=None) as batch_op:
        batch_op.drop_index("ix_unit_month_month")
        batch_op.create_index(
            "ix_unit_month_month",
            ["month", "status"],
            unique=False,
            postgresql_include=UNIT_MONTH_VALUES,
        )
    with op.batch_alter_table("unit_month_item", schema=None) as batch_op:
        batch_op.drop_index("ix_unit_month_item_month")
        batch_op.create_index(
            "ix_unit_month_item_month",
            ["month"],
            unique=False,
            postgresql_include=["unit_id", "item_code", "findings", "title"],
        )
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inspection_published_started",
            ["started_at"],
            unique=False,
            postgresql_include=["id", "inspector_id", "visit_id"],
            postgresql_where=PUBLISHED,
            sqlite_where=PUBLISHED,
        )


def downgrade():
    with op.batch_alter_table("inspection", schema=None) as batch_op:
        batch_op.drop_index("ix_inspection_published_started")
    with op.batch_alter_table("unit_month_item", schema=None) as batch_op:
        batch_op.drop_index("ix_unit_month_item_month")
        batch_op.create_index("ix_unit_month_item_month", ["month"], unique=False)
    with op.batch_alter_table("unit_month", schema=None) as batch_op:
        batch_op.drop_index("ix_unit_month_month")
        batch_op.create_index("ix_unit_month_month", ["month", "status"], unique=False)
