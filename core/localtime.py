"""The shop's own time for staff: its days (in `SAPA_TIMEZONE`) and one date format per language.

Timestamps are stored in UTC; a day, a day bucket or a date shown to staff is the shop's local
one. Dates are worded by Babel (CLDR): "7 Des 2026 04.30" in Indonesian, "Dec 7, 2026, 4:30 AM" in
English (CLDR's medium date with its short time).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import (format_date, format_datetime, format_time, get_date_format, get_datetime_format,
                         get_time_format)
from sqlalchemy import and_, case, func

from core.db import as_utc
from core.words import LANGUAGES



def _moment_pattern(language: str) -> str:
    # CLDR's medium date with its short time, joined the locale's way: no seconds, one pattern per language.
    joined = get_datetime_format("medium", locale=language)
    return joined.replace("{1}", get_date_format("medium", locale=language).pattern).replace(
        "{0}", get_time_format("short", locale=language).pattern)


MOMENT = {language: _moment_pattern(language) for language in LANGUAGES}


def local_days(now: datetime, tz: ZoneInfo, count: int) -> list[date]:
    """The shop's last `count` days, oldest first, today (in `tz`) last."""
    today = as_utc(now).astimezone(tz).date()
    return [today - timedelta(days=back) for back in range(count - 1, -1, -1)]


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The moment the shop's day `day` begins (midnight in `tz`), in UTC."""
    return datetime.combine(day, time(), tz).astimezone(ZoneInfo("UTC"))


def count_per_day(column, days: list[date], tz: ZoneInfo) -> list:
    """SQL counts of the rows whose `column` falls on each of the shop's `days` (one column per day)."""
    starts = [day_start(day, tz) for day in days] + [day_start(days[-1] + timedelta(days=1), tz)]
    return [func.coalesce(func.sum(case((and_(column >= start, column < end), 1), else_=0)), 0)
            for start, end in zip(starts, starts[1:])]


def format_moment(value: datetime, language: str, tz: ZoneInfo) -> str:
    """A stored timestamp as staff read it: the shop's local date and time, worded in `language`."""
    return format_datetime(as_utc(value), MOMENT[language], tzinfo=tz, locale=language)


def format_day(value: date, language: str) -> str:
    """A date as staff read it, worded in `language`."""
    return format_date(value, "medium", locale=language)


def format_clock(value: datetime, language: str, tz: ZoneInfo) -> str:
    """A stored timestamp's local time of day as staff read it ("17.30" in Indonesian, "5:30 PM" in English)."""
    return format_time(as_utc(value), "short", tzinfo=tz, locale=language)
