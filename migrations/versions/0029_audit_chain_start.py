"""audit_chain_start: where the audit trail's hash chains began, so that `flask evidence
verify` accepts an unchained audit event only when it is older than every chained one
(an event unchained behind the app's back, or forged without a chain, is named)

The row records the id of the first chained event (revision 0017_evidence_seal began the
chains): the smallest chained id there is now; with none yet, the id after the last event
(every event so far was written before chains began).

Revision ID: 0029_audit_chain_start
Revises: 0028_draw_team_seed
Create Date: 2026-12-02 10:00:00.000000

"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db

# revision identifiers, used by Alembic.
revision = "0029_audit_chain_start"
down_revision = "0028_draw_team_seed"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "audit_chain_start",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_event_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_start")),
    )
    conn = op.get_bind()
    first = conn.scalar(sa.text("SELECT min(id) FROM audit_event WHERE seq IS NOT NULL"))
    if first is None:
        first = (conn.scalar(sa.text("SELECT max(id) FROM audit_event")) or 0) + 1
    op.bulk_insert(table, [{"id": 1, "first_event_id": first, "recorded_at": datetime.now(UTC)}])


def downgrade():
    op.drop_table("audit_chain_start")
