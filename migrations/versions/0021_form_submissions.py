"""console_form_submission: bulk console forms carry a client id, a resend is a replay

Revision ID: 0021_form_submissions
Revises: 0020_circular_picks
Create Date: 2026-11-30 23:55:00.000000

"""
from alembic import op
import sqlalchemy as sa

from core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0021_form_submissions'
down_revision = '0020_circular_picks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'console_form_submission',
        sa.Column('client_id', sa.String(length=36), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('path', sa.String(length=200), nullable=False),
        sa.Column('done', sa.String(length=300), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['user.id'],
            name=op.f('fk_console_form_submission_actor_id_user'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('client_id', name=op.f('pk_console_form_submission')),
    )


def downgrade():
    op.drop_table('console_form_submission')
