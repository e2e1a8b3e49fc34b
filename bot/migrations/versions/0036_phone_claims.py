"""phone claims: a chat customer asked whether an imported member's phone is theirs; 60-day churn risk

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 17:10:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('phoneclaim',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('merge_id', sa.Integer(), nullable=True),
    sa.Column('asked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('answered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['merge_id'], ['contactmerge.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('contact_id', 'phone', name='uq_phoneclaim_contact_phone')
    )
    with op.batch_alter_table('phoneclaim', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_phoneclaim_contact_id'), ['contact_id'], unique=False)
    # A member is found by the phone a chat customer gives (an index, not a scan of every contact).
    op.create_index(op.f('ix_contact_phone'), 'contact', ['phone'], unique=False)
    # Added in place (nullable: filled by the next nightly run), no copy of the table on SQLite.
    op.add_column('customervalue', sa.Column('churn_risk_60', sa.Float(), nullable=True))
    op.create_index(op.f('ix_customervalue_churn_risk_60'), 'customervalue', ['churn_risk_60'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_customervalue_churn_risk_60'), table_name='customervalue')
    with op.batch_alter_table('customervalue', schema=None) as batch_op:
        batch_op.drop_column('churn_risk_60')
    op.drop_index(op.f('ix_contact_phone'), table_name='contact')
    with op.batch_alter_table('phoneclaim', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_phoneclaim_contact_id'))
    op.drop_table('phoneclaim')
