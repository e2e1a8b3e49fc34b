"""daily figures: the dashboards' pre-aggregated rows per shop day, and an index on the orders' creation time

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 17:30:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dailyfigure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Float(), nullable=False),
    sa.Column('computed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('metric', 'day', 'key', name='uq_dailyfigure_metric_day_key')
    )
    with op.batch_alter_table('dailyfigure', schema=None) as batch_op:
        batch_op.create_index('ix_dailyfigure_metric_day', ['metric', 'day'], unique=False)
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.create_index('ix_order_created', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_index('ix_order_created')
    with op.batch_alter_table('dailyfigure', schema=None) as batch_op:
        batch_op.drop_index('ix_dailyfigure_metric_day')
    op.drop_table('dailyfigure')
