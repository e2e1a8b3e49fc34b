"""Lexicon-based language identification: "id", "en" or "mixed"."""
from __future__ import annotations

import re

from core.lexicon import EN_WORDS, ID_WORDS, LOAN_WORDS, SLANG

from .entities import extract_addresses

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_RUN3 = re.compile(r"([a-z])\1{2,}")
_ID = (frozenset(ID_WORDS) | frozenset(SLANG)) - LOAN_WORDS
_EN = frozenset(EN_WORDS) - LOAN_WORDS
# words present in both lists count for neither ("a", "di"... are resolved below)
_BOTH = _ID & _EN
_ID_ONLY = _ID - _BOTH
_EN_ONLY = _EN - _BOTH
_ID_SUFFIX = re.compile(r"^[a-z]{3,}(?:nya|kah|lah|kan|in)$|^(?:di|ke|ber|me|mem|men|meng|ter|pe|per|se)[a-z]{4,}$")
_EN_SUFFIX = re.compile(r"^[a-z]{3,}(?:ing|tion|ed|ly|ness)$")


# Said alike by Indonesian and English speakers: a message of only these keeps the language
# the customer wrote in before.
_EITHER = LOAN_WORDS | frozenset("stop yes no sorry thx tq ty hi hey ya".split())
_EN_GREETINGS = frozenset("hello hello hey morning evening afternoon".split())


def _evidence(text: str) -> tuple[float, float]:
    """How many words look Indonesian and how many English."""
    n_id = n_en = 0.0
    low = text.lower()
    for raw, w in zip(_WORD.findall(low), _WORD.findall(_RUN3.sub(r"\1", low))):
        if w in _ID_ONLY or raw in _ID_ONLY:
            n_id += 1
        elif w in _EN_ONLY or raw in _EN_ONLY:
            n_en += 1
        elif w in LOAN_WORDS or w in _BOTH:
            continue
        elif _ID_SUFFIX.match(w):
            n_id += 0.5
        elif _EN_SUFFIX.match(w):
            n_en += 0.5
    return n_id, n_en


def detect_language(text: str) -> str:
    """'id' (default when there is no evidence), 'en' or 'mixed'."""
    if not text:
        return "id"
    n_id, n_en = _evidence(text)
    total = n_id + n_en
    if total == 0:
        return "id"
    share_en = n_en / total
    if n_id >= 1 and n_en >= 1 and 0.2 <= share_en <= 0.8:
        return "mixed"
    if share_en > 0.5:
        return "en"
    return "id"


def reply_language(text: str, previous: str | None = None) -> str | None:
    """The language to answer this message in, or None when it could be either ("ok", "stop", 👍).

    One word of evidence ("jl", "iya") does not switch away from the language the customer
    wrote in `previous`ly, and an address is no evidence: an English speaker typing "Jl. Kemang
    Raya No. 10, Jakarta Selatan" stays English.
    """
    if previous:
        for address in extract_addresses(text):
            text = text.replace(address, " ")
    words = _WORD.findall(text.lower())
    if not words or all(w in _EITHER for w in words):
        return None
    n_id, n_en = _evidence(text)
    if words[0] in _EN_GREETINGS and not n_id:
        return "en"
    if n_id + n_en == 0 or (previous and n_id + n_en < 2 and (n_id if previous == "en" else n_en)):
        return None
    if n_id == n_en:
        return None  # as much of one as of the other: keep the customer's language
    language = detect_language(text)
    return language if language in ("id", "en") else ("id" if n_id > n_en else "en")


_QUESTION_STARTS = frozenset("apa apakah berapa brp bisa bs ada jam kapan dimana gimana bagaimana kenapa mengapa "
                             "can could do does what how when where is are which why".split())
# Words that ask wherever they stand ("poin member gmn cara ngumpulinnya", "itu statusnya apa ya").
_QUESTION_WORDS = frozenset("apakah berapa brp kapan kpn dimana dmn gimana gmn gmna bagaimana bgmn kenapa knp mengapa "
                            "how what when where why".split())
_ASKING_PHRASES = ("di mana", "apa aja", "apa saja", "apa ya", "apa sih", "apa gak", "apa nggak", "apa ga ")
# Said before the question itself: "kak, bisa qris?", "halo min, jam berapa buka?".
_ADDRESS_WORDS = frozenset("kak ka kakak min mimin admin gan sis bang mas mbak halo hallo hai hi hello permisi "
                           "eh oh um".split())
# Question words that ask for information rather than ask for something to be done ("bisa"/"can" request).
_WH_WORDS = frozenset("apa apakah berapa brp kapan dimana gimana gmn bagaimana kenapa mengapa "
                      "how what when where why which".split())


def words_after_greeting(text: str) -> list[str]:
    """The words of a message after the greeting or name it opens with ("kak, ada thai tea?" -> ada thai tea)."""
    words = _WORD.findall(text.lower())
    while words and words[0] in _ADDRESS_WORDS:
        words = words[1:]
    return words


def looks_like_question(text: str) -> bool:
    """True for a question: a question mark, a question word first ("bisa qris", "where is…"), or one that asks anywhere."""
    words = words_after_greeting(text)
    low = f"{text.lower()} "
    return "?" in text or bool(words and words[0] in _QUESTION_STARTS) or bool(_QUESTION_WORDS & set(words)) \
        or any(phrase in low for phrase in _ASKING_PHRASES)


def asks_for_information(text: str) -> bool:
    """True for a wh-question ("how many calories…", "berapa lama…"), which asks to know, not to get something."""
    words = words_after_greeting(text)
    return bool(words and words[0] in _WH_WORDS)
