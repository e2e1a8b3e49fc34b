"""A message as tokens for reading an order: canonical words, which tokens are still free, quantities."""
from __future__ import annotations

import re

from core.lexicon import NUMBER_WORDS, UNIT_WORDS

from .order_words import SEPARATORS, canon

_TOKEN = re.compile(r"\d+|[^\W\d_]+(?:'[^\W\d_]+)?|[,.;!?+&/\n]")
_RUN3 = re.compile(r"(\w)\1{2,}")
FILLER = frozenset(w for p in ("kak", "admin", "min", "ya", "yaa", "dong", "deh", "sih", "nih", "aja", "please",
                                "pls", "dulu", "sorry", "maaf", "makasih", "thanks", "thank", "you", "terima", "kasih")
                  for w in canon(p))
_NOTE_EDGES = frozenset("yang yg aja saja ya dong deh".split())
QUANTITY_SKIP = UNIT_WORDS | {"of", "nya"}
_NOT_QUANTITY_BEFORE = frozenset("jam pukul no nomor nmr tgl tanggal lantai lt rp idr blok kav rt rw".split())
_NOT_QUANTITY_AFTER = frozenset("rb ribu k jt juta ml menit hari jam persen orang".split())


class Message:
    """The message as tokens, and which of them are still free to be read."""

    def __init__(self, text: str):
        self.text = text
        self.raw: list[str] = []
        self.spans: list[tuple[int, int]] = []
        for m in _TOKEN.finditer(text.lower()):
            self.raw.append(_RUN3.sub(r"\1\1", m.group(0)))
            self.spans.append(m.span())
        self.canon = [canon(w) for w in self.raw]
        self.separators = [w in SEPARATORS or any(c in SEPARATORS for c in ws) for w, ws in zip(self.raw, self.canon)]
        self.clauses = [0] * len(self.raw)  # which clause (between commas, "dan", "and"...) each token is in
        for k in range(1, len(self.raw)):
            self.clauses[k] = self.clauses[k - 1] + self.separators[k - 1]
        self.free = [True] * len(self.raw)
        self.prefix_notes: list[tuple[int, int]] = []   # "iced" before a product named without it
        self.unknown_names: list[tuple[int, int]] = []  # "kue lumpur": a kind of product the shop has not

    def __len__(self) -> int:
        return len(self.raw)

    def take(self, i: int, j: int) -> None:
        """Tokens i..j are read: nothing else reads them."""
        for k in range(i, j):
            self.free[k] = False

    def take_chars(self, start: int, end: int) -> None:
        """The tokens overlapping characters start..end are read."""
        for k, (a, b) in enumerate(self.spans):
            if a < end and b > start:
                self.free[k] = False

    def words(self, i: int, j: int) -> str:
        """The customer's own text of tokens i..j."""
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
        """Whether token k separates clauses (a comma, "dan", "and", ...)."""
        return self.separators[k]

    def content(self) -> list[int]:
        """Free tokens that carry meaning (not fillers, not punctuation)."""
        return [k for k in range(len(self)) if self.free[k] and not self.is_separator(k)
                and not all(w in FILLER for w in self.canon[k])]


def read_numbers(msg: Message) -> dict[int, tuple[int, int]]:
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


def ones(msg: Message, spans: list[tuple[int, int]]) -> dict[int, tuple[int, int]]:
    """"a croissant", "an iced latte", "se-cup kopi": one, right before a product."""
    out = {}
    for i, _ in spans:
        k = i - 1
        while k >= 0 and msg.raw[k] in QUANTITY_SKIP and msg.raw[k] not in ("a", "an"):
            k -= 1
        if k >= 0 and msg.free[k] and msg.raw[k] in ("a", "an", "se", "one"):
            out[k] = (k + 1, 1)
    return out


def quantities(msg: Message, spans: list[tuple[int, int]], numbers: dict[int, tuple[int, int]],
               notes: frozenset[int] = frozenset()) -> list[int | None]:
    """The quantity said for each product span: before it ("2 kopi", "2x kopi") or after ("kopi 2", "kopi x2",
    "americano panas 1": the tokens of a note in between are skipped)."""
    ends = {end: start for start, (end, _) in numbers.items()}

    def before(i: int) -> int | None:
        k = i
        while k not in ends and k > 0 and msg.raw[k - 1] in QUANTITY_SKIP and k - 1 not in numbers:
            k -= 1
        return ends.get(k)

    def after(j: int) -> int | None:
        k = j
        while k < len(msg) and (msg.raw[k] in ("x", "nya", "sebanyak", "qty", "jumlah", "aja", "saja", "yang", "yg")
                                or k in notes) \
                and k not in numbers:
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
