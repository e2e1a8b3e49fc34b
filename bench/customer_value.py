"""The nightly customer-value run (RFM, CLV, churn model and figures) for 100,000 contacts in under 60 s, 300 MB.

Builds N contacts with a year of orders (own order rates, some stop buying; 1-3 lines each over a catalog
of 5 categories) in a temporary SQLite database — in a child process, so the figures below are the run's
own — then times `recompute_all` with its commit, and prints the seconds and the peak RSS. The temporary
database is removed at the end.

    .venv/bin/python bench/customer_value.py [--contacts 100000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

import bot.all_models  # noqa: E402,F401
from core.db import get_engine, session_scope  # noqa: E402
from crm import customer_value  # noqa: E402
from crm.models import Contact  # noqa: E402
from crm.orders import Order, OrderItem, Product  # noqa: E402

LIMIT_SECONDS, LIMIT_MB = 60, 300
CHUNK = 10_000
NOW = datetime.now(timezone.utc)
DAYS = 365
CATEGORIES = ("Coffee", "Tea", "Pastry", "Cake", "Snack")


def build(url: str, contacts: int, seed: int = 1) -> int:
    """Contacts with orders and their lines; the number of orders written."""
    rng = np.random.default_rng(seed)
    engine = get_engine(url)
    SQLModel.metadata.create_all(engine)
    start = NOW - timedelta(days=DAYS)
    with session_scope(engine) as session:
        session.add_all([Product(sku=f"P{i}", name=f"Product {i}", category=CATEGORIES[i % 5], price=10_000 + 1_000 * i)
                         for i in range(30)])
    order_id, written = 0, 0
    for first in range(0, contacts, CHUNK):
        size = min(CHUNK, contacts - first)
        orders, items = [], []
        with session_scope(engine) as session:
            session.execute(insert(Contact), [{"id": first + i + 1, "display_name": f"Customer {first + i}",
                                               "tags": [], "attributes": {}} for i in range(size)])
            for i in range(size):
                rate = rng.gamma(2.0, 1 / 60)  # one order per 30 days on average
                day, end = rng.uniform(0, DAYS), DAYS
                end = min(end, day + rng.exponential(200))
                while True:
                    order_id += 1
                    lines = int(rng.integers(1, 4))
                    total = 0
                    for _ in range(lines):
                        product = int(rng.integers(0, 30))
                        price = 10_000 + 1_000 * product
                        items.append({"order_id": order_id, "product_id": product + 1,
                                      "product_name": f"Product {product}", "quantity": 1, "price": price,
                                      "addons": []})
                        total += price
                    orders.append({"id": order_id, "contact_id": first + i + 1, "status": "delivered",
                                   "subtotal": total, "delivery_fee": 10_000, "total": total + 10_000,
                                   "channel": "line", "fulfilment": "delivery",
                                   "created_at": start + timedelta(days=day)})
                    day += rng.exponential(1 / rate)
                    if day >= end:
                        break
            session.execute(insert(Order), orders)
            session.execute(insert(OrderItem), items)
        written += len(orders)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="sapa-bench-value-")
    try:
        url = f"sqlite:///{folder}/bench.db"
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            orders = pool.apply(build, (url, args.contacts))
        print(f"built {args.contacts:,} contacts, {orders:,} orders in {time.perf_counter() - started:.1f} s")
        engine = get_engine(url)
        import sklearn.linear_model  # noqa: F401 - what the worker has loaded before the run (imports: not the run's)

        before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        with session_scope(engine) as session:
            params = customer_value.recompute_all(session=session, now=NOW, tz=ZoneInfo("Asia/Jakarta"))
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for horizon, key, _column in customer_value.HORIZONS:
            churn = params[key]
            print(f"churn model, {horizon} days: {churn['kind']} on {churn['trained_on']:,} customers"
                  + (f", Brier {churn['brier']:.3f} vs base rate {churn['brier_base']:.3f}" if "brier" in churn else ""))
        ok = seconds <= LIMIT_SECONDS and peak_mb <= LIMIT_MB
        print(f"nightly customer values: {seconds:.1f} s (target < {LIMIT_SECONDS} s), peak RSS {peak_mb:.0f} MB "
              f"(target < {LIMIT_MB} MB; {before_mb:.0f} MB of it the imports): {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
