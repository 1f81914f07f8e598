"""sector_month: the unit × month rollups summed per sector, for the dashboards of
city-wide offices and lead units

Revision ID: 0025_sector_month
Revises: 0024_ranking_indexes
Create Date: 2026-12-01 03:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025_sector_month"
down_revision = "0024_ranking_indexes"
branch_labels = None
depends_on = None

COUNTS = (
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
        "sector_month",
        sa.Column("sector_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("inspections", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Double(), nullable=False),
        sa.Column("scored", sa.Integer(), nullable=False),
        sa.Column("percent_sum", sa.Double(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        sa.ForeignKeyConstraint(
            ["sector_id"],
            ["sector.id"],
            name=op.f("fk_sector_month_sector_id_sector"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sector_id", "month", "status", name=op.f("pk_sector_month")),
    )
    # Fill from the unit rows already there (what a rebuild does after its unit rows).
    op.execute(
        """
        INSERT INTO sector_month (sector_id, month, status, inspections, score_sum, scored,
            percent_sum, percent_scored, critical, grade_excellent, grade_good, grade_pass,
            grade_fail, findings, repeat_findings, tasks, tasks_closed, tasks_on_time)
        SELECT unit.sector_id, um.month, um.status, sum(um.inspections), sum(um.score_sum),
            sum(um.scored), sum(um.percent_sum), sum(um.percent_scored), sum(um.critical),
            sum(um.grade_excellent), sum(um.grade_good), sum(um.grade_pass),
            sum(um.grade_fail), sum(um.findings), sum(um.repeat_findings), sum(um.tasks),
            sum(um.tasks_closed), sum(um.tasks_on_time)
        FROM unit_month AS um JOIN unit ON unit.id = um.unit_id
        GROUP BY unit.sector_id, um.month, um.status
        """
    )


def downgrade():
    op.drop_table("sector_month")
