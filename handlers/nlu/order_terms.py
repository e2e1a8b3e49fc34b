"""The shop's words an order is read against: products, stores and payment methods, and their matchers.

`ShopTerms` is a frozen value built from the catalog; each matcher is cached by the terms'
content, so a product, alias or store edited by the shop is matched on the next message.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from core.normalize import KNOWN

from .order_words import canon

# ------------------------------------------------------------------------------------------ terms


@dataclass(frozen=True)
class ProductTerm:
    id: int
    name: str
    name_en: str | None = None
    aliases: tuple[str, ...] = ()
    category: str | None = None     # "Kopi": "kopi 2" may mean any product of it
    options: tuple[str, ...] = ()   # variants and add-ons it is ordered with ("Large", "Extra shot")


@dataclass(frozen=True)
class StoreTerm:
    id: int
    name: str
    area: str = ""
    address: str = ""


@dataclass(frozen=True)
class PaymentTerm:
    code: str
    label: str
    label_en: str | None = None


@dataclass(frozen=True)
class ShopTerms:
    """What an order can name in one shop (hashable: the matchers are cached by it)."""
    products: tuple[ProductTerm, ...] = ()
    stores: tuple[StoreTerm, ...] = ()
    payments: tuple[PaymentTerm, ...] = ()


def shop_terms(products: Iterable = (), stores: Iterable = (), payments: Iterable = ()) -> ShopTerms:
    """ShopTerms from catalog rows (objects with the terms' attribute names; payments may be dicts)."""
    def payment(p) -> PaymentTerm:
        get = p.get if isinstance(p, Mapping) else (lambda key, default=None: getattr(p, key, default))
        return PaymentTerm(code=str(get("code")), label=str(get("label") or get("code")), label_en=get("label_en"))

    def options(p) -> tuple[str, ...]:
        addons = getattr(p, "addons", None) or ()
        return (*(getattr(p, "variants", None) or ()),
                *(name for a in addons for name in (a.get("name"), a.get("name_en")) if name))

    return ShopTerms(
        products=tuple(ProductTerm(id=p.id, name=p.name, name_en=getattr(p, "name_en", None) or None,
                                   aliases=tuple(getattr(p, "aliases", None) or ()),
                                   category=getattr(p, "category", None) or None, options=options(p))
                       for p in products),
        stores=tuple(StoreTerm(id=s.id, name=s.name, area=getattr(s, "area", "") or "",
                               address=getattr(s, "address", "") or "") for s in stores),
        payments=tuple(payment(p) for p in payments),
    )


# ------------------------------------------------------------------------------------------ tokens

_WORD = re.compile(r"[^\W\d_]+|\d+")
_RUN3 = re.compile(r"(\w)\1{2,}")


def words(text: str) -> tuple[str, ...]:
    """Lowercase words of a catalog text, letter runs collapsed ("kopiii" -> "kopii")."""
    return tuple(_WORD.findall(_RUN3.sub(r"\1\1", text.lower())))


# leading words customers drop from a name ("Es Kopi Susu" -> "kopi susu")
DROPPABLE = frozenset("es ice iced hot panas caffe cafe".split())
# words that never name a product on their own: they describe one ("susu oat", "less sugar")
NOT_HEAD = DROPPABLE | frozenset("""
susu milk gula sugar oat shot cream krim sirup syrup green black long palm with dengan and dan
small large big regular medium besar kecil sedang cold dingin warm hangat
""".split())
_FILLER = frozenset("with dengan pake pakai and dan n".split())
# sizes said in other words than the shop's variant names ("gede" for "Large")
_SIZES = tuple(frozenset(group.split()) for group in (
    "large besar gede big", "small kecil", "regular reguler biasa normal", "medium sedang"))
# first words an add-on's name shares with others: "oat" names "Oat milk", "extra" alone names nothing
_GENERIC = frozenset("extra ekstra tambah add double less more no tanpa with pake pakai".split())
_FUZZY_CUTOFF = 82.0
_PAIR_CUTOFF = 85.0  # two words misspelt together: a stricter bar than one word
_UNSEEN = object()


class ProductIndex:
    """Product surfaces (names, English names, aliases, short forms) -> product ids."""

    def __init__(self, products: tuple[ProductTerm, ...]):
        self.by_id = {p.id: p for p in products}
        exact: dict[tuple[str, ...], set[int]] = {}
        for p in products:
            for surface in (p.name, p.name_en, *p.aliases):
                key = words(surface) if surface else ()
                if key:
                    exact.setdefault(key, set()).add(p.id)
        short: dict[tuple[str, ...], set[int]] = {}
        for key, ids in exact.items():
            if len(key) >= 2 and key[0] in DROPPABLE:
                short.setdefault(key[1:], set()).update(ids)
        for key, ids in short.items():
            if key not in exact and len(ids) == 1:
                exact[key] = ids
        self.exact = exact
        self.bags: dict[tuple[str, ...], set[int]] = {}
        self.joined: dict[str, set[int]] = {}
        for key, ids in exact.items():
            self.bags.setdefault(tuple(sorted(w for w in key if w not in _FILLER)), set()).update(ids)
            if len(key) > 1:
                self.joined.setdefault("".join(key), set()).update(ids)
        self.vocab = frozenset(w for key in exact for w in key)
        self.heads: dict[str, set[int]] = {}
        for key, ids in exact.items():
            for w in key:
                if w not in NOT_HEAD and len(w) >= 3 and not w.isdigit():
                    self.heads.setdefault(w, set()).update(ids)
        for p in products:
            category = words(p.category or "")
            if category[:1] not in (("non",), ("bukan",), ("tanpa",), ("no",)):  # "Non-kopi" is not coffee
                for w in category:
                    if w not in NOT_HEAD and len(w) >= 3:
                        self.heads.setdefault(w, set()).add(p.id)
        self.max_len = max((len(k) for k in exact), default=0)
        self._fuzzy_vocab = sorted(w for w in self.vocab | set(self.joined) if len(w) >= 4)
        self._forms: dict[str, tuple[str, bool] | None] = {}

    def option_at(self, product_id: int, tokens: list[str]) -> tuple[int, str] | None:
        """The longest of the product's options the tokens start with: (how many tokens, its catalog name)."""
        best = None
        for option in self.by_id[product_id].options:
            key = words(option)
            if key and len(key) <= len(tokens) and all(map(_same_word, tokens, key)):
                found = (len(key), option)
            elif len(key) > 1 and key[0] not in _GENERIC and len(key[0]) >= 3 and _same_word(tokens[0], key[0]) \
                    and not any(_same_word(tokens[0], words(other)[0]) for other in self.by_id[product_id].options
                                if other != option and words(other)):
                found = (1, option)  # "pake oat": the only option that starts so
            else:
                continue
            if best is None or found[0] > best[0]:
                best = found
        return best

    def surfaces(self, product_id: int) -> tuple[str, ...]:
        """The names of one product."""
        p = self.by_id[product_id]
        return tuple(s for s in (p.name, p.name_en, *p.aliases) if s)

    def form(self, token: str) -> tuple[str, bool] | None:
        """The catalog word a message token stands for, and whether it was a typo; None if none."""
        cached = self._forms.get(token, _UNSEEN)  # one lookup: workers' threads share the index
        if cached is not _UNSEEN:
            return cached  # type: ignore[return-value]
        found: tuple[str, bool] | None = None
        if token in self.vocab or token in self.joined:
            found = (token, False)
        else:
            for stem in (token[:-3] if token.endswith("nya") else None,        # kopinya
                         token[:-1] if token.endswith("s") else None,          # croissants
                         token[:-2] if token.endswith("es") else None):        # boxes
                if stem and len(stem) >= 3 and (stem in self.vocab or stem in self.joined):
                    found = (stem, False)
                    break
            if found is None and len(token) == 3 and token.isalpha() and token not in KNOWN:  # "kopi sus"
                completions = [w for w in self._fuzzy_vocab if w.startswith(token) and len(w) <= 6]
                found = (completions[0], True) if len(completions) == 1 else None
            if found is None and token.isalpha() and len(token) >= 4 and token not in KNOWN and self._fuzzy_vocab:
                stem = token[:-3] if token.endswith("nya") and len(token) >= 7 else token
                hit = process.extractOne(stem, self._fuzzy_vocab, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF)
                if hit is not None:
                    found = (hit[0], True)
        if len(self._forms) > 20000:
            self._forms.clear()
        self._forms[token] = found
        return found

    def pair(self, first: str, second: str) -> frozenset[int]:
        """Products whose two-word name two message words misspell together ("cafe late" -> Caffe Latte)."""
        joined = first + second
        if len(joined) < 7 or not self.joined:
            return frozenset()
        hit = process.extractOne(joined, list(self.joined), scorer=fuzz.ratio, score_cutoff=_PAIR_CUTOFF)
        return frozenset(self.joined[hit[0]]) if hit else frozenset()


def _same_word(said: str, option: str) -> bool:
    """Whether a message word is an option's word: the same, a size said otherwise, or misspelt (5 letters up)."""
    if said == option or any(said in group and option in group for group in _SIZES):
        return True
    return len(option) >= 5 and said.isalpha() and fuzz.ratio(said, option) >= _FUZZY_CUTOFF


class StoreIndex:
    """Ways customers name a store: its name without the brand, its area when only it is there."""

    def __init__(self, stores: tuple[StoreTerm, ...]):
        names = [words(s.name) for s in stores]
        shared = set.intersection(*(set(n) for n in names)) if len(names) > 1 else set()
        keys: dict[tuple[str, ...], set[int]] = {}
        for store, name in zip(stores, names):
            keys.setdefault(name, set()).add(store.id)
            own = tuple(w for w in name if w not in shared)
            if own:
                keys.setdefault(own, set()).add(store.id)
            for start in range(1, len(name)):  # "Sapa Coffee Blok M" -> "blok m", even as the only store
                tail = name[start:]
                if len("".join(tail)) >= 3 and not all(w in KNOWN for w in tail):
                    keys.setdefault(tail, set()).add(store.id)
        areas: dict[tuple[str, ...], set[int]] = {}
        for store in stores:
            if store.area:
                areas.setdefault(words(store.area), set()).add(store.id)
        for area, ids in areas.items():
            if len(ids) == 1 and area not in keys:
                keys[area] = ids
        for key, ids in list(keys.items()):
            if len(key) > 1:
                keys.setdefault(("".join(key),), ids)
        self.keys = keys
        self.max_len = max((len(k) for k in keys), default=0)
        self.vocab = sorted({w for k in keys for w in k if len(w) >= 4})

    def find(self, tokens: list[str], free: list[bool]) -> list[tuple[int, int, int]]:
        """(start, end, store id) of store names among the free tokens (typos allowed)."""
        fixed = [t if t in self.keys or len(t) < 4 or t in KNOWN else
                 (hit[0] if (hit := process.extractOne(t, self.vocab, scorer=fuzz.ratio, score_cutoff=80)) else t)
                 for t in tokens]
        found = []
        i = 0
        while i < len(tokens):
            for j in range(min(len(tokens), i + self.max_len), i, -1):
                ids = self.keys.get(tuple(fixed[i:j]))
                if ids and len(ids) == 1 and all(free[i:j]):
                    found.append((i, j, next(iter(ids))))
                    i = j - 1
                    break
            i += 1
        return found


# payment words customers use -> the family of method they mean
PAYMENT_FAMILIES: dict[str, tuple[str, ...]] = {
    "qris": ("qris", "gopay", "ovo", "dana", "shopeepay", "shopee pay", "spay", "linkaja", "link aja", "scan",
             "qr", "qr code", "scan qr", "scan barcode"),
    "ewallet": ("ewallet", "e wallet", "dompet digital", "digital wallet", "e money", "emoney", "dompet elektronik"),
    "transfer": ("transfer", "tf", "trf", "bca", "mandiri", "bri", "bni", "bsi", "cimb", "permata", "jenius", "seabank",
                 "btn", "bank", "virtual account", "va", "m banking", "mbanking", "mobile banking",
                 "internet banking", "ibanking", "livin", "brimo", "bank transfer", "transfer bank"),
    "cod": ("cod", "bayar di tempat", "bayar ditempat", "cash on delivery", "bayar pas sampai", "bayar di rumah",
            "pay on delivery", "bayar ke kurir", "bayar ke driver", "bayar pas diantar", "bayar pas nyampe",
            "bayar pas dateng", "bayar pas datang", "bayar pas sampe", "pas barang dateng", "pas barang sampai",
            "when it arrives", "on arrival"),
    "cash": ("cash", "tunai", "uang tunai", "kontan", "bayar di kasir", "bayar di toko", "bayar di outlet",
             "bayar pas ambil", "bayar waktu ambil", "bayar saat ambil", "bayar di store", "pay at the counter",
             "pay at the store", "pay in store", "pay at pickup", "pay on pickup", "pay at the cashier",
             "pay when i pick up", "pay when i pick it up", "bayar langsung", "kasir", "cashier", "at the counter"),
    "card": ("kartu", "card", "debit", "kredit", "credit", "edc"),
}
# how a shop's own method of each family is spelled, and the families to look for, nearest first
_FAMILY_MARKS = {"qris": ("qris",), "transfer": ("transfer", "tf", "bank"), "cod": ("cod", "bayar di tempat",
                 "cash on delivery"), "cash": ("cash", "tunai"), "card": ("card", "kartu", "debit"),
                 "ewallet": ("e wallet", "ewallet", "gopay", "ovo", "dana", "shopeepay", "linkaja")}
_FAMILY_CHOICES = {"cash": ("cash", "cod"), "cod": ("cod", "cash"), "ewallet": ("qris", "ewallet")}


def payment_words(text: str) -> tuple[str, ...]:
    """A payment phrase as the canonical words a message is read in ("tf" and "transfer" alike)."""
    return tuple(w for word in words(text) for w in canon(word))


class PaymentIndex:
    """Phrases (as canonical word tuples) -> the shop's payment code they choose."""

    def __init__(self, payments: tuple[PaymentTerm, ...]):
        phrases: dict[tuple[str, ...], str] = {}
        # each method's own words, space-padded so a phrase is found as whole words
        texts = {p.code: " {} ".format(" ".join(words(" ".join(filter(None, (p.code, p.label, p.label_en))))))
                 for p in payments}

        def named_by(phrase: str) -> str | None:
            """The code whose own words hold the phrase as whole words."""
            return next((code for code, text in texts.items() if f" {phrase} " in text), None)

        def method_of(family: str) -> str | None:
            return next(filter(None, map(named_by, _FAMILY_MARKS[family])), None)

        for family, said in PAYMENT_FAMILIES.items():
            code = next(filter(None, map(method_of, _FAMILY_CHOICES.get(family, (family,)))), None)
            for phrase in said:
                direct = named_by(phrase)
                if direct or code:
                    phrases[payment_words(phrase)] = direct or code  # type: ignore[assignment]
        for p in payments:  # the shop's own words win
            for surface in (p.code, p.label, p.label_en):
                if surface and payment_words(surface):
                    phrases[payment_words(surface)] = p.code
        self.phrases = phrases
        self.max_len = max((len(k) for k in phrases), default=0)


@lru_cache(maxsize=32)
def product_index(products: tuple[ProductTerm, ...]) -> ProductIndex:
    """The cached matcher for one catalog's products."""
    return ProductIndex(products)


@lru_cache(maxsize=32)
def store_index(stores: tuple[StoreTerm, ...]) -> StoreIndex:
    """The cached matcher for one shop's stores."""
    return StoreIndex(stores)


@lru_cache(maxsize=32)
def payment_index(payments: tuple[PaymentTerm, ...]) -> PaymentIndex:
    """The cached matcher for one shop's payment methods."""
    return PaymentIndex(payments)
