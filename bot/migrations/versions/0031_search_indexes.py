"""search indexes: FTS5 trigram tables with triggers on SQLite, pg_trgm GIN indexes on PostgreSQL

Contact names, message texts and the products of order lines (see crm/search_index.py); the
statements are copied here so this revision keeps creating what it created when the code moves on.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 17:20:00
"""

from alembic import op


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None

INDEXED = {'contact': 'display_name', 'message': 'text', 'orderitem': 'product_name'}


def _sqlite_upgrade(table: str, column: str) -> None:
    fts = f'{table}_fts'
    insert = f'INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column});'
    delete = f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
    op.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({column}, content='{table}', "
               "content_rowid='id', tokenize='trigram')")
    op.execute(f'CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON "{table}" BEGIN {insert} END')
    op.execute(f'CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON "{table}" BEGIN {delete} END')
    op.execute(f'CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {column} ON "{table}" '
               f'BEGIN {delete} {insert} END')
    op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")  # the rows already there


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for table, column in INDEXED.items():
            _sqlite_upgrade(table, column)
        return
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    for table, column in INDEXED.items():
        op.execute(f'CREATE INDEX IF NOT EXISTS ix_{table}_{column}_trgm ON "{table}" USING gin ({column} gin_trgm_ops)')


def downgrade() -> None:
    for table, column in INDEXED.items():
        if op.get_bind().dialect.name == 'sqlite':
            for trigger in ('insert', 'delete', 'update'):
                op.execute(f'DROP TRIGGER IF EXISTS {table}_fts_{trigger}')
            op.execute(f'DROP TABLE IF EXISTS {table}_fts')
        else:  # the pg_trgm extension stays: other objects may use it
            op.execute(f'DROP INDEX IF EXISTS ix_{table}_{column}_trgm')
