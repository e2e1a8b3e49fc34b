#!/usr/bin/env python
"""HINT3 as the NLU platforms were measured on it: each bot's own intents, trained on its train split.

`bench/nlu_public.py` maps HINT3's labels to Sapa's ten core intents. The platforms HINT3
compares (Dialogflow, Haptik, Rasa, LUIS, BERT) were instead trained per bot on the bot's own
intents and scored on whether they named the right one, or NO_NODES_DETECTED. This bench does
the same with the product's own mechanism for a shop's intents, `nlu.custom_intents`:

- every label of the bot's v2 train split becomes a custom intent with its train sentences as
  examples, under the core intent `handlers/nlu/data/public/mapping/hint3.yaml` gives it
  (`faq` where the mapping left the label out: the shop's own question);
- `handlers.nlu.training.train` trains the model as `sapa nlu train` does (our data, the public
  training data, the custom intents; temperature fitted by 5-fold cross-validation);
- a test message gets the bot's intent the model names, or NO_NODES_DETECTED when the core
  confidence is below the product's `LOW_CONFIDENCE` (where the bot asks instead of acting) or
  no custom intent is named; a core the bot has one intent under names that intent. Nothing
  here is tuned; the threshold is the product's.

The platforms' figures are computed in the same run from the predictions the HINT3 authors
published (`preds/<platform>_<bot>.csv`: their v1-trained models, scored here on the v2 test
labels): as published (each platform's own threshold), and at the threshold that is best on
the test split itself, which is how the paper's headline figures (0.71–0.75) were read off.

    .venv/bin/python bench/hint3_bots.py /work/.mirror [--json]
    .venv/bin/python bench/hint3_bots.py /work/.mirror --dev   # no test rows: for choosing a design

`--dev` scores on training data only, for choices made before the test is read: each bot's
train split cut 80/20 per intent (the 20 % held out), plus 300 of CLINC150's off-topic training
rows that training does not sample, as NO_NODES_DETECTED; the bot's own sentences are taken out
of the public training data for the run (HINT3's train rows are in it, mapped to core intents).

Needs the HINT3 snapshot (`fetch` hellohaptik/HINT3); results in bench/results/hint3_bots.json.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import public_data  # noqa: E402  (scripts/public_data.py: the pinned snapshots)

RESULTS = ROOT / "bench" / "results" / "hint3_bots{}.json"
PLATFORMS = ("dialogflow", "haptik", "rasa", "luis", "bert")
NONE = "NO_NODES_DETECTED"


def _csv(repo, path: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(repo.read(path))))


def custom_intents(train: list[dict], cores: dict[str, str | None]) -> dict[str, dict]:
    """The bot's labels as a shop's custom intents: {name: {"core", "examples"}}.

    A label the mapping left out goes under the core the shipped model reads most of its
    examples as, as a shop owner would file it ("talk to an agent" under human_handoff)."""
    from handlers.nlu import load_model
    from handlers.nlu.store import SHIPPED_MODEL

    shipped = load_model(SHIPPED_MODEL)
    examples: dict[str, list[str]] = {}
    for row in train:
        examples.setdefault(row["label"].strip(), []).append(row["sentence"].strip())
    intents: dict[str, dict] = {}
    for label, texts in examples.items():
        core = cores.get(label) or Counter(shipped.predict(text)[0] for text in texts).most_common(1)[0][0]
        intents[label.lower()] = {"core": core, "examples": texts}
    return intents


def product(train: list[dict], test: list[dict], cores: dict[str, str | None]) -> dict:
    """Accuracy of a model trained with the bot's intents as custom intents."""
    from handlers.nlu.model import LOW_CONFIDENCE
    from handlers.nlu.training import train as train_model

    intents = custom_intents(train, cores)
    started = time.perf_counter()
    model = train_model(custom_intents=intents)
    seconds = time.perf_counter() - started
    node_of = {f"{spec['core']}.{name}": name.upper() for name, spec in intents.items()}
    # A core the bot has exactly one intent under is that intent ("where is my order?" is the bot's
    # ORDER_STATUS whether or not the fine classifier prefers it to the core's own examples).
    # `other` is never a node: it is where the product asks instead of acting.
    nodes_under: dict[str, list[str]] = {}
    for name, spec in intents.items():
        nodes_under.setdefault(spec["core"], []).append(name.upper())
    only_node = {core: names[0] for core, names in nodes_under.items() if len(names) == 1 and core != "other"}
    said, top = [], []
    for row in test:
        core, fine, confidence, _ = model.predict(row["sentence"])
        node = node_of.get(fine or "") or only_node.get(core)
        top.append(node or NONE)
        said.append(node if node and confidence >= LOW_CONFIDENCE else NONE)
    return {**_scores(test, said), "in_scope_top1": _in_scope(test, top), "train_seconds": round(seconds)}


def _scores(test: list[dict], said: list[str]) -> dict:
    gold = np.array([row["label"].strip() for row in test])
    said = np.array(said)
    return {"n": len(gold), "accuracy": round(float((gold == said).mean()), 4),
            "out_of_scope_share": round(float((gold == NONE).mean()), 4)}


def _in_scope(test: list[dict], top: list[str]) -> float:
    gold = np.array([row["label"].strip() for row in test])
    keep = gold != NONE
    return round(float((gold[keep] == np.array(top)[keep]).mean()), 4)


def platform(preds: list[dict], test: list[dict]) -> dict:
    """A platform's published predictions scored on the v2 test labels, as run and at its best threshold."""
    gold = {row["sentence"]: row["label"].strip() for row in test}
    rows = [row for row in preds if row["sentence"] in gold]
    scored = [gold[row["sentence"]] for row in rows]
    as_run = [row["predicted_node"] for row in rows]
    best = max((float(np.mean([(row["predicted_node"] if float(row["predicted_node_score"] or 0) >= t else NONE) == g
                               for row, g in zip(rows, scored)])), t) for t in np.arange(0, 1, 0.05))
    keep = [g != NONE for g in scored]
    return {"n": len(rows), "accuracy": round(float(np.mean([a == g for a, g in zip(as_run, scored)])), 4),
            "accuracy_best_threshold": round(best[0], 4), "best_threshold": round(float(best[1]), 2),
            "in_scope_top1": round(float(np.mean([a == g for a, g, k in zip(as_run, scored, keep) if k])), 4)}


def dev_split(train: list[dict]) -> tuple[list[dict], list[dict]]:
    """Each intent's rows in a fixed shuffle: the first fifth held out, the rest to train on."""
    rows = sorted(train, key=lambda row: row["sentence"])
    random.Random(0).shuffle(rows)
    keep, held = [], []
    for label in sorted({row["label"] for row in rows}):
        mine = [row for row in rows if row["label"] == label]
        held += mine[:len(mine) // 5]
        keep += mine[len(mine) // 5:]
    return keep, held


def off_topic(n: int = 300) -> list[dict]:
    """CLINC150 training rows mapped to `other` that the product's training does not sample."""
    from handlers.nlu import training

    cfg = training.VARIANTS[training.DEFAULT_VARIANT]
    sampled = {text for text, _ in training.load_public_intents(cfg["public"], cfg.get("public_other"))}
    rows = [json.loads(line) for line in (training.PUBLIC_DIR / "intents_clinc150.jsonl").read_text().splitlines()]
    texts = sorted(row["text"] for row in rows if row["intent"] == "other" and row["text"] not in sampled)
    random.Random(1).shuffle(texts)
    return [{"sentence": text, "label": NONE} for text in texts[:n]]


def without_bot(train: list[dict]):
    """Point training at a copy of the public data without the bot's own sentences; returns the undo."""
    from handlers.nlu import training

    original, copy = training.PUBLIC_DIR, Path(tempfile.mkdtemp(prefix="hint3-dev-"))
    mine = {row["sentence"].strip().lower() for row in train}
    for f in original.glob("*.jsonl"):
        if f.name == "intents_hint3.jsonl":
            lines = [line for line in f.read_text(encoding="utf-8").splitlines()
                     if json.loads(line)["text"].strip().lower() not in mine]
            (copy / f.name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        else:
            shutil.copy(f, copy / f.name)
    training.PUBLIC_DIR = copy

    def undo() -> None:
        training.PUBLIC_DIR = original
        shutil.rmtree(copy, ignore_errors=True)
    return undo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mirrors", nargs="+", help="git directories of the snapshots, or folders holding them")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--dev", action="store_true", help="score on held-out training rows, not the test split")
    args = parser.parse_args()
    repo = public_data.open_repos(args.mirrors, any_commit=False)["hint3"]
    bots = public_data.mapping("hint3")["bots"]
    results: dict = {"benchmark": "hint3_bots", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "bots": {}}
    results["split"] = "dev" if args.dev else "test"
    for bot in public_data.HINT3_BOTS:
        train = _csv(repo, f"dataset/v2/train/{bot}_train.csv")
        if args.dev:
            undo = without_bot(train)
            try:
                train, held = dev_split(train)
                results["bots"][bot] = {"sapa": product(train, held + off_topic(), bots[bot])}
            finally:
                undo()
            print(bot, json.dumps(results["bots"][bot]["sapa"]), file=sys.stderr)
            continue
        test = [row for row in _csv(repo, f"dataset/v2/test/{bot}_test.csv") if (row["sentence"] or "").strip()]
        figures = {"sapa": product(train, test, bots[bot])}
        for name in PLATFORMS:
            figures[name] = platform(_csv(repo, f"preds/{name}_{bot}.csv"), test)
        results["bots"][bot] = figures
        print(bot, json.dumps(figures["sapa"]), file=sys.stderr)
    out = Path(str(RESULTS).format("_dev" if args.dev else ""))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'bot':<13}{'system':<12}{'accuracy':>10}{'best thr.':>11}{'in scope':>10}")
    for bot, figures in results["bots"].items():
        for name, f in figures.items():
            best = f"{f['accuracy_best_threshold']:.3f}" if "accuracy_best_threshold" in f else "–"
            print(f"{bot:<13}{name:<12}{f['accuracy']:>10.3f}{best:>11}{f['in_scope_top1']:>10.3f}")
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
