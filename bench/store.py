"""Store benchmark: `store_events` flat out from several processes and threads, without HTTP.

The webhook's share of the ingest benchmark that is ours alone (group commit, write lock,
SQLite), measured with far less noise than through gunicorn: --processes processes (like
gunicorn's workers, forked) each run --threads threads that store single-event batches,
each event new, for --duration seconds on a fresh SQLite WAL database (or --database-url).

    .venv/bin/python bench/store.py
    .venv/bin/python bench/store.py --processes 2 --threads 16 --duration 5 --rounds 3

Prints stores/s and CPU µs per store for each round, then the median. Exit status is
non-zero only when the benchmark itself fails.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAYLOAD = '{"type":"message","message":{"type":"text","text":"' + "x" * 350 + '"}}'  # a LINE event's size


def _child(url: str, tag: str, threads: int, duration: float, timeout: float, results) -> None:
    from bot.ingest import RawEvent, store_events
    from core.db import get_engine

    engine = get_engine(url)
    counts = [0] * threads
    stop = time.monotonic() + duration

    def loop(n: int) -> None:
        i = 0
        while time.monotonic() < stop:
            # Bounded like a webhook's store (webhooks.store_timeout_seconds).
            store_events(engine, "line", [RawEvent(f"{tag}-{n}-{i}", "message", PAYLOAD)], timeout=timeout)
            i += 1
        counts[n] = i

    cpu = time.process_time()
    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    results.put((sum(counts), time.process_time() - cpu))


def run_round(url: str, processes: int, threads: int, duration: float, timeout: float,
              round_no: int) -> tuple[float, float]:
    """One round: (stores per second, CPU µs per store) over every process."""
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    # Keys unique across runs too, so that a reused --database-url never sees a duplicate.
    run = f"{time.time_ns():x}r{round_no}"
    children = [fork.Process(target=_child, args=(url, f"{run}p{p}", threads, duration, timeout, results))
                for p in range(processes)]
    for child in children:
        child.start()
    totals = [results.get(timeout=duration + 60) for _ in children]
    for child in children:
        child.join()
    stores = sum(count for count, _ in totals)
    cpu = sum(seconds for _, seconds in totals)
    if not stores:
        raise SystemExit("no event was stored; see the errors above")
    return stores / duration, cpu / stores * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2, help="storing processes (default 2, as gunicorn's workers)")
    parser.add_argument("--threads", type=int, default=16, help="threads per process (default 16, as sapa web)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per round (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--database-url", help="default: a fresh SQLite WAL file in a temp dir")
    parser.add_argument("--store-timeout", type=float, default=4.0,
                        help="seconds a store may take, as webhooks.store_timeout_seconds (default 4)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sapa-bench-store-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/sapa.db"
        env = {**os.environ, "SAPA_ENV": "development", "SAPA_DATABASE_URL": url,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))}
        print(f"setup: migrating {url}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        rates, costs = [], []
        for r in range(args.rounds):
            rate, cost = run_round(url, args.processes, args.threads, args.duration, args.store_timeout, r)
            rates.append(rate)
            costs.append(cost)
            print(f"round {r + 1}/{args.rounds}: {rate:8.0f} stores/s  {cost:6.1f} µs CPU per store", file=sys.stderr)
    print(f"store_events, {args.processes} processes x {args.threads} threads: median {statistics.median(rates):.0f} "
          f"stores/s, {statistics.median(costs):.1f} µs CPU per store ({args.rounds} rounds of {args.duration:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
