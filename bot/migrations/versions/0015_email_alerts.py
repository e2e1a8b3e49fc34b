"""staff alerts by email: each staff member's choice, and one row per email sent

Revision ID: 0015
Revises: 0014
Create Date: 2027-02-16 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_alerts', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'alertemail',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=False),
        sa.Column('to_address', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('claimed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('next_attempt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staffuser.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    with op.batch_alter_table('alertemail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alertemail_next_attempt_at'), ['next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alertemail_staff_user_id'), ['staff_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alertemail_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alertemail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alertemail_status'))
        batch_op.drop_index(batch_op.f('ix_alertemail_staff_user_id'))
        batch_op.drop_index(batch_op.f('ix_alertemail_next_attempt_at'))
    op.drop_table('alertemail')
    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.drop_column('email_alerts')
