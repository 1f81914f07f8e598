"""office accounts may be bound to a region (district and town offices); existing accounts
stay city-wide

Revision ID: 0009_office_regions
Revises: 0008_media_verify
Create Date: 2026-11-30 13:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_office_regions'
down_revision = '0008_media_verify'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_region_id'), ['region_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_user_region_id_region'), 'region', ['region_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_region_id_region'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_region_id'))
        batch_op.drop_column('region_id')
