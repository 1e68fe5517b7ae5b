"""pages: saved views of list pages (forms_engine/views_store.py)

Revision ID: 0004_pages
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_pages'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lw_saved_views',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('app', sa.String(length=64), nullable=False),
    sa.Column('form', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('query', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['lw_users.id'], name=op.f('fk_lw_saved_views_user_id'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lw_saved_views'))
    )
    with op.batch_alter_table('lw_saved_views', schema=None) as batch_op:
        batch_op.create_index('ix_lw_saved_views_owner', ['user_id', 'app', 'form'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lw_saved_views', schema=None) as batch_op:
        batch_op.drop_index('ix_lw_saved_views_owner')
    op.drop_table('lw_saved_views')
