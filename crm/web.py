"""What a web request reads from its app: the database engine and the settings (one accessor each)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.engine import Engine

from core.settings import Settings


def engine() -> Engine:
    """The database engine the app factory attached to this app."""
    return current_app.extensions["sapa.engine"]


def settings() -> Settings:
    """The settings this app was built with."""
    return current_app.config["SAPA"]
