"""Lexicon-based negative-sentiment scorer for informal Indonesian and English chat,
with intensifiers ("bgt", "parah", "very") and negation ("gak kecewa kok", "not bad",
"gak enak").  Works on the normalised token sequence from ``normalize``."""
from __future__ import annotations

import math

from core.normalize import NEGATIVE_EMOJI

NEGATIVE_THRESHOLD = 0.5

# canonical token -> negative weight
NEG: dict[str, float] = {
    # Indonesian
    "kecewa": 0.9, "mengecewakan": 0.9, "dikecewakan": 0.9, "parah": 0.6, "zonk": 0.9,
    "menyesal": 0.9, "kapok": 0.9, "tumpah": 0.6, "basi": 0.9, "jamuran": 0.9, "busuk": 0.9,
    "rusak": 0.7, "cacat": 0.7, "pecah": 0.6, "retak": 0.6, "penyok": 0.6, "sobek": 0.6, "robek": 0.6,
    "bocor": 0.6, "hancur": 0.7, "berantakan": 0.5, "luntur": 0.5, "gosong": 0.5, "hambar": 0.5,
    "asem": 0.3, "keras": 0.3, "encer": 0.4, "kemanisan": 0.4, "keasinan": 0.4, "dingin": 0.15,
    "jelek": 0.7, "buruk": 0.8, "kesal": 0.8, "marah": 0.7, "emosi": 0.6, "geram": 0.8, "jengkel": 0.8,
    "sedih": 0.5, "nyebelin": 0.7, "payah": 0.6, "lambat": 0.5, "terlambat": 0.5, "kelamaan": 0.6,
    "lama": 0.4, "salah": 0.45, "ketuker": 0.5, "tertukar": 0.5, "hilang": 0.5, "nyasar": 0.4,
    "kurang": 0.25, "palsu": 0.7, "kw": 0.4, "tipu": 0.9, "penipu": 1.0, "penipuan": 1.0, "nipu": 0.9,
    "bohong": 0.7, "php": 0.6, "kasar": 0.7, "jutek": 0.7, "judes": 0.7, "komplain": 0.5,
    "refund": 0.3, "mahal": 0.25, "kemahalan": 0.5, "ribet": 0.35, "susah": 0.25, "gila": 0.3,
    "anjir": 0.6, "anjing": 0.8, "bangsat": 0.9, "tai": 0.7, "sialan": 0.8, "kampret": 0.7,
    "brengsek": 0.9, "goblok": 0.8, "bego": 0.7, "tolol": 0.8, "ampun": 0.3, "astaga": 0.3,
    "aduh": 0.2, "waduh": 0.25, "capek": 0.3, "males": 0.3, "bete": 0.6, "kecoak": 0.6, "semut": 0.3,
    "rambut": 0.2, "lalat": 0.4, "ulat": 0.4, "bau": 0.5, "aneh": 0.3, "ganti rugi": 0.6,
    # the state of food or a store ("udah keras kayak sisa kemarin", "toiletnya kotor", "rasanya asam")
    "kotor": 0.6, "jorok": 0.7, "apek": 0.6, "pesing": 0.7, "sisa kemarin": 0.5, "asam": 0.3, "alot": 0.4,
    "ngecewain": 0.9, "nyesek": 0.6, "bintang satu": 0.8,
    # English
    "bad": 0.6, "terrible": 0.9, "awful": 0.9, "worst": 1.0, "horrible": 0.9, "disappointed": 0.9,
    "disappointing": 0.9, "angry": 0.8, "upset": 0.7, "unacceptable": 0.9, "rude": 0.7,
    "broken": 0.7, "damaged": 0.7, "spilled": 0.6, "stale": 0.8, "rotten": 0.9, "spoiled": 0.8,
    "expired": 0.6, "wrong": 0.45, "missing": 0.45, "late": 0.45, "slow": 0.45, "cold": 0.2,
    "scam": 1.0, "fake": 0.7, "poor": 0.6, "useless": 0.7, "annoyed": 0.7, "annoying": 0.7,
    "frustrated": 0.8, "hate": 0.8, "disgusting": 0.9, "gross": 0.7, "never": 0.15, "complaint": 0.5,
    "cracked": 0.6, "leaking": 0.5, "shrank": 0.5, "overcharged": 0.7, "wtf": 0.7, "sucks": 0.8,
    "crap": 0.7, "damn": 0.4, "ugh": 0.4, "dirty": 0.6, "filthy": 0.8, "smelly": 0.6, "stinks": 0.7,
    "sour": 0.6, "soggy": 0.5, "burnt": 0.5, "undercooked": 0.6, "tasteless": 0.5,
}
NEG.update({e: 0.7 for e in NEGATIVE_EMOJI})
NEG["emjsad"] = 0.5

# positive words: reduce the score; negated ("gak enak", "not good") they become negative
POS: dict[str, float] = {
    "enak": 0.6, "mantap": 0.7, "bagus": 0.6, "puas": 0.7, "suka": 0.5, "senang": 0.5, "cepat": 0.4,
    "ramah": 0.5, "sesuai": 0.4, "recommended": 0.7, "makasih": 0.3, "thanks": 0.3, "keren": 0.5,
    "good": 0.5, "great": 0.7, "nice": 0.5, "love": 0.6, "awesome": 0.7, "amazing": 0.7, "excellent": 0.8,
    "delicious": 0.7, "tasty": 0.6, "happy": 0.6, "satisfied": 0.7, "perfect": 0.8, "fast": 0.4,
    "emjlove": 0.5, "emjsmile": 0.3, "emjok": 0.3, "lumayan": 0.3, "aman": 0.3, "original": 0.2,
    "fresh": 0.4, "rapi": 0.4, "wangi": 0.3, "lembut": 0.3, "worth": 0.5, "mantul": 0.7, "top": 0.4,
    "datang": 0.0, "sampai": 0.0, "balas": 0.0, "respon": 0.0, "jalan": 0.0, "bisa": 0.0, "ada": 0.0,
    "work": 0.0, "working": 0.0, "arrived": 0.0, "nyala": 0.0, "dibalas": 0.0, "lengkap": 0.2,
    "pas": 0.2, "fit": 0.2, "matang": 0.1, "mateng": 0.1, "dikirim": 0.0,
}
# negated words that are neutral on their own but negative when negated
NEGATED_NEG: dict[str, float] = {
    "datang": 0.35, "sampai": 0.3, "balas": 0.45, "dibalas": 0.45, "respon": 0.45, "bisa": 0.15,
    "ada": 0.15, "work": 0.5, "working": 0.5, "arrived": 0.45, "nyala": 0.5, "jalan": 0.2,
    "lengkap": 0.6, "pas": 0.4, "fit": 0.4, "matang": 0.5, "mateng": 0.5, "dikirim": 0.3,
    "sesuai": 0.7, "enak": 0.7, "bagus": 0.6, "puas": 0.8, "good": 0.6, "ramah": 0.6,
    "fresh": 0.6, "happy": 0.7, "satisfied": 0.8, "original": 0.6, "cepat": 0.4, "fast": 0.4,
}
NEGATORS = frozenset("tidak bukan jangan belum not no never kurang without nothing".split())
INTENSIFIERS = {
    "banget": 1.6, "sangat": 1.5, "sekali": 1.4, "parah": 1.5, "bener": 1.3, "benar": 1.3, "pol": 1.5,
    "very": 1.5, "so": 1.3, "really": 1.4, "extremely": 1.7, "super": 1.4, "totally": 1.4, "terlalu": 1.3,
    "abis": 1.3, "gila": 1.4, "amat": 1.4, "berat": 1.4, "too": 1.3,
}
# negator followed by these does not negate the next word ("gak sabar", "tidak lama")
_SOFT = frozenset("lama".split())
# Swear words that are animals first: "boleh bawa anjing?" and "anjing saya" mean the dog.
ANIMALS = frozenset("anjing babi monyet".split())
_LITERAL_BEFORE = frozenset("bawa bawain ajak ajakin makanan hewan peliharaan pet daging mengandung minyak ras "
                            "kandang jenis sama".split())
_LITERAL_AFTER = frozenset("saya aku ku gue gw kami kita peliharaan kecil".split())


def _literal_animal(tokens: list[str], i: int) -> bool:
    """Whether the animal word at i is the animal, not a curse ("bawa anjing", "anjing saya")."""
    return (i > 0 and tokens[i - 1] in _LITERAL_BEFORE) or (i + 1 < len(tokens) and tokens[i + 1] in _LITERAL_AFTER)


def negative_score(tokens: list[str], raw: str = "") -> float:
    """-> score in [0, 1]; >= NEGATIVE_THRESHOLD means negative."""
    return lexicon_features(tokens, raw)[0]


def lexicon_features(tokens: list[str], raw: str = "") -> tuple[float, float]:
    """-> (the negative score in [0, 1], the weight of negative words denied: "gak kecewa kok" 0.9).

    The second tells a classifier over sentence embeddings what they miss: a denied complaint
    embeds close to the complaint itself."""
    if not tokens:
        return 0.0, 0.0
    neg = 0.0
    pos = 0.0
    denied = 0.0
    n = len(tokens)
    for i, t in enumerate(tokens):
        if i + 1 < n:
            wb = NEG.get(f"{t} {tokens[i + 1]}")
            if wb:
                neg += wb
        wn = NEG.get(t)
        wp = POS.get(t)
        if wn is None and wp is None or t in ANIMALS and _literal_animal(tokens, i):
            continue
        # negation within the previous two tokens (skipping particles)
        negated = False
        for j in (i - 1, i - 2):
            if j >= 0 and tokens[j] in NEGATORS:
                negated = True
                break
            if j >= 0 and tokens[j] not in ("terlalu", "begitu", "terus", "pernah", "sama", "juga", "too", "that", "so", "very", "be", "is", "was", "sangat"):
                break
        # intensifier right after or right before
        mult = 1.0
        for j in (i + 1, i - 1, i + 2):
            if 0 <= j < n and tokens[j] in INTENSIFIERS and tokens[j] != t:
                mult = max(mult, INTENSIFIERS[tokens[j]])
        if negated:
            if wn is not None and wn > 0:
                pos += 0.2 * wn  # "gak kecewa kok", "not bad"
                denied += wn
            if t in NEGATED_NEG:
                neg += NEGATED_NEG[t] * mult
            continue
        if wn is not None:
            neg += wn * mult
        if wp:
            pos += wp * mult
    # shouting / repeated punctuation
    if raw and neg > 0:
        if "!!" in raw or "??" in raw:
            neg *= 1.15
        letters = sum(map(str.isalpha, raw))
        if letters >= 8 and sum(map(str.isupper, raw)) / letters > 0.7:
            neg *= 1.2
    raw_score = neg - 0.6 * pos
    score = 0.0 if raw_score <= 0 else round(1.0 - math.exp(-1.2 * raw_score), 4)
    return score, min(denied, 1.0)
