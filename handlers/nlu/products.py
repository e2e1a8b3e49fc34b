"""Products and quantities in a message: a fuzzy matcher per catalog (names, aliases, short forms)."""
from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from core.lexicon import NUMBER_WORDS, UNIT_WORDS
from core.normalize import canon_word


@dataclass(frozen=True)
class ProductMention:
    name: str         # catalog name as given in the catalog
    quantity: int     # default 1
    score: float      # fuzzy match score 0..100


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
