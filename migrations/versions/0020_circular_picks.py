"""circular_pick: the findings the office marked as typical problems (典型问题) of the circular

Revision ID: 0020_circular_picks
Revises: 0019_reply_views
Create Date: 2026-11-30 23:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

from core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0020_circular_picks'
down_revision = '0019_reply_views'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'circular_pick',
        sa.Column('finding_id', sa.Integer(), nullable=False),
        sa.Column('picked_by_id', sa.Integer(), nullable=True),
        sa.Column('picked_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['finding_id'], ['finding.id'],
            name=op.f('fk_circular_pick_finding_id_finding'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['picked_by_id'], ['user.id'],
            name=op.f('fk_circular_pick_picked_by_id_user'), ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('finding_id', name=op.f('pk_circular_pick')),
    )
    op.create_index(
        op.f('ix_circular_pick_picked_at'), 'circular_pick', ['picked_at'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_circular_pick_picked_at'), table_name='circular_pick')
    op.drop_table('circular_pick')
