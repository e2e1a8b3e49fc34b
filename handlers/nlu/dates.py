"""Dates and times in a message: ISO and d/m dates, month names, relative days, weekdays, clock times."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta


_WEEKDAYS = {
    "senin": 0, "selasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "jum'at": 4, "jumaat": 4,
    "sabtu": 5, "minggu": 6, "ahad": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
}
_MONTHS = {
    "jan": 1, "januari": 1, "january": 1, "feb": 2, "februari": 2, "pebruari": 2, "february": 2,
    "mar": 3, "maret": 3, "march": 3, "apr": 4, "april": 4, "mei": 5, "may": 5, "jun": 6, "juni": 6,
    "june": 6, "jul": 7, "juli": 7, "july": 7, "agu": 8, "agt": 8, "agus": 8, "agustus": 8, "aug": 8,
    "august": 8, "sep": 9, "sept": 9, "september": 9, "okt": 10, "oktober": 10, "oct": 10,
    "october": 10, "nov": 11, "november": 11, "nop": 11, "nopember": 11, "des": 12, "desember": 12,
    "dec": 12, "december": 12,
}
_REL = [
    (re.compile(r"\b(?:hari ini|hr ini|today|todays|skrg|sekarang juga)\b"), 0),
    (re.compile(r"\b(?:lusa|day after tomorrow)\b"), 2),
    (re.compile(r"\b(?:besok|bsk|besuk|tomorrow|tmr|tmrw|esok)\b(?! lusa)"), 1),
    (re.compile(r"\b(?:kemarin|kemaren|kmrn|kmarin|yesterday)\b"), -1),
]
_VAGUE = re.compile(
    r"\b(?:nanti|ntar|entar|ntr)\s+(?:pagi|siang|sore|malam|malem)\b|\b(?:pagi|siang|sore|malam|malem) ini\b|"
    r"\b(?:tonight|this (?:morning|afternoon|evening)|minggu depan|next week|bulan depan|next month|weekend ini|this weekend)\b"
)
_WD = re.compile(
    r"\b(?:(?:hari|hr)\s+(minggu)|(senin|selasa|rabu|kamis|jum'?at|jumaat|sabtu|ahad|monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday))\b(\s+(?:depan|besok|next))?|\bnext\s+(monday|tuesday|wednesday|thursday|"
    r"friday|saturday|sunday)\b"
)
_ISO = re.compile(r"\b(20\d\d)-(\d{1,2})-(\d{1,2})\b")
_DMY = re.compile(r"(?<![\d:.])(\d{1,2})[/-](\d{1,2})(?:[/-](\d{2,4}))?(?![\d/])")
_DMONTH = re.compile(r"\b(\d{1,2})\s*(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?(?:\s+(20\d\d))?")
_TGL = re.compile(r"\b(?:tgl|tanggal|tang|date)\.?\s*(\d{1,2})\b(?!\s*[/-]\d)")
_TIME_JAM = re.compile(
    r"\b(?:jam|jm|pukul|pkl|at)\s*(\d{1,2})(?:[.:](\d{2}))?(?:\s*(?:an|-?an))?\b"
    r"(?:\s*(wib|wita|wit))?(?:\s*(pagi|siang|sore|malam|malem|pm|am))?"
)
_TIME_HHMM = re.compile(r"(?<![\d.:/])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])(?:\s*(pm|am))?")
_TIME_DOT = re.compile(r"(?<![\d.:/])([01]?\d|2[0-3])\.([0-5]\d)\s*(wib|wita|wit)\b")
_TIME_AMPM = re.compile(r"\b(\d{1,2})(?:[.:](\d{2}))?\s*(am|pm)\b")


def _safe_date(y, m, d):
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _nearest_year(today: date, m: int, d: int) -> date | None:
    best = None
    for y in (today.year - 1, today.year, today.year + 1):
        c = _safe_date(y, m, d)
        if c and (best is None or abs((c - today).days) < abs((best - today).days)):
            best = c
    if best and (best - today).days < -180:
        best = _safe_date(best.year + 1, m, d)
    return best


def _hour(h: int, mnt: int, qual: str | None) -> str | None:
    if h > 24 or mnt > 59:
        return None
    if qual in ("pm",) and h < 12:
        h += 12
    elif qual == "am" and h == 12:
        h = 0
    elif qual == "siang" and h <= 5:
        h += 12
    elif qual == "sore" and h < 12:
        h += 12
    elif qual in ("malam", "malem") and 5 <= h < 12:
        h += 12
    elif qual in ("malam", "malem") and h == 12:
        h = 0
    elif qual is None and 1 <= h <= 6:
        h += 12  # "jam 3" in shop chat means 15:00
    if h == 24:
        h = 0
    return f"{h:02d}:{mnt:02d}"


_DATE_CUE = re.compile(
    r"\d|hari|hr |ini|today|besok|bsk|besuk|tomorrow|tmr|esok|lusa|kemarin|kemaren|kmrn|kmarin|yesterday|"
    r"nanti|ntar|entar|ntr|tonight|this|depan|next|senin|selasa|rabu|kamis|jum|sabtu|minggu|ahad|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri|sat|sun|skrg|sekarang|weekend"
)


def extract_dates(text: str, today: date | None = None) -> tuple[str, ...]:
    t = text.lower()
    if not _DATE_CUE.search(t):
        return ()
    today = today or date.today()
    found: list[tuple[int, str]] = []
    for m in _ISO.finditer(t):
        d = _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d:
            found.append((m.start(), d.isoformat()))
    for m in _DMY.finditer(t):
        if _ISO.search(t[max(0, m.start() - 5): m.end() + 1]):
            continue
        dd, mm, yy = int(m.group(1)), int(m.group(2)), m.group(3)
        if not (1 <= dd <= 31 and 1 <= mm <= 12):
            continue
        if yy:
            y = int(yy) + (2000 if len(yy) == 2 else 0)
            d = _safe_date(y, mm, dd)
        else:
            d = _nearest_year(today, mm, dd)
        if d:
            found.append((m.start(), d.isoformat()))
    for m in _DMONTH.finditer(t):
        dd, mm = int(m.group(1)), _MONTHS[m.group(2)]
        d = _safe_date(int(m.group(3)), mm, dd) if m.group(3) else _nearest_year(today, mm, dd)
        if d:
            found.append((m.start(), d.isoformat()))
    for m in _TGL.finditer(t):
        dd = int(m.group(1))
        if any(abs(p - m.start()) < 12 for p, _ in found):
            continue
        d = _safe_date(today.year, today.month, dd)
        if d is None or d < today:
            ny, nm = (today.year + (today.month == 12), today.month % 12 + 1)
            d = _safe_date(ny, nm, dd)
        if d:
            found.append((m.start(), d.isoformat()))
    for rx, off in _REL:
        for m in rx.finditer(t):
            found.append((m.start(), (today + timedelta(days=off)).isoformat()))
    for m in _WD.finditer(t):
        name = (m.group(1) or m.group(2) or m.group(4)).replace("'", "")
        wd = _WEEKDAYS.get(name)
        if wd is None:
            continue
        delta = (wd - today.weekday()) % 7
        if (m.group(3) or m.group(4)) and delta == 0:
            delta = 7
        found.append((m.start(), (today + timedelta(days=delta)).isoformat()))
    for m in _VAGUE.finditer(t):
        found.append((m.start(), m.group(0)))
    spans: list[tuple[int, int]] = []
    for m in _TIME_JAM.finditer(t):
        h, mnt, qual = int(m.group(1)), m.group(2), m.group(4)
        if qual:
            v = _hour(h, int(mnt or 0), qual)
        elif mnt:  # explicit minutes ("jam 15.00"): 24-hour clock as written
            v = f"{h:02d}:{mnt}" if h <= 23 and int(mnt) <= 59 else None
        else:
            v = _hour(h, 0, None)
        if v:
            found.append((m.start(), v))
            spans.append(m.span())
    for rx in (_TIME_HHMM, _TIME_DOT, _TIME_AMPM):
        for m in rx.finditer(t):
            if any(a <= m.start() < b for a, b in spans):
                continue
            g = m.groups()
            if rx is _TIME_AMPM:
                v = _hour(int(g[0]), int(g[1] or 0), g[2])
            elif rx is _TIME_HHMM:
                v = _hour(int(g[0]), int(g[1]), g[2]) if g[2] else f"{int(g[0]):02d}:{g[1]}"
            else:
                v = f"{int(g[0]):02d}:{g[1]}"
            if v:
                found.append((m.start(), v))
                spans.append(m.span())
    found.sort()
    return tuple(dict.fromkeys(v for _, v in found))


# ============================================================================ one moment, as a datetime
_PARTS_OF_DAY = {  # default hour, and the qualifier _hour() understands
    "pagi": (9, "pagi"), "morning": (9, "am"), "siang": (12, "siang"), "noon": (12, "siang"),
    "sore": (16, "sore"), "afternoon": (15, "pm"), "malam": (19, "malam"), "malem": (19, "malam"),
    "evening": (19, "pm"), "tonight": (19, "pm"),
}
_PART = re.compile(r"\b(" + "|".join(_PARTS_OF_DAY) + r")\b")
_GREETING = re.compile(r"\b(?:selamat|slmt|met|good)\s+(?:pagi|siang|sore|malam|malem|morning|afternoon|evening)\b"
                       r"|^\W*(?:pagi|siang|sore|malam|malem|morning)\b(?=\s*(?:[,!.]|$)|\W*(?:kak|ka|min|gan|sis|bang|"
                       r"mas|mbak|bro|all|semua|everyone)\b)")
_BARE_QUALIFIED = re.compile(r"(?<![\d.:/])(\d{1,2})(?:[.:](\d{2}))?\s*(pagi|siang|sore|malam|malem)\b")
_BARE_HOUR = re.compile(
    r"^\W*(?:(?:jam|jm|pukul|pkl|at|around|sekitar)\s*)?(\d{1,2})(?:[.:](\d{2}))?\s*(?:an)?\s*(?:wib)?"
    r"(?:\s+(?:aja|saja|ya|kak|min|dong|deh|please|pls))*\W*$"
)
_HALF_PAST = re.compile(r"\b(?:(?:jam|jm|pukul|pkl)\s*)?setengah\s*(\d{1,2})\b(?:\s*(pagi|siang|sore|malam|malem))?")
_TODAY_WORDS = re.compile(r"\b(?:hari ini|hr ini|today|nanti|ntar|entar|tonight|ini)\b")


@dataclass(frozen=True)
class When:
    at: datetime | None = None                  # a day and a time
    day: date | None = None                     # a day said without a time ("besok")
    spans: tuple[tuple[int, int], ...] = ()     # where in the text it was said


_AMOUNTS = {"setengah": 0.5, "half a": 0.5, "half an": 0.5, "a": 1, "an": 1, "one": 1, "se": 1, "satu": 1,
            "dua": 2, "two": 2, "tiga": 3, "three": 3, "empat": 4, "four": 4, "lima": 5, "five": 5}
_AMOUNT = r"(\d{1,3}|" + "|".join(sorted(_AMOUNTS, key=len, reverse=True)) + ")"
_UNIT = r"(menit|mnt|mins?|minutes?|jam|hours?|hrs?)"
_IN_A_WHILE = re.compile(  # "in 30 minutes", "30 menit lagi", "sejam lagi", "an hour from now"
    rf"\b(?:(?:in|dalam|within)\s+(?:about\s+|around\s+|sekitar\s+)?{_AMOUNT}\s*{_UNIT}\b(?:\s+(?:lagi|from now))?"
    rf"|{_AMOUNT}\s*{_UNIT}(?:an)?\s+(?:lagi|from now|dari sekarang)\b)"
)
# after a meal or work: a moment customers mean but no hour we can read, so no time (the conversation asks)
_VAGUE_AFTER = re.compile(r"\b(?:after|abis|habis|setelah|sesudah|pulang)\s+(?:lunch|dinner|work|makan(?:\s+(?:siang|"
                          r"malam|malem))?|kerja|kantor|maghrib|magrib|isya|sholat\s+\w+|jumatan)\b")


def _in_a_while(t: str, now: datetime) -> When | None:
    """A moment said as a delay from now ("30 menit lagi", "in an hour"), to the minute."""
    m = _IN_A_WHILE.search(t)
    if m is None:
        return None
    amount, unit = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    minutes = (int(amount) if amount.isdigit() else _AMOUNTS[amount]) * (60 if unit[0] in "jh" else 1)
    if not 0 < minutes <= 24 * 60:
        return None
    at = (now + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    return When(at=at, spans=(m.span(),))


def _day_in(t: str, today: date) -> tuple[date | None, list[tuple[int, int]]]:
    """The first day named in lowercase text t (past days are not orders' days)."""
    found: list[tuple[int, int, date]] = []
    for m in _ISO.finditer(t):
        d = _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if d:
            found.append((m.start(), m.end(), d))
    for m in _DMONTH.finditer(t):
        d = _safe_date(int(m.group(3)), _MONTHS[m.group(2)], int(m.group(1))) if m.group(3) else \
            _next_yearly(today, _MONTHS[m.group(2)], int(m.group(1)))
        if d:
            found.append((m.start(), m.end(), d))
    for m in _DMY.finditer(t):
        dd, mm = int(m.group(1)), int(m.group(2))
        if 1 <= dd <= 31 and 1 <= mm <= 12 and not m.group(3):
            d = _next_yearly(today, mm, dd)
            if d:
                found.append((m.start(), m.end(), d))
    for m in _TGL.finditer(t):
        d = _safe_date(today.year, today.month, int(m.group(1)))
        if d is None or d < today:
            d = _safe_date(today.year + (today.month == 12), today.month % 12 + 1, int(m.group(1)))
        if d:
            found.append((m.start(), m.end(), d))
    for rx, offset in _REL:
        if offset >= 0:
            for m in rx.finditer(t):
                found.append((m.start(), m.end(), today + timedelta(days=offset)))
    for m in _WD.finditer(t):
        weekday = _WEEKDAYS.get((m.group(1) or m.group(2) or m.group(4)).replace("'", ""))
        if weekday is not None:
            delta = (weekday - today.weekday()) % 7
            if (m.group(3) or m.group(4)) and delta == 0:
                delta = 7
            found.append((m.start(), m.end(), today + timedelta(days=delta)))
    if not found:
        return None, []
    found.sort()
    return found[0][2], [(s, e) for s, e, _ in found]


def _next_yearly(today: date, month: int, day: int) -> date | None:
    """The next such day of the year from today on."""
    d = _safe_date(today.year, month, day)
    return d if d is None or d >= today else _safe_date(today.year + 1, month, day)


def _hours(h: int, mnt: int, qual: str | None) -> list[int]:
    """The hours of the day a customer can mean by h (with its qualifier, if any)."""
    if qual:
        clock = _hour(h, mnt, qual)
        return [int(clock[:2])] if clock else []
    if h > 23 or mnt > 59:
        return []
    if 1 <= h <= 6:
        return [h + 12]        # "jam 3" in shop chat means 15:00
    if 7 <= h <= 11:
        return [h, h + 12]     # the next one after now
    return [h]


def find_when(text: str, now: datetime, *, bare_hour: bool = False) -> When:
    """The moment a message names ("besok jam 8", "sabtu sore", "at 7pm"), the next one after `now`.

    `bare_hour` reads a lone number ("8", "8an") as an hour: for answers to "what time?".
    """
    t = text.lower()
    if (later := _in_a_while(t, now)) is not None:
        return later
    today = now.date()
    day, spans = _day_in(t, today) if _DATE_CUE.search(t) else (None, [])
    if (vague := _VAGUE_AFTER.search(t)) is not None:
        return When(day=day, spans=(*spans, vague.span()))
    hour = minute = None
    qual = None
    for rx in (_TIME_JAM, _BARE_QUALIFIED, _TIME_HHMM, _TIME_DOT, _TIME_AMPM):
        m = rx.search(t)
        if m is None:
            continue
        g = m.groups()
        hour, minute = int(g[0]), int(g[1] or 0)
        qual = {_TIME_JAM: g[-1], _BARE_QUALIFIED: g[2], _TIME_HHMM: g[2], _TIME_DOT: None, _TIME_AMPM: g[2]}[rx]
        if rx is _TIME_HHMM and not qual:
            qual = "24h"
        spans.append(m.span())
        break
    half = _HALF_PAST.search(t)  # "jam setengah 8" is 7:30
    if half and (hour is None or any(a < half.end() and half.start() < b for a, b in spans[-1:])):
        hour, minute, qual = int(half.group(1)) - 1, 30, half.group(2)
        spans = [s for s in spans if not (s[0] <= half.start() < s[1] or half.start() <= s[0] < half.end())]
        spans.append(half.span())
    if hour is None and bare_hour:
        m = _BARE_HOUR.match(t)
        if m:
            hour, minute = int(m.group(1)), int(m.group(2) or 0)
            spans.append(m.span())
    greeting = None if bare_hour else _GREETING.search(t)  # "selamat pagi min", "pagi kak": no time
    part = next((p for p in _PART.finditer(t) if not (greeting and greeting.start() <= p.start() < greeting.end())),
                None)
    if part and not any(a <= part.start() < b for a, b in spans):
        spans.append(part.span())
        if hour is not None and qual is None:
            qual = _PARTS_OF_DAY[part.group(1)][1]
    if hour is None and part is None:
        return When(day=day, spans=tuple(spans))
    if hour is None:
        hour, minute = _PARTS_OF_DAY[part.group(1)][0], 0
        candidates = [hour]
    elif qual == "24h":
        candidates = [hour] if hour <= 23 else []
    else:
        candidates = _hours(hour, minute, qual)
    if not candidates:
        return When(day=day, spans=tuple(spans))
    days = [day] if day else [today, today + timedelta(days=1)]
    if day is None and _TODAY_WORDS.search(t):
        days = [today]
    if day == today and _WD.search(t) and not _TODAY_WORDS.search(t):
        days.append(today + timedelta(days=7))  # "Monday 9am" said on Monday at 10: next Monday
    for d in days:
        for h in sorted(candidates):
            at = datetime.combine(d, time(h, minute), tzinfo=now.tzinfo)
            if at > now:
                return When(at=at, spans=tuple(spans))
    # a moment already past on the day named: as said (the conversation says it is past)
    return When(at=datetime.combine(days[0], time(min(candidates), minute), tzinfo=now.tzinfo), spans=tuple(spans))
