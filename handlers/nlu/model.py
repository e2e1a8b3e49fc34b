"""Intent model: TF-IDF (word 1-2 grams + char_wb 2-5 grams over normalised text) and the
sentence embedding of the message (``core/encoder.py``) into a linear classifier, calibrated with
temperature scaling fitted on out-of-fold scores; and the negative-sentiment classifier
(logistic regression over the embedding and the lexicon's score).

The saved artifact holds only plain Python dicts and numpy arrays (no scikit-learn
objects), so loading it does not import scikit-learn: load is fast (~0.1 s) and the
process stays small.  Training (scikit-learn) is in ``training.py``; the per-process
cache of loaded models in ``store.py``.

Inference for one message is done by hand (vocabulary look-ups, sublinear TF * IDF,
L2 norm, ``x @ W + b``, softmax(z / T)), which gives exactly the same numbers as the
scikit-learn pipeline but ~20x faster per call.
"""
from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import encoder
from core.normalize import normalize
from .sentiment import NEGATIVE_THRESHOLD, lexicon_features, negative_score

CORE_INTENTS: tuple[str, ...] = (
    "order", "order_status", "cancel_order", "complaint", "faq", "promotion",
    "location", "greeting", "human_handoff", "other",
)
DEFAULT_MODEL_PATH = "data/nlu/model.joblib"
MODEL_FORMAT = 3
# Below this confidence the caller should ask a clarifying question or hand over
# (on the test set, predictions under 0.7 are right ~65% of the time, above 0.9 ~99%).
LOW_CONFIDENCE = 0.6

CHAR_NGRAMS = (2, 5)
_SUBLINEAR = [0.0] + [1.0 + math.log(i) for i in range(1, 256)]
WORD_NGRAMS = (1, 2)


NEG_TOKEN = "sentneg"


def encoder_text(text: str) -> str:
    """The encoder's input: the message as written, lower-cased, spaces collapsed (the
    normalised text was worse in cross-validation: it rewrites words the encoder knows)."""
    return " ".join((text or "").lower().split())


def model_text(text: str, norm: str | None = None, neg: float | None = None) -> str:
    """Classifier input: the normalised text, plus the pseudo-word ``sentneg`` when the
    lexicon sentiment is negative (helps separate complaints from status questions;
    +0.7 to +1.2 points of cross-validated macro-F1)."""
    if norm is None:
        norm = normalize(text or "")
    if not norm:
        return ""
    if neg is None:
        neg = negative_score(norm.split(), text or "")
    return f"{norm} {NEG_TOKEN}" if neg >= NEGATIVE_THRESHOLD else norm


def tfidf(ids: list[int], idf, scale: float) -> tuple[list[int], list[float]]:
    """The non-zero entries of a TF-IDF vector from the vocabulary ids of a document's terms, as
    scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` makes it (L2-normalised), times ``scale``."""
    if not ids:
        return [], []
    cnt = Counter(ids)
    sub = _SUBLINEAR
    vs = [(sub[c] if c < 256 else 1.0 + math.log(c)) * idf[k] for k, c in cnt.items()]
    nrm = scale / math.sqrt(sum([x * x for x in vs]))
    return list(cnt), [x * nrm for x in vs]


# --------------------------------------------------------------------------- analyzers
def word_ngrams(doc: str) -> list[str]:
    """Word 1-2 grams of an already normalised string."""
    toks = doc.split()
    out = list(toks)
    out.extend(f"{a} {b}" for a, b in zip(toks, toks[1:]))
    return out


def char_wb_ngrams(doc: str, lo: int = CHAR_NGRAMS[0], hi: int = CHAR_NGRAMS[1]) -> list[str]:
    """Same n-grams as scikit-learn's ``analyzer='char_wb'`` (words padded with spaces)."""
    out: list[str] = []
    app = out.append
    for w in doc.split():
        w = f" {w} "
        wl = len(w)
        for n in range(lo, hi + 1):
            if wl <= n:
                app(w)
                break
            for i in range(wl - n + 1):
                app(w[i:i + n])
    return out


# --------------------------------------------------------------------------- model
@dataclass
class Model:
    """Columns of ``W``/``b``: the 10 core intents (CORE_INTENTS order), the shop's custom intents
    (``custom``, classes of the core classifier too), then the columns of the per-core fine-intent
    classifiers (``fine_groups``)."""

    labels: list[str]                 # column labels
    fine_groups: dict[str, list[int]]  # core -> its fine-classifier columns
    vocab_w: dict[str, int]
    idf_w: np.ndarray
    vocab_c: dict[str, int]
    idf_c: np.ndarray
    W: np.ndarray                     # (n_word + n_char, n_columns) float32
    b: np.ndarray                     # (n_columns,)
    temperature: float = 1.0
    char_weight: float = 1.0
    word_weight: float = 1.0
    meta: dict[str, Any] = field(default_factory=dict)
    format: int = MODEL_FORMAT
    E: np.ndarray | None = None       # (encoder.DIM, n_columns) float32: weights of the embedding
    dense_weight: float = 0.0          # the embedding's scale in the feature vector
    # P(negative): {"w": (DIM + 2,), "b", "threshold"} and, for the word n-grams, "vocab", "idf", "v"
    negative: dict[str, Any] | None = None
    custom: tuple[str, ...] = ()        # "<core>.<name>" of each custom intent column, after the cores

    def __post_init__(self) -> None:
        self._setup()

    def _setup(self) -> None:
        self._nw = len(self.vocab_w)
        self._b64 = self.b.astype(np.float64)
        self._W64 = np.ascontiguousarray(self.W, dtype=np.float64)  # stored float32, used float64
        self._E64 = None if self.E is None else np.ascontiguousarray(self.E, dtype=np.float64) * self.dense_weight
        self._idf_w = self.idf_w.tolist()  # Python lists: faster scalar indexing
        self._idf_c = self.idf_c.tolist()
        self._nc = len(CORE_INTENTS) + len(self.custom)
        # The custom intents' columns under each core intent, for adding them up into it.
        self._custom_of: dict[int, list[int]] = {}
        for j, label in enumerate(self.custom):
            self._custom_of.setdefault(CORE_INTENTS.index(label.split(".", 1)[0]), []).append(len(CORE_INTENTS) + j)
        self._cache: dict[str, tuple] = {}
        self._wcache: dict[str, tuple[int, ...]] = {}
        words = self.negative is not None and "vocab" in self.negative
        self._negative_idf = np.asarray(self.negative["idf"], dtype=np.float64).tolist() if words else None
        self._negative_v = np.asarray(self.negative["v"], dtype=np.float64).tolist() if words else None

    def __getstate__(self):
        d = dict(self.__dict__)
        for k in [k for k in d if k.startswith("_")]:
            del d[k]
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self._setup()

    # ---------------------------------------------------------------- inference
    def _char_ids(self, words: list[str]) -> list[int]:
        """Vocabulary ids of the char_wb n-grams of each word (cached per word)."""
        out: list[int] = []
        wc = self._wcache
        get = self.vocab_c.get
        for w in words:
            ids = wc.get(w)
            if ids is None:
                ids = tuple(j for j in map(get, char_wb_ngrams(w)) if j is not None)
                if len(wc) >= 50000:
                    wc.clear()
                wc[w] = ids
            out.extend(ids)
        return out

    def embedding(self, text: str) -> np.ndarray | None:
        """The message's sentence embedding, or None when this model uses none."""
        if self._E64 is None and self.negative is None:
            return None
        return encoder.embed(encoder_text(text))

    def logits(self, norm_text: str, emb: np.ndarray | None) -> np.ndarray:
        """Raw decision scores of all columns: the n-gram part plus ``emb @ E * dense_weight``."""
        z = self.logits_normalized(norm_text)
        if self._E64 is not None and emb is not None:
            z = z + emb @ self._E64
        return z

    def logits_normalized(self, norm_text: str) -> np.ndarray:
        """Decision scores from the n-grams of an already normalised text:
        ``[tfidf_word(x) * ww, tfidf_char(x) * wc] @ W + b`` with sublinear TF and each
        block L2-normalised, exactly as the scikit-learn pipeline used in training."""
        if not norm_text:
            return self._b64.copy()
        idx: list[int] = []
        val: list[float] = []
        if self.word_weight:
            ids, vs = tfidf([j for j in map(self.vocab_w.get, word_ngrams(norm_text)) if j is not None],
                            self._idf_w, self.word_weight)
            idx.extend(ids)
            val.extend(vs)
        if self.char_weight:
            ids, vs = tfidf(self._char_ids(norm_text.split()), self._idf_c, self.char_weight)
            off = self._nw
            idx.extend([k + off for k in ids])
            val.extend(vs)
        if not idx:
            return self._b64.copy()
        return np.array(val) @ self._W64[idx] + self._b64

    def read(self, text: str, norm: str | None = None, lexicon: tuple[float, float] | None = None):
        """-> (core probabilities in CORE_INTENTS order, fine intent or None, P(negative)).

        ``norm`` and ``lexicon`` (``sentiment.lexicon_features``) are computed when not given."""
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        if norm is None:
            norm = normalize(text or "")
        if lexicon is None:
            lexicon = lexicon_features(norm.split(), text or "") if norm else (0.0, 0.0)
        emb = self.embedding(text) if norm else None
        doc = model_text(text, norm, lexicon[0])
        z = self.logits(doc, emb)
        zc = z[: self._nc] / self.temperature
        zc -= zc.max()
        q = np.exp(zc)
        q /= q.sum()
        p = q[: len(CORE_INTENTS)].copy()
        for k, columns in self._custom_of.items():
            p[k] += q[columns].sum()
        k = int(p.argmax())
        core = CORE_INTENTS[k]
        fine = None
        mine = self._custom_of.get(k)
        if mine and q[mine].max() > q[k]:  # the shop's own intent, when it is likelier than the core's other examples
            fine = self.labels[mine[int(np.argmax(q[mine]))]]
        cols = None if fine else self.fine_groups.get(core)
        if cols:
            best = cols[int(np.argmax(z[cols]))]
            if self.labels[best] != core:
                fine = self.labels[best]
        res = (p, fine, self.negative_probability(emb, lexicon, doc))
        if len(self._cache) >= 4096:
            try:  # drop the oldest entry; tolerate concurrent use from threads
                self._cache.pop(next(iter(self._cache)), None)
            except (RuntimeError, StopIteration):
                self._cache.clear()
        self._cache[text] = res
        return res

    def negative_probability(self, emb: np.ndarray | None, lexicon: tuple[float, float], doc: str = "") -> float:
        """P(the writer is unhappy): the trained classifier (embedding, word list and, when it has a
        vocabulary, the word n-grams of ``doc``, the ``model_text``), or the word list's score without one."""
        if self.negative is None or emb is None:
            return float(lexicon[0])
        negative = self.negative
        w = negative["w"]
        z = float(emb @ w[:-2] + lexicon[0] * w[-2] + lexicon[1] * w[-1] + negative["b"])
        if self._negative_v is not None and doc:
            ids, vs = tfidf([j for j in map(negative["vocab"].get, word_ngrams(doc)) if j is not None],
                            self._negative_idf, 1.0)
            v = self._negative_v
            z += sum([x * v[k] for k, x in zip(ids, vs)])
        return 1.0 / (1.0 + math.exp(-z))

    def is_negative(self, probability: float) -> bool:
        """Whether a P(negative) from ``read`` counts as negative (the threshold chosen in training)."""
        return probability >= (self.negative["threshold"] if self.negative else NEGATIVE_THRESHOLD)

    def predict(self, text: str) -> tuple[str, str | None, float, dict[str, float]]:
        """-> (core intent, fine intent or None, confidence, {core: prob})."""
        p, fine, _ = self.read(text or "")
        k = int(p.argmax())
        return CORE_INTENTS[k], fine, float(p[k]), dict(zip(CORE_INTENTS, p.tolist()))

    # ---------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike | None = None) -> Path:
        import joblib

        p = Path(path or DEFAULT_MODEL_PATH)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + f".tmp{os.getpid()}")
        joblib.dump(self, tmp)
        os.replace(tmp, p)
        return p


def load_model(path: str | os.PathLike | None = None) -> Model:
    import joblib

    m = joblib.load(Path(path or DEFAULT_MODEL_PATH))
    if not isinstance(m, Model) or getattr(m, "format", None) != MODEL_FORMAT:
        raise ValueError(f"{path}: not a Sapa NLU model of format {MODEL_FORMAT}")
    return m
