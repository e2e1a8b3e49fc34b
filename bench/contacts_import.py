"""Contact import: 100,000 distinct valid rows into a fresh database in under 60 s.

Writes a CSV of N customers (name, phone as 08…, email, dd/mm/yyyy birthday, tags, a custom
field), imports it into a fresh SQLite database (and PostgreSQL with --postgres-url; that
database is emptied), and prints rows/s and seconds. Baselines in the same run: the time to
only read and validate the file (a dry run on an empty database), and the naive path of one
transaction per row (the same rows through `import_contacts` with batch=1, on 5,000 rows).

    .venv/bin/python bench/contacts_import.py [--rows 100000] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

import bot.all_models  # noqa: E402,F401
from core.db import get_engine  # noqa: E402
from crm.contact_import import import_contacts  # noqa: E402

LIMIT_SECONDS = 60


def write_rows(path: Path, rows: int) -> Path:
    """A CSV of `rows` distinct valid customers."""
    rng = random.Random(20)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("name,phone,email,birthday,tags,custom.kota\n")
        for i in range(rows):
            handle.write(f"Pelanggan {i},0812{i:08d},p{i}@contoh.id,{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/"
                         f"{rng.randint(1960, 2005)},\"{rng.choice(['vip', 'kopi', 'teh'])}\","
                         f"{rng.choice(['Jakarta', 'Bogor', 'Bandung'])}\n")
    return path


def fresh(url: str):
    """An empty database with the schema."""
    engine = get_engine(url)
    if url.startswith("postgresql"):
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        SQLModel.metadata.create_all(engine)
    return engine


def timed(label: str, rows: int, **kwargs) -> float:
    """Run one import and print its figures."""
    started = time.perf_counter()
    result = import_contacts(**kwargs)
    seconds = time.perf_counter() - started
    print(f"{label:<44} {rows:>7} rows {seconds:7.2f} s {rows / seconds:9.0f} rows/s   {result.line()}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--postgres-url", default=None, help="also import into this PostgreSQL database (emptied)")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        big = write_rows(work / "contacts.csv", args.rows)
        small = write_rows(work / "small.csv", 5000)
        sqlite = f"sqlite:///{work}/bench.db"
        timed("baseline: read + validate only (dry run)", args.rows, engine=fresh(sqlite), path=big, dry_run=True)
        naive = get_engine(f"sqlite:///{work}/naive.db")
        SQLModel.metadata.create_all(naive)
        timed("baseline: one transaction per row (sqlite)", 5000, engine=naive, path=small, batch=1)
        seconds = timed("import (sqlite)", args.rows, engine=fresh(sqlite), path=big)
        ok &= seconds < LIMIT_SECONDS
        timed("same file again (sqlite)", args.rows, engine=get_engine(sqlite), path=big)
        if args.postgres_url:
            seconds = timed("import (postgresql)", args.rows, engine=fresh(args.postgres_url), path=big)
            ok &= seconds < LIMIT_SECONDS
            timed("same file again (postgresql)", args.rows, engine=get_engine(args.postgres_url), path=big)
    print(f"{'PASS' if ok else 'FAIL'}: {args.rows} rows under {LIMIT_SECONDS} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
