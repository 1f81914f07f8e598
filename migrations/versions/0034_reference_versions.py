"""region, sector, lead_unit: a version column each (their ETag). PATCH on them needs
If-Match like every other update that can race; existing rows start at version 1.

Revision ID: 0034_reference_versions
Revises: 0033_lapsed_extensions
Create Date: 2026-12-09 12:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0034_reference_versions"
down_revision = "0033_lapsed_extensions"
branch_labels = None
depends_on = None

TABLES = ("region", "sector", "lead_unit")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("version", sa.Integer(), nullable=False, server_default="1")
            )


def downgrade():
    # ALTER TABLE … DROP COLUMN on both databases (SQLite ≥ 3.35): a batch rebuild would drop
    # and re-create the tables, which the foreign keys that point at them refuse.
    for table in reversed(TABLES):
        op.drop_column(table, "version")
