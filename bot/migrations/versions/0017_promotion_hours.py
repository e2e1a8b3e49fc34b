"""promotion hours: the weekdays and local-time windows a promotion is valid in (happy hour)

Revision ID: 0017
Revises: 0016
Create Date: 2027-03-01 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.add_column(sa.Column('weekdays', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('hours', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('promotion', schema=None) as batch_op:
        batch_op.drop_column('hours')
        batch_op.drop_column('weekdays')
