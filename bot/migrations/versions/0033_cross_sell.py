"""cross-sell: frequently-bought-together rules, and the offer made with an order

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 17:20:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crosssellrule',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('suggested_id', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('support', sa.Float(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('lift', sa.Float(), nullable=False),
    sa.Column('computed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.ForeignKeyConstraint(['suggested_id'], ['product.id'], ),
    sa.PrimaryKeyConstraint('product_id', 'suggested_id')
    )
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cross_sell_product_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cross_sell_taken', sa.Boolean(), nullable=True))
        batch_op.create_foreign_key('fk_order_cross_sell_product_id', 'product', ['cross_sell_product_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_constraint('fk_order_cross_sell_product_id', type_='foreignkey')
        batch_op.drop_column('cross_sell_taken')
        batch_op.drop_column('cross_sell_product_id')
    op.drop_table('crosssellrule')
