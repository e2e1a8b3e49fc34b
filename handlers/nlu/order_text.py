"""Reading an order out of free text: items with quantities and notes, changes to the cart, fulfilment,
store, time, address, phone, payment, yes / no, against one shop's terms and the question just asked.

Pure and fast (no model, no I/O): the conversation calls `read_order_text` on every message. It reads
words, not intents: "harga latte berapa?" names a latte; whether that is an order is the conversation's call.
Each part of the message is read once, in an order that keeps digits and names apart: phones, addresses,
cancelling everything, times, fulfilment and stores, payment, notes, products, then yes / no / done.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from .dates import find_when
from .entities import _trim_address, address_usable, extract_addresses, names_a_place
from .order_items import (
    ItemChange, head_spans, item_changes, joined_names, note_spans, option_spans, product_spans, said_only,
    unknown_phrases, with_prefixes,
)
from .order_message import FILLER, Message
from .order_terms import (
    PaymentTerm, ProductTerm, ShopTerms, StoreTerm, payment_index, product_index, shop_terms, store_index,
)
from .order_words import (
    AMBIL, AMBIL_PICKUP_NEXT, ASAP, CANCEL_ALL, CANCEL_BARE, DELIVERY, DONE, EVERYONE, FULFILMENT_NEGATION, NEGATION, NO,
    NOTE_ALONE, NOTE_OBJECTS, ORDER_NOTE_HANDOVER, ORDER_NOTE_OBJECTS, PICKUP, REST, YES, canon,
)
from .phones import find_phones, read_phone

__all__ = ["ItemChange", "OrderText", "PaymentTerm", "ProductTerm", "ShopTerms", "StoreTerm", "address_usable",
           "read_order_text", "shop_terms"]

MAX_CHARS = 2000  # longer texts are read on their head


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
    day: date | None = None                # a day said without a time ("besok"): ask for the time
    asap: bool = False                     # "sekarang", "now", "secepatnya"
    note: str | None = None                # on the whole order ("jangan pake sedotan")
    yes: bool = False
    no: bool = False
    cancel_all: bool = False               # "batal semua", "ga jadi pesan", "cancel the order"
    done_adding: bool = False              # "udah itu aja", "that's all"
    only: bool = False                     # the cart should hold just the products named ("cuma latte", "kopinya aja")
    party: int | None = None               # how many people the order is for ("buat 30 orang", "for 25 people")
    for_everyone: bool = False             # one each ("kopsus aja semua", "iced latte for everyone")
    rest: bool = False                     # for the people not counted yet ("yg 20 kopsus, sisanya es coklat")


# "30 orang", "30an org", "25 people", "40 pax": a head count, not a quantity of something on the menu
_PARTY = re.compile(r"(?i)\b(\d{1,4})(?:an)?\s*(?:orang|org|pax|people|persons?|peserta|tamu|guests?|karyawan|pegawai)\b")


def party_size(text: str) -> int | None:
    """How many people a message says something is for ("acara kantor 30 orang"), or None."""
    said = _PARTY.search(text or "")
    return int(said.group(1)) if said and int(said.group(1)) > 0 else None


def stores_named(text: str, terms: ShopTerms) -> list[int]:
    """The ids of the shop's stores a message names anywhere ("cabang kemang buka ga?"), in order."""
    if not terms.stores:
        return []
    msg = Message(text)
    return [store_id for _, _, store_id in store_index(terms.stores).find(msg.raw, msg.free)]


def read_order_text(text: str, terms: ShopTerms, *, now: datetime, expecting: str | None = None,
                    cart: tuple[int, ...] = (), last_product: int | None = None, pickup: bool = False) -> OrderText:
    """What an order message says, read against the shop's terms.

    `expecting` is the slot the bot just asked for ("item", "quantity", "fulfilment", "store", "address",
    "phone", "payment", "time", "confirm"): the first context for a short answer. `cart` holds the product
    ids in the cart (it picks "the coffee" among several), `last_product` the one a bare "1 lagi" or "less
    sugar" is about (the cart's last one when None). `pickup`: the order is a pickup, so a store named
    alone ("Kemang instead") is the store to pick up from.
    """
    msg = Message((text or "")[:MAX_CHARS])
    if not msg.raw:
        return OrderText()
    alone = len(msg.content()) == 1  # "udah" alone is done; "udah transfer" is not
    out: dict = {}
    if said := _NOTE_SAID.search(msg.text):  # "catatan: titip di satpam", "add a note: ring the bell"
        out["note"] = said.group("note").strip(" .,;")
        msg.take_chars(said.start(), said.end())
    _contact(msg, out, expecting)
    if said := _PARTY.search(msg.text):
        out["party"] = party_size(said.group(0))
        msg.take_chars(said.start(), said.end())
    if msg.find(EVERYONE, take=False):
        out["for_everyone"] = True
    if msg.find(REST, take=False):
        out["rest"] = True
    if msg.find(CANCEL_ALL):
        out["cancel_all"] = True
    asap = bool(msg.find(ASAP, take=False))  # before the dates, which read "skrg" as today
    when = find_when(msg.text, now, bare_hour=expecting == "time")
    if when.at or (when.day and not (asap and when.day == now.date())):
        out["when"], out["day"] = when.at, when.day
    for start, end in when.spans:  # "after lunch" names no time, but its words are no product
        msg.take_chars(start, end)
    if asap or msg.find(ASAP):
        out["asap"] = True
    _payment(msg, out, terms, expecting)  # before fulfilment: "cash on delivery" is a payment
    _fulfilment_and_store(msg, out, terms, expecting, pickup)
    if expecting == "address" and "address" not in out:
        _expected_address(msg, out)

    order_notes = note_spans(msg, ORDER_NOTE_OBJECTS, frozenset()) + msg.find(ORDER_NOTE_HANDOVER)
    spans, item_notes, options = [], [], []
    if terms.products:
        index = product_index(terms.products)
        spans = product_spans(msg, index)  # whole names first, so "hot chocolate" is not a note and a word
        options = option_spans(msg, index, spans)  # "latte large": the shop's own options before any note
        item_notes = note_spans(msg, NOTE_OBJECTS, NOTE_ALONE)
        spans = with_prefixes(msg, index, joined_names(msg, index, spans + head_spans(msg, index)))
    target = last_product if last_product is not None else (cart[-1] if cart else None)
    items = item_changes(msg, spans, item_notes, cart=cart, last_product=last_product, expecting=expecting,
                         target=target, options=options)
    if _only(msg, spans, items, cart, expecting):
        out["only"] = True
    if not spans and item_notes and target is None:
        order_notes += item_notes
    if order_notes:
        out["note"] = ", ".join([*filter(None, [out.get("note")]), *(msg.note(i, j) for i, j in sorted(order_notes))])

    content = msg.content()
    bare_cancel = msg.phrase_at(content[0], CANCEL_BARE) if content and not spans else None
    if bare_cancel and content[-1] < bare_cancel:
        out["cancel_all"] = True
        msg.take(content[0], bare_cancel)
    done = [(i, j) for i, j in msg.find(DONE, take=False) if j - i > 1 or alone]
    for i, j in done:
        out["done_adding"] = True
        msg.take(i, j)
    if not out.get("cancel_all"):
        _yes_or_no(msg, out)
    if expecting == "confirm" and done and done[0][0] == (content or [len(msg)])[0] and not out.get("no"):
        out["yes"] = True  # "that's all" / "udah itu aja" to "is this right?"
    return OrderText(items=tuple(items), unknown=unknown_phrases(msg, expecting, spans), **out)


def _only(msg: Message, spans, items: list[ItemChange], cart: tuple[int, ...], expecting: str | None) -> bool:
    """Whether the cart should hold just the products named: said so ("cuma latte", "kopinya aja") about a
    product in the cart, or when confirming; "latte aja" to "anything else?" adds a latte."""
    kept = [c for c in items if c.op != "remove" and not c.again]
    in_cart = any(c.product_id in cart or set(c.candidates) & set(cart) for c in kept)
    return bool(kept) and (in_cart or (expecting == "confirm" and bool(cart))) and said_only(msg, spans)


# ------------------------------------------------------------------------------ phone and address

_PHONE_LEAD = re.compile(r"(?i)[\s,;:.(-]*(?:\b(?:no|nomor|nomer|nmr|hp|wa|telp|telepon|phone|number|tel|hub)\b"
                         r"[\s.:]*)*$")


def _before_phone(text: str, address: str, phones: list[tuple[int, int, str]]) -> str:
    """The address without a phone number written after it ("Jl. X 5, no hp 0812...")."""
    start = text.find(address)
    for phone_start, _, _ in phones:
        if start <= phone_start < start + len(address):
            return _PHONE_LEAD.sub("", text[start:phone_start]).strip()
    return address


def _contact(msg: Message, out: dict, expecting: str | None) -> None:
    """Phone and address first: their digits are not quantities, their words not products."""
    phones = find_phones(msg.text)
    if phones:
        out["phone"] = phones[0][2]
        for start, end, _ in phones:
            msg.take_chars(start, end)
    elif expecting == "phone" and (bare := read_phone(msg.text)):
        out["phone"] = bare
        msg.take(0, len(msg))
    addresses = [a for a in (_before_phone(msg.text, a, phones) for a in extract_addresses(msg.text)) if len(a) >= 3]
    if expecting == "address" and msg.content():
        # "kos melati kamar 3, jl. kaliurang 5", "kantor di blok m, gedung X lt 3": all of it, not the street
        whole = _trim_address(msg.text).strip()
        if any(a in whole and names_a_place(whole[:whole.find(a)]) for a in addresses):
            addresses = [whole]
    if addresses:
        _set_address(msg, out, next((a for a in addresses if address_usable(a)), addresses[0]))


def _set_address(msg: Message, out: dict, address: str) -> None:
    out["address"], out["address_usable"] = address, address_usable(address)
    start = msg.text.find(address)
    msg.take_chars(start, start + len(address))


_QUESTION_WORDS = frozenset(w for word in """berapa brp apa gimana bagaimana kapan bisa boleh can how what when where
                            why dimana mana kenapa ada is are do does""".split() for w in canon(word))


def _expected_address(msg: Message, out: dict) -> None:
    """The answer to "what is the address?" is the address, unless it says something else: a change to
    pickup, a store, a payment, a cancel, a question, a yes or a no."""
    content = msg.content()
    if not content or out.get("fulfilment") == "pickup" or "store_id" in out or out.get("cancel_all") \
            or msg.text.rstrip().endswith("?") or msg.phrase_at(content[0], CANCEL_BARE) \
            or any(w in _QUESTION_WORDS for w in msg.canon[content[0]]) \
            or msg.phrase_at(content[0], YES) or msg.phrase_at(content[0], NO):
        return
    address = _trim_address(msg.text[msg.spans[content[0]][0]:]).strip()
    if len(address) >= 3 and (address_usable(address) or "payment" not in out):
        _set_address(msg, out, address)


# ------------------------------------------------------------------------------ fulfilment, store, payment

_STORE_CUES = frozenset(w for p in ("cabang", "outlet", "toko", "store", "branch", "di", "yang", "yg") for w in canon(p))
_OPPOSITE = {"pickup": "delivery", "delivery": "pickup"}


def _fulfilment_and_store(msg: Message, out: dict, terms: ShopTerms, expecting: str | None, pickup: bool) -> None:
    """Pickup or delivery (the last cue wins; "ga usah dianter" is a pickup), and the store named for it."""
    stores = store_index(terms.stores).find(msg.raw, msg.free) if terms.stores else []
    store_starts = {i for i, _, _ in stores}
    cues = [(i, "pickup") for i, _ in msg.find(PICKUP)] + [(i, "delivery") for i, _ in msg.find(DELIVERY)]
    for i, kind in cues:
        if kind == "pickup" and i > 0 and msg.raw[i - 1] == "tak":  # Javanese "tak ambil sendiri": I'll fetch it
            msg.take(i - 1, i)
    for i, _ in msg.find(AMBIL, take=False):  # "ambil di kemang" is a pickup, "aku ambil 2 kopi" an order
        after = i + 1
        if i > 0 and msg.raw[i - 1] == "tak" and msg.free[i - 1]:  # Javanese "tak ambil": I'll fetch it
            msg.take(i - 1, after)
            cues.append((i - 1, "pickup"))
        elif expecting == "fulfilment" or after >= len(msg) or msg.is_separator(after) or after in store_starts \
                or not msg.free[after] \
                or any(w in AMBIL_PICKUP_NEXT for w in msg.canon[after]):
            msg.take(i, after)
            cues.append((i, "pickup"))
    fulfilment = None
    for i, kind in sorted(cues):
        turned = msg.phrase_ending(i, FULFILMENT_NEGATION, 2) if i > 0 and msg.raw[i - 1] != "tak" else None
        fulfilment = kind if turned is None else _OPPOSITE[kind]
        if turned is not None:
            msg.take(turned, i)  # "ga jadi dikirim" is no cancel
    if fulfilment:
        out["fulfilment"] = fulfilment
    for i, j, store_id in stores:
        before = msg.canon[i - 1] if i else ()
        # "kirim ke kemang" is an area to deliver to, "yang di kemang" a store
        if expecting == "store" or fulfilment == "pickup" or "cabang" in before or "outlet" in before or \
                (fulfilment != "delivery" and any(w in _STORE_CUES for w in before)
                 and (expecting != "address" or _which_store(msg, i))) or \
                (fulfilment is None and "address" not in out and expecting not in ("address", "reach")
                 and (any(w in ("ke", "to") for w in before)  # "ke blok m aja": the store to go to
                      or (pickup and (msg.find(SWITCH, take=False) or "?" not in msg.text)))):  # "Kemang instead"
            out["store_id"] = store_id
            msg.take(i, j)
            return


def _which_store(msg: Message, i: int) -> bool:
    """Whether the words before token i pick one of the shop's stores ("yang di kemang"), not a place
    ("rumah saya di kemang")."""
    return any(w in ("yang", "yg", "toko", "store", "branch") for k in range(max(0, i - 2), i) for w in msg.canon[k])


# A note said as one ("catatan: ...", "note for the driver: ...", "tambah catatan ya: ..."): all after the colon.
_NOTE_SAID = re.compile(r"(?i)\b(?:(?:add|tambah|tambahin|kasih|tulis)\s+(?:a\s+)?)?(?:note|notes|catatan|keterangan)\b"
                        r"[^:\n]{0,30}:\s*(?P<note>[^\n]+)")
# words that change something already said ("can I switch to the Kemang store?")
SWITCH = frozenset((w,) for w in "switch change instead ganti pindah ubah diganti dipindah".split())
_QUESTION_OPENERS = frozenset("bisa can boleh apakah apa do does terima accept ada".split())
_SENTENCE_END = re.compile(r"[.!?\n]")


def _in_question(msg: Message, i: int, j: int) -> bool:
    """Whether tokens i..j are in a question ("bisa qris?", "do you take ovo"): asking, not choosing."""
    start = max((m.end() for m in _SENTENCE_END.finditer(msg.text, 0, msg.spans[i][0])), default=0)
    end = _SENTENCE_END.search(msg.text, msg.spans[j - 1][1])
    first = next((k for k, (a, _) in enumerate(msg.spans) if a >= start), i)
    return (end is not None and end.group(0) == "?") or msg.raw[first] in _QUESTION_OPENERS


def _payment(msg: Message, out: dict, terms: ShopTerms, expecting: str | None) -> None:
    """The shop's payment method a message chooses (a question about one chooses nothing unless asked)."""
    if not terms.payments:
        return
    index = payment_index(terms.payments)
    for i, end in msg.find(index.phrases):
        if expecting == "payment" or not _in_question(msg, i, end):
            out.setdefault("payment", index.phrases[tuple(w for k in range(i, end) for w in msg.canon[k])])


# ------------------------------------------------------------------------------ yes and no

_TAK_NEGATES = frozenset("usah perlu mau jadi bisa ada pake pakai apa apa2".split())


def _javanese_i_will(msg: Message, k: int) -> bool:
    """Whether token k is the Javanese "tak" before a verb ("tak transfer", "tak kirim"): "I'll", not "not"."""
    return msg.raw[k] == "tak" and k + 1 < len(msg) and msg.raw[k + 1].isalpha() \
        and msg.raw[k + 1] not in _TAK_NEGATES

def _yes_or_no(msg: Message, out: dict) -> None:
    """A yes or a no leading the message ("iya betul", "ok, pesan", "ga, ambil sendiri aja")."""
    for k in range(len(msg)):
        if msg.is_separator(k) or _javanese_i_will(msg, k):
            continue
        if not msg.free[k]:
            return  # something else leads the message
        if (end := msg.phrase_at(k, YES)) and not msg.text.rstrip().endswith("?") \
                and not any(msg.phrase_at(i, NEGATION) for i in msg.content() if not k <= i < end):  # "ga papa"
            out["yes"] = True
        elif end := msg.phrase_at(k, NO):
            out["no"] = True
        elif all(w in FILLER for w in msg.canon[k]):
            continue
        if end:
            msg.take(k, end)
        return
