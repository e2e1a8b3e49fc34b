"""settings and staff screens: canned replies ordered and in English too, one-time password reset links

Revision ID: 0020
Revises: 0018
Create Date: 2027-03-01 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0020'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cannedresponse', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_en', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('position', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reset_token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('reset_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.drop_column('reset_expires_at')
        batch_op.drop_column('reset_token_hash')
    with op.batch_alter_table('cannedresponse', schema=None) as batch_op:
        batch_op.drop_column('position')
        batch_op.drop_column('text_en')
