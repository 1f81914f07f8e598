"""inspection.missing_photos_reason: why the office published without every required photo

Revision ID: 0006_missing_photos
Revises: 0005_rectification
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_missing_photos'
down_revision = '0005_rectification'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('missing_photos_reason', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_column('missing_photos_reason')
