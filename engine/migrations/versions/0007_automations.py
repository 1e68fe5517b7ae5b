"""automations: run log, run ledger of scheduled automations, webhook outbox

Revision ID: 0007_automations
Revises: 0006_imports
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_automations'
down_revision = '0006_imports'
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'lw_automation_runs',
        sa.Column('id', _id, autoincrement=True, nullable=False),
        sa.Column('app', sa.String(length=64), nullable=False),
        sa.Column('automation', sa.String(length=64), nullable=False),
        sa.Column('trigger', sa.String(length=200), nullable=False),
        sa.Column('form', sa.String(length=64), nullable=True),
        sa.Column('record_id', _id, nullable=True),
        sa.Column('user_id', _id, nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('actions', sa.JSON(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('depth', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lw_automation_runs')),
    )
    with op.batch_alter_table('lw_automation_runs', schema=None) as batch_op:
        batch_op.create_index('ix_lw_automation_runs_record', ['app', 'form', 'record_id', 'id'], unique=False)
        batch_op.create_index('ix_lw_automation_runs_automation', ['app', 'automation', 'id'], unique=False)
    op.create_table(
        'lw_automation_ledger',
        sa.Column('id', _id, autoincrement=True, nullable=False),
        sa.Column('app', sa.String(length=64), nullable=False),
        sa.Column('automation', sa.String(length=64), nullable=False),
        sa.Column('item', sa.String(length=64), nullable=False),
        sa.Column('due', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lw_automation_ledger')),
        sa.UniqueConstraint('app', 'automation', 'item', 'due', name=op.f('uq_lw_automation_ledger_app_automation_item_due')),
    )
    op.create_table(
        'lw_outbox',
        sa.Column('id', _id, autoincrement=True, nullable=False),
        sa.Column('app', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=100), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('last_status', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lw_outbox')),
    )
    with op.batch_alter_table('lw_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_lw_outbox_due', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lw_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_lw_outbox_due')
    op.drop_table('lw_outbox')
    op.drop_table('lw_automation_ledger')
    with op.batch_alter_table('lw_automation_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_lw_automation_runs_automation')
        batch_op.drop_index('ix_lw_automation_runs_record')
    op.drop_table('lw_automation_runs')
