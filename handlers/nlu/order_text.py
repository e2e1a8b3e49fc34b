"""Reading an order out of free text: items with quantities and notes, changes to the cart, fulfilment,
store, time, address, phone, payment, yes / no, against one shop's terms and the question just asked.

Pure and fast (no model, no I/O): the conversation calls `read_order_text` on every message.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from core.lexicon import NUMBER_WORDS, UNIT_WORDS

from .dates import find_when
from .entities import _trim_address, extract_addresses
from .order_terms import (
    DROPPABLE, PaymentTerm, ProductIndex, ProductTerm, ShopTerms, StoreTerm, payment_index, product_index, shop_terms, store_index, words,
)
from .order_words import (
    ADD_MORE, AMBIL, AMBIL_PICKUP_NEXT, ASAP, CANCEL_ALL, CANCEL_BARE, DECREASE, DELIVERY, DONE, FUNCTION_WORDS,
    NEGATION, NO, NOTE_AFTER, NOTE_ALONE, NOTE_BEFORE, NOTE_OBJECTS, ORDER_NOTE_HANDOVER, ORDER_NOTE_OBJECTS,
    ORDER_VERBS, PICKUP, REMOVE_AFTER, REMOVE_BEFORE, SEPARATORS, SET_TO, YES, canon,
)
from .phones import find_phones, read_phone

__all__ = ["ItemChange", "OrderText", "PaymentTerm", "ProductTerm", "ShopTerms", "StoreTerm", "read_order_text",
           "shop_terms", "address_usable"]

MAX_CHARS = 2000


@dataclass(frozen=True)
class ItemChange:
    """One change to the cart the customer asked for.

    op "add" (quantity None: not said, i.e. one), "remove" (quantity None: the whole line) or
    "set" (quantity None: keep the quantity, change the note).
    """
    op: str
    product_id: int | None                 # None when ambiguous (see candidates) or unknown
    candidates: tuple[int, ...] = ()       # ambiguous: "kopi 2" -> the coffee products
    quantity: int | None = None
    note: str | None = None                # "less sugar", "gak pake es", "oat milk", "panas"
    words: str = ""                        # the customer's words for it


@dataclass(frozen=True)
class OrderText:
    """Everything an order message says; empty fields were not said."""
    items: tuple[ItemChange, ...] = ()
    unknown: tuple[str, ...] = ()          # product-like phrases that match nothing ("burger vegan")
    fulfilment: str | None = None          # "delivery" | "pickup"
    store_id: int | None = None
    address: str | None = None
    address_usable: bool = False           # street and number / building / complex; "kantor" alone is not
    phone: str | None = None               # E.164
    payment: str | None = None             # a PaymentTerm.code
    when: datetime | None = None           # aware, in now's time zone
    day: date | None = None                # a day said without a time ("besok")
    asap: bool = False
    note: str | None = None                # on the whole order ("jangan pake sedotan")
    yes: bool = False
    no: bool = False
    cancel_all: bool = False
    done_adding: bool = False


_TOKEN = re.compile(r"\d+|[^\W\d_]+(?:'[^\W\d_]+)?|[,.;!?+&/\n]")
_RUN3 = re.compile(r"(\w)\1{2,}")
_FILLER = frozenset(w for p in ("kak", "admin", "min", "ya", "yaa", "dong", "deh", "sih", "nih", "aja", "please",
                                "pls", "dulu", "sorry", "maaf", "makasih", "thanks", "thank", "you", "terima", "kasih")
                  for w in canon(p))
_STORE_CUES = frozenset(w for p in ("cabang", "outlet", "toko", "store", "branch", "di", "yang", "yg") for w in canon(p))
_NOTE_EDGES = frozenset("yang yg aja saja ya dong deh".split())
_QUANTITY_SKIP = UNIT_WORDS | {"of", "nya"}
_NOT_QUANTITY_BEFORE = frozenset("jam pukul no nomor nmr tgl tanggal lantai lt rp idr blok kav rt rw".split())
_NOT_QUANTITY_AFTER = frozenset("rb ribu k jt juta ml menit hari jam persen orang".split())
_BUILDING = re.compile(
    r"(?i)\b(?:apartemen|apartment|apt|tower|gedung|wisma|menara|plaza|mall|mal|ruko|komplek|kompleks|komp|"
    r"perumahan|perum|cluster|residence|residen|kost|kos|asrama|hotel|rusun)\b")
_STREET = re.compile(r"(?i)\b(?:jl|jln|jalan|gg|gang|street|st|road|rd|avenue|blok|block|kav|no)\b")


class _Message:
    """The message as tokens, and which of them are still free to be read."""

    def __init__(self, text: str):
        self.text = text
        self.raw: list[str] = []
        self.spans: list[tuple[int, int]] = []
        for m in _TOKEN.finditer(text.lower()):
            self.raw.append(_RUN3.sub(r"\1\1", m.group(0)))
            self.spans.append(m.span())
        self.canon = [canon(w) for w in self.raw]
        self.free = [True] * len(self.raw)
        self.prefix_notes: list[tuple[int, int]] = []   # "iced" before a product named without it

    def __len__(self) -> int:
        return len(self.raw)

    def take(self, i: int, j: int) -> None:
        for k in range(i, j):
            self.free[k] = False

    def take_chars(self, start: int, end: int) -> None:
        for k, (a, b) in enumerate(self.spans):
            if a < end and b > start:
                self.free[k] = False

    def words(self, i: int, j: int) -> str:
        return self.text[self.spans[i][0]:self.spans[j - 1][1]]

    def note(self, i: int, j: int) -> str:
        """The words of a note without the fillers around it ("yang dingin aja" -> "dingin")."""
        while i < j - 1 and self.raw[i] in _NOTE_EDGES:
            i += 1
        while j > i + 1 and self.raw[j - 1] in _NOTE_EDGES:
            j -= 1
        return self.words(i, j)

    def phrase_at(self, i: int, table: frozenset, *, free: bool = True, longest: int = 5) -> int | None:
        """The end of the longest phrase of the table starting at token i (None if none)."""
        seq: list[str] = []
        best = None
        for j in range(i, min(len(self), i + longest)):
            if free and not self.free[j]:
                break
            seq.extend(self.canon[j])
            if tuple(seq) in table:
                best = j + 1
        return best

    def phrase_ending(self, j: int, table: frozenset, longest: int = 4) -> int | None:
        """The start of the longest free phrase of the table ending just before token j."""
        best = None
        for i in range(j - 1, max(-1, j - 1 - longest), -1):
            if not self.free[i]:
                break
            if tuple(w for k in range(i, j) for w in self.canon[k]) in table:
                best = i
        return best

    def find(self, table: frozenset, *, take: bool = True) -> list[tuple[int, int]]:
        """Free phrases of the table, left to right, longest first."""
        found, i = [], 0
        while i < len(self):
            end = self.phrase_at(i, table) if self.free[i] else None
            if end:
                found.append((i, end))
                if take:
                    self.take(i, end)
                i = end
            else:
                i += 1
        return found

    def is_separator(self, k: int) -> bool:
        return self.raw[k] in SEPARATORS or any(w in SEPARATORS for w in self.canon[k])

    def content(self) -> list[int]:
        """Free tokens that carry meaning (not fillers, not punctuation)."""
        return [k for k in range(len(self)) if self.free[k] and not self.is_separator(k)
                and not all(w in _FILLER for w in self.canon[k])]


def address_usable(address: str | None) -> bool:
    """Whether a courier can find it: a street with a number, or a named building or housing complex."""
    if not address:
        return False
    has_number = bool(re.search(r"\d", address))
    return bool((_STREET.search(address) or _BUILDING.search(address)) and has_number) or \
        bool(_BUILDING.search(address) and len(address.split()) >= 2)


_PHONE_LEAD = re.compile(r"(?i)[\s,;:.(-]*(?:\b(?:no|nomor|nomer|nmr|hp|wa|telp|telepon|phone|number|tel|hub)\b[\s.:]*)*$")


def _before_phone(text: str, address: str, phones: list[tuple[int, int, str]]) -> str:
    """The address without a phone number written after it ("Jl. X 5, no hp 0812...")."""
    start = text.find(address)
    for phone_start, _, _ in phones:
        if start <= phone_start < start + len(address):
            return _PHONE_LEAD.sub("", text[start:phone_start]).strip()
    return address


def _numbers(msg: _Message) -> dict[int, tuple[int, int]]:
    """Quantities said: start token -> (end token, value); "setengah lusin" = 6, "2 lusin" = 24."""
    found: dict[int, tuple[int, int]] = {}
    i, n = 0, len(msg)
    while i < n:
        t, prev = msg.raw[i], (msg.raw[i - 1] if i else "")
        nxt = msg.raw[i + 1] if i + 1 < n else ""
        value, end = None, i + 1
        if not msg.free[i]:
            pass
        elif t.isdigit():
            if len(t) <= 3 and 0 < int(t) <= 500 and prev not in _NOT_QUANTITY_BEFORE and nxt not in _NOT_QUANTITY_AFTER:
                value = int(t)
        elif t in ("setengah", "half") and (nxt in ("lusin", "dozen") or msg.raw[i + 1:i + 3] == ["a", "dozen"]):
            value, end = 6, i + (3 if nxt == "a" else 2)
        elif t in ("a", "an", "se") and nxt in ("dozen", "lusin"):
            value, end = 12, i + 2
        elif t in NUMBER_WORDS and t not in ("a", "an", "se", "couple", "sepasang"):
            value = NUMBER_WORDS[t]
            if nxt in ("belas", "puluh") and value < 10:
                value, end = (value + 10 if nxt == "belas" else value * 10), end + 1
        if value is not None:
            if end < n and msg.raw[end] in ("lusin", "dozen") and value < 100 and t not in ("selusin", "lusin"):
                value, end = value * 12, end + 1
            found[i] = (end, value)
        i = end
    return found


def _ones(msg: _Message, spans: list[tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """"a croissant", "an iced latte", "se-cup kopi": one, right before a product."""
    out = {}
    for i, _ in spans:
        k = i - 1
        while k >= 0 and msg.raw[k] in _QUANTITY_SKIP and msg.raw[k] not in ("a", "an"):
            k -= 1
        if k >= 0 and msg.free[k] and msg.raw[k] in ("a", "an", "se", "one"):
            out[k] = (k + 1, 1)
    return out


def _quantities(msg: _Message, spans: list[tuple[int, int]], numbers: dict[int, tuple[int, int]]) -> list[int | None]:
    """The quantity said for each product span: before it ("2 kopi", "2x kopi") or after ("kopi 2", "kopi x2")."""
    ends = {end: start for start, (end, _) in numbers.items()}

    def before(i: int) -> int | None:
        k = i
        while k not in ends and k > 0 and msg.raw[k - 1] in _QUANTITY_SKIP and k - 1 not in numbers:
            k -= 1
        return ends.get(k)

    def after(j: int) -> int | None:
        k = j
        while k < len(msg) and msg.raw[k] in ("x", "nya", "sebanyak", "qty", "jumlah") and k not in numbers:
            k += 1
        return k if k in numbers else None

    best: tuple[int, list] = (-1, [])
    for order in ((before, after), (after, before)):
        got: list[int | None] = [None] * len(spans)
        used: set[int] = set()
        for look in order:
            for n, (i, j) in enumerate(spans):
                if got[n] is None:
                    start = look(i) if look is before else look(j)
                    if start is not None and start not in used:
                        used.add(start)
                        got[n] = numbers[start][1]
        count = sum(q is not None for q in got)
        if count > best[0]:
            best = (count, got)
    return best[1]


def _product_spans(msg: _Message, index: ProductIndex) -> list[tuple[int, int, frozenset[int]]]:
    """Whole product names, English names and aliases, in any word order, typos allowed."""
    forms = [index.form(w) if msg.free[k] and w.isalpha() else None for k, w in enumerate(msg.raw)]
    found: list[tuple[int, int, int, frozenset[int]]] = []
    for i in range(len(msg)):
        if forms[i] is None:
            continue
        for j in range(i + 1, min(len(msg), i + index.max_len + 2) + 1):
            if forms[j - 1] is None:
                if msg.free[j - 1] and msg.raw[j - 1] in ("with", "dengan", "pake", "and", "n"):
                    continue
                break
            key = tuple(f[0] for f in forms[i:j] if f)
            typos = sum(f[1] for f in forms[i:j] if f)
            ids = index.exact.get(key) if len(key) == j - i else None
            score = 3
            if ids is None:
                ids, score = index.bags.get(tuple(sorted(key))), 2
            if ids is None and j - i == 1:
                ids = index.joined.get(key[0])
            if ids:
                found.append((j - i, score - typos, i, j, frozenset(ids)))  # type: ignore[arg-type]
    found.sort(key=lambda c: (-c[0], -c[1], c[2]))
    spans = []
    for _, _, i, j, ids in found:
        if all(msg.free[i:j]):
            msg.take(i, j)
            spans.append((i, j, ids))
    return spans


def _head_spans(msg: _Message, index: ProductIndex) -> list[tuple[int, int, frozenset[int]]]:
    """Single words that point at products ("kopi", "croissants", "teh"): one product, or candidates."""
    spans = []
    k = 0
    while k < len(msg):
        form = index.form(msg.raw[k]) if msg.free[k] and msg.raw[k].isalpha() else None
        ids = index.heads.get(form[0]) if form and (not form[1] or len(msg.raw[k]) >= 5) else None
        if not ids:
            k += 1
            continue
        j, ids = k + 1, set(ids)
        while j < len(msg) and msg.free[j] and (nf := index.form(msg.raw[j])) and ids & index.heads.get(nf[0], set()):
            ids &= index.heads[nf[0]]
            j += 1
        msg.take(k, j)
        spans.append((k, j, frozenset(ids)))
        k = j
    return spans


def _with_prefixes(msg: _Message, index: ProductIndex, spans):
    """Spans grown over a word like "iced" or "hot" just before them; a note when no name of the product has it."""
    grown = []
    for i, j, ids in spans:
        if i > 0 and msg.free[i - 1] and msg.raw[i - 1] in DROPPABLE:
            i -= 1
            msg.take(i, i + 1)
            named = all(any(msg.raw[i] in words(s) for s in index.surfaces(p)) for p in ids)
            if not named:
                msg.prefix_notes.append((i, i + 1))
        grown.append((i, j, ids))
    return grown


def _notes(msg: _Message, objects: frozenset, alone: frozenset) -> list[tuple[int, int]]:
    """Modifier phrases: [before words] object [after words] ("gak pake es", "gulanya dikit"), or a word alone."""
    found = []
    k = 0
    while k < len(msg):
        if not msg.free[k]:
            k += 1
            continue
        start, end = k, None
        while (step := msg.phrase_at(start, NOTE_BEFORE)) and step < len(msg) and start < step:
            if msg.phrase_at(step, objects) or msg.phrase_at(step, NOTE_BEFORE) or msg.phrase_at(step, alone):
                start = step
            else:
                break
        obj = msg.phrase_at(start, alone) or msg.phrase_at(start, objects)
        if obj is None:
            k += 1
            continue
        end = obj
        while end < len(msg) and (more := msg.phrase_at(end, objects)):
            end = more
        after = msg.phrase_at(end, NOTE_AFTER) if end < len(msg) else None
        plain = start == k and after is None and msg.phrase_at(k, alone) is None
        if plain and not (objects is ORDER_NOTE_OBJECTS and k > 0 and msg.raw[k - 1] in ("no", "tanpa")):
            k += 1
            continue
        end = after or end
        msg.take(k, end)
        found.append((k, end))
        k = end
    return found


def _clause_of(msg: _Message, k: int) -> int:
    return sum(1 for i in range(k) if msg.is_separator(i))


def read_order_text(text: str, terms: ShopTerms, *, now: datetime, expecting: str | None = None,
                    cart: tuple[int, ...] = (), last_product: int | None = None) -> OrderText:
    """What an order message says, read against the shop's terms; `expecting` is the slot just asked for."""
    msg = _Message((text or "")[:MAX_CHARS])
    if not msg.raw:
        return OrderText()
    target = last_product if last_product is not None else (cart[-1] if cart else None)
    said_alone = len(msg.content())  # "udah" alone is done; "udah transfer" is not
    out: dict = {}

    # contact details first: their digits are not quantities
    phones = find_phones(msg.text)
    if phones:
        out["phone"] = phones[0][2]
        for start, end, _ in phones:
            msg.take_chars(start, end)
    elif expecting == "phone" and (bare := read_phone(msg.text)):
        out["phone"] = bare
        msg.take(0, len(msg))
    addresses = [_before_phone(msg.text, a, phones) for a in extract_addresses(msg.text)]
    addresses = [a for a in addresses if len(a) >= 3]
    if not addresses and expecting == "address" and msg.content():
        addresses = [a for a in [_trim_address(msg.text).strip()] if len(a) >= 3]
    if addresses:
        address = next((a for a in addresses if address_usable(a)), addresses[0])
        out["address"], out["address_usable"] = address, address_usable(address)
        start = msg.text.find(address)
        msg.take_chars(start, start + len(address))

    if msg.find(CANCEL_ALL):
        out["cancel_all"] = True
    when = find_when(msg.text, now, bare_hour=expecting == "time")
    if when.at or when.day:
        out["when"], out["day"] = when.at, when.day
        for start, end in when.spans:
            msg.take_chars(start, end)
    if msg.find(ASAP):
        out["asap"] = True

    stores = store_index(terms.stores).find(msg.raw, msg.free) if terms.stores else []
    store_starts = {i for i, _, _ in stores}
    fulfilment = None
    cues = [(i, "pickup") for i, _ in msg.find(PICKUP)] + [(i, "delivery") for i, _ in msg.find(DELIVERY)]
    for i, _ in msg.find(AMBIL, take=False):
        nxt = i + 1
        if nxt >= len(msg) or msg.is_separator(nxt) or nxt in store_starts or \
                (msg.free[nxt] is False and msg.raw[nxt].isdigit() is False) or \
                any(w in AMBIL_PICKUP_NEXT for w in msg.canon[nxt]) or expecting == "fulfilment":
            msg.take(i, i + 1)
            cues.append((i, "pickup"))
    for i, kind in sorted(cues):
        negated = i > 0 and msg.phrase_ending(i, NEGATION, 2) is not None
        fulfilment = ({"pickup": "delivery", "delivery": "pickup"}[kind]) if negated else kind
    if fulfilment:
        out["fulfilment"] = fulfilment
    for i, j, store_id in stores:
        before = msg.canon[i - 1] if i else ()
        if expecting == "store" or fulfilment == "pickup" or any(w in _STORE_CUES for w in before) and \
                fulfilment != "delivery" or "cabang" in before or "outlet" in before:
            out["store_id"] = store_id
            msg.take(i, j)
            break

    if terms.payments:
        index = payment_index(terms.payments)
        for i, end in msg.find(index.phrases):
            if expecting == "payment" or not _in_question(msg, i, end):
                out.setdefault("payment", index.phrases[tuple(w for k in range(i, end) for w in msg.canon[k])])

    order_notes = _notes(msg, ORDER_NOTE_OBJECTS, frozenset()) + msg.find(ORDER_NOTE_HANDOVER)
    products = product_index(terms.products)
    spans = _product_spans(msg, products) if terms.products else []
    item_notes = _notes(msg, NOTE_OBJECTS, NOTE_ALONE)
    spans = _with_prefixes(msg, products, sorted(spans + (_head_spans(msg, products) if terms.products else [])))

    items = _item_changes(msg, spans, item_notes, cart, last_product, expecting, target)
    if not spans and item_notes and target is None:
        order_notes += item_notes
    if order_notes:
        out["note"] = ", ".join(msg.note(i, j) for i, j in sorted(order_notes))

    content = msg.content()
    bare_cancel = msg.phrase_at(content[0], CANCEL_BARE) if content and not spans else None
    if bare_cancel and content[-1] < bare_cancel:
        out["cancel_all"] = True
        msg.take(content[0], bare_cancel)
        content = []
    done = [(i, j) for i, j in msg.find(DONE, take=False) if j - i > 1 or said_alone == 1]
    if done:
        out["done_adding"] = True
        for i, j in done:
            msg.take(i, j)
    if not out.get("cancel_all"):
        _yes_or_no(msg, out)
    unknown = _unknown(msg, expecting, spans)
    return OrderText(items=tuple(items), unknown=unknown, **out)


_QUESTION_OPENERS = frozenset("bisa can boleh apakah apa do does terima accept ada".split())
_SENTENCE_END = re.compile(r"[.!?\n]")


def _in_question(msg: _Message, i: int, j: int) -> bool:
    """Whether tokens i..j are in a question ("bisa qris?", "do you take ovo"): asking, not choosing."""
    start = max((m.end() for m in _SENTENCE_END.finditer(msg.text, 0, msg.spans[i][0])), default=0)
    end = _SENTENCE_END.search(msg.text, msg.spans[j - 1][1])
    first = next((k for k, (a, _) in enumerate(msg.spans) if a >= start), i)
    return (end is not None and end.group(0) == "?") or msg.raw[first] in _QUESTION_OPENERS


def _yes_or_no(msg: _Message, out: dict) -> None:
    """A yes or a no leading the message ("iya betul", "ok, pesan", "ga, ambil sendiri aja")."""
    for k in range(len(msg)):
        if msg.is_separator(k):
            continue
        if not msg.free[k]:
            return  # something else leads the message
        if (end := msg.phrase_at(k, YES)) and not any(msg.phrase_at(i, NEGATION) for i in msg.content()):
            out["yes"] = True
        elif end := msg.phrase_at(k, NO):
            out["no"] = True
        elif all(w in _FILLER for w in msg.canon[k]):
            continue
        if end:
            msg.take(k, end)
        return


def _item_changes(msg: _Message, spans, notes, cart, last_product, expecting, target) -> list[ItemChange]:
    """Each product span as a change (add / remove / set) with its quantity and notes; or, with no
    product named, the change the words make to the last product ("tambah 1 lagi", "less sugar ya")."""
    numbers = _numbers(msg)
    ops: list[tuple[str, int | None]] = []
    for i, j, _ in spans:
        op, quantity = "add", None
        k = j
        while k < len(msg) and msg.raw[k] in ("nya", "yang", "aja", "ya"):
            k += 1
        if k < len(msg) and (end := msg.phrase_at(k, REMOVE_AFTER)):
            op = "remove"
            msg.take(k, end)
        elif k < len(msg) and (end := msg.phrase_at(k, SET_TO)) and end in numbers:
            op, quantity = "set", numbers[end][1]
            msg.take(k, numbers.pop(end)[0])
        else:
            b = i
            while b > 0 and (b - 1 in numbers or msg.raw[b - 1] in _QUANTITY_SKIP | {"yang", "the", "my"}):
                b -= 1
            if (start := msg.phrase_ending(b, DECREASE)) is not None:
                op = "remove"
                msg.take(start, b)
            elif (start := msg.phrase_ending(b, REMOVE_BEFORE)) is not None:
                op = "remove"
                msg.take(start, b)
        ops.append((op, quantity))
    numbers.update(_ones(msg, [(i, j) for i, j, _ in spans]))
    said = _quantities(msg, [(i, j) for i, j, _ in spans], numbers)
    note_of: dict[int, list[str]] = {}
    for a, b in msg.prefix_notes:
        note_of.setdefault(next(n for n, (i, _, _) in enumerate(spans) if i == a), []).append(msg.note(a, b))
    for a, b in notes:
        same = [n for n, (i, _, _) in enumerate(spans) if _clause_of(msg, i) == _clause_of(msg, a)]
        near = [n for n in same if spans[n][1] <= a][-1:] or [n for n in same if spans[n][0] >= b][:1] or \
            [n for n, (_, j, _) in enumerate(spans) if j <= a][-1:]
        note_of.setdefault(near[0] if near else -1, []).append(msg.note(a, b))
    changes = []
    for n, ((i, j, ids), (op, quantity)) in enumerate(zip(spans, ops)):
        product, candidates = _resolve(ids, cart, last_product, op)
        changes.append(ItemChange(op=op, product_id=product, candidates=candidates,
                                  quantity=quantity if op == "set" else said[n], note=_join(note_of.get(n)),
                                  words=msg.words(i, j)))
    if spans or target is None:
        return changes
    free_numbers = [(s, v) for s, (e, v) in numbers.items() if all(msg.free[s:e])]
    more = msg.find(ADD_MORE, take=False)
    set_to = [(i, e) for i, e in msg.find(SET_TO, take=False) if e in numbers]
    decrease = msg.find(DECREASE, take=False)
    words = " ".join(msg.note(a, b) for a, b in notes)
    if set_to:
        i, e = set_to[0]
        changes.append(ItemChange("set", target, quantity=numbers[e][1], note=_join(note_of.get(-1)),
                                  words=msg.words(i, numbers[e][0])))
        msg.take(i, numbers[e][0])
    elif decrease and free_numbers:
        changes.append(ItemChange("remove", target, quantity=free_numbers[0][1], words=msg.words(*decrease[0])))
        msg.take(*decrease[0])
        msg.take(free_numbers[0][0], numbers[free_numbers[0][0]][0])
    elif more and (free_numbers or any(msg.canon[i] == ("lagi",) or j - i > 1 or msg.raw[i] != "extra"
                                       for i, j in more)) and not notes:
        quantity = free_numbers[0][1] if free_numbers else 1
        last = max([j for _, j in more] + [numbers[s][0] for s, _ in free_numbers[:1]])
        changes.append(ItemChange("add", target, quantity=quantity, words=msg.words(more[0][0], last)))
        for i, j in more:
            msg.take(i, j)
        if free_numbers:
            msg.take(free_numbers[0][0], numbers[free_numbers[0][0]][0])
    elif expecting == "quantity" and free_numbers:
        changes.append(ItemChange("set", target, quantity=free_numbers[0][1], note=_join(note_of.get(-1)),
                                  words=msg.words(free_numbers[0][0], numbers[free_numbers[0][0]][0])))
        msg.take(free_numbers[0][0], numbers[free_numbers[0][0]][0])
    elif notes:
        changes.append(ItemChange("set", target, note=_join(note_of.get(-1)), words=words))
    return changes


def _resolve(ids: frozenset[int], cart, last_product, op) -> tuple[int | None, tuple[int, ...]]:
    """One product, or none and the candidates; the cart decides between candidates it holds one of."""
    if len(ids) == 1:
        return next(iter(ids)), ()
    held = [p for p in cart if p in ids]
    if len(set(held)) == 1:
        return held[0], ()
    if op != "add" and last_product in ids:
        return last_product, ()
    return None, tuple(sorted(ids))


def _join(notes: list[str] | None) -> str | None:
    return ", ".join(notes) if notes else None


def _unknown(msg: _Message, expecting: str | None, spans) -> tuple[str, ...]:
    """Product-like phrases left over after a quantity or an order verb ("2 burger vegan"), or as the answer
    to "what would you like?"."""
    numbers = _numbers(msg)
    starts = set()
    for k in range(len(msg)):
        if not msg.free[k]:
            continue
        if k in numbers:
            starts.add(numbers[k][0])
        elif msg.phrase_at(k, ORDER_VERBS, free=False):
            starts.add(msg.phrase_at(k, ORDER_VERBS, free=False))
        elif k > 0 and msg.is_separator(k) and any(j == k for _, j, _ in spans):
            starts.add(k + 1)
    if expecting == "item" and not spans:
        starts.add(0)
    phrases = []
    for start in sorted(starts):
        k = start
        while k < len(msg) and msg.free[k] and (msg.raw[k] in _QUANTITY_SKIP or msg.raw[k] in ("a", "an")):
            k += 1
        while k < len(msg) and msg.free[k] and all(w in FUNCTION_WORDS for w in msg.canon[k]) \
                and not msg.is_separator(k) and start == 0:
            k += 1
        end = k
        while end < len(msg) and msg.free[end] and not msg.is_separator(end) and msg.raw[end].isalpha() \
                and not all(w in FUNCTION_WORDS for w in msg.canon[end]) and end - k < 4:
            end += 1
        if end > k:
            phrases.append(msg.words(k, end))
            msg.take(k, end)
    return tuple(phrases)

