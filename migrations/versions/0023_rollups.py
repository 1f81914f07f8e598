"""unit_month: each unit's figures per month and inspection status (rankings, dashboard);
finding(unit_id, item_code, status) for the repeat test

Revision ID: 0023_rollups
Revises: 0022_list_indexes
Create Date: 2026-11-30 23:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023_rollups"
down_revision = "0022_list_indexes"
branch_labels = None
depends_on = None

COUNTS = (
    "inspections",
    "scored",
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
)


def upgrade():
    op.create_table(
        "unit_month",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("inspections", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Double(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("percent_sum", sa.Double(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS[2:]],
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_unit_month_unit_id_unit"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("unit_id", "month", "status", name=op.f("pk_unit_month")),
    )
    op.create_index("ix_unit_month_month", "unit_month", ["month", "status"])
    op.create_table(
        "unit_month_item",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("item_code", sa.String(length=40), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
            name=op.f("fk_unit_month_item_unit_id_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", "month", "item_code", name=op.f("pk_unit_month_item")),
    )
    op.create_index("ix_unit_month_item_month", "unit_month_item", ["month"])
    # The repeat test (the same item failed again at the same unit) looks findings up so.
    op.create_index("ix_finding_unit_item", "finding", ["unit_id", "item_code", "status"])
    # Fill from the rows already there: the same statement as `flask reports rebuild-rollups`.
    from reports.rollups import rebuild

    rebuild(op.get_bind(), sectors=False)  # (sector_month and unit_task_count come later)


def downgrade():
    op.drop_index("ix_finding_unit_item", table_name="finding")
    op.drop_table("unit_month_item")
    op.drop_table("unit_month")
