"""Benchmark of the staff inbox pages at shop scale: 10,000 contacts, 200,000 messages.

Seeds a fresh SQLite database (migrated with Alembic, so the real indexes are measured)
with bulk Core inserts, logs in as an admin, then requests every main page many times
through the WSGI app (template rendering included, no network) and prints p50/p99 per
page. Target: every page under 200 ms.

Run from the repository root:  .venv/bin/python bench/inbox.py [--contacts N] [--messages N]
"""

from __future__ import annotations

import argparse
import gc
import os
import pathlib
import random
import re
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta

os.environ.setdefault("SAPA_ENV", "test")
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text  # noqa: E402

import bot.all_models  # noqa: E402,F401
from core.settings import Settings  # noqa: E402
from crm import complaints as complaint_data  # noqa: E402
from crm import daily_figures  # noqa: E402
from crm import orders as order_data  # noqa: E402
from core.db import get_engine, session_scope, utcnow  # noqa: E402
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
        c.execute(insert(Contact), [{
            "id": i, "display_name": f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}", "language": "id", "tags": [],
            "attributes": {}, "status": "active", "marketing_consent": True, "created_at": now - timedelta(days=400),
            "last_seen_at": now - timedelta(days=rng.randint(0, 300)),
            "birthday": date(1990, rng.randint(1, 12), rng.randint(1, 28))} for i in range(1, contacts + 1)])
        c.execute(insert(ChannelIdentity), [{
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
        c.execute(insert(Conversation), conversations)
        c.execute(insert(ConversationEpisode), [{  # the dashboard's figures are read from the episodes
            "conversation_id": row["id"], "opened_at": row["opened_at"], "first_response_at": row["first_response_at"],
            "responder_id": row["assignee_id"], "resolved_at": row["resolved_at"],
            "resolver_id": row["assignee_id"] if row["resolved_at"] else None} for row in conversations])
        batch, per = [], messages // contacts
        for i in range(messages):
            contact = (i // per) % contacts + 1
            inbound = i % 2 == 0
            batch.append({
                "conversation_id": contact, "contact_id": contact, "channel": "line" if contact % 3 else "telegram",
                "direction": "in" if inbound else "out", "sender": "customer" if inbound else "bot", "type": "text",
                "text": rng.choice(TEXTS) if inbound else rng.choice(REPLIES), "payload": {},
                "intent": rng.choice(INTENTS) if inbound else None, "status": "received" if inbound else "sent",
                "attempts": 0, "hidden": False, "seq": 0, "created_at": now - timedelta(minutes=messages - i)})
            if len(batch) == 20_000:
                c.execute(insert(Message), batch)
                batch = []
        if batch:
            c.execute(insert(Message), batch)
        orders_n = contacts // 2
        c.execute(insert(order_data.Order), [{
            "id": i, "number": str(10_000 + i), "contact_id": rng.randint(1, contacts), "channel": "line",
            "status": rng.choice(order_data.STATUSES), "fulfilment": "delivery", "address": "Jl. Bench",
            "subtotal": 50_000, "delivery_fee": 10_000, "total": 60_000, "created_at": now - timedelta(days=rng.randint(0, 90)),
            "updated_at": now} for i in range(1, orders_n + 1)])
        c.execute(insert(order_data.OrderItem), [{
            "order_id": i, "product_name": rng.choice(PRODUCTS), "quantity": rng.randint(1, 3), "price": 25_000}
            for i in range(1, orders_n + 1)])
        c.execute(insert(complaint_data.Complaint), [{
            "number": f"C{i:05d}", "contact_id": rng.randint(1, contacts), "category": "delivery",
            "severity": rng.choice(complaint_data.SEVERITIES), "status": rng.choice(complaint_data.STATUSES),
            "text": "pesanan telat", "sla_due_at": now + timedelta(hours=rng.randint(-48, 48)),
            "created_at": now - timedelta(days=1)} for i in range(1, contacts // 10 + 1)])
        c.execute(insert(Note), [{"contact_id": rng.randint(1, contacts), "staff_user_id": admin_id,
                                  "text": "catatan bench", "created_at": now} for _ in range(contacts // 5)])
        c.execute(insert(FollowUpTask), [{"contact_id": rng.randint(1, contacts), "title": "follow up",
                                          "due_on": (now + timedelta(days=rng.randint(-5, 30))).date(),
                                          "source": "manual", "created_at": now} for _ in range(contacts // 5)])
        c.execute(text("ANALYZE"))
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


def main() -> None:
    """Seed, log in, time every main page, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the temporary database (its path is printed)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="sapa-bench-inbox-")
    try:
        run(args, folder)
    finally:  # at 2M messages the database is over a gigabyte: never left behind unless asked
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, folder: str) -> None:
    """Seed a database in `folder`, log in, time every main page, print the table."""
    url = f"sqlite:///{folder}/bench.db"
    started = time.perf_counter()
    upgrade(url)
    ids = seed(url, args.contacts, args.messages)
    print(f"seeded {args.contacts:,} contacts and {args.messages:,} messages in {time.perf_counter() - started:.1f} s "
          f"({url})")
    started, tz = time.perf_counter(), Settings(env="test").tz
    with session_scope(get_engine(url)) as s:  # the clock's work: the dashboards' daily rows of the last 100 days
        today = daily_figures.local_day(utcnow(), tz)
        daily_figures.refresh_days(session=s, first=today - timedelta(days=100), last=today, tz=tz)
    print(f"daily figures of 100 days computed in {time.perf_counter() - started:.1f} s (the clock's work, not a page's)")
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
