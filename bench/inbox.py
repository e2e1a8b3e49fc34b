"""Benchmark of the staff inbox pages at shop scale: 10,000 contacts, 200,000 messages.

Seeds a fresh database (migrated with Alembic, so the real indexes are measured) with bulk
inserts (COPY on PostgreSQL), logs in as an admin, then requests every main page many times
through the WSGI app (template rendering included, no network) and prints p50/p99 per
page. Target: every page under 200 ms.

The database is temporary: a SQLite file in a temporary folder, or with `--postgres URL` a new
database on that server (created with a random name, dropped at the end). Either goes when the run
ends, also on an error, Ctrl-C or SIGTERM, unless `--keep`.

Run from the repository root:  .venv/bin/python bench/inbox.py [--contacts N] [--messages N]
    [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import pathlib
import random
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

os.environ.setdefault("SAPA_ENV", "test")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from sqlalchemy import JSON, create_engine, insert, make_url, text  # noqa: E402

import bot.all_models  # noqa: E402,F401
from core.settings import Settings  # noqa: E402
from crm import complaints as complaint_data  # noqa: E402
from crm import daily_figures  # noqa: E402
from crm import orders as order_data  # noqa: E402
from core.db import dispose_engines, get_engine, session_scope, utcnow  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from crm.models import (  # noqa: E402
    ChannelIdentity, Contact, Conversation, ConversationEpisode, FollowUpTask, Message, Note,
)
from crm.staff import create_user  # noqa: E402

TARGET_MS = 200.0
FIRST = ["Budi", "Siti", "Rina", "Agus", "Dewi", "Eko", "Putri", "Andi", "Maya", "Joko", "Sari", "Tono", "Lina",
         "Hadi", "Wati", "James", "Anna", "Rudi", "Nina", "Bayu"]
LAST = ["Santoso", "Rahma", "Wijaya", "Pratama", "Lestari", "Saputra", "Hidayat", "Kusuma", "Miller", "Nugroho"]
TEXTS = ["kak mau pesen es kopi susu 2 ya", "pesananku kok blm nyampe", "ada promo apa minggu ini?", "halo kak",
         "cabang terdekat dari kemang dimana?", "makasih ya kak", "mau matcha latte 1 less sugar",
         "kopinya tumpah pas dateng", "jam buka sampai jam berapa?", "bisa bayar pakai qris?"]
REPLIES = ["Siap kak! Sudah masuk keranjang.", "Maaf ya kak, kami cek dulu 🙏", "Promo minggu ini: beli 2 gratis 1!",
           "Halo kak! Ada yang bisa dibantu?", "Cabang terdekat: Sapa Kemang, 1,2 km."]
INTENTS = ["order", "order_status", "promotion", "greeting", "location", "faq", "complaint", "other"]
PRODUCTS = ["Es Kopi Susu", "Americano", "Caffe Latte", "Matcha Latte", "Croissant Butter", "Es Coklat"]


CHUNK = 20_000  # rows per INSERT batch (SQLite) or per COPY flush (PostgreSQL)


def bulk(connection, model, rows) -> None:
    """Insert `rows` (dicts, an iterable) into `model`'s table: COPY on PostgreSQL, chunked executemany on SQLite."""
    rows = iter(rows)
    if connection.dialect.name != "postgresql":
        while batch := [row for _, row in zip(range(CHUNK), rows)]:
            connection.execute(insert(model), batch)
        return
    table = model.__table__
    first = next(rows, None)
    if first is None:
        return
    names = list(first)
    as_json = {name for name in names if isinstance(table.c[name].type, JSON)}
    columns = ", ".join(f'"{name}"' for name in names)
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in itertools.chain([first], rows):
            copy.write_row([json.dumps(row[name]) if name in as_json else row[name] for name in names])


def message_rows(rng: random.Random, now, contacts: int, messages: int) -> Iterator[dict]:
    """The chats' messages, each contact's together, a customer's line then the bot's answer."""
    per = messages // contacts
    for i in range(messages):
        contact = (i // per) % contacts + 1
        inbound = i % 2 == 0
        yield {
            "conversation_id": contact, "contact_id": contact, "channel": "line" if contact % 3 else "telegram",
            "direction": "in" if inbound else "out", "sender": "customer" if inbound else "bot", "type": "text",
            "text": rng.choice(TEXTS) if inbound else rng.choice(REPLIES), "payload": {},
            "intent": rng.choice(INTENTS) if inbound else None, "status": "received" if inbound else "sent",
            "attempts": 0, "hidden": False, "seq": 0, "created_at": now - timedelta(minutes=messages - i)}


def seed(url: str, contacts: int, messages: int) -> dict:
    """Bulk-insert the dataset; returns ids to request."""
    rng = random.Random(42)
    engine = get_engine(url)
    now = utcnow()
    with session_scope(engine) as s:
        admin = create_user(session=s, email="bench@sapa.local", password="bench-password", role="admin")
        agents = [create_user(session=s, email=f"agent{i}@sapa.local", password="bench-password", role="agent").id
                  for i in range(3)]
        admin_id = admin.id
        for name in PRODUCTS:
            s.add(order_data.Product(sku=name[:8].upper().replace(" ", ""), name=name, price=25_000))
    with engine.begin() as c:
        bulk(c, Contact, [{
            "id": i, "display_name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}", "language": "id", "tags": [],
            "attributes": {}, "status": "active", "marketing_consent": True, "created_at": now - timedelta(days=400),
            "last_seen_at": now - timedelta(days=rng.randint(0, 300)),
            "birthday": date(1990, rng.randint(1, 12), rng.randint(1, 28))} for i in range(1, contacts + 1)])
        bulk(c, ChannelIdentity, [{
            "contact_id": i, "channel": "line" if i % 3 else "telegram", "external_id": f"U{i:032d}",
            "display_name": f"cust {i}", "blocked": False, "created_at": now} for i in range(1, contacts + 1)])
        statuses = ["open"] * 3 + ["pending", "snoozed"] + ["resolved"] * 5
        conversations = [{
            "id": i, "channel": "line" if i % 3 else "telegram", "external_chat_id": f"U{i:032d}", "kind": "direct",
            "contact_id": i, "status": rng.choice(statuses), "assignee_id": rng.choice(agents + [None, None]),
            "labels": rng.choice([[], [], ["vip"], ["reseller"], ["vip", "kantor"]]), "bot_active": rng.random() < .8,
            "bot_member": True, "state": {}, "unread_count": rng.choice([0, 0, 0, 1, 2]),
            "waiting_since": now - timedelta(minutes=rng.randint(1, 3000)) if rng.random() < .3 else None,
            "last_intent": rng.choice(INTENTS), "opened_at": now - timedelta(days=rng.randint(0, 60)),
            "last_message_at": now - timedelta(minutes=rng.randint(1, 90 * 1440)),
            "created_at": now - timedelta(days=90), "updated_at": now - timedelta(days=1)}
            for i in range(1, contacts + 1)]
        for row in conversations:  # response and resolution times for the dashboard
            row["first_response_at"] = row["opened_at"] + timedelta(minutes=rng.randint(1, 60))
            row["resolved_at"] = row["opened_at"] + timedelta(hours=rng.randint(1, 48)) \
                if row["status"] == "resolved" else None
            row["handoff_at"] = row["opened_at"] if not row["bot_active"] else None
        bulk(c, Conversation, conversations)
        bulk(c, ConversationEpisode, [{  # the dashboard's figures are read from the episodes
            "conversation_id": row["id"], "opened_at": row["opened_at"], "first_response_at": row["first_response_at"],
            "responder_id": row["assignee_id"], "resolved_at": row["resolved_at"],
            "resolver_id": row["assignee_id"] if row["resolved_at"] else None} for row in conversations])
        bulk(c, Message, message_rows(rng, now, contacts, messages))
        orders_n = contacts // 2
        bulk(c, order_data.Order, [{
            "id": i, "number": str(10_000 + i), "contact_id": rng.randint(1, contacts), "channel": "line",
            "status": rng.choice(order_data.STATUSES), "fulfilment": "delivery", "address": "Jl. Bench",
            "subtotal": 50_000, "delivery_fee": 10_000, "total": 60_000, "created_at": now - timedelta(days=rng.randint(0, 90)),
            "updated_at": now} for i in range(1, orders_n + 1)])
        bulk(c, order_data.OrderItem, [{
            "order_id": i, "product_name": rng.choice(PRODUCTS), "quantity": rng.randint(1, 3), "price": 25_000}
            for i in range(1, orders_n + 1)])
        bulk(c, complaint_data.Complaint, [{
            "number": f"C{i:05d}", "contact_id": rng.randint(1, contacts), "category": "delivery",
            "severity": rng.choice(complaint_data.SEVERITIES), "status": rng.choice(complaint_data.STATUSES),
            "text": "pesanan telat", "sla_due_at": now + timedelta(hours=rng.randint(-48, 48)),
            "created_at": now - timedelta(days=1)} for i in range(1, contacts // 10 + 1)])
        bulk(c, Note, [{"contact_id": rng.randint(1, contacts), "staff_user_id": admin_id,
                        "text": "catatan bench", "created_at": now} for _ in range(contacts // 5)])
        bulk(c, FollowUpTask, [{"contact_id": rng.randint(1, contacts), "title": "follow up",
                                "due_on": (now + timedelta(days=rng.randint(-5, 30))).date(),
                                "source": "manual", "created_at": now} for _ in range(contacts // 5)])
        if c.dialect.name == "postgresql":  # ids were given: the sequences carry on after them
            for table in ("contact", "conversation", '"order"'):
                c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        else:
            c.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":  # as autovacuum would have by then: statistics, visibility map
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    return {"conversation": contacts // 2, "contact": contacts // 3, "name": FIRST[3], "order": str(10_000 + 77)}


def seed_marketing(url: str) -> dict:
    """A three-rule segment and a draft campaign on it (the marketer's pages need one of each)."""
    from broadcasts import campaigns, segments

    rules = {"all": [{"field": "channel", "op": "eq", "value": "line"}, {"field": "last_seen_days", "op": "lte",
                                                                       "value": 90},
                     {"field": "birthday_month", "op": "in", "value": [1, 2, 3]}]}
    with session_scope(get_engine(url)) as s:
        segment = segments.create_segment(session=s, name="LINE, active, Q1 birthdays", rules=rules)
        campaign = campaigns.create_campaign(session=s, name="Bench promo", message={"text": "Halo {first_name}!"},
                                             segment_id=segment.id, timezone_name="Asia/Jakarta", draft=True)
        return {"segment": segment.id, "campaign": campaign.id}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))]


def _stop_on_sigterm(signum, _frame) -> None:
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C does, so the temporary database goes too


@contextmanager
def sqlite_database(keep: bool) -> Iterator[str]:
    """The URL of a SQLite file in a temporary folder, removed at the end unless `keep`."""
    folder = tempfile.mkdtemp(prefix="sapa-bench-inbox-")
    try:
        yield f"sqlite:///{folder}/bench.db"
    finally:  # at 2M messages the database is over a gigabyte: never left behind unless asked
        dispose_engines()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def postgres_database(server: str, keep: bool) -> Iterator[str]:
    """The URL of a new database on the PostgreSQL `server`, dropped at the end unless `keep`."""
    name = f"sapa_bench_inbox_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            dispose_engines()
            if not keep:
                with admin.connect() as c:  # FORCE: a connection left open by an error must not keep it
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def main() -> None:
    """Seed, log in, time every main page, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", metavar="URL", help="run on a temporary database on this PostgreSQL server "
                        "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres) instead of SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database (its URL is printed)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    database = postgres_database(args.postgres, args.keep) if args.postgres else sqlite_database(args.keep)
    with database as url:
        run(args, url)


def run(args: argparse.Namespace, url: str) -> None:
    """Seed the database at `url`, log in, time every main page, print the table."""
    started = time.perf_counter()
    upgrade(url)
    ids = seed(url, args.contacts, args.messages)
    print(f"seeded {args.contacts:,} contacts and {args.messages:,} messages in {time.perf_counter() - started:.1f} s "
          f"({make_url(url).render_as_string()})", flush=True)
    started, tz = time.perf_counter(), Settings(env="test").tz
    with session_scope(get_engine(url)) as s:  # the clock's work: the dashboards' daily rows of the last 100 days
        today = daily_figures.local_day(utcnow(), tz)
        daily_figures.refresh_days(session=s, first=today - timedelta(days=100), last=today, tz=tz)
    print(f"daily figures of 100 days computed in {time.perf_counter() - started:.1f} s (the clock's work, not a page's)",
          flush=True)
    from bot.app import create_app

    app = create_app(Settings(env="test", database_url=url, queue_url="memory:", log_level="WARNING"))
    client = app.test_client()
    gc.collect()
    gc.freeze()  # as `sapa web` does after loading the app (see bot/cli.py)
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/inbox/login").get_data(as_text=True))[1]
    assert client.post("/inbox/login", data={"email": "bench@sapa.local", "password": "bench-password",
                                             "csrf_token": token}).status_code == 302
    marketing = seed_marketing(url)
    pages = [
        ("conversation list (open)", "/inbox/"),
        ("list: unassigned, any status", "/inbox/?scope=unassigned&status=any"),
        ("list: line + intent order", "/inbox/?channel=line&intent=order"),
        ("list: label vip + unread", "/inbox/?label=vip&unread=1&status=any"),
        ("search: contact name", f"/inbox/?q={ids['name']}&status=any"),
        ("search: message text", "/inbox/?q=matcha&status=any"),
        ("search: order number", f"/inbox/?q=%23{ids['order']}&status=any"),
        ("search: product bought", "/inbox/?q=croissant&status=any"),
        ("live list refresh", "/inbox/list"),
        ("conversation view", f"/inbox/c/{ids['conversation']}"),
        ("contact 360", f"/inbox/contacts/{ids['contact']}"),
        ("contacts: search name", f"/inbox/contacts?q={ids['name']}"),
        ("counter: find by name", f"/inbox/counter?q={ids['name']}%20{LAST[0]}"),
        ("orders", "/inbox/orders"),
        ("orders: status + search", "/inbox/orders?status=new&q=budi"),
        ("complaints", "/inbox/complaints"),
        ("complaints: breached", "/inbox/complaints?breached=1"),
        ("agenda", "/inbox/agenda"),
        ("dashboard (30 days)", "/inbox/dashboard"),
        ("dashboard (90 days)", "/inbox/dashboard?days=90"),
        ("CRM dashboard (90 days)", "/inbox/dashboard/crm"),
        ("CRM dashboard (30 days)", f"/inbox/dashboard/crm?from={today - timedelta(days=29)}&to={today}"),
        ("segments (live counts)", "/inbox/segments"),
        ("segment editor", f"/inbox/segments/{marketing['segment']}"),
        ("campaigns (with stats)", "/inbox/campaigns"),
        ("campaign form", "/inbox/campaigns/new"),
        ("campaign results", f"/inbox/campaigns/{marketing['campaign']}"),
        ("journeys", "/inbox/journeys"),
        ("location offers", "/inbox/offers"),
    ]
    print(f"\n{'page':32} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  status")
    print("-" * 68)
    worst = 0.0
    for label, path in pages:
        client.get(path)  # warm caches (templates, SQLite pages)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        p50, p99 = percentile(times, 50), percentile(times, 99)
        worst = max(worst, p99)
        print(f"{label:32} {p50:8.1f} {p99:8.1f} {max(times):8.1f}  {'ok' if p99 < TARGET_MS else 'SLOW'}")
    print("-" * 68)
    print(f"worst p99 {worst:.1f} ms (target < {TARGET_MS:.0f} ms): {'PASS' if worst < TARGET_MS else 'FAIL'}")


if __name__ == "__main__":
    main()
