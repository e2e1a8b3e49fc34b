"""What a web request reads from its app: the database engine and the settings (one accessor each)."""

from __future__ import annotations

from flask import current_app, g, has_request_context
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.settings import Settings
from crm import shop_settings


def engine() -> Engine:
    """The database engine the app factory attached to this app."""
    return current_app.extensions["sapa.engine"]


def settings() -> Settings:
    """The app's settings as staff saved them last (shop name, timezone, times…), read once per request."""
    base = current_app.config["SAPA"]
    if not has_request_context():
        return base
    if "sapa_settings" not in g:
        # Read fresh per request, not per process: a save on the settings screen counts at once in every
        # gunicorn worker, with no restart (one small query; see crm.shop_settings).
        with Session(engine()) as session:
            g.sapa_settings = shop_settings.current_config(session, base)
    return g.sapa_settings
