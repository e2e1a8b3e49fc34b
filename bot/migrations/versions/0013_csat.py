"""customer satisfaction surveys: due after a resolved chat or a delivered order, sent, rated (1-5) with a comment

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 08:30:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('csatsurvey',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('staff_user_id', sa.Integer(), nullable=True),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('skip_reason', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('ready_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('rated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], ),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['order.id'], ),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staffuser.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('csatsurvey', schema=None) as batch_op:
        batch_op.create_index('ix_csatsurvey_contact_sent', ['contact_id', 'sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_csatsurvey_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_csatsurvey_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_csatsurvey_rated_at'), ['rated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_csatsurvey_status'), ['status'], unique=False)


def downgrade() -> None:
    op.drop_table('csatsurvey')
