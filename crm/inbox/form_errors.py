"""A refused hours or alerts form value in plain words, in the staff member's language.

The domain (crm.stores, crm.phone_alerts) refuses bad values with a ValueError naming the field
(`phone_hours.mon: …`, `hours_exceptions.0.end: …`), worded for the API; staff read a sentence
about the field they typed in instead.
"""

from __future__ import annotations

from crm.inbox.i18n import current_language, t
from crm.stores import DAY_NAMES, MAX_EXCEPTION_DAYS, MAX_EXCEPTIONS, WEEKDAYS


def _window_error(detail: str, day: str = "") -> str:
    # The detail names what is wrong with the typed windows; the day (phone hours) says where.
    where = t("err_on_day", day=day) if day else ""
    if "is empty" in detail:
        return where + t("err_window_empty")
    if "24:00" in detail:
        return where + t("err_window_24")
    if "at least one window" in detail:
        return t("err_phone_hours_none")
    return where + t("err_windows")


def _exception_error(field: str, detail: str) -> str:
    if field == "label":
        return t("err_exception_label")
    if field == "start":
        return t("err_exception_start")
    if field == "end":
        if "before start" in detail:
            return t("err_exception_end_before")
        return t("err_exception_too_long", days=MAX_EXCEPTION_DAYS) if "at most" in detail else t("err_exception_end")
    if field == "windows":
        return _window_error(detail)
    if "closed" in detail:
        return t("err_exception_kind")
    if "overlap" in detail:
        return t("err_exception_overlap")
    if "at most" in detail:
        return t("err_exception_too_many", count=MAX_EXCEPTIONS)
    return t("err_form_value")


def hours_error(exc: ValueError) -> str:
    """The staff-facing sentence for a ValueError of the hours, phone hours, digest or alert kinds forms."""
    path, _, detail = str(exc).partition(": ")
    parts = path.split(".")
    if path.startswith("unknown alert kinds"):
        return t("err_alert_kinds")
    if parts[0] == "digest_at":
        return t("phone_digest_time_missing") if detail == "missing" else t("err_digest_at")
    if parts[0] == "phone_hours":
        day = parts[1] if len(parts) > 1 and parts[1] in WEEKDAYS else ""
        return _window_error(detail, DAY_NAMES[current_language()][WEEKDAYS.index(day)] if day else "")
    if parts[0] == "windows":
        return _window_error(detail)
    if parts[0] == "hours_exceptions":
        field = next((part for part in parts[1:] if not part.isdigit()), "")
        return _exception_error(field, detail)
    return t("err_form_value")
