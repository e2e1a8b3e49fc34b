"""conversation episodes (each open period keeps its first response and resolution times; every
conversation that was ever opened becomes one episode), and the parameters of staff alert lines

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 08:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversationepisode',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('first_response_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('responder_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('resolver_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversation.id'], ),
    sa.ForeignKeyConstraint(['resolver_id'], ['staffuser.id'], ),
    sa.ForeignKeyConstraint(['responder_id'], ['staffuser.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('conversationepisode', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversationepisode_first_response_at'), ['first_response_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversationepisode_resolved_at'), ['resolved_at'], unique=False)
        batch_op.create_index('ix_episode_conversation_opened', ['conversation_id', 'opened_at'], unique=False)

    with op.batch_alter_table('staffalert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), server_default='{}', nullable=False))
    # One episode per conversation that was ever opened, with the times it had; its first responder is who
    # sent the first staff message of that period, its resolver the assignee (whom the figures counted for).
    op.execute("INSERT INTO conversationepisode (conversation_id, opened_at, first_response_at, responder_id, "
               "resolved_at, resolver_id) SELECT c.id, c.opened_at, c.first_response_at, "
               "CASE WHEN c.first_response_at IS NULL THEN NULL ELSE (SELECT m.staff_user_id FROM message m "
               "WHERE m.conversation_id = c.id AND m.sender = 'staff' AND m.created_at >= c.opened_at "
               "ORDER BY m.id LIMIT 1) END, "
               "c.resolved_at, CASE WHEN c.resolved_at IS NULL THEN NULL ELSE c.assignee_id END "
               "FROM conversation c WHERE c.opened_at IS NOT NULL ORDER BY c.id")



def downgrade() -> None:
    with op.batch_alter_table('staffalert', schema=None) as batch_op:
        batch_op.drop_column('params')

    with op.batch_alter_table('conversationepisode', schema=None) as batch_op:
        batch_op.drop_index('ix_episode_conversation_opened')
        batch_op.drop_index(batch_op.f('ix_conversationepisode_resolved_at'))
        batch_op.drop_index(batch_op.f('ix_conversationepisode_first_response_at'))

    op.drop_table('conversationepisode')
