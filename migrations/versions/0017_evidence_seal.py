"""Sealed evidence: inspection seals and the audit trail's hash chains

evidence_seal holds each inspection's seal links; audit_event gains its place in its
subject's chain (seq), the previous event's hash and its own. Events written before this
revision stay unchained (NULL); `flask evidence verify` counts them apart and accepts
them only before a subject's first chained event.

Revision ID: 0017_evidence_seal
Revises: 0016_visit_windows
Create Date: 2026-11-30 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import core.db


# revision identifiers, used by Alembic.
revision = '0017_evidence_seal'
down_revision = '0016_visit_windows'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evidence_seal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('submit', 'photo', name='sealreason', native_enum=False, length=10), nullable=False),
    sa.Column('photo_id', sa.Integer(), nullable=True),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('prev_seal', sa.String(length=64), nullable=True),
    sa.Column('seal', sa.String(length=64), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], name=op.f('fk_evidence_seal_inspection_id_inspection'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_seal')),
    sa.UniqueConstraint('inspection_id', 'number', name=op.f('uq_evidence_seal_inspection_id_number')),
    sa.UniqueConstraint('photo_id', name=op.f('uq_evidence_seal_photo_id'))
    )
    with op.batch_alter_table('evidence_seal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_seal_inspection_id'), ['inspection_id'], unique=False)

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_event_entity_type_entity_id_seq'), ['entity_type', 'entity_id', 'seq'])


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_event_entity_type_entity_id_seq'), type_='unique')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')

    with op.batch_alter_table('evidence_seal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_seal_inspection_id'))

    op.drop_table('evidence_seal')
