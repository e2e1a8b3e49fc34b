"""Entity extraction: products + quantities (fuzzy, against a catalog), order numbers,
dates/times, phone numbers and addresses, from informal Indonesian / English chat."""
from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from rapidfuzz import fuzz, process

from core.lexicon import NUMBER_WORDS, UNIT_WORDS
from core.normalize import canon_word


@dataclass(frozen=True)
class ProductMention:
    name: str         # catalog name as given in the catalog
    quantity: int     # default 1
    score: float      # fuzzy match score 0..100


@dataclass(frozen=True)
class Entities:
    products: tuple[ProductMention, ...] = ()
    order_numbers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()      # ISO date "2026-11-24", "HH:MM", or the raw phrase
    phones: tuple[str, ...] = ()     # +62... where Indonesian
    addresses: tuple[str, ...] = ()


# ============================================================================ products
_ETOK = re.compile(r"\d+|[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_RUN3 = re.compile(r"(\w)\1{2,}")
# leading words customers often drop from a product name ("Es Kopi Susu" -> "kopi susu")
_DROPPABLE_PREFIX = {"es", "ice", "iced", "hot", "panas", "caffe", "cafe", "kopi"}
# tokens that never start or end a product mention
_EDGE_STOP = frozenset("""
mau pesan pesen order beli ambil kak min ya yaa dong deh sih nih tuh dan sama and with the a an
of for to ke di yang yg aja saja juga lagi satu dua tiga please pls tolong buat untuk sama plus
terus trus kirim antar anter aku saya gw i want get can like tambah add jadi nya
""".split())
_FUZZY_CUTOFF = 82.0


def _etokens(text: str) -> list[str]:
    """Lowercase tokens for matching (letters / digits split, letter runs collapsed)."""
    return _ETOK.findall(_RUN3.sub(r"\1\1", text.lower()))


class CatalogMatcher:
    """Precomputed fuzzy matcher for one catalog (list of names or name -> aliases)."""

    def __init__(self, catalog: Sequence[str] | Mapping[str, Sequence[str]]):
        items: list[tuple[str, list[str]]] = []
        if isinstance(catalog, Mapping):
            items = [(str(k), [str(a) for a in (v or ())]) for k, v in catalog.items()]
        else:
            items = [(str(k), []) for k in catalog]
        surf: dict[str, str] = {}
        explicit: set[str] = set()
        for name, aliases in items:
            for s in [name, *aliases]:
                key = " ".join(_etokens(s))
                if key and key not in surf:
                    surf[key] = name
                    explicit.add(key)
        # automatic short forms: drop a leading "es"/"iced"/"hot"... if unambiguous
        auto: dict[str, set[str]] = {}
        for key, name in list(surf.items()):
            toks = key.split()
            if len(toks) >= 2 and toks[0] in _DROPPABLE_PREFIX:
                auto.setdefault(" ".join(toks[1:]), set()).add(name)
        for key, names in auto.items():
            if key not in surf and len(names) == 1 and len(key) >= 4:
                surf[key] = next(iter(names))
        self.surfaces = list(surf)
        self.names = [surf[s] for s in self.surfaces]
        self.max_len = max((len(s.split()) for s in self.surfaces), default=0)
        self.vocab = sorted({t for s in self.surfaces for t in s.split()})
        self.vocab_set = frozenset(self.vocab)
        self.exact = surf
        self._tok_cache: dict[str, bool] = {}

    def _catalog_like(self, tok: str) -> bool:
        hit = self._tok_cache.get(tok)
        if hit is None:
            if tok in self.vocab_set:
                hit = True
            elif len(tok) < 3 or tok.isdigit():
                hit = False
            else:
                hit = process.extractOne(tok, self.vocab, scorer=fuzz.ratio, score_cutoff=75) is not None
            if len(self._tok_cache) > 20000:
                self._tok_cache.clear()
            self._tok_cache[tok] = hit
        return hit

    def find(self, toks: list[str]) -> list[tuple[int, int, str, float]]:
        """-> non-overlapping (start, end, name, score) spans, in text order."""
        if not self.surfaces or not toks:
            return []
        like = [self._catalog_like(t) and t not in _EDGE_STOP for t in toks]
        cands: list[tuple[float, int, int, int, str]] = []
        n = len(toks)
        L = self.max_len + 1
        for i in range(n):
            if not like[i]:
                continue
            for j in range(i + 1, min(n, i + L) + 1):
                if not like[j - 1]:
                    continue
                win = " ".join(toks[i:j])
                name = self.exact.get(win)
                if name is not None:
                    cands.append((100.0, j - i, i, j, name))
                    continue
                r = process.extractOne(win, self.surfaces, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF)
                if r is not None:
                    cands.append((float(r[1]), j - i, i, j, self.names[r[2]]))
        cands.sort(key=lambda c: (-c[0], -c[1], c[2]))
        used = [False] * n
        out = []
        for score, _, i, j, name in cands:
            if any(used[i:j]):
                continue
            for k in range(i, j):
                used[k] = True
            out.append((i, j, name, round(score, 1)))
        out.sort()
        return out


_matchers: dict[object, CatalogMatcher] = {}
_mlock = threading.Lock()


def catalog_matcher(catalog) -> CatalogMatcher | None:
    """Cached CatalogMatcher for a catalog (keyed by its content)."""
    if catalog is None:
        return None
    if isinstance(catalog, CatalogMatcher):
        return catalog
    if isinstance(catalog, Mapping):
        key = tuple((k, tuple(v or ())) for k, v in catalog.items())
    elif isinstance(catalog, str):
        key = (catalog,)
        catalog = [catalog]
    else:
        key = tuple(catalog)
    if not key:
        return None
    m = _matchers.get(key)
    if m is None:
        m = CatalogMatcher(catalog)
        with _mlock:
            if len(_matchers) > 64:
                _matchers.clear()
            _matchers[key] = m
    return m


_QTY_BLOCK_BEFORE = frozenset("jam pukul no nomor nmr tgl tanggal size uk ukuran ukr rp idr # diameter lantai lt".split())
_QTY_BLOCK_AFTER = frozenset("rb ribu k jt juta ml mah w watt gb tb meter cm mm persen % hari jam menit".split())


def _numbers(toks: list[str]) -> dict[int, tuple[int, int]]:
    """token index -> (quantity, end index exclusive) for quantity-like tokens."""
    out: dict[int, tuple[int, int]] = {}
    n = len(toks)
    i = 0
    while i < n:
        t = toks[i]
        prev = toks[i - 1] if i else ""
        nxt = toks[i + 1] if i + 1 < n else ""
        val = None
        end = i + 1
        if t.isdigit():
            if len(t) <= 3 and 0 < int(t) <= 500 and prev not in _QTY_BLOCK_BEFORE and nxt not in _QTY_BLOCK_AFTER:
                val = int(t)
        else:
            ct = t if t in NUMBER_WORDS else canon_word(t)
            if ct in NUMBER_WORDS and ct not in ("a", "an", "se"):
                val = NUMBER_WORDS[ct]
                if nxt in ("belas", "puluh") and val < 10:
                    val = val + 10 if nxt == "belas" else val * 10
                    end += 1
            elif t in ("a", "an", "se") and nxt:
                val = 1
        if val is not None:
            out[i] = (val, end)
        i = end
    return out


def _assign_quantities(toks, spans) -> list[int]:
    nums = _numbers(toks)

    def before(k):
        i = spans[k][0] - 1
        if i >= 0 and toks[i] in UNIT_WORDS and i not in nums:
            i -= 1
        if i >= 0 and toks[i] == "x" and i not in nums:  # "2 x kopi"
            i -= 1
        # number index whose span ends right at i+1
        for s, (_, e) in nums.items():
            if e == i + 1 and s <= i:
                return s
        return None

    def after(k):
        i = spans[k][1]
        if i < len(toks) and toks[i] in ("x", "sebanyak", "qty", "jumlah", "jumlahnya"):
            i += 1
        return i if i in nums else None

    best = None
    for order in ((before, after), (after, before)):
        q = [0] * len(spans)
        taken: set[int] = set()
        for fn in order:
            for k in range(len(spans)):
                if q[k]:
                    continue
                s = fn(k)
                if s is not None and s not in taken:
                    taken.add(s)
                    q[k] = nums[s][0]
        got = sum(1 for x in q if x)
        if best is None or got > best[0]:
            best = (got, q)
    return [x or 1 for x in best[1]]


def extract_products(text: str, matcher: CatalogMatcher | None) -> tuple[ProductMention, ...]:
    if matcher is None or not text:
        return ()
    toks = _etokens(text)
    spans = matcher.find(toks)
    if not spans:
        return ()
    qty = _assign_quantities(toks, spans)
    merged: dict[str, list] = {}
    for (i, j, name, score), q in zip(spans, qty):
        if name in merged:
            merged[name][0] += q
            merged[name][1] = max(merged[name][1], score)
        else:
            merged[name] = [q, score]
    return tuple(ProductMention(name, int(q), float(s)) for name, (q, s) in merged.items())


# ============================================================================ order numbers
_ORD_CODE = re.compile(r"(?<![\w#])([A-Za-z]{2,6})(-?)(\d{4,})(?!\w)")
_ORD_HASH = re.compile(r"#\s?(\d{3,})(?!\d)")
_ORD_KEY = re.compile(
    r"(?i)\b(?:pesanan|pesenan|psnan|orderan|order|ordr|no|nomor|nmr|nomer|number|invoice|inv|resi|"
    r"id|kode|booking|transaksi|trx)\b[\s.:#-]{0,3}(?:(?:pesanan|order|saya|aku|ku|nya|ya|kak|yg|yang|"
    r"is|was|number|no|nomor|jne|jnt|j&t|sicepat|anteraja|pos|tiki|ninja|lion|wahana|spx|gosend|grab)\b[\s.:#-]{0,3}){0,3}"
    r"(\d{5,})(?!\d)"
)
_CODE_PREFIX_NOHYPHEN = {"ord", "order", "inv", "trx", "tx", "po", "so", "sp", "id", "invoice"}
_CODE_PREFIX_BAD = {"rp", "idr", "usd", "jam", "hp", "wa", "no", "tel", "telp", "mah"}


def _looks_phone(d: str) -> bool:
    return (d.startswith("08") and 10 <= len(d) <= 13) or (d.startswith("628") and 11 <= len(d) <= 14)


def extract_order_numbers(text: str) -> tuple[str, ...]:
    out: list[tuple[int, str]] = []
    for m in _ORD_CODE.finditer(text):
        pre = m.group(1).lower()
        if pre in _CODE_PREFIX_BAD:
            continue
        if not m.group(2) and pre not in _CODE_PREFIX_NOHYPHEN:
            continue
        out.append((m.start(), f"{m.group(1).upper()}-{m.group(3)}"))
    for m in _ORD_HASH.finditer(text):
        out.append((m.start(), m.group(1)))
    for m in _ORD_KEY.finditer(text):
        d = m.group(1)
        if not _looks_phone(d):
            out.append((m.start(1), d))
    seen: set[str] = set()
    res = []
    for _, v in sorted(out):
        if v not in seen and not any(v != s and v in s for s in seen):
            seen.add(v)
            res.append(v)
    return tuple(res)


# ============================================================================ phones
_PHONE = re.compile(r"(?<![\w+])(\+\d{1,3}|62|0)[\s.-]?\(?(\d{2,4})\)?(?:[\s.-]?\d{2,5}){1,4}(?!\d)")


def extract_phones(text: str) -> tuple[str, ...]:
    res: list[str] = []
    for m in _PHONE.finditer(text):
        raw = m.group(0)
        d = re.sub(r"\D", "", raw)
        if raw.startswith("+"):
            if d.startswith("62"):
                nsn = d[2:].lstrip("0")
                if 8 <= len(nsn) <= 12:
                    res.append("+62" + nsn)
            elif 8 <= len(d) <= 15:
                res.append("+" + d)
            continue
        if d.startswith("62"):
            nsn = d[2:]
            if nsn.startswith("8") and 9 <= len(nsn) <= 12:
                res.append("+62" + nsn)
            continue
        if d.startswith("0") and len(d) >= 2:
            nsn = d[1:]
            if nsn.startswith("8") and 9 <= len(nsn) <= 12:
                res.append("+62" + nsn)
            elif nsn[0] in "234567" and 8 <= len(nsn) <= 11 and re.search(r"[\s.()-]", raw):
                res.append("+62" + nsn)  # landline written with separators, e.g. 021-5551234
    return tuple(dict.fromkeys(res))


# ============================================================================ dates / times
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


# ============================================================================ addresses
_ADDR_TRIGGER = re.compile(
    r"(?i)(?:\b(?:alamat(?:nya)?|almt|address)(?:\s+(?:saya|aku|ku|gw|gue|lengkap|kirim|pengiriman|rumah|kantor|is|di))*"
    r"\s*(?:[:=-]|\bdi\b)?\s*"
    r"|\b(?:antar|anter|antarin|anterin|kirim|kirimin|dikirim|diantar|dianter|krm|deliver(?:ed)?|send(?: it)?|ship(?: it)?)"
    r"(?:\s+(?:aja|saja|ya|yaa|kak|min|it|them|this))?\s+(?:ke|kesini|to)\b\s*)"
)
_ADDR_STREET = re.compile(
    r"(?i:\b(?:jl|jln)\b)\.?\s*(?=\w)|\b[Jj]alan\s+(?=[A-Z])|(?i:\bjalan\s+(?=\w+\s+(?:no|nomor|gg|gang|blok|rt)\b))"
)
_ADDR_QUESTION = re.compile(r"(?i)\b(?:dimana|di mana|mana|where|berapa|brp|apa|gimana|kapan|bisa|ga|gak|nggak|tidak)\b|\?")
_ADDR_ABBR = frozenset("jl jln no gg rt rw kel kec kab blok kav lt perum komp apt st rd ave dr ds".split())
_ADDR_CUT = frozenset("""
ya yaa yah kak kakak min admin dong deh sih nih tuh please pls plz thanks thank makasih trims gan sis
jam pukul besok lusa nanti sekarang hari tomorrow today tonight at before sebelum sama dan terus trus
tapi bayar pakai pake cod atas a/n an. biar soalnya karena krn mau 🙏 segera asap thx, tq
""".split())
_ADDR_CONT = re.compile(r"^\s*(?:[A-Z0-9]|(?:no|rt|rw|kel|kec|kab|kota|blok|gg|gang|kav|lt|komp|perum|jl|jln|jalan)\b)")


def _trim_address(s: str) -> str:
    # stop at a newline / sentence end ('.' not after an abbreviation) / ! ?
    s = s.split("\n", 1)[0]
    m = re.search(r"[!?]|(?<=\w)\.(?=\s|$)", s)
    while m:
        if m.group(0) == ".":
            prev = re.findall(r"(\w+)\.$", s[: m.end()])
            if prev and prev[0].lower() in _ADDR_ABBR:
                m = re.compile(r"[!?]|(?<=\w)\.(?=\s|$)").search(s, m.end())
                continue
        s = s[: m.start()]
        break
    parts = s.split(",")
    keep = [parts[0]]
    for p in parts[1:]:
        if _ADDR_CONT.match(p):
            keep.append(p)
        else:
            break
    s = ",".join(keep)
    words = s.split()
    out: list[str] = []
    for i, w in enumerate(words):
        lw = w.lower().strip(",;:")
        if out and lw in _ADDR_CUT:
            break
        if not out and lw in _ADDR_CUT - {"sama"}:
            if lw in ("ya", "yaa", "kak", "min", "dong", "deh"):
                continue
            break
        out.append(w)
    res = " ".join(out).strip(" ,;:-")
    return res[:200]


def extract_addresses(text: str) -> tuple[str, ...]:
    res: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for m in _ADDR_STREET.finditer(text):
        a = _trim_address(text[m.start():])
        if len(a) > len(m.group(0).strip()) + 1:
            res.append((m.start(), a))
            taken.append((m.start(), m.start() + len(a)))
    for m in _ADDR_TRIGGER.finditer(text):
        start = m.end()
        if any(a <= start < b or a <= m.start() < b for a, b in taken):
            continue
        a = _trim_address(text[start:])
        rest = re.match(r"[^.!?\n]*([.!?\n]|$)", text[start + len(a):])
        question = rest is not None and rest.group(1) == "?" and not re.search(r"\d", a)
        if len(a) >= 3 and not _ADDR_QUESTION.search(a) and not question:
            taken.append((start, start + len(a)))
            # a street address right after the trigger is already captured
            if any(start <= p < start + len(a) for p, _ in res):
                res = [(p, r) for p, r in res if not (start <= p < start + len(a))]
            res.append((start, a))
    res.sort()
    return tuple(dict.fromkeys(r for _, r in res))


def extract_entities(text: str, matcher: CatalogMatcher | None = None, today: date | None = None) -> Entities:
    if not text:
        return Entities()
    return Entities(
        products=extract_products(text, matcher),
        order_numbers=extract_order_numbers(text),
        dates=extract_dates(text, today),
        phones=extract_phones(text),
        addresses=extract_addresses(text),
    )
