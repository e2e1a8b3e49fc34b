"""an order's details (phone, payment method, scheduled time, delivery location, a note per line)
and the shop's settings (shopsetting: one JSON value per top-level key)

Revision ID: 0009
Revises: 0008
Create Date: 2027-01-20 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shopsetting',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    # Nullable columns only: SQLite adds them in place, no table rebuild.
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('payment_method', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('scheduled_for', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('lat', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('lon', sa.Float(), nullable=True))

    with op.batch_alter_table('orderitem', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('orderitem', schema=None) as batch_op:
        batch_op.drop_column('note')

    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_column('lon')
        batch_op.drop_column('lat')
        batch_op.drop_column('scheduled_for')
        batch_op.drop_column('payment_method')
        batch_op.drop_column('phone')

    op.drop_table('shopsetting')
