"""the worker's cursor for re-verifying stored originals

Revision ID: 0008_media_verify
Revises: 0007_signin
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import core.db


# revision identifiers, used by Alembic.
revision = '0008_media_verify'
down_revision = '0007_signin'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('media_verify_cursor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_photo_id', sa.Integer(), nullable=False),
    sa.Column('claimed_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_verify_cursor'))
    )


def downgrade():
    op.drop_table('media_verify_cursor')
