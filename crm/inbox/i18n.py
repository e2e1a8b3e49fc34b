"""The staff screens' words in Indonesian and English: one catalog (words.yaml), one lookup function.

`t(key, **values)` answers in the current staff member's language (`StaffUser.language`,
else the `lang` cookie of the login page, else Indonesian). Templates get it as `t`;
other staff blueprints import it (`from crm.inbox.i18n import t`) and may add their own
keys with `register({...})`. A test checks that every key has both languages.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import g, has_request_context, request

from core.localtime import format_day, format_moment
from core.money import rupiah
from core.words import LANGUAGES, Catalog
from crm.history import tapped_label

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


def message_kind(kind: str) -> str:
    """A message's type (`sticker`, `follow`, …) as staff call it."""
    for key in (kind, f"event_{kind}"):
        if key in CATALOG:
            return t(key)
    return t("message_other")


# What a platform's or the sender's error (stored in English for support) means, checked in this order.
DELIVERY_ERRORS = (
    ("is not configured", "deliv_err_channel_off"),
    ("worker stopped while sending", "deliv_err_interrupted"),
    ("reply token", "deliv_err_reply_token"),
    ("blocked", "deliv_err_blocked"),
    ("403", "deliv_err_blocked"),
    ("flood control", "deliv_err_busy"),
    ("429", "deliv_err_busy"),
    ("unreachable", "deliv_err_unreachable"),
    ("timed out", "deliv_err_unreachable"),
    ("did not finish", "deliv_err_unreachable"),
    ("gave up after retries", "deliv_err_gave_up"),
)


def delivery_error(error: str | None) -> str:
    """Why a message was not delivered, in the staff member's words (the stored English text is for support)."""
    if not error:
        return ""
    found = re.search(r"channel '?(\w+)'? is not configured", error)
    channel = channel_name(found.group(1)) if found else ""
    for fragment, key in DELIVERY_ERRORS:
        if fragment in error:
            return t(key, channel=channel) if key == "deliv_err_channel_off" else t(key)
    return t("deliv_err_other")


def _button_sentence(data: str) -> str:
    """What pressing a button with postback `data` means, in words ("order:confirm" -> "Confirmed the order")."""
    if data.startswith("intent="):
        return t("pb_menu", choice=intent_name(data.removeprefix("intent=")))
    parts = data.split(":")
    if parts[0] == "csat" and len(parts) == 3:
        return t("pb_csat_skip") if parts[2] == "skip" else t("pb_csat_score", score=parts[2])
    for size in (3, 2, 1):  # the most precise words known: order:fulfil:pickup, then order:pay, then faq
        key = "pb_" + "_".join(parts[:size])
        if len(parts) >= size and key in CATALOG:
            return t(key)
    return t("pb_unknown")


def button_words(message) -> str:
    """The button a customer pressed, as staff read it: its label, else what pressing it means (never its raw data)."""
    data = (message.payload or {}).get("postback_data") or ""
    label = tapped_label(message)
    return label if label and label != data else _button_sentence(data)


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
    if isinstance(values.get("amount"), int):  # an amount is stored as a number, worded in the reader's language
        values["total"] = rupiah(values.pop("amount"), current_language())
    key = f"alert_line_{values.pop('line', '')}"
    if key not in CATALOG:
        return alert.text
    try:
        return t(key, **values)
    except (KeyError, IndexError):  # values of another version of the words: the stored text is still true
        return alert.text
