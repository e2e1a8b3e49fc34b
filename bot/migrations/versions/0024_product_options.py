"""product options: variant prices, add-ons and availability hours on a product, the add-ons chosen on an order line

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-07 14:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.add_column(sa.Column('variant_prices', sa.JSON(), server_default='{}', nullable=False))
        batch_op.add_column(sa.Column('addons', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('available_hours', sa.JSON(), nullable=True))

    with op.batch_alter_table('orderitem', schema=None) as batch_op:
        batch_op.add_column(sa.Column('addons', sa.JSON(), server_default='[]', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('orderitem', schema=None) as batch_op:
        batch_op.drop_column('addons')

    with op.batch_alter_table('product', schema=None) as batch_op:
        batch_op.drop_column('available_hours')
        batch_op.drop_column('addons')
        batch_op.drop_column('variant_prices')
