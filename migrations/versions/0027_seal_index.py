"""evidence_seal: drop ix_evidence_seal_inspection_id, which the unique (inspection_id,
number) already covers (its leading column): one index page fewer written by every
submission and every late photo's seal link

Revision ID: 0027_seal_index
Revises: 0026_unit_task_count
Create Date: 2026-12-01 16:20:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0027_seal_index"
down_revision = "0026_unit_task_count"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("evidence_seal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_seal_inspection_id"))


def downgrade():
    with op.batch_alter_table("evidence_seal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_seal_inspection_id"), ["inspection_id"], unique=False
        )
