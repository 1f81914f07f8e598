"""unit_task_count: each unit's open and responded tasks, for the dashboard's panels of
tasks not yet closed; the tasks not yet closed by the day they were issued, for its figures

Revision ID: 0026_unit_task_count
Revises: 0025_sector_month
Create Date: 2026-12-01 04:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0026_unit_task_count"
down_revision = "0025_sector_month"
branch_labels = None
depends_on = None


ACTIVE = sa.text("status IN ('open', 'responded')")


def upgrade():
    with op.batch_alter_table("rectification_task", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rectification_task_active_created",
            ["created_at"],
            unique=False,
            postgresql_where=ACTIVE,
            sqlite_where=ACTIVE,
        )
    op.create_table(
        "unit_task_count",
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("tasks", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["unit.id"],
            name=op.f("fk_unit_task_count_unit_id_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("unit_id", "status", name=op.f("pk_unit_task_count")),
    )
    op.execute(
        """
        INSERT INTO unit_task_count (unit_id, status, tasks)
        SELECT unit_id, status, count(*) FROM rectification_task
        WHERE status IN ('open', 'responded')
        GROUP BY unit_id, status
        """
    )


def downgrade():
    op.drop_table("unit_task_count")
    with op.batch_alter_table("rectification_task", schema=None) as batch_op:
        batch_op.drop_index("ix_rectification_task_active_created")
