"""Text normalisation for informal Indonesian / English chat.

Pipeline (``normalize``):
  lowercase -> emoji to pseudo-words -> strip punctuation (keep digits, ``#``, ``-``
  inside words) -> collapse letter runs -> slang dictionary -> canonical tokens.

The same function is used for training and inference, so the classifier's word and
character n-grams always see the same canonical form.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from core.lexicon import EN_WORDS, ID_WORDS, SLANG

# Emoji -> pseudo words the classifier / sentiment can use.  Anything else in the
# "Symbol, other" category is dropped.
EMOJI_WORDS: dict[str, str] = {
    "🙏": "emjpray", "👍": "emjok", "👌": "emjok", "🙂": "emjsmile", "😊": "emjsmile",
    "😁": "emjsmile", "😀": "emjsmile", "😃": "emjsmile", "😄": "emjsmile", "🥰": "emjlove",
    "😍": "emjlove", "❤": "emjlove", "❤️": "emjlove", "💕": "emjlove", "🤩": "emjlove",
    "😂": "emjlaugh", "🤣": "emjlaugh", "😆": "emjlaugh", "😅": "emjsweat",
    "😡": "emjangry", "😠": "emjangry", "🤬": "emjangry", "😤": "emjangry", "👎": "emjbad",
    "😞": "emjsad", "😢": "emjsad", "😭": "emjsad", "😔": "emjsad", "🙁": "emjsad",
    "☹": "emjsad", "😩": "emjsad", "😫": "emjsad", "💔": "emjsad", "🤮": "emjbad",
    "🤢": "emjbad", "😒": "emjannoyed", "🙄": "emjannoyed", "👋": "emjwave", "🤔": "emjthink",
    "🛒": "emjcart", "☕": "emjcoffee", "📍": "emjpin", "🎉": "emjparty", "🔥": "emjfire",
}
NEGATIVE_EMOJI = {"emjangry", "emjbad", "emjsad", "emjannoyed"}

_WS = re.compile(r"\s+")
# keep letters, digits, '#', '+', ':' and '.' between digits, '-' and '/' inside words
_TOKEN = re.compile(r"[#+]?\d+(?:[:./-]\d+)*|[a-z]+(?:[-'][a-z]+)*|emj[a-z]+", re.UNICODE)
_RUN3 = re.compile(r"([a-z])\1{2,}")
_RUN2 = re.compile(r"([a-z])\1")

KNOWN: frozenset[str] = frozenset(ID_WORDS) | frozenset(EN_WORDS) | frozenset(SLANG) | frozenset(
    v for val in SLANG.values() for v in val.split()
)


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _emoji_sub(m: re.Match) -> str:
    return _emoji_to_words_slow(m.group(0))


def _emoji_to_words(text: str) -> str:
    if text.isascii():
        return text
    return _NON_ASCII.sub(_emoji_sub, text)


def _emoji_to_words_slow(text: str) -> str:
    out = []
    for ch in text:
        w = EMOJI_WORDS.get(ch)
        if w is not None:
            out.append(f" {w} ")
        elif ch.isascii() or ch.isalnum():
            out.append(ch)
        else:
            cat = unicodedata.category(ch)
            out.append(" " if cat[0] in "SPZC" else ch)
    return "".join(out)


@lru_cache(maxsize=65536)
def canon_word(w: str) -> str:
    """Collapse repeated letters ('bangettt' -> 'banget', 'kakkk' -> 'kak',
    'goood' -> 'good') and map slang to its canonical form ('gk' -> 'tidak')."""
    if w.startswith("emj") or not w.isalpha():
        return w
    w2 = _RUN3.sub(r"\1\1", w)
    if w2 not in KNOWN:
        w1 = _RUN2.sub(r"\1", w2)
        if w1 in KNOWN:
            w2 = w1
        elif len(w2) > 2 and w2[-1] == w2[-2] and w2[:-1] in KNOWN:
            w2 = w2[:-1]
    return SLANG.get(w2, w2)


def simple_tokens(text: str) -> list[str]:
    """Lowercased tokens with emoji words and collapsed letter runs but *no* slang
    mapping -- used for product matching against literal catalog names."""
    if not text:
        return []
    t = _emoji_to_words(text.lower())
    out = []
    for tok in _TOKEN.findall(t):
        if tok.isalpha():
            w2 = _RUN3.sub(r"\1\1", tok)
            if w2 not in KNOWN:
                w1 = _RUN2.sub(r"\1", w2)
                if w1 in KNOWN:
                    w2 = w1
            tok = w2
        out.append(tok)
    return out


def _split_affixes(tok: str) -> list[str]:
    # "pesananku" -> "pesanan ku", "kopinya" keeps (nya handled by char n-grams),
    # "ongkirnya" stays.  Reduplication "kak-kak" -> "kak".
    if "-" in tok and tok.replace("-", "").isalpha():
        a, _, b = tok.partition("-")
        if a == b:
            return [a]
        if a == "se":  # "se-cup" -> "se cup"
            return ["se", b]
        return [a, b]
    return [tok]


@lru_cache(maxsize=32768)
def normalize(text: str) -> str:
    """Canonical, space-joined token string used as model input."""
    if not text:
        return ""
    t = _emoji_to_words(text.lower())
    toks = []
    for raw in _TOKEN.findall(t):
        for tok in _split_affixes(raw):
            if tok.isalpha():
                c = canon_word(tok)
                if c:
                    toks.append(c)
            elif tok[0].isdigit() or tok[0] in "#+":
                # numbers: keep a shape token, not the exact value
                digits = re.sub(r"\D", "", tok)
                if tok.startswith("#"):
                    toks.append("numhash")
                elif len(digits) >= 9 and (digits.startswith("08") or digits.startswith("62")):
                    toks.append("numphone")
                elif ":" in tok or (("." in tok) and len(digits) in (3, 4)):
                    toks.append("numtime")
                elif len(digits) >= 5:
                    toks.append("numlong")
                else:
                    toks.append("numsmall")
            else:
                toks.append(tok)
    return " ".join(toks)


def tokens(text: str) -> list[str]:
    n = normalize(text)
    return n.split() if n else []
