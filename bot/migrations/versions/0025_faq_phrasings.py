"""faq phrasings: an FAQ entry's alternative phrasings get a field of their own, apart from its keywords

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 13:55:00.000000

The FAQ screen used to store "other phrasings" in `keywords`. Only what is clearly a phrasing moves:
a keyword that ends with a question mark, or one of four words or more (the demo's and the
shops' keywords are one to three words). Everything else stays a keyword, where it matches as before.
"""

from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

faqentry = sa.table('faqentry', sa.column('id', sa.Integer()), sa.column('keywords', sa.JSON()),
                    sa.column('phrasings', sa.JSON()))


def _is_phrasing(keyword: str) -> bool:
    return keyword.strip().endswith("?") or len(keyword.split()) >= 4


def upgrade() -> None:
    with op.batch_alter_table('faqentry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phrasings', sa.JSON(), server_default='[]', nullable=False))
    bind = op.get_bind()
    for entry_id, keywords in bind.execute(sa.select(faqentry.c.id, faqentry.c.keywords)).all():
        keywords = [k for k in keywords or [] if isinstance(k, str)]
        phrasings = [k for k in keywords if _is_phrasing(k)]
        if phrasings:
            bind.execute(faqentry.update().where(faqentry.c.id == entry_id).values(
                keywords=[k for k in keywords if not _is_phrasing(k)], phrasings=phrasings))


def downgrade() -> None:
    bind = op.get_bind()
    for entry_id, keywords, phrasings in bind.execute(
            sa.select(faqentry.c.id, faqentry.c.keywords, faqentry.c.phrasings)).all():
        if phrasings:
            bind.execute(faqentry.update().where(faqentry.c.id == entry_id).values(
                keywords=list(keywords or []) + list(phrasings)))
    with op.batch_alter_table('faqentry', schema=None) as batch_op:
        batch_op.drop_column('phrasings')
