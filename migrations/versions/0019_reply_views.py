"""rectification_reply_view: who opened which reply (bulk acceptance needs each opened)

Revision ID: 0019_reply_views
Revises: 0018_report_exports
Create Date: 2026-11-30 20:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

from core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0019_reply_views'
down_revision = '0018_report_exports'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'rectification_reply_view',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reply_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('viewed_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['reply_id'], ['rectification_reply.id'],
            name=op.f('fk_rectification_reply_view_reply_id_rectification_reply'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['user.id'],
            name=op.f('fk_rectification_reply_view_user_id_user'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_reply_view')),
        sa.UniqueConstraint(
            'reply_id', 'user_id', name=op.f('uq_rectification_reply_view_reply_id_user_id')
        ),
    )


def downgrade():
    op.drop_table('rectification_reply_view')
