"""promotion redemptions: voucher uses per order, a promotion's budget and single use per customer

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 11:04:55.300451
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('promotionredemption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('once_contact_id', sa.Integer(), nullable=True),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('released_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['once_contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], ),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotion.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('promotion_id', 'once_contact_id', name='uq_redemption_once')
    )
    with op.batch_alter_table('promotionredemption', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotionredemption_contact_id'), ['contact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotionredemption_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_promotionredemption_promotion_id'), ['promotion_id'], unique=False)

    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voucher_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('promotion_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_order_promotion_id', 'promotion', ['promotion_id'], ['id'])

    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_redemptions', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('per_customer', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False,
                                      server_default='shared'))
        batch_op.add_column(sa.Column('redeemed', sa.Integer(), nullable=False, server_default='0'))



def downgrade() -> None:
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.drop_column('redeemed')
        batch_op.drop_column('per_customer')
        batch_op.drop_column('max_redemptions')

    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_constraint('fk_order_promotion_id', type_='foreignkey')
        batch_op.drop_column('promotion_id')
        batch_op.drop_column('voucher_code')

    with op.batch_alter_table('promotionredemption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_promotionredemption_promotion_id'))
        batch_op.drop_index(batch_op.f('ix_promotionredemption_order_id'))
        batch_op.drop_index(batch_op.f('ix_promotionredemption_contact_id'))

    op.drop_table('promotionredemption')
