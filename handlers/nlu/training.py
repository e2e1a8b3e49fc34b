"""Training the intent model: the YAML examples plus the shop's, TF-IDF and a linear
classifier per level (core intent, fine intents), a temperature fitted on out-of-fold
scores, cross-validated scores in ``model.meta``.

scikit-learn is imported inside the functions that fit: inference (``model.py``) never
needs it, and importing it would cost every process that only classifies 0.8 s CPU and
85 MB of memory.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import yaml

from .model import CORE_INTENTS, Model, char_wb_ngrams, model_text, word_ngrams

DATA_DIR = Path(__file__).resolve().parent / "data" / "intents"


def load_examples(data_dir: Path | str | None = None) -> dict[str, list[str]]:
    """Read ``<intent>.yaml`` files -> {label: [examples]} where label is a core intent
    or a fine intent (``faq.payment``) declared under ``fine_intents``."""
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
    """The core intent of a label (``faq`` for ``faq.payment``)."""
    return label.split(".", 1)[0]


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
