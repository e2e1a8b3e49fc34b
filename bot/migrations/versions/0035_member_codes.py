"""member codes (shown in chat, typed at the counter) and the counter forms' done keys

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 17:01:23.266374
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('countersubmission',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staffuser.id'], ),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('countersubmission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_countersubmission_contact_id'), ['contact_id'], unique=False)

    op.create_table('membercode',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.PrimaryKeyConstraint('contact_id'),
    sa.UniqueConstraint('code')
    )


def downgrade() -> None:
    op.drop_table('membercode')
    with op.batch_alter_table('countersubmission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_countersubmission_contact_id'))

    op.drop_table('countersubmission')
