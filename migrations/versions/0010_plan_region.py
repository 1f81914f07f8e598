"""a plan belongs to the region of the office that made it (None: a city plan); existing
plans stay city plans

Revision ID: 0010_plan_region
Revises: 0009_office_regions
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_plan_region'
down_revision = '0009_office_regions'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_plan_region_id'), ['region_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_plan_region_id_region'), 'region', ['region_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_plan_region_id_region'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_plan_region_id'))
        batch_op.drop_column('region_id')
