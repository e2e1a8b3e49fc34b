"""Training the models: the YAML examples plus the shop's plus public data (``data/public``,
see DATA.md); TF-IDF and the sentence embedding into a linear classifier per level (core
intent, fine intents), a temperature fitted on out-of-fold scores, cross-validated scores in
``model.meta``; and the negative-sentiment classifier.

Cross-validation folds our examples and the public ones alike; the settings are chosen on the
mean of both scores (shop chat and messages written by others count alike).

scikit-learn is imported inside the functions that fit: inference (``model.py``) never
needs it, and importing it would cost every process that only classifies 0.8 s CPU and
85 MB of memory.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import yaml

from core import encoder
from core.normalize import normalize

from .model import CORE_INTENTS, Model, char_wb_ngrams, encoder_text, model_text, word_ngrams
from .sentiment import NEGATIVE_THRESHOLD, lexicon_features

DATA_DIR = Path(__file__).resolve().parent / "data" / "intents"
# Shop talk labelled with intent and negative per message (BRIEF.md there), written for training by
# someone who had read neither our examples nor the test sets; part of the repo's data (DATA_DIR).
LABELLED_DIR = DATA_DIR.parent / "shop_talk"
# Public training data, rebuilt by scripts/public_data.py from dataset snapshots (DATA.md); absent
# on a fresh clone, where training uses our and the shop's examples and the shipped model the rest.
PUBLIC_DIR = Path(__file__).resolve().parent / "data" / "public" / "train"
PUBLIC_MANIFEST = PUBLIC_DIR.parent / "manifest.json"
# Our own examples that say whether the writer is unhappy: complaints are, these are not; status
# questions, cancels, requests for a person and the rest can be either (LABELS.md): those the word
# list does not find negative are not ("pesanan saya kok belum sampai ya"), the others are left out.
NOT_NEGATIVE_INTENTS = ("order", "faq", "promotion", "location", "greeting")


def data_fingerprint() -> str:
    """A hash of everything the default model is trained from (our examples, the public data as
    its manifest pins it, the settings of the default variant): the shipped model is current while
    it matches. The public texts themselves are not in the repo (DATA.md), their manifest is."""
    digest = hashlib.sha256(json.dumps([VARIANTS[DEFAULT_VARIANT], NEGATIVE, encoder.VERSION]).encode())
    for f in sorted(DATA_DIR.glob("*.yaml")) + sorted(LABELLED_DIR.glob("*.jsonl")) + [PUBLIC_MANIFEST]:
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()


def load_labelled() -> list[dict]:
    """The labelled shop talk: ``{"text", "intent", "negative"}`` rows."""
    rows = []
    for f in sorted(LABELLED_DIR.glob("*.jsonl")):
        for number, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(line)
            if row.get("intent") not in CORE_INTENTS or not isinstance(row.get("negative"), bool):
                raise ValueError(f"{f}:{number}: needs a core intent and a true/false negative")
            rows.append(row)
    return rows


def load_examples(data_dir: Path | str | None = None) -> dict[str, list[str]]:
    """Read ``<intent>.yaml`` files -> {label: [examples]} where label is a core intent
    or a fine intent (``faq.payment``) declared under ``fine_intents``; the repo's own data
    (no ``data_dir``) adds the labelled shop talk."""
    d = Path(data_dir) if data_dir else DATA_DIR
    out: dict[str, list[str]] = {}
    if data_dir is None:
        for row in load_labelled():
            out.setdefault(row["intent"], []).append(row["text"])
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


# dense: the embedding's weight (0 = none); public: examples kept per public label (0 = none).
# public_weight: the sample weight of a public example (ours weigh 1); public_other: examples kept per
# public label mapped to `other` (thousands of off-topic requests otherwise make any unfamiliar
# wording look off-topic). The public settings of "svm" and NEGATIVE below are the cross-validated
# best of the grid in bench/nlu_cv.py.
VARIANTS = {
    "ngrams": {"clf": "svm", "C": 0.5, "char": True, "word": True, "dense": 0.0, "public": 0, "public_weight": 0.0},
    "svm": {"clf": "svm", "C": 1.0, "char": True, "word": True, "dense": 1.0, "public": 120, "public_weight": 1.0,
            "public_other": 5},
    "lr": {"clf": "lr", "C": 10.0, "char": True, "word": True, "dense": 1.0, "public": 60, "public_weight": 1.0,
           "public_other": 5},
}
DEFAULT_VARIANT = "svm"
# The negative classifier: C of its logistic regression, public sentiment examples kept per file,
# the sample weight of ours (the public ones weigh 1), the scale of its word n-grams, and whose
# out-of-fold F1 picks its threshold ("own": ours; "both": the mean of ours and the public rows').
NEGATIVE = {"C": 3.0, "public": 6000, "own_weight": 4.0, "words": 1.0, "threshold_on": "both"}


def _custom(custom_intents) -> list[tuple[str, dict]]:
    """(label, spec) of each shop custom intent; the label is ``<core>.<name>``, or the core itself."""
    out = []
    for name, spec in (custom_intents or {}).items():
        if not isinstance(spec, dict):  # e.g. a pydantic model
            spec = spec.model_dump() if hasattr(spec, "model_dump") else dict(vars(spec))
        core = spec.get("core") or core_of(name)
        if core not in CORE_INTENTS:
            raise ValueError(f"custom intent {name!r}: core must be one of {CORE_INTENTS}, got {core!r}")
        out.append((name if name in CORE_INTENTS or name.startswith(core + ".") else f"{core}.{name}", spec))
    return out


def custom_labels(custom_intents) -> list[str]:
    """The shop's own intents that the core classifier learns as classes of their own (not a bare core)."""
    return sorted({label for label, _ in _custom(custom_intents) if label not in CORE_INTENTS})


def _collect(extra_examples, custom_intents, data_dir) -> dict[str, list[str]]:
    data = load_examples(data_dir)
    for intent, exs in (extra_examples or {}).items():
        if core_of(intent) not in CORE_INTENTS:
            raise ValueError(f"extra_examples: unknown intent {intent!r}")
        data.setdefault(intent, []).extend(str(x) for x in exs or [])
    for label, spec in _custom(custom_intents):
        data.setdefault(label, []).extend(str(x) for x in spec.get("examples") or [])
    data = {k: v for k, v in data.items() if v}
    missing = [c for c in CORE_INTENTS if not any(core_of(k) == c for k in data)]
    if missing:
        raise ValueError(f"no training examples for core intents {missing}")
    return data


def _stable_order(text: str) -> str:
    """A fixed pseudo-random order (the same on every machine) for sampling public data."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def load_public_intents(per_label: int, per_other_label: int | None = None,
                        public_dir: Path | None = None) -> list[tuple[str, str]]:
    """(text, core intent) from the public training files, at most ``per_label`` per source label
    (``per_other_label`` for labels mapped to `other`: weather, banking, alarms...)."""
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for f in sorted((public_dir or PUBLIC_DIR).glob("intents_*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            key = (f.stem, f"{row.get('bot', '')}/{row['source_label']}")
            groups.setdefault(key, []).append((row["text"], row["intent"]))
    out: list[tuple[str, str]] = []
    for key in sorted(groups):
        rows = groups[key]
        cap = per_label if per_other_label is None or rows[0][1] != "other" else per_other_label
        out.extend(sorted(rows, key=lambda r: _stable_order(r[0]))[:cap])
    return out


def load_public_sentiment(per_file: int, public_dir: Path | None = None) -> list[tuple[str, bool]]:
    """(text, negative) from the public sentiment files, at most ``per_file`` from each, half negative where they can."""
    out: list[tuple[str, bool]] = []
    for f in sorted((public_dir or PUBLIC_DIR).glob("sentiment_*.jsonl")):
        rows = [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines()]
        rows = [(r["text"], bool(r["negative"])) for r in rows if r["text"]]
        for negative in (True, False):
            side = sorted((r for r in rows if r[1] is negative), key=lambda r: _stable_order(r[0]))
            out.extend(side[:per_file // 2])
    return out


def _fit_vectorizers(docs):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vw = TfidfVectorizer(analyzer=word_ngrams, sublinear_tf=True, lowercase=False).fit(docs)
    vc = TfidfVectorizer(analyzer=char_wb_ngrams, sublinear_tf=True, lowercase=False).fit(docs)
    return vw, vc


def _transform(vw, vc, docs, cfg, emb=None):
    from scipy import sparse

    blocks = [vw.transform(docs) * (1.0 if cfg["word"] else 0.0), vc.transform(docs) * (1.0 if cfg["char"] else 0.0)]
    if cfg["dense"] and emb is not None:
        blocks.append(sparse.csr_matrix(emb * cfg["dense"]))
    return sparse.hstack(blocks).tocsr()


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


def _decisions(clf, X) -> np.ndarray:
    """Decision scores, one column per class of ``clf`` (two for a binary classifier too)."""
    z = clf.decision_function(X)
    return np.column_stack([-z / 2, z / 2]) if z.ndim == 1 else z


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _fit_temperature(z: np.ndarray, y: np.ndarray, to_core: np.ndarray | None = None) -> float:
    """Temperature minimising the NLL of out-of-fold scores; with ``to_core`` (classes x cores, 0/1),
    of the core probabilities the classes add up to, which is what the bot's confidence is."""
    best = (math.inf, 1.0)
    for t in np.exp(np.linspace(math.log(0.02), math.log(5.0), 120)):
        p = _softmax(z / t) if to_core is None else _softmax(z / t) @ to_core
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


class Corpus:
    """Texts ready for the classifiers: classifier input, embedding, class, core intent, full label.

    The classes of the core classifier are the core intents, then the shop's custom intents
    (``custom``): a shop's own intent is a class of its own, so its few examples are not outweighed
    by the hundreds of its core's, and ``to_core`` adds the classes up into core intents."""

    def __init__(self, texts: list[str], labels: list[str], embed: bool, custom: list[str] | tuple = ()) -> None:
        self.raw = texts
        self.docs = [model_text(t) for t in texts]
        self.labels = labels
        self.classes = list(CORE_INTENTS) + list(custom)
        index = {label: k for k, label in enumerate(self.classes)}
        self.core = np.array([CORE_INTENTS.index(core_of(lab)) for lab in labels], dtype=int)
        self.y = np.array([index.get(lab, core) for lab, core in zip(labels, self.core)], dtype=int)
        self.to_core = np.zeros((len(self.classes), len(CORE_INTENTS)))
        self.to_core[np.arange(len(self.classes)), [CORE_INTENTS.index(core_of(c)) for c in self.classes]] = 1.0
        self.emb = encoder.embed_many([encoder_text(t) for t in texts]) if embed else None

    def rows(self, idx) -> tuple[list[str], np.ndarray | None, np.ndarray]:
        return [self.docs[i] for i in idx], None if self.emb is None else self.emb[idx], self.y[idx]


def _corpora(data: dict[str, list[str]], cfg, custom: list[str] | tuple = ()) -> tuple[Corpus, Corpus | None]:
    """Our own examples (the shop's ``custom`` intents as classes of their own) and, when the
    variant takes them, the public ones."""
    own = [(t, lab) for lab in sorted(data) for t in data[lab]]
    mine = Corpus([t for t, _ in own], [lab for _, lab in own], bool(cfg["dense"]), custom)
    public = load_public_intents(cfg["public"], cfg.get("public_other")) if cfg["public"] else []
    # A sentence the shop teaches as its own intent is not also a public example of the bare core.
    taught = {t.strip().lower() for t, lab in own if lab in custom}
    public = [(t, lab) for t, lab in public if t.strip().lower() not in taught]
    theirs = Corpus([t for t, _ in public], [lab for _, lab in public], bool(cfg["dense"])) if public else None
    return mine, theirs


def _fit(cfg, seed, mine: Corpus, idx, theirs: Corpus | None, their_idx=None):
    """Vectorizers and the core classifier fitted on our rows ``idx`` plus the public rows
    ``their_idx`` (all by default), each public row weighing ``public_weight``."""
    docs, emb, y = mine.rows(idx)
    weights = np.ones(len(y))
    if theirs is not None:
        pub_docs, pub_emb, pub_y = theirs.rows(np.arange(len(theirs.y)) if their_idx is None else their_idx)
        docs = docs + pub_docs
        emb = None if emb is None else np.vstack([emb, pub_emb])
        y = np.concatenate([y, pub_y])
        weights = np.concatenate([weights, np.full(len(pub_y), cfg["public_weight"])])
    vw, vc = _fit_vectorizers(docs)
    X = _transform(vw, vc, docs, cfg, emb)
    return vw, vc, _make_clf(cfg, seed).fit(X, y, sample_weight=weights)


def cross_validate(data: dict[str, list[str]], variant: str = DEFAULT_VARIANT, folds: int = 5, seed: int = 0,
                   corpora: tuple[Corpus, Corpus | None] | None = None) -> dict:
    """Stratified k-fold out-of-fold evaluation of the core-intent classifier -> on our own
    examples macro-F1, accuracy, ECE (after temperature scaling) and the fitted temperature;
    on the public examples (folded too) their macro-F1; ``score`` is the mean of both macro-F1s
    (settings are chosen on it: shop chat and messages written by others count alike)."""
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    cfg = VARIANTS[variant]
    mine, theirs = corpora or _corpora(data, cfg)
    y = mine.y
    # A class missing from a fold's training rows (a custom intent with few examples) scores far below the rest.
    z = np.full((len(y), len(mine.classes)), -10.0)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    own_folds = list(splitter.split(mine.docs, y))
    their_folds = list(splitter.split(theirs.docs, theirs.y)) if theirs is not None else [(None, None)] * folds
    their_pred = np.zeros(len(theirs.y), dtype=int) if theirs is not None else None
    fit_s = 0.0
    for (tr, te), (their_tr, their_te) in zip(own_folds, their_folds):
        t0 = time.perf_counter()
        vw, vc, clf = _fit(cfg, seed, mine, tr, theirs, their_tr)
        fit_s += time.perf_counter() - t0
        docs, emb, _ = mine.rows(te)
        z[np.ix_(te, clf.classes_)] = _decisions(clf, _transform(vw, vc, docs, cfg, emb))
        if theirs is not None:
            docs, emb, _ = theirs.rows(their_te)
            their_pred[their_te] = mine.to_core.argmax(axis=1)[clf.predict(_transform(vw, vc, docs, cfg, emb))]
    y = mine.core
    T = _fit_temperature(z, y, mine.to_core)
    p = _softmax(z / T) @ mine.to_core
    pred = p.argmax(axis=1)
    correct = pred == y
    own_f1 = float(f1_score(y, pred, average="macro"))
    public_f1 = float(f1_score(theirs.y, their_pred, average="macro")) if theirs is not None else None
    return {
        "variant": variant,
        "folds": folds,
        "macro_f1": round(own_f1, 4),
        "accuracy": round(float(correct.mean()), 4),
        "ece": round(ece(p.max(axis=1), correct), 4),
        "nll": round(float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1)))), 4),
        "temperature": T,
        "public_macro_f1": None if public_f1 is None else round(public_f1, 4),
        "score": round(own_f1 if public_f1 is None else (own_f1 + public_f1) / 2, 4),
        "fit_seconds": round(fit_s / folds, 3),
        "n": len(y),
        "n_public": 0 if theirs is None else len(theirs.y),
    }


def _negative_rows(mine: Corpus, lexicon: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Our examples that say whether the writer is unhappy, and whether they are (``lexicon``: ``_lexicon(mine.raw)``):
    the labelled shop talk says it; of the rest, complaints are and the calm intents are not."""
    said = {row["text"]: row["negative"] for row in load_labelled()}
    calm = lexicon[:, 0] < NEGATIVE_THRESHOLD
    keep = [i for i, lab in enumerate(mine.labels)
            if mine.raw[i] in said or core_of(lab) in NOT_NEGATIVE_INTENTS + ("complaint",) or calm[i]]
    return keep, np.array([said.get(mine.raw[i], core_of(mine.labels[i]) == "complaint") for i in keep])


def _lexicon(texts: list[str]) -> np.ndarray:
    """The word list's features of each text: (negative score, negative words denied)."""
    return np.array([lexicon_features(normalize(t).split(), t) for t in texts]).reshape(-1, 2)


def train_negative(mine: Corpus, *, folds: int = 5, seed: int = 0, settings: dict | None = None) -> tuple[dict, dict]:
    """The negative-sentiment classifier (logistic regression over the embedding, the lexicon's
    features and word n-grams) on public sentiment data plus our labelled, complaint and calm examples.

    Cross-validated like the intents (both ours and the public rows folded; ``score`` is the
    mean of both F1s); the threshold maximises the out-of-fold F1 of ours, or of both (``threshold_on``)."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.model_selection import StratifiedKFold

    settings = settings or NEGATIVE
    lexicon = _lexicon(mine.raw)  # once: it also says which of our examples are calm
    keep, y_own = _negative_rows(mine, lexicon)
    X_own = np.hstack([mine.emb[keep], lexicon[keep]])
    public = load_public_sentiment(settings["public"])
    public_lexicon = _lexicon([t for t, _ in public])
    X_pub = np.hstack([encoder.embed_many([encoder_text(t) for t, _ in public]), public_lexicon]) \
        if public else np.zeros((0, X_own.shape[1]))
    y_pub = np.array([neg for _, neg in public], dtype=bool)
    # The classifier's word input is the intent model's (``model_text``), as at inference.
    docs_own = [mine.docs[i] for i in keep]
    docs_pub = [model_text(t, None, public_lexicon[i, 0]) for i, (t, _) in enumerate(public)]

    def fit(rows, public_rows):
        vectorizer = TfidfVectorizer(analyzer=word_ngrams, sublinear_tf=True, lowercase=False, min_df=2)
        vectorizer.fit([docs_own[i] for i in rows] + [docs_pub[i] for i in public_rows])
        X, y = features(vectorizer, rows, public_rows), np.concatenate([y_own[rows], y_pub[public_rows]])
        weights = np.concatenate([np.full(len(rows), settings["own_weight"]), np.ones(len(public_rows))])
        clf = LogisticRegression(C=settings["C"], max_iter=3000, class_weight="balanced")
        return vectorizer, clf.fit(X, y, sample_weight=weights)

    def features(vectorizer, rows, public_rows):
        dense = np.vstack([X_own[rows], X_pub[public_rows]])
        words = vectorizer.transform([docs_own[i] for i in rows] + [docs_pub[i] for i in public_rows])
        return sparse.hstack([sparse.csr_matrix(dense), words * settings["words"]]).tocsr()

    none = np.array([], dtype=int)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    own_folds = list(splitter.split(X_own, y_own))
    public_folds = list(splitter.split(X_pub, y_pub)) if len(y_pub) >= folds else [(np.arange(len(y_pub)), none)] * folds
    oof, public_oof = np.zeros(len(y_own)), np.zeros(len(y_pub))
    for (tr, te), (public_tr, public_te) in zip(own_folds, public_folds):
        vectorizer, clf = fit(tr, public_tr)
        oof[te] = clf.predict_proba(features(vectorizer, te, none))[:, 1]
        if len(public_te):
            public_oof[public_te] = clf.predict_proba(features(vectorizer, none, public_te))[:, 1]
    thresholds = np.linspace(0.2, 0.8, 25)
    own_scores = np.array([f1_score(y_own, oof >= t) for t in thresholds])
    public_scores = np.array([f1_score(y_pub, public_oof >= t) for t in thresholds]) if len(y_pub) else None
    chosen_on = own_scores if public_scores is None or settings.get("threshold_on") == "own" \
        else (own_scores + public_scores) / 2
    best = int(np.argmax(chosen_on))
    threshold, own_f1 = float(thresholds[best]), float(own_scores[best])
    public_f1 = None if public_scores is None else float(public_scores[best])
    vectorizer, clf = fit(np.arange(len(y_own)), np.arange(len(y_pub)))
    report = {"folds": folds, "threshold": round(threshold, 3), "negative_f1": round(own_f1, 4),
              "public_negative_f1": None if public_f1 is None else round(public_f1, 4),
              "score": round(own_f1 if public_f1 is None else (own_f1 + public_f1) / 2, 4),
              "lexicon_f1": round(float(f1_score(y_own, X_own[:, -2] >= 0.5)), 4),
              "n": len(y_own), "n_public": len(y_pub)}
    coef, dims = clf.coef_[0].astype(np.float64), X_own.shape[1]
    weights = {"w": coef[:dims], "b": float(clf.intercept_[0]), "threshold": threshold,
               "vocab": {k: int(v) for k, v in vectorizer.vocabulary_.items()},
               "idf": vectorizer.idf_.astype(np.float32), "v": (coef[dims:] * settings["words"]).astype(np.float32)}
    return weights, report


def train(
    extra_examples: dict[str, list[str]] | None = None,
    custom_intents: dict[str, dict] | None = None,
    *,
    variant: str = DEFAULT_VARIANT,
    data_dir: str | os.PathLike | None = None,
    cv_folds: int = 5,
    seed: int = 0,
) -> Model:
    """Train on the YAML data (+ shop extras, + public data where the variant takes it).

    ``extra_examples`` maps a core (or fine) intent to more examples; ``custom_intents``
    maps a fine intent name to ``{"core": <core intent>, "examples": [...]}``.
    A core-intent classifier is trained on all examples, with each custom intent a class of its
    own (the core's probability is the sum of its classes'; the fine intent is the custom one when
    it is likelier than the core's own examples); otherwise, for a core intent with fine intents, a
    second classifier (our examples and the shop's, not public data, which has no fine intents)
    picks the fine intent (or none).  The core probabilities are calibrated by a temperature
    fitted on ``cv_folds``-fold out-of-fold scores, which also give the cross-validated scores
    in ``model.meta`` (``cv_folds=0`` skips it and keeps temperature 1)."""
    t0 = time.perf_counter()
    cfg = VARIANTS[variant]
    data = _collect(extra_examples, custom_intents, data_dir)
    mine, theirs = _corpora(data, cfg, custom_labels(custom_intents))
    cv = cross_validate(data, variant, cv_folds, seed, (mine, theirs)) if cv_folds and cv_folds > 1 else None
    everything = np.arange(len(mine.y))
    vw, vc, clf = _fit(cfg, seed, mine, everything, theirs)
    coefs, icpts = [clf.coef_], [clf.intercept_]
    labels = list(mine.classes)
    fine_groups: dict[str, list[int]] = {}
    docs, emb, y = mine.rows(everything)
    X = _transform(vw, vc, docs, cfg, emb)
    # A core's fine classifier also knows the shop's intents under it (it decides when the core
    # classifier finds the core's own examples likelier), except under `other`: what reads as
    # none of the shop's topics there was judged by the core classifier, with the public off-topic
    # examples, and is no shop intent.
    other = CORE_INTENTS.index("other")
    for k, core in enumerate(CORE_INTENTS):
        idx = np.flatnonzero(mine.core == k) if k != other else np.flatnonzero(y == k)
        labs = sorted({mine.labels[i] for i in idx})
        if len(labs) < 2:
            continue
        yy = np.array([labs.index(mine.labels[i]) for i in idx])
        fclf = _make_clf(cfg, seed).fit(X[idx], yy)
        c, b = _coef(fclf, len(labs))
        fine_groups[core] = list(range(len(labels), len(labels) + len(labs)))
        labels.extend(labs)
        coefs.append(c)
        icpts.append(b)
    W = np.vstack(coefs).T
    n_grams = len(vw.vocabulary_) + len(vc.vocabulary_)
    negative, negative_cv = train_negative(mine, folds=max(cv_folds, 2), seed=seed) if cfg["dense"] else (None, None)
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
        "public_examples": 0 if theirs is None else len(theirs.y),
        "n_features": int(W.shape[0]),
        "cv": cv,
        "negative_cv": negative_cv,
        "custom_intents": sorted(custom_intents or {}),
        "data": data_fingerprint() if not extra_examples and not custom_intents and data_dir is None
        and variant == DEFAULT_VARIANT else None,
    }
    m = Model(
        labels=labels,
        fine_groups=fine_groups,
        vocab_w={k: int(v) for k, v in vw.vocabulary_.items()},
        idf_w=vw.idf_.astype(np.float64),
        vocab_c={k: int(v) for k, v in vc.vocabulary_.items()},
        idf_c=vc.idf_.astype(np.float64),
        W=np.ascontiguousarray(W[:n_grams], dtype=np.float32),
        b=np.concatenate(icpts).astype(np.float64),
        temperature=cv["temperature"] if cv else 1.0,
        char_weight=1.0 if cfg["char"] else 0.0,
        word_weight=1.0 if cfg["word"] else 0.0,
        meta=meta,
        E=np.ascontiguousarray(W[n_grams:], dtype=np.float32) if cfg["dense"] else None,
        dense_weight=cfg["dense"],
        negative=negative,
        custom=tuple(mine.classes[len(CORE_INTENTS):]),
    )
    meta["train_seconds"] = round(time.perf_counter() - t0, 3)
    return m
