"""Indexes that match the lists' filters and orders, so a page costs what it shows

Revision ID: 0022_list_indexes
Revises: 0021_form_submissions
Create Date: 2026-11-30 23:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_list_indexes'
down_revision = '0021_form_submissions'
branch_labels = None
depends_on = None

PUBLISHED = sa.text("status = 'published'")
# As the queue asks (`checkin_far IS true`): PostgreSQL matches a partial index only to
# a condition that implies its predicate, and it does not take "IS true" for "= true".
FAR = sa.text("checkin_far IS true")
FAR_SQLITE = sa.text("checkin_far IS 1")
ACTIVE = sa.text("status IN ('open', 'responded')")


def upgrade():
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.create_index(
            'ix_inspection_published', ['published_at', 'id'], unique=False,
            postgresql_where=PUBLISHED, sqlite_where=PUBLISHED,
        )
        batch_op.create_index(
            'ix_inspection_far_checkin', ['status', 'submitted_at'], unique=False,
            postgresql_where=FAR, sqlite_where=FAR_SQLITE,
        )
    with op.batch_alter_table('rectification_task', schema=None) as batch_op:
        batch_op.create_index('ix_rectification_task_due', ['due_at', 'id'], unique=False)
        batch_op.create_index(
            'ix_rectification_task_active_due', ['due_at', 'id'], unique=False,
            postgresql_where=ACTIVE, sqlite_where=ACTIVE,
        )


def downgrade():
    with op.batch_alter_table('rectification_task', schema=None) as batch_op:
        batch_op.drop_index('ix_rectification_task_active_due')
        batch_op.drop_index('ix_rectification_task_due')
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_far_checkin')
        batch_op.drop_index('ix_inspection_published')
