"""evidence_seal.format: the format of a link's digest. A late photo's link written from
now on (format 2) seals the photo's id, item and SHA-256, as link 1 does for the photos
stored by the submission; the links written before (format 1, the default here) sealed
its SHA-256 alone and still verify as they were written

Revision ID: 0030_seal_link_format
Revises: 0029_audit_chain_start
Create Date: 2026-12-02 11:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030_seal_link_format"
down_revision = "0029_audit_chain_start"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("evidence_seal", schema=None) as batch_op:
        batch_op.add_column(sa.Column("format", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    with op.batch_alter_table("evidence_seal", schema=None) as batch_op:
        batch_op.drop_column("format")
