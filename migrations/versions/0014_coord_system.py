"""Map datums: the coordinate system of unit and check-in coordinates; imprecise check-ins

The server defaults stay: rows written by bulk SQL get the same systems.
Existing units keep their numbers and are marked GCJ-02 (offices copied them from Tencent or
Amap pickers); existing check-ins came from wx.getLocation's default, WGS-84.

Revision ID: 0014_coord_system
Revises: 0013_disclose_inspectors
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_coord_system'
down_revision = '0013_disclose_inspectors'
branch_labels = None
depends_on = None

_SYSTEM = sa.Enum('wgs84', 'gcj02', name='coordsystem', native_enum=False, length=8)


def upgrade():
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coord_system', _SYSTEM, nullable=False, server_default='gcj02'))
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_coord_system', _SYSTEM, nullable=False, server_default='wgs84'))
        batch_op.add_column(sa.Column('checkin_imprecise', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_column('checkin_imprecise')
        batch_op.drop_column('checkin_coord_system')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('coord_system')
