"""PostgreSQL statistics on the labels' text, so a label filter's selectivity is known

Without them the planner guesses that `labels::text LIKE '%"vip"%'` keeps a few rows, sorts the whole
table for the list's order (24 ms at 100k chats) where walking the waiting_since index stops after 50
(0.5 ms). SQLite plans the filter the same either way and has no expression statistics.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-07 21:10:00
"""

from alembic import op


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def _postgres_14_or_later() -> bool:
    bind = op.get_bind()
    return bind.dialect.name == "postgresql" and bind.dialect.server_version_info >= (14,)


def upgrade() -> None:
    if _postgres_14_or_later():  # statistics on an expression came with PostgreSQL 14
        op.execute("CREATE STATISTICS IF NOT EXISTS conversation_labels_text ON ((labels::text)) FROM conversation")
        op.execute("ANALYZE conversation")


def downgrade() -> None:
    if _postgres_14_or_later():
        op.execute("DROP STATISTICS IF EXISTS conversation_labels_text")
