"""What every `sapa` command reads first: the settings and the database, with configuration errors said plainly."""

from __future__ import annotations

import click
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from core.db import get_engine
from core.settings import Settings, get_settings


def settings() -> Settings:
    """The process settings; an invalid configuration stops the command with one line per problem."""
    try:
        return get_settings()
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()]
        raise click.ClickException("invalid configuration (config.yaml / SAPA_* environment):\n" + "\n".join(lines))


def engine() -> Engine:
    """The database engine of the configured database."""
    return get_engine(settings().database_url)
