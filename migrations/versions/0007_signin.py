"""sign-in: no per-account lockout columns (limits live in the rate-limit store); binding
codes can be revoked

Revision ID: 0007_signin
Revises: 0006_missing_photos
Create Date: 2026-11-30 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import core.db


# revision identifiers, used by Alembic.
revision = '0007_signin'
down_revision = '0006_missing_photos'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('locked_until')
    with op.batch_alter_table('binding_code', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('revoked_at', core.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table('binding_code', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('locked_until', core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0')
        )
