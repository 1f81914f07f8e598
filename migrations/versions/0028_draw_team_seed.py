"""draw.team_seed: the secret seed a "dr-v2" draw forms its teams from, apart from the
public seed that picks the units, so that a disclosure without the inspectors' names does
not let anyone compute the 暗访 teams. Older draws keep null and replay under "dr-v1"

Revision ID: 0028_draw_team_seed
Revises: 0027_seal_index
Create Date: 2026-12-08 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0028_draw_team_seed"
down_revision = "0027_seal_index"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("draw", schema=None) as batch_op:
        batch_op.add_column(sa.Column("team_seed", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("draw", schema=None) as batch_op:
        batch_op.drop_column("team_seed")
