"""督办 (chase): a lead unit or the office presses a unit on an overdue task

Revision ID: 0011_chase
Revises: 0010_plan_region
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import core.db


# revision identifiers, used by Alembic.
revision = '0011_chase'
down_revision = '0010_plan_region'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rectification_chase',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=36), nullable=False),
    sa.Column('message', sa.String(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sent_by_id'], ['user.id'], name=op.f('fk_rectification_chase_sent_by_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['task_id'], ['rectification_task.id'], name=op.f('fk_rectification_chase_task_id_rectification_task'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_chase')),
    sa.UniqueConstraint('client_id', name=op.f('uq_rectification_chase_client_id'))
    )
    with op.batch_alter_table('rectification_chase', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_chase_task_id'), ['task_id'], unique=False)


def downgrade():
    with op.batch_alter_table('rectification_chase', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_chase_task_id'))
    op.drop_table('rectification_chase')
