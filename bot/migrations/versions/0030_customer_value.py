"""customer value: RFM, CLV and churn risk per contact, and the nightly model

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 14:30:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customervalue',
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('monetary', sa.Integer(), nullable=False),
    sa.Column('recency_days', sa.Integer(), nullable=False),
    sa.Column('tenure_days', sa.Integer(), nullable=False),
    sa.Column('last_order_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('r_score', sa.Integer(), nullable=False),
    sa.Column('f_score', sa.Integer(), nullable=False),
    sa.Column('m_score', sa.Integer(), nullable=False),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('historic_clv', sa.Integer(), nullable=False),
    sa.Column('predicted_clv', sa.Integer(), nullable=False),
    sa.Column('churn_risk', sa.Float(), nullable=False),
    sa.Column('churn_reasons', sa.JSON(), nullable=False),
    sa.Column('favourite_category', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('favourite_product', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('computed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.PrimaryKeyConstraint('contact_id')
    )
    with op.batch_alter_table('customervalue', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customervalue_churn_risk'), ['churn_risk'], unique=False)
        batch_op.create_index(batch_op.f('ix_customervalue_favourite_category'), ['favourite_category'], unique=False)
        batch_op.create_index(batch_op.f('ix_customervalue_predicted_clv'), ['predicted_clv'], unique=False)
        batch_op.create_index(batch_op.f('ix_customervalue_segment'), ['segment'], unique=False)

    op.create_table('customervaluemodel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('computed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('customervaluemodel')
    with op.batch_alter_table('customervalue', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customervalue_segment'))
        batch_op.drop_index(batch_op.f('ix_customervalue_predicted_clv'))
        batch_op.drop_index(batch_op.f('ix_customervalue_favourite_category'))
        batch_op.drop_index(batch_op.f('ix_customervalue_churn_risk'))
    op.drop_table('customervalue')
