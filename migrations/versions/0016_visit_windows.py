"""Visit windows that mean something: units' service hours (办公时间), a plan's rule for
its visits' windows, a version on visits for the office's reassignment (改派), and the
photo flag for a time outside the check-in-to-submission interval

Units without hours keep the default (org/hours.py); existing plans draw day-and-session
windows at their next draw, and visits already drawn keep the windows they have.

Revision ID: 0016_visit_windows
Revises: 0015_photo_coord_system
Create Date: 2026-11-30 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_visit_windows'
down_revision = '0015_photo_coord_system'
branch_labels = None
depends_on = None

_WINDOWS = sa.Enum('drawn', 'period', name='visitwindows', native_enum=False, length=8)


def upgrade():
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_hours', sa.JSON(), nullable=True))
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('visit_windows', _WINDOWS, nullable=False, server_default='drawn')
        )
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'flag_outside_session', sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade():
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_column('flag_outside_session')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_column('visit_windows')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('service_hours')
