"""Another process's hold on the database's write lock, as an operator's shell would take it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url


@contextmanager
def database_write_lock_held(database_url: str) -> Iterator[None]:
    """Hold the write lock from outside Sapa (SQLite BEGIN IMMEDIATE; PostgreSQL LOCK TABLE webhookevent)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    engine = create_engine(database_url)  # an engine of its own: not a connection of Sapa's pool
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("LOCK TABLE webhookevent IN ACCESS EXCLUSIVE MODE")
            try:
                yield
            finally:
                connection.rollback()
    finally:
        engine.dispose()
