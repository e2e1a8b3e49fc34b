"""The staff screens' words in Indonesian and English: one catalog (words.yaml), one lookup function.

`t(key, **values)` answers in the current staff member's language (`StaffUser.language`,
else the `lang` cookie of the login page, else Indonesian). Templates get it as `t`;
other staff blueprints import it (`from crm.inbox.i18n import t`) and may add their own
keys with `register({...})`. A test checks that every key has both languages.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import g, has_request_context, request

from core.localtime import format_day, format_moment
from core.words import LANGUAGES, Catalog

DEFAULT = "id"

CATALOG = Catalog.from_yaml("staff screens", Path(__file__).with_name("words.yaml"))


def register(entries: dict[str, dict[str, str]]) -> None:
    """Add keys for another staff blueprint (each with an `id` and an `en` text; a key is defined once)."""
    CATALOG.add(entries)


def current_language() -> str:
    """The language of this request's staff member (Indonesian by default)."""
    if not has_request_context():
        return DEFAULT
    staff = g.get("staff")
    if staff is not None and staff.language in LANGUAGES:
        return staff.language
    cookie = request.cookies.get("lang")
    return cookie if cookie in LANGUAGES else DEFAULT


def t(key: str, language: str | None = None, **values) -> str:
    """The text for `key` in `language` (default: the current one), values filled in; the key if unknown."""
    if key not in CATALOG:
        return key
    return CATALOG.text(key, language or current_language(), **values)


def error_text(code: str) -> str:
    """The agent-facing text of an InboxError code like `text_too_long:5000`."""
    name, _, arg = code.partition(":")
    return t(f"err_{name}", arg=arg) if f"err_{name}" in CATALOG else code


def intent_name(code: str | None) -> str:
    """What a chat or message is about (an intent code like `human_handoff`), in the staff member's words."""
    if not code:
        return ""
    key = f"intent_{code}"
    return t(key) if key in CATALOG else code.replace("_", " ").capitalize()


def channel_name(code: str | None) -> str:
    """A channel (`line`, `telegram`) as staff call it."""
    if not code:
        return ""
    key = f"ch_{code}"
    return t(key) if key in CATALOG else code.capitalize()


def moment(value: datetime | None, tz: ZoneInfo) -> str:
    """A timestamp as the staff member reads it: the shop's local time, in their language's one date format."""
    return format_moment(value, current_language(), tz) if value is not None else ""


def day(value: date | str | None) -> str:
    """A date (or an ISO date) as the staff member reads it, in their language's one date format."""
    if not value:
        return ""
    return format_day(date.fromisoformat(value) if isinstance(value, str) else value, current_language())


def alert_line(alert) -> str:
    """An alert's one line in the staff member's language, from its kind's words and stored values.

    Alerts stored without values (older ones) keep their English text.
    """
    values = dict(alert.params or {})
    key = f"alert_line_{values.pop('line', '')}"
    if key not in CATALOG:
        return alert.text
    try:
        return t(key, **values)
    except (KeyError, IndexError):  # values of another version of the words: the stored text is still true
        return alert.text
