"""暗访: a plan may opt in to naming its inspectors to units and in its disclosure

Revision ID: 0013_disclose_inspectors
Revises: 0012_reviewed_score
Create Date: 2026-12-08 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_disclose_inspectors'
down_revision = '0012_reviewed_score'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('disclose_inspectors', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_column('disclose_inspectors')
