"""Broadcast benchmark: audience resolution, fan-out, platform limits, memory, segment counts.

What it measures (fake LINE and Telegram APIs from tests/fakes run in this process; real
`sapa worker` processes do the sending, as in production):

1. 100,000 contacts (50/50 LINE/Telegram), in SQLite and in PostgreSQL: seeding (bulk
   inserts; COPY on PostgreSQL), time to resolve the audience into delivery rows, time to
   cut the LINE rows into multicast chunks, and the dispatch time of the LINE share
   against an unthrottled fake (target <= 10 s). SQLite runs embedded (SQLite queue);
   PostgreSQL runs scaled (Redis queue and limiter).
2. Telegram with the fake enforcing the real limits (30/s overall, 1/s per chat, 429
   beyond): a bounded run of --telegram-messages (600) through two worker processes,
   embedded (in-process limiter, each process half the budget) and scaled (one Redis
   limiter): achieved rate / 30 (target >= 0.95) and 429s (target 0).
3. 1,000,000 contacts on PostgreSQL: the audience count of a three-rule segment (median of
   5 after a warm-up; target <= 1 s), then a campaign to all of them through two worker
   processes: resolution time, LINE share dispatch time and peak RSS per worker process
   (VmHWM; target <= 300 MB). Telegram is stopped after the LINE share (it would take
   500,000 / 29 s).

Run from the repository root (PostgreSQL database sapa_bench and Redis must be up):

    .venv/bin/python bench/broadcast.py
    .venv/bin/python bench/broadcast.py --skip-million --contacts 20000

Results: a printed table and bench/results/broadcast.json. Exit status is non-zero only
when the benchmark itself fails, never for a missed target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SAPA_ENV", "test")

from sqlalchemy import func, select, text  # noqa: E402

from tests.fakes.line_api import FakeLine  # noqa: E402
from tests.fakes.telegram_api import FakeTelegram  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "broadcast.json"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/sapa_bench"
REDIS = "redis://127.0.0.1:6379/13"
LINE_SECRET, TG_TOKEN, TG_SECRET = "bench-line-secret", "123:BENCH", "bench-secret"
THREE_RULES = {"all": [{"field": "channel", "op": "eq", "value": "line"},
                       {"field": "last_seen_days", "op": "lte", "value": 30},
                       {"field": "tag", "op": "has", "value": "vip"}]}


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- seeding ---------------------------------------------------------------------------------


def _rows(n: int, seed: int = 7):
    """(contact, identity) values: half LINE, half Telegram, some tags, varied activity."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    for i in range(1, n + 1):
        tags = [t for t, p in (("vip", 0.1), ("kopi", 0.3)) if rng.random() < p]
        seen = now - timedelta(days=rng.random() * 400)
        channel = "line" if i % 2 else "telegram"
        external = f"U{i:032x}" if channel == "line" else str(5_000_000_000 + i)
        yield i, f"Pelanggan {i}", json.dumps(tags), "id" if rng.random() < 0.8 else "en", seen, now, channel, external


def reset_schema(url: str) -> None:
    """A migrated, empty database."""
    from core.db import dispose_engines, get_engine
    from bot.migrate import upgrade

    if url.startswith("postgresql"):
        with get_engine(url).begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    dispose_engines()
    upgrade(url)


def seed_sqlite(url: str, n: int) -> float:
    """Bulk insert n contacts with one identity each (one transaction)."""
    started = time.perf_counter()
    connection = sqlite3.connect(url.split("///", 1)[1])
    connection.execute("PRAGMA synchronous=OFF")
    contacts, identities = [], []
    for i, name, tags, lang, seen, now, channel, external in _rows(n):
        stamp, seen_s = now.strftime("%Y-%m-%d %H:%M:%S.%f"), seen.strftime("%Y-%m-%d %H:%M:%S.%f")
        contacts.append((i, name, tags, "{}", "active", 1, lang, stamp, seen_s))
        identities.append((i, channel, external, "", 0, stamp))
    with connection:
        connection.executemany("INSERT INTO contact (id, display_name, tags, attributes, status, marketing_consent, "
                               "language, created_at, last_seen_at) VALUES (?,?,?,?,?,?,?,?,?)", contacts)
        connection.executemany("INSERT INTO channelidentity (contact_id, channel, external_id, display_name, blocked, "
                               "created_at) VALUES (?,?,?,?,?,?)", identities)
    connection.execute("ANALYZE")
    connection.close()
    return time.perf_counter() - started


def seed_postgres(url: str, n: int) -> float:
    """COPY n contacts with one identity each."""
    import psycopg

    started = time.perf_counter()
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    # contacts first, then identities (one COPY at a time per connection)
    with psycopg.connect(dsn) as connection:
        with connection.cursor() as cursor, cursor.copy(
                "COPY contact (id, display_name, tags, attributes, status, marketing_consent, language, created_at, "
                "last_seen_at) FROM STDIN") as copy:
            for i, name, tags, lang, seen, now, _channel, _external in _rows(n):
                copy.write_row((i, name, tags, "{}", "active", True, lang, now, seen))
        with connection.cursor() as cursor, cursor.copy(
                "COPY channelidentity (contact_id, channel, external_id, display_name, blocked, created_at) "
                "FROM STDIN") as copy:
            for i, _name, _tags, _lang, _seen, now, channel, external in _rows(n):
                copy.write_row((i, channel, external, "", False, now))
        connection.execute(f"SELECT setval('contact_id_seq', {n})")
        connection.execute("ANALYZE contact")
        connection.execute("ANALYZE channelidentity")
    return time.perf_counter() - started


# --- running the product --------------------------------------------------------------------


def settings_for(url: str, queue_url: str, fake_line: FakeLine, fake_telegram: FakeTelegram, **extra):
    """Settings (and the matching worker environment) for a database, a queue and the fakes."""
    from core.settings import Settings

    values = {"env": "test", "database_url": url, "queue_url": queue_url,
              "line": {"channel_secret": LINE_SECRET, "access_token": fake_line.access_token,
                       "api_base": fake_line.url},
              "telegram": {"bot_token": TG_TOKEN, "secret_token": TG_SECRET, "api_base": fake_telegram.url},
              "broadcasts": extra.pop("broadcasts", {}), **extra}
    env = {**os.environ, "SAPA_ENV": "test", "SAPA_DATABASE_URL": url, "SAPA_QUEUE_URL": queue_url,
           "SAPA_LINE__CHANNEL_SECRET": LINE_SECRET, "SAPA_LINE__ACCESS_TOKEN": fake_line.access_token,
           "SAPA_LINE__API_BASE": fake_line.url, "SAPA_TELEGRAM__BOT_TOKEN": TG_TOKEN,
           "SAPA_TELEGRAM__SECRET_TOKEN": TG_SECRET, "SAPA_TELEGRAM__API_BASE": fake_telegram.url,
           "SAPA_QUEUE__WORKERS": "2", "SAPA_QUEUE__WORKER_TYPE": "process",
           "SAPA_LOG_LEVEL": "WARNING"}
    return Settings(**values), env


def start_worker(env: dict) -> subprocess.Popen:
    """`sapa worker` (2 processes) in its own process group."""
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_worker(worker: subprocess.Popen) -> None:
    """Stop the worker group (SIGINT, then SIGKILL)."""
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGINT)
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(x) for x in handle.read().split()]
    except OSError:
        return []


def peak_rss_mb(pid: int) -> dict[int, float]:
    """VmHWM (peak resident set) of a process and its children, MB."""
    peaks = {}
    for one in [pid] + _children(pid):
        try:
            with open(f"/proc/{one}/status") as handle:
                for line in handle:
                    if line.startswith("VmHWM:"):
                        peaks[one] = int(line.split()[1]) / 1024
        except OSError:
            pass
    return peaks


def count_status(engine, run_id: int, channel: str) -> dict[str, int]:
    """Recipient status → count for one channel of a run."""
    from broadcasts.models import CampaignRecipient

    with engine.connect() as connection:
        rows = connection.execute(select(CampaignRecipient.status, func.count()).where(
            CampaignRecipient.run_id == run_id, CampaignRecipient.channel == channel).group_by(CampaignRecipient.status)).all()
    return {status: n for status, n in rows}


def new_campaign(rt, rules=None, channels=None) -> int:
    """A campaign due now (not queued: the benchmark drives it)."""
    from broadcasts import campaigns as cmp
    from core.db import session_scope

    with session_scope(rt.engine) as session:
        return cmp.create_campaign(session=session, name="Bench", message={"text": "Promo hemat!"},
                                   rules=rules or {}, channels=channels, timezone_name="Asia/Jakarta").id


def cancel(rt, campaign_id: int) -> None:
    """Stop the rest of a campaign (the Telegram share in the dispatch phases)."""
    from broadcasts import campaigns as cmp
    from broadcasts.campaign_message import CampaignError
    from core.db import session_scope

    try:
        with session_scope(rt.engine) as session:
            cmp.cancel(session=session, campaign_id=campaign_id)
    except CampaignError:
        pass  # already done


def flush_queue(queue_url: str) -> None:
    """Empty the queue between phases."""
    from core.queue import configure_queue

    configure_queue(queue_url).flush()


def fan_out(label: str, url: str, queue_url: str, n: int, fake_line: FakeLine, fake_telegram: FakeTelegram,
            rss: bool = False) -> dict:
    """Resolve, chunk and send the LINE share of a campaign to everyone through `sapa worker`."""
    from core.queue import configure_queue
    from bot.runtime import build_runtime
    from core.runtime import set_runtime
    from broadcasts import runs, tasks
    from broadcasts.models import CampaignRun, CampaignRecipient

    settings, env = settings_for(url, queue_url, fake_line, fake_telegram)
    rt = build_runtime(settings)
    set_runtime(rt)
    configure_queue(queue_url)
    flush_queue(queue_url)
    fake_line.reset()
    fake_line.record = False
    fake_telegram.reset()
    fake_telegram.record = False
    result: dict = {"label": label, "contacts": n}
    campaign_id = new_campaign(rt)
    worker = start_worker(env)
    try:
        time.sleep(3)  # let the worker import everything before the clock starts
        if rss:
            # the worker does everything: resolution, chunking, sending (memory is what we watch)
            started = time.perf_counter()
            tasks.enqueue_campaign(campaign_id, "now")
            run_id = None
            while run_id is None:
                with rt.engine.connect() as connection:
                    run_id = connection.execute(select(CampaignRun.id).where(
                        CampaignRun.campaign_id == campaign_id)).scalar()
                time.sleep(0.2)
            while True:
                with rt.engine.connect() as connection:
                    status = connection.execute(select(CampaignRun.status).where(CampaignRun.id == run_id)).scalar()
                if status != "resolving":
                    break
                time.sleep(0.2)
            result["resolve_s"] = round(time.perf_counter() - started, 2)
            line_started = time.perf_counter()
        else:
            run_id = runs.open_run(rt, campaign_id, "now")
            started = time.perf_counter()
            targeted = runs.resolve(rt, run_id)
            result["resolve_s"] = round(time.perf_counter() - started, 2)
            result["deliveries"] = targeted
            started = time.perf_counter()
            runs.check_quota(rt, run_id)
            plan = runs.dispatch(rt, run_id)
            result["chunk_s"] = round(time.perf_counter() - started, 2)
            result["line_chunks"] = len(plan.chunks)
            line_started = time.perf_counter()
            for chunk in plan.chunks:
                tasks.send_chunk_task(run_id, chunk)
        deadline = time.monotonic() + 600
        line_total = n // 2 + n % 2
        while time.monotonic() < deadline:
            done = count_status(rt.engine, run_id, "line").get("sent", 0)
            if done >= line_total:
                break
            time.sleep(0.25 if n <= 100_000 else 1.0)  # polling a million rows costs the database too
        result["line_dispatch_s"] = round(time.perf_counter() - line_started, 2)
        result["line_sent"] = count_status(rt.engine, run_id, "line").get("sent", 0)
        result["line_recipients_at_fake"] = len(fake_line.deliveries_per_user())
        result["line_multicasts"] = fake_line.count_of("/v2/bot/message/multicast")
        if rss:
            with rt.engine.connect() as connection:
                result["deliveries"] = connection.execute(select(func.count()).select_from(CampaignRecipient.__table__)
                                                          .where(CampaignRecipient.run_id == run_id)).scalar()
            peaks = peak_rss_mb(worker.pid)
            result["worker_peak_rss_mb"] = {str(pid): round(mb, 1) for pid, mb in peaks.items()}
            result["worker_peak_rss_max_mb"] = round(max(peaks.values()), 1) if peaks else None
        cancel(rt, campaign_id)
    finally:
        stop_worker(worker)
        rt.close()
        set_runtime(None)
    flush_queue(queue_url)
    return result


def telegram_rate(label: str, queue_url: str, messages: int, fake_line: FakeLine, fake_telegram: FakeTelegram,
                  tmp: Path, seconds: float = 40.0) -> dict:
    """A bounded Telegram campaign through 2 worker processes with the fake enforcing the limits."""
    from core.queue import configure_queue
    from bot.runtime import build_runtime
    from core.runtime import set_runtime
    from broadcasts import tasks

    url = f"sqlite:///{tmp}/telegram-{label}.db"
    reset_schema(url)
    sqlite = sqlite3.connect(url.split("///", 1)[1])
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite:
        sqlite.executemany("INSERT INTO contact (id, display_name, tags, attributes, status, marketing_consent, "
                           "created_at, last_seen_at) VALUES (?,?,?,?,?,?,?,?)",
                           [(i, f"T{i}", "[]", "{}", "active", 1, now, now) for i in range(1, messages + 1)])
        sqlite.executemany("INSERT INTO channelidentity (contact_id, channel, external_id, display_name, blocked, "
                           "created_at) VALUES (?,?,?,?,?,?)",
                           [(i, "telegram", str(7_000_000_000 + i), "", 0, now) for i in range(1, messages + 1)])
    sqlite.close()
    settings, env = settings_for(url, queue_url, fake_line, fake_telegram)
    rt = build_runtime(settings)
    set_runtime(rt)
    configure_queue(queue_url)
    flush_queue(queue_url)
    if queue_url.startswith("redis"):
        import redis

        redis.Redis.from_url(queue_url).flushdb()
    fake_telegram.reset()
    fake_telegram.record = False
    fake_telegram.enforce_limits = True
    campaign_id = new_campaign(rt)
    worker = start_worker(env)
    try:
        time.sleep(3)
        tasks.enqueue_campaign(campaign_id, "now")
        deadline = time.monotonic() + seconds + 30
        while time.monotonic() < deadline and len(fake_telegram.send_times) < messages:
            time.sleep(0.2)
        result = {"label": label, "messages": messages, "accepted": len(fake_telegram.send_times),
                  "too_many_429": fake_telegram.too_many, "achieved_per_s": round(fake_telegram.achieved_rate(), 2)}
        result["fraction_of_30"] = round(result["achieved_per_s"] / 30, 3)
        cancel(rt, campaign_id)
    finally:
        stop_worker(worker)
        rt.close()
        set_runtime(None)
        fake_telegram.enforce_limits = False
    flush_queue(queue_url)
    return result


def segment_count(url: str, repeats: int = 5) -> dict:
    """Median time of the three-rule audience count (after one warm-up)."""
    from sqlmodel import Session

    from broadcasts import segments as seg
    from core.db import get_engine

    engine = get_engine(url)
    with Session(engine) as session:
        count = seg.count(session=session, rules=THREE_RULES)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            seg.count(session=session, rules=THREE_RULES)
            times.append(time.perf_counter() - started)
    return {"rules": THREE_RULES, "count": count, "median_s": round(statistics.median(times), 3),
            "max_s": round(max(times), 3)}


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    """Run the phases, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--million", type=int, default=1_000_000)
    parser.add_argument("--telegram-messages", type=int, default=600)
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--redis", default=REDIS)
    parser.add_argument("--skip-million", action="store_true")
    parser.add_argument("--skip-fanout", action="store_true", help="skip the 100,000-contact fan-out phase")
    parser.add_argument("--skip-telegram", action="store_true", help="skip the Telegram rate phase")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    results: dict = {"benchmark": "broadcast", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                 "load_at_start": os.getloadavg()[0]}}
    tmp = Path(tempfile.mkdtemp(prefix="sapa-bench-broadcast-"))
    with FakeLine(access_token="bench-line-token") as fake_line, FakeTelegram(token=TG_TOKEN) as fake_telegram:
        sqlite_url = f"sqlite:///{tmp}/sapa.db"
        if not args.skip_fanout:
            fanout_phase(args, results, tmp, sqlite_url, fake_line, fake_telegram)
        for label, queue_url in (() if args.skip_telegram else
                                 (("embedded", f"sqlite:///{tmp}/queue-tg.db"), ("scaled", args.redis))):
            log(f"Telegram with real limits, {label}: {args.telegram_messages} messages")
            results[f"telegram_{label}"] = telegram_rate(label, queue_url, args.telegram_messages, fake_line,
                                                         fake_telegram, tmp)
            log(f"  {results[f'telegram_{label}']}")
        if not args.skip_million:
            million_phase(args, results, fake_line, fake_telegram)
    results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results["machine"]["load_at_end"] = os.getloadavg()[0]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, default=str))
    print_table(results)
    return 0


def fanout_phase(args, results: dict, tmp: Path, sqlite_url: str, fake_line, fake_telegram) -> None:
    """100,000 contacts on SQLite (embedded) and PostgreSQL (scaled)."""
    log(f"SQLite: seeding {args.contacts:,} contacts")
    reset_schema(sqlite_url)
    seeded = seed_sqlite(sqlite_url, args.contacts)
    log("SQLite: fan-out (embedded: SQLite queue, 2 worker processes)")
    row = fan_out("sqlite (embedded)", sqlite_url, f"sqlite:///{tmp}/queue.db", args.contacts, fake_line,
                  fake_telegram)
    row["seed_s"] = round(seeded, 2)
    results["fanout_sqlite"] = row
    log(f"  {row}")
    log(f"PostgreSQL: seeding {args.contacts:,} contacts (COPY)")
    reset_schema(args.postgres)
    seeded = seed_postgres(args.postgres, args.contacts)
    log("PostgreSQL: fan-out (scaled: Redis queue, 2 worker processes)")
    row = fan_out("postgresql (scaled)", args.postgres, args.redis, args.contacts, fake_line, fake_telegram)
    row["seed_s"] = round(seeded, 2)
    results["fanout_postgres"] = row
    log(f"  {row}")


def million_phase(args, results: dict, fake_line, fake_telegram) -> None:
    """1,000,000 contacts on PostgreSQL: segment count, then a campaign through the workers."""
    log(f"PostgreSQL: seeding {args.million:,} contacts (COPY)")
    reset_schema(args.postgres)
    seeded = seed_postgres(args.postgres, args.million)
    results["million_seed_s"] = round(seeded, 2)
    results["segment_count_million"] = segment_count(args.postgres)
    log(f"  segment count: {results['segment_count_million']}")
    log("PostgreSQL: campaign to 1,000,000 through the workers (peak RSS)")
    results["million_fanout"] = fan_out("postgresql 1M (scaled)", args.postgres, args.redis, args.million,
                                        fake_line, fake_telegram, rss=True)
    log(f"  {results['million_fanout']}")


def print_table(results: dict) -> None:
    """The figures against the targets."""
    rows = []
    for key in ("fanout_sqlite", "fanout_postgres"):
        r = results.get(key)
        if r:
            rows += [(f"{r['label']}: seed {r['contacts']:,}", f"{r['seed_s']} s", ""),
                     (f"{r['label']}: resolve → {r.get('deliveries', 0):,} deliveries", f"{r['resolve_s']} s", ""),
                     (f"{r['label']}: cut {r.get('line_chunks', 0)} LINE chunks", f"{r.get('chunk_s')} s", ""),
                     (f"{r['label']}: LINE share dispatched ({r['line_sent']:,})", f"{r['line_dispatch_s']} s",
                      "<= 10 s")]
    for key in ("telegram_embedded", "telegram_scaled"):
        r = results.get(key)
        if r:
            rows += [(f"Telegram {r['label']}: achieved / 30 per s ({r['accepted']} msgs)",
                      f"{r['fraction_of_30']} ({r['achieved_per_s']}/s)", ">= 0.95"),
                     (f"Telegram {r['label']}: 429s", str(r["too_many_429"]), "0")]
    if "segment_count_million" in results:
        r = results["segment_count_million"]
        rows.append((f"3-rule segment count over 1M (PostgreSQL) = {r['count']:,}", f"{r['median_s']} s", "<= 1 s"))
    if "million_fanout" in results:
        r = results["million_fanout"]
        rows += [(f"1M: resolve in the worker → {r.get('deliveries', 0):,}", f"{r['resolve_s']} s", ""),
                 ("1M: LINE share dispatched", f"{r['line_dispatch_s']} s", ""),
                 ("1M: peak worker RSS (max of the processes)", f"{r.get('worker_peak_rss_max_mb')} MB", "<= 300 MB")]
    width = max(len(r[0]) for r in rows) + 2
    print(f"{'measure':<{width}}{'value':<22}target")
    for name, value, target in rows:
        print(f"{name:<{width}}{value:<22}{target}")


if __name__ == "__main__":
    sys.exit(main())
