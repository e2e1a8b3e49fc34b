"""stores: delivery and pickup on/off per store, and a store's own delivery rules (null: the shop's)

Revision ID: 0023
Revises: 0022 (re-chained after merging main; was 0022)
Create Date: 2026-12-07 13:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('store', schema=None) as batch_op:
        # Existing stores keep doing what every store did: deliver and hand out pickups by the shop's rules.
        batch_op.add_column(sa.Column('delivers', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('pickup', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('delivery', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('store', schema=None) as batch_op:
        batch_op.drop_column('delivery')
        batch_op.drop_column('pickup')
        batch_op.drop_column('delivers')
