"""The dashboards' daily rows: what the clock stores equals the figures computed from the raw rows (SQLite and PG)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlmodel import select

from core.db import session_scope
from crm import daily_figures
from crm.daily_figures import DailyFigure
from crm.inbox import crm_dashboard, shop_data
from crm.loyalty import PointsAccount, PointsEntry
from crm.models import Contact, Conversation, ConversationEpisode, Message, StaffUser
from crm.orders import Order, OrderItem
from crm.staff import create_user

TZ = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 3, 31, 5, 0, tzinfo=timezone.utc)  # noon in Jakarta
PRODUCTS = {"Es Kopi Susu": 22_000, "Croissant": 18_000, "Matcha Latte": 28_000}


def _local(moment: datetime):
    return moment.astimezone(TZ).date()


def seed(engine) -> dict:
    """Forty days of chats, episodes, orders and points; moments near local midnight on purpose. The raw truth."""
    rng = random.Random(7)
    truth = {"messages": Counter(), "first": [], "resolution": [], "replies": Counter(), "orders": [],
             "points": Counter()}
    with session_scope(engine) as s:
        agents = [create_user(session=s, email=f"a{i}@shop.test", password="correct-horse-battery", role="agent",
                              display_name=f"Agent {i}").id for i in range(2)]
        for n in range(12):
            contact = Contact(display_name=f"Customer {n}")
            s.add(contact)
            s.flush()
            channel = "line" if n % 3 else "telegram"
            last = NOW - timedelta(days=rng.randint(0, 45), hours=rng.choice([0, 12, 17]))
            chat = Conversation(channel=channel, external_chat_id=f"U{n}", contact_id=contact.id, last_message_at=last,
                                status=rng.choice(["open", "pending", "resolved"]), assignee_id=rng.choice(agents + [None]),
                                last_intent=rng.choice(["order", "faq", None]),
                                handoff_at=rng.choice([None, last, last - timedelta(days=40)]))
            s.add(chat)
            s.flush()
            truth.setdefault("chats", []).append((channel, chat.last_intent, chat.assignee_id, chat.status, last,
                                                  chat.handoff_at))
            for _ in range(25):
                at = NOW - timedelta(days=rng.randint(0, 39), hours=rng.choice([0, 6, 11, 12, 13]),
                                     minutes=rng.randint(0, 59))
                s.add(Message(conversation_id=chat.id, contact_id=contact.id, channel=channel, direction="in",
                              type="text", text="halo", created_at=at))
                truth["messages"][_local(at)] += 1
                if rng.random() < .4:
                    agent = rng.choice(agents)
                    s.add(Message(conversation_id=chat.id, contact_id=contact.id, channel=channel, direction="out",
                                  sender="staff", staff_user_id=agent, type="text", text="siap", created_at=at))
                    truth["replies"][(_local(at), f"Agent {agents.index(agent)}")] += 1
                if rng.random() < .3:
                    responded = at + timedelta(seconds=rng.randint(30, 4000))
                    resolved = responded + timedelta(seconds=rng.randint(60, 20000))
                    agent = rng.choice(agents + [None])
                    s.add(ConversationEpisode(conversation_id=chat.id, opened_at=at, first_response_at=responded,
                                              responder_id=agent, resolved_at=resolved, resolver_id=agent))
                    truth["first"].append((responded, (responded - at).total_seconds(), agent))
                    truth["resolution"].append((resolved, (resolved - at).total_seconds(), agent))
            for k in range(rng.randint(0, 6)):
                at = NOW - timedelta(days=rng.randint(0, 70), hours=rng.choice([0, 12, 13]))
                lines = [(name, rng.randint(1, 3), price) for name, price in PRODUCTS.items() if rng.random() < .6]
                total = sum(q * p for _, q, p in lines)
                status = "cancelled" if k == 3 else "delivered"
                order = Order(contact_id=contact.id, channel=channel, status=status, subtotal=total, total=total,
                              created_at=at)
                s.add(order)
                s.flush()
                for name, quantity, price in lines:
                    s.add(OrderItem(order_id=order.id, product_name=name, quantity=quantity, price=price))
                truth["orders"].append((contact.id, channel, at, status, total, lines))
            points = rng.randint(0, 300)
            s.add(PointsAccount(contact_id=contact.id, balance=points))
            for kind, amount in (("earn", points + 50), ("redeem", -50)):
                at = NOW - timedelta(days=rng.randint(0, 35), hours=13)
                s.add(PointsEntry(contact_id=contact.id, kind=kind, points=amount, at=at))
                truth["points"][(_local(at), kind)] += amount
            truth.setdefault("balance", 0)
            truth["balance"] += points
    return truth


def _minutes(values):
    return round(sum(values) / len(values) / 60, 1) if values else None


def _median(values):
    """The median episode's time in minutes; kept to 6 s (the 0.1 minute shown)."""
    return round(6 * round(sorted(values)[len(values) // 2] / 6) / 60, 1) if values else None


def test_stored_support_figures_equal_the_raw_computation(runtime, session):
    truth = seed(runtime.engine)
    live = shop_data.dashboard(session=session, days=30, now=NOW, tz=TZ)  # no rows yet: chats counted now
    with session_scope(runtime.engine) as s:  # as the clock does it: every day since the first, once
        done = daily_figures.refresh_recent(session=s, tz=TZ, now=NOW)
    assert done >= 40
    figures = shop_data.dashboard(session=session, days=30, now=NOW, tz=TZ)

    days = [_local(NOW) - timedelta(days=n) for n in range(29, -1, -1)]
    since = datetime.combine(days[0], datetime.min.time(), TZ)
    chats = [chat for chat in truth["chats"] if chat[4] >= since]
    assert 0 < len(chats) < len(truth["chats"])
    names = {row.id: row.display_name for row in session.exec(select(StaffUser))}
    for current in (live, figures):  # counted now, and read from the clock's snapshot of today
        assert current["conversations"] == len(chats)
        assert current["by_channel"] == dict(Counter(chat[0] for chat in chats))
        assert current["by_intent"] == dict(Counter(chat[1] or "other" for chat in chats))
        assert current["by_status"] == dict(Counter(chat[3] for chat in chats))
        assert current["handoffs"] == sum(1 for chat in chats if chat[5] is not None and chat[5] >= since)
        assert {a["name"]: a["conversations"] for a in current["agents"] if a["conversations"]} == \
            dict(Counter(names[chat[2]] if chat[2] else "" for chat in chats))
    assert figures["messages_per_day"] == {day.isoformat(): truth["messages"][day] for day in days}
    first = [seconds for at, seconds, _ in truth["first"] if at >= since]
    resolution = [seconds for at, seconds, _ in truth["resolution"] if at >= since]
    assert len(first) > 20  # the history is big enough to mean something
    assert figures["first_response_avg"] == _minutes(first)
    assert figures["first_response_median"] == _median(first)
    assert figures["resolution_avg"] == _minutes(resolution)
    assert figures["resolution_median"] == _median(resolution)
    replies = Counter()
    for (day, name), count in truth["replies"].items():
        if day >= days[0]:
            replies[name] += count
    assert figures["replies_by_agent"] == dict(replies)
    per_agent = {a["name"]: a["first_response"] for a in figures["agents"]}
    agent_ids = {row.id: row.display_name for row in session.exec(select(StaffUser))}
    for staff_id in {agent for _, _, agent in truth["first"]}:
        mine = [seconds for at, seconds, agent in truth["first"] if at >= since and agent == staff_id]
        assert per_agent[agent_ids[staff_id] if staff_id else ""] == _minutes(mine)


def test_stored_crm_figures_equal_the_raw_computation(runtime, session):
    truth = seed(runtime.engine)
    with session_scope(runtime.engine) as s:
        daily_figures.refresh_days(session=s, first=_local(NOW) - timedelta(days=80), last=_local(NOW), tz=TZ, now=NOW)
    period = crm_dashboard.period(first=(_local(NOW) - timedelta(days=59)).isoformat(), last=_local(NOW).isoformat(),
                                  tz=TZ, now=NOW)
    placed = [o for o in truth["orders"] if o[3] != "cancelled"]
    inside = [o for o in placed if period.first <= _local(o[2]) <= period.last]

    by_channel = defaultdict(lambda: [0, 0])
    for _, channel, _, _, total, _ in inside:
        by_channel[channel][0] += 1
        by_channel[channel][1] += total
    table = crm_dashboard.orders_by_channel(session, period)
    assert {row[0]: [row[1], row[2]] for row in table.rows} == dict(by_channel)

    first_order = {}
    for contact_id, _, at, _, _, _ in sorted(placed, key=lambda o: o[2]):
        first_order.setdefault(contact_id, at)
    customers = {row[0]: row for row in crm_dashboard.customers(session, period).rows}
    for day in period.days:
        new = sum(1 for at in first_order.values() if _local(at) == day)
        active = len({o[0] for o in inside if _local(o[2]) == day})
        assert customers[day.isoformat()][1:3] == [new, active], day

    units, revenue = Counter(), Counter()
    for *_, lines in inside:
        for name, quantity, price in lines:
            units[name] += quantity
            revenue[name] += quantity * price
    top = crm_dashboard.top_products(session, period)
    assert {row[0]: (row[1], row[2]) for row in top.rows} == {name: (units[name], revenue[name]) for name in units}
    assert [row[2] for row in top.rows] == sorted((row[2] for row in top.rows), reverse=True)

    loyalty = {row[0]: row[1] for row in crm_dashboard.loyalty(session, period).rows}
    assert loyalty["outstanding"] == truth["balance"]
    for kind in ("earn", "redeem"):
        assert loyalty[kind] == sum(v for (day, k), v in truth["points"].items() if k == kind and day >= period.first)

    cohorts = {row[0]: row for row in crm_dashboard.cohorts(session, period).rows}
    for month, row in cohorts.items():
        members = {c for c, at in first_order.items() if _local(at).strftime("%Y-%m") == month}
        assert row[1] == len(members)
        for after, share in enumerate(row[2:]):
            year, mon = divmod(int(month[5:]) - 1 + after, 12)
            target = f"{int(month[:4]) + year}-{mon + 1:02d}"
            ordered = {o[0] for o in placed if o[0] in members and _local(o[2]).strftime("%Y-%m") == target
                       and _local(o[2]) <= period.last}
            expected = round(100 * len(ordered) / len(members), 1) if members else None
            assert share == (expected if members else None), (month, after)


def test_a_refresh_twice_writes_the_same_rows_and_older_days_are_computed_once(runtime, session):
    seed(runtime.engine)

    def rows():
        session.expire_all()
        return sorted((r.metric, r.day, r.key, r.value, r.amount) for r in session.exec(select(DailyFigure)))

    with session_scope(runtime.engine) as s:
        daily_figures.refresh_recent(session=s, tz=TZ, now=NOW)
    before = rows()
    with session_scope(runtime.engine) as s:
        assert daily_figures.pending_days(session=s, tz=TZ, now=NOW + timedelta(minutes=5)) == []
        assert daily_figures.refresh_recent(session=s, tz=TZ, now=NOW + timedelta(minutes=5)) == 2  # today, yesterday
    assert rows() == before
    with session_scope(runtime.engine) as s:  # a new day: the day before yesterday was final already
        assert daily_figures.pending_days(session=s, tz=TZ, now=NOW + timedelta(days=1)) == []
