"""export_job: every ledger export (who, which ledger, filters, rows) and the worker's jobs

Revision ID: 0018_report_exports
Revises: 0017_evidence_seal
Create Date: 2026-11-30 15:20:00.000000

"""
from alembic import op
import sqlalchemy as sa

from core.db import UTCDateTime


# revision identifiers, used by Alembic.
revision = '0018_report_exports'
down_revision = '0017_evidence_seal'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'export_job',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column(
            'status',
            sa.Enum(
                'pending', 'running', 'done', 'failed', 'expired',
                name='exportstatus', native_enum=False, length=12,
            ),
            nullable=False,
        ),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('base_url', sa.String(length=200), nullable=False),
        sa.Column('filename', sa.String(length=120), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=True),
        sa.Column('lease_until', UTCDateTime(), nullable=True),
        sa.Column('finished_at', UTCDateTime(), nullable=True),
        sa.Column('expires_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['user.id'],
            name=op.f('fk_export_job_actor_id_user'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_export_job')),
    )
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_job_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(
            'ix_export_job_status_created', ['status', 'created_at'], unique=False
        )


def downgrade():
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_index('ix_export_job_status_created')
        batch_op.drop_index(batch_op.f('ix_export_job_actor_id'))
    op.drop_table('export_job')
