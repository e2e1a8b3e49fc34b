"""loyalty points: an append-only ledger per contact and the balance kept with it

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 13:41:49.103840
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pointsaccount',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('last_earned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('balance >= 0', name='ck_points_balance'),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.PrimaryKeyConstraint('contact_id')
    )
    op.create_table('pointsentry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('voucher_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'kind', name='uq_points_order_kind')
    )
    with op.batch_alter_table('pointsentry', schema=None) as batch_op:
        batch_op.create_index('ix_points_contact_at', ['contact_id', 'at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pointsentry', schema=None) as batch_op:
        batch_op.drop_index('ix_points_contact_at')

    op.drop_table('pointsentry')
    op.drop_table('pointsaccount')
