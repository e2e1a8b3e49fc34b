"""Substring search served by an index: SQLite FTS5 trigram tables, PostgreSQL pg_trgm GIN indexes.

A search in the inbox is "the column contains what the agent typed": case-insensitive, `%` and `_`
taken literally. A LIKE '%q%' reads every row, which at 100k contacts and 2M messages misses the
page budget. On SQLite each searched column gets an external-content FTS5 table with the trigram
tokenizer (https://sqlite.org/fts5.html#the_trigram_tokenizer), kept in step by triggers, so every
write path (bulk ingest, erasure, merges) keeps it right without code of its own; on PostgreSQL a
`gin_trgm_ops` index lets ILIKE '%q%' itself use the index (https://www.postgresql.org/docs/current/pgtrgm.html).

The migration 0031_search_indexes creates the same objects for existing databases; the events here
create them with the tables (`create_all`, used by the tests and the benchmarks).
"""

from __future__ import annotations

from sqlalchemy import DDL, Integer, any_, bindparam, column as column_clause, event, literal_column, table as table_clause
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from crm.models import Contact, Message

TRIGRAM = 3  # the trigram tokenizer finds nothing in a shorter query: LIKE reads the rows then
INDEXED = {"contact": "display_name", "message": "text", "orderitem": "product_name"}  # table -> its searched column


def fts_table(table: str) -> str:
    """The FTS5 table indexing `table`'s searched column."""
    return f"{table}_fts"


def sqlite_statements(table: str) -> list[str]:
    """SQLite DDL of `table`'s FTS5 index and the triggers that keep it in step with the rows."""
    fts, column = fts_table(table), INDEXED[table]
    quoted = f'"{table}"'
    insert = f"INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column});"
    delete = f"INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({column}, content='{table}', content_rowid='id', "
        "tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {quoted} BEGIN {insert} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {quoted} BEGIN {delete} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {column} ON {quoted} BEGIN {delete} {insert} END",
    ]


def postgres_statements(table: str) -> list[str]:
    """PostgreSQL DDL of the trigram index that serves ILIKE '%q%' on `table`'s searched column."""
    return ["CREATE EXTENSION IF NOT EXISTS pg_trgm",
            f'CREATE INDEX IF NOT EXISTS ix_{table}_{INDEXED[table]}_trgm ON "{table}" '
            f"USING gin ({INDEXED[table]} gin_trgm_ops)"]


def keep_indexed(table) -> None:
    """Create `table`'s search index with the table (`create_all`); crm.orders calls it for its order lines."""
    for statement in sqlite_statements(table.name):
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="sqlite"))
    for statement in postgres_statements(table.name):
        event.listen(table, "after_create", DDL(statement).execute_if(dialect="postgresql"))


keep_indexed(Contact.__table__)
keep_indexed(Message.__table__)


def contains(session: Session, column, q: str) -> ColumnElement:
    """A condition: `column` contains `q` (case-insensitive, wildcards taken literally), read row by row."""
    # SQLite's LIKE is already case-insensitive (ASCII) and lower() would cost a third more per
    # row; PostgreSQL needs ILIKE, which the trigram index serves. Wildcards typed by the agent are escaped.
    if session.get_bind().dialect.name == "sqlite":
        return column.contains(q, autoescape=True)
    return column.icontains(q, autoescape=True)


def where_contains(query: Select, *, session: Session, column, q: str) -> Select:
    """`query` (which reads `column`'s table) narrowed to the rows whose `column` contains `q`, found by the index."""
    like = contains(session, column, q)
    if session.get_bind().dialect.name != "sqlite" or len(q) < TRIGRAM or INDEXED.get(column.table.name) != column.name:
        return query.where(like)
    # The FTS5 table drives a join, so a LIMIT stops after the first matches (an `id IN (…)` would
    # collect every candidate first); LIKE on those rows keeps today's exact answer (the tokenizer
    # also folds non-ASCII case, SQLite's LIKE does not).
    name = fts_table(column.table.name)
    index = table_clause(name, column_clause("rowid"))
    phrase = '"' + q.replace('"', '""') + '"'  # one FTS5 string: operators and wildcards are plain text
    return query.join(index, index.c.rowid == column.table.c.id).where(literal_column(name).op("MATCH")(phrase), like)


def one_of(session: Session, column, ids: list[int]) -> ColumnElement:
    """A condition: `column` is one of `ids` (a search's matches, thousands of them)."""
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter: binding thousands of IN parameters costs more than running the query.
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)
