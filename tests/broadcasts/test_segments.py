"""Segment rules compiled to one SQL condition, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session

from broadcasts import segments as seg
from crm import loyalty, orders
from crm.complaints import Complaint
from core.db import session_scope, utcnow
from crm.stores import Store
from tests.broadcasts.helpers import seed


@pytest.fixture
def people(runtime):
    """Six contacts with distinct traits; returns their ids by nickname."""
    engine = runtime.engine
    now = utcnow()
    ids = {}
    ids["vip_line"] = seed(engine, line=1, tags=["vip", "kopi"], language="id", birthday=date(1990, 12, 25),
                           last_lat=-6.2, last_lon=106.8, attributes={"loyalty_tier": "gold", "points": 120})[0]
    ids["tg_en"] = seed(engine, telegram=1, start=1, tags=["kopi"], language="en", birthday=date(1985, 3, 1),
                        last_seen_at=now - timedelta(days=40), last_lat=-6.9, last_lon=107.6)[0]
    ids["dormant"] = seed(engine, line=1, start=2, last_seen_at=now - timedelta(days=200),
                          created_at=now - timedelta(days=400))[0]
    ids["never"] = seed(engine, telegram=1, start=3, last_seen_at=None, status="blocked")[0]
    ids["buyer"] = seed(engine, line=1, start=4, attributes={"points": 10})[0]
    ids["both"] = seed(engine, line=1, start=5)[0]
    with session_scope(engine) as session:
        kopi = orders.Product(sku="K1", name="Es Kopi Susu", category="Kopi", price=25000)
        roti = orders.Product(sku="R1", name="Roti Bakar", category="Roti", price=15000)
        session.add_all([kopi, roti])
        session.flush()
        for _ in range(2):
            orders.place_order(session=session, contact_id=ids["buyer"], lines=[orders.CartLine(kopi.id, 2)],
                               fulfilment="pickup")
        cancelled = orders.place_order(session=session, contact_id=ids["both"], lines=[orders.CartLine(roti.id, 1)],
                                       fulfilment="pickup")
        orders.change_status(session=session, order=cancelled, status="cancelled", by="staff")
        session.add(Complaint(contact_id=ids["tg_en"], sla_due_at=now, status="open"))
        session.add(Store(name="Kemang", lat=-6.26, lon=106.81, address="Jl. Kemang"))
    return ids


def match(runtime, rules) -> set[int]:
    with Session(runtime.engine) as session:
        return {c.id for c in seg.sample(session=session, rules=rules, limit=100)}


def names(people, *keys) -> set[int]:
    return {people[k] for k in keys}


@pytest.mark.parametrize("rule, expected", [
    ({"field": "channel", "op": "eq", "value": "telegram"}, ("tg_en", "never")),
    ({"field": "channel", "op": "ne", "value": "line"}, ("tg_en", "never")),
    ({"field": "tag", "op": "has", "value": "kopi"}, ("vip_line", "tg_en")),
    ({"field": "tag", "op": "in", "value": ["vip", "x"]}, ("vip_line",)),
    ({"field": "tag", "op": "ne", "value": "kopi"}, ("dormant", "never", "buyer", "both")),
    ({"field": "status", "op": "eq", "value": "blocked"}, ("never",)),
    ({"field": "activity", "op": "eq", "value": "dormant"}, ("dormant", "never")),
    ({"field": "activity", "op": "in", "value": ["active_2w"]}, ("vip_line", "buyer", "both")),
    ({"field": "activity", "op": "eq", "value": "active_6m"}, ("vip_line", "tg_en", "buyer", "both")),
    ({"field": "last_seen_days", "op": "gt", "value": 30}, ("tg_en", "dormant", "never")),
    ({"field": "last_seen_days", "op": "lte", "value": 30}, ("vip_line", "buyer", "both")),
    ({"field": "first_seen_days", "op": "gte", "value": 365}, ("dormant",)),
    ({"field": "orders_count", "op": "gte", "value": 2}, ("buyer",)),
    ({"field": "orders_count", "op": "eq", "value": 0}, ("vip_line", "tg_en", "dormant", "never", "both")),
    ({"field": "total_spent", "op": "gt", "value": 60000}, ("buyer",)),
    ({"field": "product_bought", "op": "eq", "value": "es kopi susu"}, ("buyer",)),
    ({"field": "product_bought", "op": "eq", "value": "Roti Bakar"}, ()),  # cancelled orders do not count
    ({"field": "category_bought", "op": "has", "value": "kopi"}, ("buyer",)),
    ({"field": "last_order_days", "op": "lte", "value": 1}, ("buyer",)),
    ({"field": "complaints_open", "op": "gte", "value": 1}, ("tg_en",)),
    ({"field": "birthday_month", "op": "eq", "value": 12}, ("vip_line",)),
    ({"field": "birthday_day", "op": "in", "value": [1, 2]}, ("tg_en",)),
    ({"field": "language", "op": "eq", "value": "en"}, ("tg_en",)),
    ({"field": "language", "op": "eq", "value": "id"}, ("vip_line", "dormant", "never", "buyer", "both")),
    ({"field": "near", "op": "within", "value": {"lat": -6.21, "lon": 106.81, "km": 5}}, ("vip_line",)),
    ({"field": "near", "op": "within", "value": {"store_id": 1, "km": 8}}, ("vip_line",)),
    ({"field": "custom.loyalty_tier", "op": "eq", "value": "gold"}, ("vip_line",)),
    ({"field": "loyalty_tier", "op": "has", "value": True}, ("vip_line",)),
    ({"field": "custom.points", "op": "gte", "value": 100}, ("vip_line",)),
])
def test_each_field(runtime, people, rule, expected):
    assert match(runtime, rule) == names(people, *expected)


def test_groups_nest(runtime, people):
    rules = {"any": [{"all": [{"field": "channel", "op": "eq", "value": "line"},
                              {"field": "tag", "op": "has", "value": "vip"}]},
                     {"all": [{"field": "orders_count", "op": "gt", "value": 0},
                              {"field": "last_seen_days", "op": "lt", "value": 7}]}]}
    assert match(runtime, rules) == names(people, "vip_line", "buyer")
    assert match(runtime, {"all": []}) == set(people.values())
    assert match(runtime, {"any": []}) == set()
    with Session(runtime.engine) as session:
        assert seg.count(session=session, rules=rules) == 2


@pytest.mark.parametrize("rules, field", [
    ([], "rules"),
    ({"all": "x"}, "rules.all"),
    ({"all": [], "any": []}, "rules"),
    ({"field": "tag", "op": "eq"}, "rules.value"),
    ({"field": "tag", "op": "eq", "value": 1, "extra": 2}, "rules"),
    ({"field": "status", "op": "eq", "value": "gone"}, "rules.value"),
    ({"field": "birthday_month", "op": "eq", "value": 13}, "rules.value"),
    ({"field": "near", "op": "eq", "value": {}}, "rules.op"),
    ({"field": "near", "op": "within", "value": {"store_id": 999, "km": 1}}, "rules.value"),
    ({"field": "custom.bad name", "op": "eq", "value": 1}, "rules.field"),
    ({"field": "last_seen_days", "op": "gt", "value": True}, "rules.value"),
])
def test_invalid_rules_name_the_problem(runtime, rules, field):
    with Session(runtime.engine) as session, pytest.raises(seg.SegmentError) as caught:
        seg.count(session=session, rules=rules)
    assert caught.value.details[0]["field"] == field


def test_too_deep_is_refused():
    rules: dict = {"field": "tag", "op": "has", "value": "x"}
    for _ in range(8):
        rules = {"all": [rules]}
    with pytest.raises(seg.SegmentError, match="deeper"):
        seg.compile_rules(rules)


def test_a_bare_date_is_the_shop_s_day_not_utc_s(runtime):
    from datetime import datetime, timezone

    # 04:30 on 7 December in Jakarta is still 6 December in UTC
    early = seed(runtime.engine, line=1, start=50, created_at=datetime(2026, 12, 6, 21, 30, tzinfo=timezone.utc))[0]
    late = seed(runtime.engine, line=1, start=51, created_at=datetime(2026, 12, 6, 16, 59, tzinfo=timezone.utc))[0]
    assert match(runtime, {"field": "first_seen_at", "op": "gte", "value": "2026-12-07"}) == {early}
    assert match(runtime, {"field": "first_seen_at", "op": "lt", "value": "2026-12-07"}) == {late}
    # a time without an offset is read on the shop's clock; one with an offset as given
    assert match(runtime, {"field": "first_seen_at", "op": "gte", "value": "2026-12-07T04:00"}) == {early}
    assert match(runtime, {"field": "first_seen_at", "op": "gte", "value": "2026-12-06T21:00+00:00"}) == {early}


def test_points_and_tier_come_from_the_ledger(runtime, people):
    with session_scope(runtime.engine) as session:
        loyalty.adjust(session=session, contact_id=people["tg_en"], points=40, reason="hadiah", by="staff:1")
        loyalty.earn_for_order(session=session, order_id=None, contact_id=people["buyer"], total=620_000,
                               delivery_fee=0, rules=loyalty.LoyaltySettings(), by="test")
        # Earned more than a year ago: points still there, but no longer counted for the tier.
        session.add(loyalty.PointsEntry(contact_id=people["dormant"], kind="earn", points=900, by="test",
                                at=utcnow() - timedelta(days=400)))
        session.add(loyalty.PointsAccount(contact_id=people["dormant"], balance=900))
    everyone = set(people.values())
    assert match(runtime, {"field": "points", "op": "gte", "value": 40}) == names(people, "tg_en", "buyer", "dormant")
    assert match(runtime, {"field": "points", "op": "eq", "value": 0}) == everyone - names(
        people, "tg_en", "buyer", "dormant")
    assert match(runtime, {"field": "tier", "op": "eq", "value": "gold"}) == names(people, "buyer")
    assert match(runtime, {"field": "tier", "op": "eq", "value": "Silver"}) == everyone - names(people, "buyer")
    assert match(runtime, {"field": "tier", "op": "ne", "value": "Silver"}) == names(people, "buyer")
    assert match(runtime, {"field": "tier", "op": "in", "value": ["Silver", "Gold"]}) == everyone


@pytest.mark.parametrize("rule, problem", [
    ({"field": "tier", "op": "eq", "value": "Platinum"}, "not a tier; the tiers are Silver, Gold"),
    ({"field": "tier", "op": "gt", "value": "Silver"}, "tier takes eq, ne, in"),
    ({"field": "points", "op": "gt", "value": -1}, "must be at least 0"),
])
def test_bad_points_and_tier_rules_say_why(runtime, rule, problem):
    with pytest.raises(seg.SegmentError, match=problem):
        seg.compile_rules(rule)
