#!/usr/bin/env python
"""NLU benchmark: throughput and latency of handlers.nlu.analyze() (intent + sentiment +
language + entities against a 50-product catalog), model load time, RSS after load, and
test-set F1.  Run: .venv/bin/python bench/nlu.py [--model PATH] [--calls N] [--json]

Measurements run in a fresh child interpreter pinned to one CPU core, so the model load
time and RSS are those of a process that only loads the model (no scikit-learn import).
Per call, the message-level caches (normalised text, embedding, per-message prediction) are cleared
outside the timed region, so every call does the full work; word-level caches stay warm
as they would in a running bot.  A 'cold' row clears every cache before each call.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TESTSET = ROOT / "tests" / "handlers" / "nlu_testset.jsonl"
# Issue 18: the whole analysis <= 10 ms p99 on one core, load <= 2 s, a worker <= 400 MB.
TARGETS = {"msg_per_s": 200, "p99_ms": 10.0, "load_s": 2.0, "rss_mb": 400}

CATALOG = [
    "Es Kopi Susu", "Americano", "Croissant", "Matcha Latte", "Cappuccino", "Caffe Latte", "Roti Bakar",
    "Roti Sobek Coklat", "Brownies Fudgy", "Donat Glaze", "Cheesecake", "Red Velvet", "Kopi Susu Gula Aren",
    "Es Teh Manis", "Mocha", "Caramel Latte", "V60", "Pisang Goreng", "Croffle", "Banana Bread",
    "Kaos Polos Putih", "Hoodie Abu", "Kemeja Flanel", "Blouse Putih", "Gamis Navy", "Celana Kulot",
    "Sweater Rajut", "Totebag Canvas", "Kaos Kaki", "Sneakers Putih", "Casing iPhone 13", "Tempered Glass",
    "Charger Type C 20W", "Kabel Data Lightning", "Powerbank 10000mAh", "Softcase Redmi Note 12",
    "Magsafe Case", "Kabel Micro USB", "Headset Bluetooth", "Tongsis", "Bolu Pandan", "Kue Sus", "Nasi Kotak",
    "Tumpeng Mini", "Roti Gandum", "Kue Lapis Legit", "Donat Coklat", "Matcha Cake", "Tiramisu", "Lemon Tea",
]


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(model_path: str, calls: int) -> dict:
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass
    rss0 = _rss_mb()
    c0 = time.process_time()
    t0 = time.perf_counter()
    # Imported here, in the child, because their import time is one of the figures measured.
    from core.normalize import normalize
    from core import encoder
    from handlers.nlu import analyze, load_model
    from handlers.nlu.cli import evaluate
    from handlers.nlu.products import catalog_matcher

    t_import = time.perf_counter() - t0
    c_import = time.process_time() - c0
    t1 = time.perf_counter()
    c1 = time.process_time()
    model = load_model(model_path)
    model.embedding("warm up")  # the sentence encoder's weights are part of loading
    t_load = time.perf_counter() - t1
    c_load = time.process_time() - c1
    rss_loaded = _rss_mb()

    rows = [json.loads(line) for line in TESTSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["text"] for r in rows]
    catalog_matcher(CATALOG)  # built once per catalog, cached

    def run(n: int, cold: bool) -> tuple[list[float], list[float]]:
        wall, cpu = [], []
        pc, tt = time.perf_counter_ns, time.thread_time_ns
        for i in range(n):
            t = texts[i % len(texts)]
            normalize.cache_clear()
            model._cache.clear()
            encoder._cache.clear()
            if cold:
                model._wcache.clear()
                catalog_matcher(CATALOG)._tok_cache.clear()
            s, sc = pc(), tt()
            analyze(t, catalog=CATALOG, model=model)
            cpu.append((tt() - sc) / 1e9)
            wall.append((pc() - s) / 1e9)
        return wall, cpu

    run(len(texts), False)  # warm-up
    wall, cpu = run(calls, False)
    cwall, ccpu = run(max(2000, calls // 10), True)

    def stats(lat):
        lat = sorted(lat)
        return {
            "calls": len(lat),
            "msg_per_s": round(len(lat) / sum(lat), 1),
            "p50_ms": round(lat[len(lat) // 2] * 1e3, 3),
            "p99_ms": round(lat[int(len(lat) * 0.99)] * 1e3, 3),
            "max_ms": round(lat[-1] * 1e3, 3),
        }

    rep = evaluate(rows, model)
    return {
        "steady_cpu": stats(cpu),
        "steady_wall": stats(wall),
        "cold_cpu": stats(ccpu),
        "cold_wall": stats(cwall),
        "import_s": round(t_import, 3),
        "import_cpu_s": round(c_import, 3),
        "load_s": round(t_load, 3),
        "load_cpu_s": round(c_load, 3),
        "loadavg": os.getloadavg(),
        "cpus": os.cpu_count(),
        "rss_before_mb": round(rss0, 1),
        "rss_after_load_mb": round(rss_loaded, 1),
        "rss_end_mb": round(_rss_mb(), 1),
        "sklearn_imported": "sklearn" in sys.modules,
        "testset": rep,
        "model": {k: model.meta.get(k) for k in ("variant", "n_features", "cv", "trained_at")},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model path (default data/nlu/model.joblib; trained if missing)")
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.model, a.calls)))
        return

    # Not at the top: this file is also the child, which times its own import of handlers.nlu.
    from handlers.nlu import train
    from handlers.nlu.config import shop_config

    path = Path(a.model or shop_config()["model_path"])
    if not path.exists():

        print(f"training model -> {path} ...", file=sys.stderr)
        train(shop_config()["extra_examples"], shop_config()["custom_intents"]).save(path)
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--model", str(path), "--calls", str(a.calls)],
        capture_output=True, text=True, cwd=ROOT,
    )
    if out.returncode:
        sys.stderr.write(out.stderr)
        sys.exit(out.returncode)
    r = json.loads(out.stdout)
    if a.json:
        print(json.dumps(r, indent=2))
        return

    def ok(v, target, lower_is_better=True):
        good = v <= target if lower_is_better else v >= target
        return "ok" if good else "MISSED"

    s, w, c, cw = r["steady_cpu"], r["steady_wall"], r["cold_cpu"], r["cold_wall"]
    print(f"NLU benchmark (model {path}, {r['model']['variant']}, {r['model']['n_features']} features, "
          f"50-product catalog, 1 core)")
    la = r["loadavg"]
    print(f"machine: {r['cpus']} CPUs, load average during run {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"
          " -- wall-clock figures include time taken by other processes; CPU-time figures do not")
    print()
    print(f"{'metric':<40}{'CPU time':>11}{'wall clock':>12}{'target':>10}   ")
    print("-" * 78)
    rows = [
        ("analyze() throughput (msg/s)", s["msg_per_s"], w["msg_per_s"], f">= {TARGETS['msg_per_s']}",
         ok(s["msg_per_s"], TARGETS["msg_per_s"], False)),
        ("analyze() p50 latency (ms)", s["p50_ms"], w["p50_ms"], "", ""),
        ("analyze() p99 latency (ms)", s["p99_ms"], w["p99_ms"], f"<= {TARGETS['p99_ms']}", ok(s["p99_ms"], TARGETS["p99_ms"])),
        ("analyze() max latency (ms)", s["max_ms"], w["max_ms"], "", ""),
        (f"cold caches, {c['calls']} calls: msg/s", c["msg_per_s"], cw["msg_per_s"], "", ""),
        ("cold caches: p99 latency (ms)", c["p99_ms"], cw["p99_ms"], "", ""),
        ("import handlers.nlu (s)", r["import_cpu_s"], r["import_s"], "", ""),
        ("model load (s)", r["load_cpu_s"], r["load_s"], f"<= {TARGETS['load_s']}", ok(r["load_s"], TARGETS["load_s"])),
        ("process RSS after load (MB)", "", r["rss_after_load_mb"], f"<= {TARGETS['rss_mb']}", ok(r["rss_after_load_mb"], TARGETS["rss_mb"])),
        ("process RSS at end (MB)", "", r["rss_end_mb"], "", ""),
    ]
    for name, v, vw, tgt, flag in rows:
        print(f"{name:<40}{v:>11}{vw:>12}{tgt:>10}   {flag}")
    print(f"(timed calls: {s['calls']}; targets judged on CPU time except load/RSS; scikit-learn imported for inference: {r['sklearn_imported']})")
    print()
    t = r["testset"]
    print(f"Test set {TESTSET.relative_to(ROOT)} ({t['n']} messages)")
    print(f"{'intent':<15}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    print("-" * 55)
    for lab, v in t["per_intent"].items():
        print(f"{lab:<15}{v['precision']:>10.3f}{v['recall']:>10.3f}{v['f1']:>10.3f}{v['support']:>10d}")
    print("-" * 55)
    print(f"{'macro-F1':<15}{'':>20}{t['macro_f1']:>10.3f}")
    print(f"{'accuracy':<15}{'':>20}{t['accuracy']:>10.3f}")
    cv = r["model"].get("cv")
    if cv:
        print(f"\nTraining-data {cv['folds']}-fold CV: macro-F1 {cv['macro_f1']:.3f}, accuracy {cv['accuracy']:.3f}, "
              f"ECE {cv['ece']:.3f} (temperature {cv['temperature']:.3f})")


if __name__ == "__main__":
    main()
