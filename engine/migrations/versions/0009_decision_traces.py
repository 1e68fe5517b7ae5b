"""decision traces: the decision tables an automation run consulted, explained

Revision ID: 0009_decision_traces
Revises: 0008_mail
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_decision_traces'
down_revision = '0008_mail'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lw_automation_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decisions', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lw_automation_runs', schema=None) as batch_op:
        batch_op.drop_column('decisions')
