"""loyalty rules: rewards with a value (a promotion's discount or free product, the order's discount) and
once-only grants such as the birthday bonus

Revision ID: 0034
Revises: 0030
Create Date: 2026-12-07 17:20:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0034'
down_revision = '0030'
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
        batch_op.create_unique_constraint('uq_points_contact_grant', ['contact_id', 'grant_key'])


def downgrade() -> None:
    with op.batch_alter_table('pointsentry', schema=None) as batch_op:
        batch_op.drop_constraint('uq_points_contact_grant', type_='unique')
        batch_op.drop_column('grant_key')
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_column('discount')
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.drop_column('free_sku')
        batch_op.drop_column('discount_amount')
