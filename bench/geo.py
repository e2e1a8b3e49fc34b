"""Benchmark for core.geo.NearestIndex.

Builds an index of 100,000 random stores over Indonesia's bounding box,
times ``nearest(k=3, max_km=50)`` over 10,000 random queries (target
p99 <= 2 ms) and spot-checks 100 queries against brute-force haversine.

Run from the repository root:  .venv/bin/python bench/geo.py
"""

from __future__ import annotations

import pathlib
import platform
import statistics
import sys
import time

import numpy as np

# Allow running as a plain script from the repository root or from bench/.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from core.geo import EARTH_RADIUS_KM, NearestIndex, Place  # noqa: E402

N_STORES = 100_000
N_QUERIES = 10_000
N_CHECKS = 100
K = 3
MAX_KM = 50.0
P99_TARGET_MS = 2.0
LAT_RANGE = (-11.0, 6.0)
LON_RANGE = (95.0, 141.0)
SEED = 20240601


def _brute_force(lats, lons, q_lat, q_lon, k, max_km):
    """Vectorised haversine over every store: the reference answer."""
    p1, p2 = np.radians(q_lat), np.radians(lats)
    a = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lons - q_lon) / 2) ** 2
    )
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    order = np.argsort(d, kind="stable")[:k]
    return [(int(i), float(d[i])) for i in order if d[i] <= max_km]


def _pct(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(round(q / 100 * (len(sorted_values) - 1))))]


def main() -> int:
    rng = np.random.default_rng(SEED)
    lats = rng.uniform(*LAT_RANGE, N_STORES)
    lons = rng.uniform(*LON_RANGE, N_STORES)
    places = [Place(i, float(a), float(o)) for i, (a, o) in enumerate(zip(lats, lons))]

    t0 = time.perf_counter()
    index = NearestIndex(places)
    build_s = time.perf_counter() - t0

    q_lats = rng.uniform(*LAT_RANGE, N_QUERIES).tolist()
    q_lons = rng.uniform(*LON_RANGE, N_QUERIES).tolist()
    for lat, lon in zip(q_lats[:200], q_lons[:200]):  # warm caches / lazy imports
        index.nearest(lat, lon, k=K, max_km=MAX_KM)

    latencies_ms = []
    hits = 0
    clock = time.perf_counter_ns
    for lat, lon in zip(q_lats, q_lons):
        t = clock()
        res = index.nearest(lat, lon, k=K, max_km=MAX_KM)
        latencies_ms.append((clock() - t) / 1e6)
        hits += bool(res)
    latencies_ms.sort()
    p50, p99 = _pct(latencies_ms, 50), _pct(latencies_ms, 99)

    # Correctness: same ids in the same order, distances within 1 m.
    mismatches = 0
    max_err_m = 0.0
    for lat, lon in zip(q_lats[:N_CHECKS], q_lons[:N_CHECKS]):
        got = index.nearest(lat, lon, k=K, max_km=MAX_KM)
        want = _brute_force(lats, lons, lat, lon, K, MAX_KM)
        if [i for i, _ in got] != [i for i, _ in want]:
            mismatches += 1
        for (_, d), (_, wd) in zip(got, want):
            max_err_m = max(max_err_m, abs(d - wd) * 1000)
    correct = mismatches == 0 and max_err_m < 1.0

    ok_latency = p99 <= P99_TARGET_MS
    rows = [
        ("machine", f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"),
        ("stores", f"{N_STORES:,} uniform in lat {LAT_RANGE}, lon {LON_RANGE}"),
        ("build time", f"{build_s * 1000:.1f} ms (incl. validation)"),
        ("queries", f"{N_QUERIES:,} x nearest(k={K}, max_km={MAX_KM:g})"),
        ("queries with >=1 hit", f"{hits / N_QUERIES:.1%}"),
        ("latency p50", f"{p50 * 1000:.1f} us"),
        ("latency mean", f"{statistics.fmean(latencies_ms) * 1000:.1f} us"),
        ("latency p99", f"{p99 * 1000:.1f} us  (target <= {P99_TARGET_MS:g} ms: {'OK' if ok_latency else 'MISSED'})"),
        ("latency max", f"{latencies_ms[-1] * 1000:.1f} us"),
        ("brute-force check", f"{N_CHECKS} queries, {mismatches} id mismatches, max |d err| {max_err_m:.1e} m"
                              f"  ({'OK' if correct else 'FAILED'})"),
    ]
    width = max(len(k) for k, _ in rows)
    print("core.geo NearestIndex benchmark")
    print("-" * (width + 60))
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    print("-" * (width + 60))
    return 0 if ok_latency and correct else 1


if __name__ == "__main__":
    sys.exit(main())
