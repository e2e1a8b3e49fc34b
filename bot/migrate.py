"""Alembic migrations driven from code (`sapa db upgrade`)."""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext

from core.db import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def not_search_index(_object, name, _type, reflected, compare_to) -> bool:
    """False for the search index's tables and indexes (crm/search_index.py): made by migration 0031, not the models."""
    return not (reflected and compare_to is None and name and re.search(r"_fts($|_)|_trgm$", name))


def alembic_config(database_url: str) -> Config:
    """An Alembic config for `database_url` without an alembic.ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def current_revision(database_url: str) -> str | None:
    """The schema revision the database is at (None for an empty database)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the database to `revision` (latest by default); the revisions before and after."""
    before = current_revision(database_url)
    command.upgrade(alembic_config(database_url), revision)
    return before, current_revision(database_url)


def revision(database_url: str, message: str) -> None:
    """Autogenerate a new migration from the models (for developers)."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
