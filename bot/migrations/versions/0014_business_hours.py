"""business hours: exceptions per store (holidays, Ramadan), each staff member's alert hours and digest

Revision ID: 0014
Revises: 0013
Create Date: 2027-02-15 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('store', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hours_exceptions', sa.JSON(), server_default='[]', nullable=False))
    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_hours', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('phone_digest_at', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=True))
    op.create_table(
        'phonealerthold',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('repeats', sa.Integer(), nullable=False),
        sa.Column('held_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('released_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('batch_id', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.ForeignKeyConstraint(['alert_id'], ['staffalert.id'], ),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staffuser.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('staff_user_id', 'alert_id', 'repeats', name='uq_phonealerthold_event'),
    )
    with op.batch_alter_table('phonealerthold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phonealerthold_released_at'), ['released_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_phonealerthold_staff_user_id'), ['staff_user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('phonealerthold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phonealerthold_staff_user_id'))
        batch_op.drop_index(batch_op.f('ix_phonealerthold_released_at'))
    op.drop_table('phonealerthold')
    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.drop_column('phone_digest_at')
        batch_op.drop_column('phone_hours')
    with op.batch_alter_table('store', schema=None) as batch_op:
        batch_op.drop_column('hours_exceptions')
