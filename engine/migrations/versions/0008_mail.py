"""mail: the outbox's message kind (webhook | mail)

Revision ID: 0008_mail
Revises: 0007_automations
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_mail'
down_revision = '0007_automations'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lw_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='webhook'))


def downgrade() -> None:
    with op.batch_alter_table('lw_outbox', schema=None) as batch_op:
        batch_op.drop_column('kind')
