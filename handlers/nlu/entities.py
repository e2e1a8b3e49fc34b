"""Entity extraction: products + quantities (fuzzy, against a catalog), order numbers,
dates/times, phone numbers and addresses, from informal Indonesian / English chat.

Products are matched in ``products.py``, dates and times read in ``dates.py``; this module
holds the rest and puts them together."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .dates import extract_dates
from .products import CatalogMatcher, ProductMention, extract_products


@dataclass(frozen=True)
class Entities:
    products: tuple[ProductMention, ...] = ()
    order_numbers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()      # ISO date "2026-11-24", "HH:MM", or the raw phrase
    phones: tuple[str, ...] = ()     # +62... where Indonesian
    addresses: tuple[str, ...] = ()


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


# ============================================================================ addresses
_ADDR_TRIGGER = re.compile(
    r"(?i)(?:\b(?:alamat(?:nya)?|almt|address)(?:\s+(?:saya|aku|ku|gw|gue|lengkap|kirim|pengiriman|rumah|kantor|is|di))*"
    r"\s*(?:[:=-]|\bdi\b|\b(?:jadi\s+|ke\s+|to\s+)+)?\s*"
    r"|\b(?:antar|anter|antarin|anterin|kirim|kirimin|dikirim|diantar|dianter|krm|deliver(?:ed)?|send(?: it)?|ship(?: it)?)"
    r"(?:\s+(?:aja|saja|ya|yaa|kak|min|it|them|this))?\s+(?:ke|kesini|to)\b\s*)"
)
_ADDR_STREET = re.compile(
    r"(?i:\b(?:jl|jln)\b)\.?\s*(?=\w)|(?i:\b(?:gg\.?|gang)\s+(?=[^\W\d_]+\.?\s+(?:no\.?\s*)?\d))|"
    # a building or housing complex with a number in the next words: "kos melati no 2", "apartemen X tower 2"
    r"(?i:\b(?:kos|kost|kosan|apartemen|apartment|perum|perumahan|komplek|kompleks|cluster|ruko|gedung|wisma|"
    r"menara|rusun|asrama)\b)(?=[^\n,.!?\d]{1,40}\d)|\b[Jj]alan\s+(?=[A-Z])|(?i:\bjalan\s+(?=\w+\s+(?:no|nomor|gg|gang|blok|rt)\b))"
)
_ADDR_QUESTION = re.compile(r"(?i)\b(?:dimana|di mana|mana|where|berapa|brp|apa|gimana|kapan|bisa|ga|gak|nggak|tidak)\b|\?")
_ADDR_ABBR = frozenset("jl jln no gg rt rw kel kec kab blok kav lt perum komp apt st rd ave dr ds".split()) | frozenset(
    # titles in street names: "Jl. Ir. H. Juanda", "Jl. KH. Mas Mansyur", "Jl. Prof. Dr. Satrio", "Jl. Jend. Sudirman"
    "ir h hj kh drs prof jend jen letjen mayjen brigjen kol kapt laks marsekal mr dra st sh tb ki nyi pangeran".split())
_ADDR_CUT = frozenset("""
ya yaa yah kak kakak min admin dong deh sih nih tuh please pls plz thanks thank makasih trims gan sis
jam pukul besok lusa nanti sekarang hari tomorrow today tonight at before sebelum sama dan terus trus
tapi bayar pakai pake cod atas a/n an. biar soalnya karena krn mau 🙏 segera asap thx, tq and plus
""".split())
# A part after a comma that goes on with the address: a name, a postcode or RT/RW ("003/005"), or an
# address word; not "2 kopsus" (a number that starts the next thing said).
_ADDR_CONT = re.compile(r"^\s*(?:[A-Z]|\d{5}\b|\d{1,3}\s*/\s*\d{1,3}\b|(?i:no|rt|rw|kel|kec|kab|kota|blok|gg|gang|kav|lt|komp|perum|jl|jln|jalan|"
                        r"gedung|gd|tower|menara|wisma|apartemen|apt|unit|lantai|kamar|ruko|cluster|kos|kost|"
                        r"dekat|deket|depan|samping|sebelah|belakang|seberang|near|next to|opposite)\b)")


def _trim_address(s: str) -> str:
    # stop at a newline / sentence end ('.' not after an abbreviation) / ! ?
    s = s.split("\n", 1)[0]
    m = re.search(r"[!?]|(?<=\w)\.(?=\s|$)", s)
    while m:
        if m.group(0) == ".":
            prev = re.findall(r"(\w+)\.$", s[: m.end()])
            if prev and (prev[0].lower() in _ADDR_ABBR or (len(prev[0]) == 1 and prev[0].isalpha())):  # "M.H. Thamrin"
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
        if any(a <= m.start() < b for a, b in taken):  # "Tower 2" inside "Apartemen X Tower 2 unit 5"
            continue
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


_BUILDING = re.compile(
    r"(?i)\b(?:apartemen|apartment|apt|tower|gedung|wisma|menara|plaza|mall|mal|ruko|komplek|kompleks|komp|"
    r"perumahan|perum|cluster|residence|residen|kost|kos|asrama|hotel|rusun)\b")
_STREET = re.compile(r"(?i)\b(?:jl|jln|jalan|gg|gang|street|st|road|rd|avenue|blok|block|kav|no)\b")


_PLACE = re.compile(r"(?i)\b(?:rumah|kantor|office|home|kampus|sekolah|warung|pabrik|gudang|masjid|gereja|"
                    r"puskesmas|klinik|rs)\b")


def names_a_place(text: str) -> bool:
    """Whether the text names a building, a housing complex or a kind of place ("kos putri melati", "kantor")."""
    return _BUILDING.search(text) is not None or _PLACE.search(text) is not None


def address_usable(address: str | None) -> bool:
    """Whether a courier can find it: a street with a number, or a named building or housing complex."""
    if not address:
        return False
    named_place = _BUILDING.search(address)
    if re.search(r"\d", address) and (_STREET.search(address) or named_place):
        return True
    return bool(named_place and len(address.split()) >= 2)
