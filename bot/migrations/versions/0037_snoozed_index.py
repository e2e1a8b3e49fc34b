"""an index on conversation.snoozed_until: every list page asks whether a snooze ran out

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07 18:30:00
"""

from alembic import op


revision = '0037'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain CREATE INDEX (not a batch copy of the table), so SQLite keeps the search triggers on it.
    op.create_index(op.f('ix_conversation_snoozed_until'), 'conversation', ['snoozed_until'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_conversation_snoozed_until'), table_name='conversation')
