#!/usr/bin/env python
"""FAQ search benchmark: retrieval quality of crm.faq on the evaluation set, and latency.

Run: .venv/bin/python bench/faq.py [--split tune|heldout] [--calls N] [--json]

Quality, on the demo FAQ (crm/demo_catalog.py) and tests/crm/faq_questions/questions.jsonl
(one split; `tune` also takes the sample kept in tests/crm/test_faq.py), per method:
top-1 accuracy on the questions an entry answers; AUC of a question's best raw score
against an unrelated line's; the share of questions scoring above every unrelated line;
and, for the old and the new blend with their own calibration, how many questions are
answered directly (right / wrong entry) and how many unrelated lines would be.
The held-out split is for the final report only: tune on `tune`.

Latency, pinned to one CPU core: FaqIndex.raw_scores per query for each method, and
search_faq end to end (SQLite in memory, the demo FAQ) — "cold" clears the sentence
encoder's cache before each call (the embedding is computed), "warm" does not (in the bot
the NLU has already embedded the same text). Every text of the set is a query, whatever
the split.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
QUESTIONS = ROOT / "tests" / "crm" / "faq_questions" / "questions.jsonl"
OLD_CALIBRATION = ((0.0, 0.0), (0.17, 0.25), (0.34, 0.5), (0.8, 1.0))  # the TF-IDF blend's, before the encoder
TARGET_P99_MS = 10.0


def load(split: str) -> list[tuple[str, list[str] | None]]:
    """(text, starts of the entries that answer it or None) of one split."""
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    data = [(r["text"], r["entry_question_starts"]) for r in rows if r["split"] == split]
    if split == "tune":
        from tests.crm.test_faq import SAMPLE_QUESTIONS, SAMPLE_UNRELATED

        data += [(text, [starts]) for text, starts in SAMPLE_QUESTIONS] + [(text, None) for text in SAMPLE_UNRELATED]
    return data


def variants() -> dict[str, tuple[type, tuple | None]]:
    """Method name -> (FaqIndex class with those weights, calibration knots or None)."""
    from crm import faq

    def weights(char: float, word: float, enc: float) -> type:
        return type("Index", (faq.FaqIndex,), {"CHAR_WEIGHT": char, "WORD_WEIGHT": word, "ENCODER_WEIGHT": enc})

    return {
        "char_wb 3-5 only": (weights(1.0, 0.0, 0.0), None),
        "word 1-2 only": (weights(0.0, 1.0, 0.0), None),
        "encoder only": (weights(0.0, 0.0, 1.0), None),
        "TF-IDF blend (old)": (weights(0.6, 0.4, 0.0), OLD_CALIBRATION),
        "TF-IDF + encoder (new)": (faq.FaqIndex, faq._CALIBRATION),
    }


def quality(index, data, knots) -> dict:
    from crm.demo_catalog import FAQS

    pos, neg, right, conf_right, conf_wrong = [], [], 0, 0, 0
    for text, starts in data:
        raw = index.raw_scores(text)
        top = int(raw.argmax())
        if starts is None:
            neg.append(raw[top])
            continue
        pos.append(raw[top])
        ok = any(FAQS[top]["question"].startswith(s) for s in starts)
        right += ok
        if knots is not None and np.interp(raw[top], *zip(*knots)) >= 0.5:
            conf_right += ok
            conf_wrong += not ok
    p, n = np.array(pos), np.array(neg)
    auc = float(((p[:, None] > n[None, :]) + 0.5 * (p[:, None] == n[None, :])).mean())
    out = {"questions": len(p), "unrelated": len(n), "top1": right, "auc": round(auc, 3),
           "above_all_unrelated": round(float((p > n.max()).mean()), 2),
           "raw_unrelated_max": round(float(n.max()), 3), "raw_question_median": round(float(np.median(p)), 3)}
    if knots is not None:
        unrelated_conf = int(sum(np.interp(x, *zip(*knots)) >= 0.5 for x in n))
        out.update(confident_right=conf_right, confident_wrong=conf_wrong, unrelated_confident=unrelated_conf)
    return out


def _ms(samples: list[float]) -> dict:
    s = sorted(samples)
    return {"p50_ms": round(s[len(s) // 2] * 1e3, 2), "p99_ms": round(s[min(len(s) - 1, int(len(s) * 0.99))] * 1e3, 2)}


def raw_latency(index, texts, calls) -> dict:
    from core import encoder

    lat = []
    for n in range(calls):
        text = texts[n % len(texts)]
        encoder._cache.clear()
        t0 = time.perf_counter()
        index.raw_scores(text)
        lat.append(time.perf_counter() - t0)
    return _ms(lat)


def search_latency(texts, calls) -> dict:
    """crm.faq.search_faq per query, a new session per call as for a message."""
    from sqlalchemy.pool import StaticPool
    from sqlmodel import Session, SQLModel, create_engine

    from core import encoder
    from crm import faq
    from crm.demo_catalog import FAQS

    engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
    SQLModel.metadata.create_all(engine, tables=[faq.FaqEntry.__table__])
    with Session(engine) as session:
        for entry in FAQS:
            faq.create_faq(session=session, **entry)
        session.commit()
        t0 = time.perf_counter()
        faq.search_faq(session=session, text="jam buka")  # builds the index (and loads the encoder)
        out = {"index_build_s": round(time.perf_counter() - t0, 2)}
    for mode in ("cold", "warm"):
        lat = []
        for n in range(calls):
            text = texts[n % len(texts)]
            if mode == "cold":
                encoder._cache.clear()
            else:
                encoder.embed(" ".join(text.lower().split()))  # as the NLU does first in the bot
            with Session(engine) as session:
                t0 = time.perf_counter()
                faq.search_faq(session=session, text=text)
                lat.append(time.perf_counter() - t0)
        out[mode] = _ms(lat)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("tune", "heldout"), default="tune")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--latency", action="store_true", help="only search_faq's latency")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from crm.demo_catalog import FAQS

    texts = [text for text, _ in load("tune") + load("heldout")]
    result = {"split": args.split, "methods": {}}
    if not args.latency:
        data = load(args.split)
        entries = [(i, e["question"], e["question_en"], e["keywords"], e.get("phrasings", [])) for i, e in enumerate(FAQS)]
        for name, (cls, knots) in variants().items():
            index = cls(entries)
            result["methods"][name] = {**quality(index, data, knots), **raw_latency(index, texts, args.calls)}
    result["search_faq"] = search_latency(texts, args.calls)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    s = result["search_faq"]
    print(f"search_faq per query: index build {s['index_build_s']} s; cold p50 {s['cold']['p50_ms']} ms, "
          f"p99 {s['cold']['p99_ms']} ms; warm p50 {s['warm']['p50_ms']} ms, p99 {s['warm']['p99_ms']} ms "
          f"(target p99 <= {TARGET_P99_MS} ms)")
    if args.latency:
        return
    m0 = next(iter(result["methods"].values()))
    print(f"split={args.split}: {m0['questions']} questions, {m0['unrelated']} unrelated lines")
    print(f"{'method':24s} {'top-1':>7s} {'AUC':>6s} {'above':>6s} {'unrel.max':>9s} "
          f"{'conf.right/wrong/unrel':>22s} {'raw p50/p99 ms':>15s}")
    for name, r in result["methods"].items():
        conf = (f"{r['confident_right']}/{r['confident_wrong']}/{r['unrelated_confident']}"
                if "confident_right" in r else "")
        print(f"{name:24s} {r['top1']:>3d}/{r['questions']:<3d} {r['auc']:6.3f} {r['above_all_unrelated']:6.2f} "
              f"{r['raw_unrelated_max']:9.3f} {conf:>22s} {r['p50_ms']:>7.2f}/{r['p99_ms']:<7.2f}")


if __name__ == "__main__":
    main()
