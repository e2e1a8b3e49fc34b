"""``sapa nlu`` commands: train, classify, eval.

``bot.cli`` attaches the group to ``sapa``."""
from __future__ import annotations

import sys
import time
from dataclasses import asdict
from pathlib import Path

import click
import orjson

from .analyze import analyze
from .config import shop_config
from .model import CORE_INTENTS
from .store import SHIPPED_MODEL, get_model, initial_model
from .training import train


def _load(model_path: str | None):
    return get_model(model_path or shop_config()["model_path"])


@click.group("nlu")
def nlu() -> None:
    """Message understanding: intent model training, classification, evaluation."""


@nlu.command("train")
@click.option("--if-missing", is_flag=True, help="Only train when the model file does not exist.")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None,
              help="Where to save the model (default: settings nlu.model_path or data/nlu/model.joblib).")
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds (calibration + report).")
@click.option("--shipped", is_flag=True,
              help=f"Rebuild the model shipped in the repo ({SHIPPED_MODEL.name}): the data in the repo only.")
def train_cmd(if_missing: bool, model_path: str | None, folds: int, shipped: bool) -> None:
    """Train the models from handlers/nlu/data (our examples, public data) plus the shop's examples."""
    cfg = shop_config()
    path = SHIPPED_MODEL if shipped else Path(model_path or cfg["model_path"])
    if if_missing and path.exists():
        click.echo(f"NLU model already exists at {path}; not retraining (drop --if-missing to retrain).")
        return
    t0 = time.perf_counter()
    if shipped:
        m = train(cv_folds=folds)
    elif if_missing:  # a fresh install: the shipped model when the shop has no examples of its own
        m = initial_model(cfg["extra_examples"], cfg["custom_intents"])
    else:
        m = train(cfg["extra_examples"], cfg["custom_intents"], cv_folds=folds)
    saved = m.save(path)
    dt = time.perf_counter() - t0
    counts = m.meta["examples_per_intent"]
    click.echo("Examples per intent:")
    for c in CORE_INTENTS:
        fines = [f"{lab}={n}" for lab, n in m.meta["examples_per_label"].items() if lab.startswith(c + ".")]
        click.echo(f"  {c:<14} {counts.get(c, 0):>5}" + (f"   ({', '.join(fines)})" if fines else ""))
    click.echo(f"  {'total':<14} {sum(counts.values()):>5}")
    cv = m.meta.get("cv")
    if cv:
        click.echo(f"Cross-validated ({cv['folds']}-fold) macro-F1: {cv['macro_f1']:.3f}  "
                   f"accuracy: {cv['accuracy']:.3f}  calibration error (ECE): {cv['ece']:.3f}")
    negative = m.meta.get("negative_cv")
    if negative:
        click.echo(f"Negative sentiment, cross-validated F1 on our examples: {negative['negative_f1']:.3f} "
                   f"(the word list alone: {negative['lexicon_f1']:.3f})")
    click.echo(f"Model: {m.meta['variant']} over {m.meta['n_features']} word+char n-gram features"
               + (" and the sentence encoder" if m.E is not None else "")
               + f", {m.meta.get('public_examples', 0)} public examples; ready in {dt:.1f}s")
    click.echo(f"Saved to {saved}")


@nlu.command("classify")
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None)
@click.option("--entities/--no-entities", default=False, help="Also output fine intent and entities.")
def classify_cmd(model_path: str | None, entities: bool) -> None:
    """Read JSON lines {"text": ...} on stdin, write one JSON line per input."""
    m = _load(model_path)
    out = sys.stdout
    for lineno, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise ValueError('expected a JSON object with a string "text"')
            a = analyze(obj["text"], model=m)
            rec = {
                "text": obj["text"],
                "intent": a.intent,
                "confidence": a.confidence,
                "negative": a.negative,
                "negative_score": a.negative_score,
                "lang": a.lang,
            }
            if entities:
                rec["fine_intent"] = a.fine_intent
                rec["entities"] = asdict(a.entities)
        except Exception as e:  # noqa: BLE001 - one bad line must not stop the stream
            rec = {"line": lineno, "error": f"{type(e).__name__}: {e}"}
        out.write(orjson.dumps(rec).decode() + "\n")
        out.flush()


def evaluate(rows, model) -> dict:
    """rows: iterable of {"text", "intent"} -> per-intent precision/recall/F1/support + macro."""
    y_true, y_pred = [], []
    for r in rows:
        y_true.append(r["intent"])
        y_pred.append(model.predict(r["text"])[0])
    labels = [c for c in CORE_INTENTS if c in set(y_true) | set(y_pred)]
    labels += sorted((set(y_true) | set(y_pred)) - set(labels))
    per = {}
    for lab in labels:
        tp = sum(1 for t, p in zip(y_true, y_pred) if t == lab and p == lab)
        fp = sum(1 for t, p in zip(y_true, y_pred) if t != lab and p == lab)
        fn = sum(1 for t, p in zip(y_true, y_pred) if t == lab and p != lab)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[lab] = {"precision": round(prec, 4), "recall": round(rec, 4), "f1": round(f1, 4),
                    "support": tp + fn}
    supported = [v for v in per.values() if v["support"]]
    macro = sum(v["f1"] for v in supported) / len(supported) if supported else 0.0
    acc = sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true) if y_true else 0.0
    return {"per_intent": per, "macro_f1": round(macro, 4), "accuracy": round(acc, 4), "n": len(y_true)}


def format_report(rep: dict) -> str:
    lines = [f"{'intent':<15}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}", "-" * 55]
    for lab, v in rep["per_intent"].items():
        lines.append(f"{lab:<15}{v['precision']:>10.3f}{v['recall']:>10.3f}{v['f1']:>10.3f}{v['support']:>10d}")
    lines.append("-" * 55)
    lines.append(f"{'macro-F1':<15}{'':>20}{rep['macro_f1']:>10.3f}{rep['n']:>10d}")
    lines.append(f"{'accuracy':<15}{'':>20}{rep['accuracy']:>10.3f}")
    return "\n".join(lines)


@nlu.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--model", "model_path", type=click.Path(dir_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def eval_cmd(file: str, model_path: str | None, as_json: bool) -> None:
    """Evaluate on FILE of JSON lines {"text", "intent"}: per-intent P/R/F1 and macro-F1."""
    rows, bad = [], 0
    fh = click.open_file(file, encoding="utf-8")
    for line in fh:
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
            if isinstance(obj, dict) and isinstance(obj.get("text"), str) and isinstance(obj.get("intent"), str):
                rows.append(obj)
                continue
        except orjson.JSONDecodeError:
            pass
        bad += 1
    if not rows:
        raise click.ClickException(f"{file}: no valid {{\"text\", \"intent\"}} lines")
    rep = evaluate(rows, _load(model_path))
    rep["skipped_lines"] = bad
    if as_json:
        click.echo(orjson.dumps(rep).decode())
    else:
        click.echo(format_report(rep))
        if bad:
            click.echo(f"({bad} malformed line(s) skipped)", err=True)


if __name__ == "__main__":  # pragma: no cover
    nlu(sys.argv[1:])
