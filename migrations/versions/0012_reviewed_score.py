"""The score after the office's review, beside the score at submission

Revision ID: 0012_reviewed_score
Revises: 0011_chase
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_reviewed_score'
down_revision = '0011_chase'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_score', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_grade', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('reviewed_critical_failed', sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_column('reviewed_critical_failed')
        batch_op.drop_column('reviewed_grade')
        batch_op.drop_column('reviewed_score')
