"""Dates and times in a message: ISO and d/m dates, month names, relative days, weekdays, clock times."""
from __future__ import annotations

import re
from datetime import date, timedelta


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
