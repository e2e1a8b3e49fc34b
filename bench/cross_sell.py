"""The nightly cross-sell run (frequently-bought-together rules) over the orders of 100,000 contacts, and its reads.

Builds the same shop as bench/customer_value.py (N contacts, a year of orders of 1-3 lines over 30 products)
in a temporary SQLite database in a child process, then times `cross_sell.recompute` with its commit (seconds,
peak RSS), the chat's read (`suggested_for` a cart: once per order message) and a campaign range's read
(`recommended` for 50 contacts, the send batch). Thresholds are lowered so the random catalog yields rules.

    .venv/bin/python bench/cross_sell.py [--contacts 100000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import Session  # noqa: E402

from bench.customer_value import NOW, build  # noqa: E402
from core.db import get_engine, session_scope  # noqa: E402
from core.settings import CrossSellSettings  # noqa: E402
from crm import cross_sell  # noqa: E402

LIMIT_SECONDS, LIMIT_MB, LIMIT_READ_MS = 60, 300, 20
# Random baskets: every pair is about as likely (lift ~1) and rare (support ~0.002), so nearly all are kept.
RULES = CrossSellSettings(min_support=0.001, min_lift=0.0, min_confidence=0.0)


def _timed_ms(run, times: int = 200) -> tuple[float, float]:
    """The median and p99 milliseconds of `run(i)` for i in range(times)."""
    spent = []
    for i in range(times):
        started = time.perf_counter()
        run(i)
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent), statistics.quantiles(spent, n=100)[98]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="sapa-bench-xsell-")
    try:
        url = f"sqlite:///{folder}/bench.db"
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            orders = pool.apply(build, (url, args.contacts))
        print(f"built {args.contacts:,} contacts, {orders:,} orders in {time.perf_counter() - started:.1f} s")
        engine = get_engine(url)
        before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        with session_scope(engine) as session:
            summary = cross_sell.recompute(session=session, now=NOW, rules=RULES)
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with Session(engine) as session:
            cart = _timed_ms(lambda i: cross_sell.suggested_for(session=session, product_ids=[i % 30 + 1, 7]))
            batch = _timed_ms(lambda i: cross_sell.recommended(
                session=session, contact_ids=range(1 + 50 * i, 51 + 50 * i)), times=100)
        ok = seconds <= LIMIT_SECONDS and peak_mb <= LIMIT_MB and cart[1] <= LIMIT_READ_MS
        print(f"rules: {summary['rules']} for {summary['products']} products")
        print(f"nightly cross-sell: {seconds:.1f} s (target < {LIMIT_SECONDS} s), peak RSS {peak_mb:.0f} MB "
              f"(target < {LIMIT_MB} MB; {before_mb:.0f} MB before the run)")
        print(f"campaign range of 50 contacts: median {batch[0]:.1f} ms, p99 {batch[1]:.1f} ms")
        print(f"chat read: median {cart[0]:.2f} ms, p99 {cart[1]:.2f} ms (target < {LIMIT_READ_MS} ms): "
              f"{'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
