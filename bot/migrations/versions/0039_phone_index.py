"""an index on contacts' phone numbers without punctuation: the counter finds a customer by phone without a scan

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 21:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0039'
down_revision = '0038'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain CREATE INDEX (not a batch copy of the table), so SQLite keeps the search triggers on it.
    # The expression crm.models.bare_phone writes, so a query's lookup reads it.
    bare = "replace(replace(replace(replace(replace(phone, ' ', ''), '-', ''), '.', ''), '(', ''), ')', '')"
    op.create_index("ix_contact_phone_bare", "contact", [sa.text(bare)], unique=False)


def downgrade() -> None:
    op.drop_index("ix_contact_phone_bare", table_name="contact")
