#!/usr/bin/env python
"""Understanding benchmark on messages nobody here wrote: public test splits and the fresh sets.

Trains two models in this run (or loads them with --model / --baseline) and scores both:
- product: variant "svm" — word and character n-grams plus the sentence encoder, our examples
  plus the public training data (DATA.md), the trained negative classifier;
- baseline: variant "ngrams" — the model before issue 18: our YAML examples only (not the
  labelled shop talk written since), n-grams only, the word-list sentiment.

Figures (each on a test split never trained or tuned on):
- HINT3 v2 test accuracy per bot, labels mapped to our core intents (goal >= 0.80): of the top
  intent, with the bot's fallback (below the confidence threshold it asks: `other`), and on the
  in-scope rows alone (NO_NODES_DETECTED, `other`, left out);
- CLINC150 and Banking77 test, mapped, macro-F1;
- SmSA test negative-F1 (goal >= 0.88); NusaX test negative-F1 per language;
- the fresh sets tests/nlu/fresh/{id,en}.jsonl: intent macro-F1 (goal >= 0.90), negative-F1
  (goal >= 0.85), calibration error (ECE, goal <= 0.05), and the staff alert on a very
  unhappy message (P(negative) >= handlers.router.STRONGLY_NEGATIVE): precision and recall.

The public test files in bench/data/public are rebuilt from the fetched repositories by
scripts/public_data.py (see DATA.md). Latency, load time and RSS: bench/nlu.py.

    .venv/bin/python bench/nlu_public.py [--model PATH] [--baseline PATH] [--json]

Results: printed, and bench/results/nlu_public.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PUBLIC = ROOT / "bench" / "data" / "public"
FRESH = ROOT / "tests" / "nlu" / "fresh"
RESULTS = ROOT / "bench" / "results" / "nlu_public.json"
GOALS = {"hint3_accuracy": 0.80, "smsa_negative_f1": 0.88, "fresh_macro_f1": 0.90, "fresh_negative_f1": 0.85,
         "fresh_ece": 0.05}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _read_all(model, texts: list[str]) -> tuple[np.ndarray, list[float]]:
    """Core probabilities (n, 10) and P(negative) per text, as the bot computes them."""
    from core import encoder
    from handlers.nlu.model import encoder_text

    if model.E is not None or model.negative is not None:
        for text, vector in zip(texts, encoder.embed_many([encoder_text(t) for t in texts])):
            encoder._cache[encoder_text(text)] = vector  # batched: the figures are the same, the run shorter
    probabilities, negatives = [], []
    for text in texts:
        p, _, negative = model.read(text)
        probabilities.append(p)
        negatives.append(negative)
        encoder._cache.pop(encoder_text(text), None)
    return np.array(probabilities), negatives


def intents(model, rows: list[dict]) -> dict:
    """Accuracy, macro-F1 and ECE of the core intent on labelled rows."""
    from sklearn.metrics import f1_score

    from handlers.nlu.model import CORE_INTENTS, LOW_CONFIDENCE
    from handlers.nlu.training import ece

    p, _ = _read_all(model, [r["text"] for r in rows])
    predicted = [CORE_INTENTS[k] for k in p.argmax(axis=1)]
    gold = [r["intent"] for r in rows]
    correct = np.array([a == b for a, b in zip(predicted, gold)])
    # What the bot does: below its confidence threshold it asks instead of acting, the fallback
    # that HINT3 scores as NO_NODES_DETECTED (mapped to `other`).
    fallback = np.array([(a if c >= LOW_CONFIDENCE else "other") == b
                         for a, c, b in zip(predicted, p.max(axis=1), gold)])
    in_scope = np.array([b != "other" for b in gold])
    return {"n": len(rows), "accuracy": round(float(correct.mean()), 4),
            "accuracy_fallback": round(float(fallback.mean()), 4),
            "in_scope_accuracy": round(float(correct[in_scope].mean()), 4) if in_scope.any() else None,
            "macro_f1": round(float(f1_score(gold, predicted, average="macro", labels=sorted(set(gold)))), 4),
            "ece": round(ece(p.max(axis=1), correct), 4)}


def negatives(model, rows: list[dict]) -> dict:
    """Precision, recall and F1 of "negative", and of the staff alert."""
    from sklearn.metrics import f1_score, precision_score, recall_score

    from handlers.router import STRONGLY_NEGATIVE

    _, scores = _read_all(model, [r["text"] for r in rows])
    gold = [bool(r["negative"]) for r in rows]
    said = [model.is_negative(s) for s in scores]
    alert = [s >= STRONGLY_NEGATIVE for s in scores]
    return {"n": len(rows), "negatives": sum(gold),
            "precision": round(float(precision_score(gold, said, zero_division=0)), 4),
            "recall": round(float(recall_score(gold, said, zero_division=0)), 4),
            "negative_f1": round(float(f1_score(gold, said, zero_division=0)), 4),
            "alert_precision": round(float(precision_score(gold, alert, zero_division=0)), 4),
            "alert_recall": round(float(recall_score(gold, alert, zero_division=0)), 4)}


def score(model) -> dict:
    """Every figure for one model."""
    out: dict[str, dict] = {}
    for path in sorted(PUBLIC.glob("hint3_*_test.jsonl")):
        out[path.stem] = intents(model, _rows(path))
    for name in ("clinc150_test", "banking77_test"):
        if (PUBLIC / f"{name}.jsonl").exists():
            out[name] = intents(model, _rows(PUBLIC / f"{name}.jsonl"))
    for path in sorted(PUBLIC.glob("smsa_test.jsonl")) + sorted(PUBLIC.glob("nusax_*_test.jsonl")):
        out[path.stem] = negatives(model, _rows(path))
    for language in ("id", "en"):
        rows = _rows(FRESH / f"{language}.jsonl")
        out[f"fresh_{language}_intent"] = intents(model, rows)
        out[f"fresh_{language}_negative"] = negatives(model, rows)
    return out


def _model(path: str | None, variant: str):
    from handlers.nlu import load_model
    from handlers.nlu.training import DATA_DIR, train

    if path:
        return load_model(path)
    started = time.perf_counter()
    # Naming the YAML folder leaves out the labelled shop talk (training.load_examples).
    model = train(variant=variant, data_dir=DATA_DIR if variant == "ngrams" else None)
    print(f"trained {variant} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="the product model (default: train variant svm now)")
    parser.add_argument("--baseline", help="the baseline model (default: train variant ngrams now)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {"benchmark": "nlu_public", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "goals": GOALS}
    for name, path, variant in (("baseline", args.baseline, "ngrams"), ("product", args.model, "svm")):
        model = _model(path, variant)
        results[name] = {"variant": model.meta.get("variant"), "cv": model.meta.get("cv"),
                         "negative_cv": model.meta.get("negative_cv"), "scores": score(model)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
        return
    base, product = results["baseline"]["scores"], results["product"]["scores"]
    print(f"{'set':<26}{'figure':<18}{'baseline':>10}{'product':>10}")
    print("-" * 64)
    for name in product:
        for figure in ("accuracy", "accuracy_fallback", "in_scope_accuracy", "macro_f1", "ece", "negative_f1",
                       "precision", "recall", "alert_precision", "alert_recall"):
            if product[name].get(figure) is not None:
                print(f"{name:<26}{figure:<18}{base[name][figure]:>10.3f}{product[name][figure]:>10.3f}")
    print(f"results: {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
