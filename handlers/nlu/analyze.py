"""``analyze()``: intent + confidence, language, sentiment and entities for one message."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from core.normalize import normalize

from .entities import Entities, extract_entities
from .lang import detect_language
from .model import CORE_INTENTS, Model
from .products import CatalogMatcher, catalog_matcher
from .sentiment import lexicon_features
from .store import get_model

MAX_CHARS = 2000  # longer texts are truncated (head) before analysis


@dataclass(frozen=True)
class Analysis:
    text: str
    intent: str            # one of CORE_INTENTS
    fine_intent: str | None
    confidence: float
    lang: str              # "id" | "en" | "mixed"
    negative: bool
    negative_score: float
    entities: Entities
    scores: dict[str, float] = field(default_factory=dict)  # per core intent probability


_EMPTY_SCORES = {c: (1.0 if c == "other" else 0.0) for c in CORE_INTENTS}


def analyze(
    text: str,
    *,
    catalog: Sequence[str] | Mapping[str, Sequence[str]] | CatalogMatcher = (),
    model: Model | None = None,
    today: date | None = None,
) -> Analysis:
    """Understand one inbound customer message.

    Text with nothing to classify (empty, whitespace, ``None``, punctuation only) gives
    intent ``other`` with confidence 1.0.  Emoji-only text is classified (emoji are
    mapped to pseudo-words, e.g. 😡 counts as negative).  Texts longer than
    ``MAX_CHARS`` are analysed on their first ``MAX_CHARS`` characters.
    ``catalog`` is a list of product names or {name: [aliases]}; the fuzzy matcher is
    built once per distinct catalog and cached (a prebuilt ``CatalogMatcher`` works too).
    """
    if text is None:
        text = ""
    elif not isinstance(text, str):
        text = str(text)
    t = text[:MAX_CHARS]
    norm = normalize(t)
    if not norm:
        return Analysis(text, "other", None, 1.0, detect_language(t), False, 0.0, Entities(), dict(_EMPTY_SCORES))
    m = model if model is not None else get_model()
    p, fine, negative = m.read(t, norm, lexicon_features(norm.split(), t))
    k = int(p.argmax())
    ents = extract_entities(t, catalog_matcher(catalog) if catalog else None, today)
    return Analysis(
        text=text,
        intent=CORE_INTENTS[k],
        fine_intent=fine,
        confidence=round(float(p[k]), 4),
        lang=detect_language(t),
        negative=m.is_negative(negative),
        negative_score=round(negative, 4),
        entities=ents,
        scores=dict(zip(CORE_INTENTS, p.round(6).tolist())),
    )
