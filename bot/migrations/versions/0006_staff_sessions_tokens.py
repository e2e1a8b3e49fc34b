"""staff session generation, API token revocation time, shared rate-limit counters

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 13:38:52.383747
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ratelimitcounter',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('ratelimitcounter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ratelimitcounter_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))

    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('staffuser', schema=None) as batch_op:
        batch_op.drop_column('session_generation')

    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')

    with op.batch_alter_table('ratelimitcounter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ratelimitcounter_expires_at'))

    op.drop_table('ratelimitcounter')
