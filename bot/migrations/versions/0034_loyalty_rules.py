"""loyalty rules: rewards with a value (a promotion's discount or free product, the order's discount),
once-only grants such as the birthday bonus, and stamp cards (an account and a ledger per contact)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 17:20:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount_amount', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('free_sku', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('discount', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('pointsentry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grant_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.create_unique_constraint('uq_points_grant', ['grant_key'])
    op.create_table('stampaccount',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('stamps', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.CheckConstraint('stamps >= 0', name='ck_stamps_balance'),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.PrimaryKeyConstraint('contact_id')
    )
    op.create_table('stampentry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('stamps', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('voucher_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('order_id', 'kind', name='uq_stamps_order_kind')
    )
    with op.batch_alter_table('stampentry', schema=None) as batch_op:
        batch_op.create_index('ix_stamps_contact_at', ['contact_id', 'at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stampentry', schema=None) as batch_op:
        batch_op.drop_index('ix_stamps_contact_at')
    op.drop_table('stampentry')
    op.drop_table('stampaccount')
    with op.batch_alter_table('pointsentry', schema=None) as batch_op:
        batch_op.drop_constraint('uq_points_grant', type_='unique')
        batch_op.drop_column('grant_key')
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_column('discount')
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.drop_column('free_sku')
        batch_op.drop_column('discount_amount')
