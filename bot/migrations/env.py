"""Alembic environment: migrates the database named by the Sapa settings."""

from alembic import context
from sqlmodel import SQLModel

import bot.all_models  # noqa: F401  (registers every table on SQLModel.metadata)
from bot.migrate import not_search_index
from core.db import get_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    """Run migrations online against the configured database URL."""
    url = config.get_main_option("sqlalchemy.url")
    connectable = config.attributes.get("connection") or get_engine(url)
    if hasattr(connectable, "connect"):
        with connectable.connect() as connection:
            _migrate(connection)
    else:
        _migrate(connectable)


def _migrate(connection) -> None:
    # render_as_batch: SQLite can only ALTER tables by copying them (which drops their triggers: a
    # migration that copies contact, message or orderitem must create crm/search_index.py's again).
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      include_object=not_search_index)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
