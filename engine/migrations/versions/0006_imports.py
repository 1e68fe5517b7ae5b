"""import jobs (forms engine: Excel/CSV import)

Revision ID: 0006_imports
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_imports'
down_revision = '0002'
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'lw_import_jobs',
        sa.Column('id', _id, autoincrement=True, nullable=False),
        sa.Column('app', sa.String(length=64), nullable=False),
        sa.Column('form', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=True),
        sa.Column('file_id', sa.BigInteger(), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('options', sa.JSON(), nullable=True),
        sa.Column('total_rows', sa.Integer(), nullable=False),
        sa.Column('processed_rows', sa.Integer(), nullable=False),
        sa.Column('created_count', sa.Integer(), nullable=False),
        sa.Column('updated_count', sa.Integer(), nullable=False),
        sa.Column('skipped_count', sa.Integer(), nullable=False),
        sa.Column('rejected_count', sa.Integer(), nullable=False),
        sa.Column('problems', sa.JSON(), nullable=True),
        sa.Column('message', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lw_import_jobs')),
    )
    with op.batch_alter_table('lw_import_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_lw_import_jobs_user', ['user_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lw_import_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_lw_import_jobs_user')
    op.drop_table('lw_import_jobs')
