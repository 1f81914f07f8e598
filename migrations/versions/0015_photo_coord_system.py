"""photo.client_coord_system: the datum of the app's own reading sent with a photo

Existing rows came from wx.getLocation's default, WGS-84.

Revision ID: 0015_photo_coord_system
Revises: 0014_coord_system
Create Date: 2026-11-30 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_photo_coord_system'
down_revision = '0014_coord_system'
branch_labels = None
depends_on = None

_SYSTEM = sa.Enum('wgs84', 'gcj02', name='coordsystem', native_enum=False, length=8)


def upgrade():
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('client_coord_system', _SYSTEM, nullable=False, server_default='wgs84')
        )


def downgrade():
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_column('client_coord_system')
