#!/usr/bin/env python
"""Choose the understanding's settings by cross-validation on training data only.

Scores every candidate of a small grid with the same 5-fold cross-validation that training
reports (``training.cross_validate`` for the intent classifier, ``training.train_negative`` for
the negative one): our examples and the public training rows are both folded, and the score is
the mean of the two F1s, so shop chat and messages written by others count alike. No test or
validation split is read. The winners are written by hand into ``training.VARIANTS["svm"]`` and
``training.NEGATIVE``; this script shows why.

    .venv/bin/python bench/nlu_cv.py [--only intents|negative]

Results: printed, and bench/results/nlu_cv.json.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "nlu_cv.json"

INTENT_GRID = {"public": [30, 60, 120], "public_other": [5, 15], "public_weight": [0.5, 1.0]}
NEGATIVE_GRID = {"public": [3000, 6000, 12000], "own_weight": [4.0, 8.0],
                 "threshold_on": ["own", "both"]}


def _memoised_encoder() -> None:
    """Embed each text once in this run: the grid embeds the same corpora many times."""
    from core import encoder

    embed_many, seen = encoder.embed_many, {}

    def cached(texts):
        missing = [t for t in dict.fromkeys(texts) if t not in seen]
        if missing:
            seen.update(zip(missing, embed_many(missing)))
        return np.array([seen[t] for t in texts]).reshape(len(texts), -1)

    encoder.embed_many = cached


def _candidates(grid: dict) -> list[dict]:
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def intents() -> list[dict]:
    """Cross-validated intent scores of each candidate public-data setting."""
    from handlers.nlu import training

    data, base, rows = training._collect(None, None, None), dict(training.VARIANTS["svm"]), []
    for candidate in _candidates(INTENT_GRID):
        training.VARIANTS["cv"] = {**base, **candidate}
        started = time.perf_counter()
        report = training.cross_validate(data, "cv")
        rows.append({**candidate, **{k: report[k] for k in ("score", "macro_f1", "public_macro_f1", "ece")},
                     "seconds": round(time.perf_counter() - started)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def negative() -> list[dict]:
    """Cross-validated negative-F1 of each candidate setting of the negative classifier."""
    from handlers.nlu import training

    data = training._collect(None, None, None)
    mine, _ = training._corpora(data, {**training.VARIANTS["svm"], "public": 0})
    rows = []
    for candidate in _candidates(NEGATIVE_GRID):
        started = time.perf_counter()
        _, report = training.train_negative(mine, settings={**training.NEGATIVE, **candidate})
        rows.append({**candidate, **{k: report[k] for k in ("score", "negative_f1", "public_negative_f1",
                                                            "threshold")},
                     "seconds": round(time.perf_counter() - started)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("intents", "negative"))
    args = parser.parse_args()
    _memoised_encoder()
    results = {"benchmark": "nlu_cv", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    for name, run in (("intents", intents), ("negative", negative)):
        if args.only in (None, name):
            rows = run()
            results[name] = {"grid": rows, "best": max(rows, key=lambda r: r["score"])}
            print(f"best {name}: {json.dumps(results[name]['best'])}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
