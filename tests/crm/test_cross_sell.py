"""Frequently bought together: the rules learned from a known order history, what they suggest, the attach rate."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, select

from core.db import get_engine, session_scope
from core.settings import CrossSellSettings
from crm import cross_sell
from crm.models import Contact
from crm.orders import Order, OrderItem, Product

NOW = datetime(2026, 6, 30, 5, 0, tzinfo=timezone.utc)
RULES = CrossSellSettings(min_orders=30, min_pair_orders=3, min_support=0.05, min_confidence=0.15, min_lift=1.2)


def seed_orders(session: Session, baskets: list[tuple[int, ...]], *, contact_id: int | None = None,
                status: str = "delivered", at: datetime = NOW - timedelta(days=3), offered: int | None = None,
                taken: bool | None = None) -> list[int]:
    """One order per basket (product ids) for `contact_id` (a new contact when None); their ids."""
    if contact_id is None:
        contact = Contact(display_name="regular")
        session.add(contact)
        session.flush()
        contact_id = contact.id
    ids = []
    for basket in baskets:
        order = Order(contact_id=contact_id, status=status, created_at=at, subtotal=10_000, total=10_000,
                      cross_sell_product_id=offered, cross_sell_taken=taken)
        session.add(order)
        session.flush()
        for product_id in basket:
            session.add(OrderItem(order_id=order.id, product_id=product_id, product_name=str(product_id), quantity=1,
                                  price=10_000))
        ids.append(order.id)
    session.flush()
    return ids


@pytest.fixture
def catalog(database_url) -> dict[str, int]:
    """kopi, croissant, teh, matcha: product name -> id."""
    with session_scope(get_engine(database_url)) as session:
        products = {name: Product(sku=name.upper(), name=name.title(), price=20_000)
                    for name in ("kopi", "croissant", "teh", "matcha")}
        session.add_all(products.values())
        session.flush()
        return {name: product.id for name, product in products.items()}


def known_history(session: Session, p: dict[str, int]) -> None:
    """30 orders: 8 kopi + croissant, 2 kopi, 2 croissant, 15 teh, 3 teh + kopi; and orders that must not count."""
    kopi, croissant, teh = p["kopi"], p["croissant"], p["teh"]
    seed_orders(session, [(kopi, croissant)] * 8 + [(kopi,)] * 2 + [(croissant,)] * 2 + [(teh,)] * 15
                + [(teh, kopi)] * 3)
    seed_orders(session, [(teh, croissant)] * 10, status="cancelled")  # cancelled: not bought together
    seed_orders(session, [(teh, croissant)] * 10, at=NOW - timedelta(days=400))  # before the window
    # Croissants the bot offered and the customer took do not count as bought together (it would teach itself).
    seed_orders(session, [(teh, croissant)] * 5, offered=croissant, taken=True)


def _stored(session: Session) -> dict[tuple[int, int], cross_sell.CrossSellRule]:
    return {(rule.product_id, rule.suggested_id): rule for rule in session.exec(select(cross_sell.CrossSellRule))}


def test_the_rules_of_a_known_history(database_url, catalog):
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        known_history(session, catalog)
    with session_scope(engine) as session:
        summary = cross_sell.recompute(session=session, now=NOW, rules=RULES)
    assert summary == {"rules": 2, "products": 2}
    kopi, croissant = catalog["kopi"], catalog["croissant"]
    with Session(engine) as session:
        rules = _stored(session)
    # 35 orders count (30, and the 5 with a taken offer as teh alone): kopi in 13, croissant in 10, both in 8.
    assert set(rules) == {(kopi, croissant), (croissant, kopi)}  # teh → kopi: lift (3/23) / (13/35) < 1.2
    to_croissant, to_kopi = rules[kopi, croissant], rules[croissant, kopi]
    assert to_croissant.orders == to_kopi.orders == 8
    assert to_croissant.support == pytest.approx(8 / 35) and to_kopi.support == pytest.approx(8 / 35)
    assert to_croissant.confidence == pytest.approx(8 / 13) and to_kopi.confidence == pytest.approx(8 / 10)
    assert to_croissant.lift == pytest.approx((8 / 13) / (10 / 35))
    assert to_kopi.lift == pytest.approx((8 / 10) / (13 / 35))
    with Session(engine) as session:
        assert cross_sell.suggested_for(session=session, product_ids=[kopi, catalog["teh"]]) == [croissant]
        assert cross_sell.suggested_for(session=session, product_ids=[]) == []


@pytest.mark.parametrize("change", [{"min_orders": 36}, {"min_pair_orders": 9}, {"min_confidence": 0.85},
                                    {"min_lift": 2.5}, {"min_support": 0.3}, {"enabled": False}])
def test_each_threshold_and_too_little_history_leave_nothing_to_offer(database_url, catalog, change):
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        known_history(session, catalog)
        cross_sell.recompute(session=session, now=NOW, rules=RULES)  # rules from a run before
    with session_scope(engine) as session:
        cross_sell.recompute(session=session, now=NOW, rules=RULES.model_copy(update=change))
    with Session(engine) as session:
        # 35 orders, 8 with both (support 0.23), confidence 0.8 and 0.62, lift 2.15 both ways: each change is
        # just out of reach, and the last run's rules are gone too.
        assert _stored(session) == {}


def test_a_lower_confidence_keeps_one_direction(database_url, catalog):
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        known_history(session, catalog)
        cross_sell.recompute(session=session, now=NOW, rules=RULES.model_copy(update={"min_confidence": 0.7}))
    with Session(engine) as session:
        assert set(_stored(session)) == {(catalog["croissant"], catalog["kopi"])}  # 0.8 kept, 0.62 not


def test_a_contact_is_recommended_what_goes_with_their_orders(database_url, catalog):
    engine = get_engine(database_url)
    kopi, croissant, teh = catalog["kopi"], catalog["croissant"], catalog["teh"]
    with session_scope(engine) as session:
        known_history(session, catalog)
        cross_sell.recompute(session=session, now=NOW, rules=RULES)
        buyers = {}
        for name, baskets in (("kopi only", [(kopi,)]), ("both", [(kopi,), (croissant,)]), ("teh", [(teh,)]),
                              ("cancelled kopi", [])):
            contact = Contact(display_name=name)
            session.add(contact)
            session.flush()
            seed_orders(session, baskets, contact_id=contact.id)
            buyers[name] = contact.id
        seed_orders(session, [(kopi,)], contact_id=buyers["cancelled kopi"], status="cancelled")
    with Session(engine) as session:
        found = cross_sell.recommended(session=session, contact_ids=buyers.values())
        assert {cid: p.id for cid, p in found.items()} == {buyers["kopi only"]: croissant}
        session.get(Product, croissant).stock = 0  # sold out: not recommended
        session.flush()
        assert cross_sell.recommended(session=session, contact_ids=buyers.values()) == {}


def test_the_attach_rate_with_and_without_the_offer(database_url, catalog):
    engine = get_engine(database_url)
    kopi, croissant, teh = catalog["kopi"], catalog["croissant"], catalog["teh"]
    start, end = NOW - timedelta(days=7), NOW
    with session_scope(engine) as session:
        known_history(session, catalog)  # 13 orders without an offer hold kopi (→ croissant); 8 held a croissant
        cross_sell.recompute(session=session, now=NOW, rules=RULES)
        seed_orders(session, [(kopi, croissant)] * 3, offered=croissant, taken=True)
        seed_orders(session, [(kopi,)], offered=croissant, taken=False)
        seed_orders(session, [(croissant,)], offered=kopi, taken=False)
        seed_orders(session, [(kopi, croissant)], offered=croissant, taken=True, status="cancelled")  # not counted
        seed_orders(session, [(kopi, croissant)], offered=croissant, taken=True, at=end)  # after the window
    with Session(engine) as session:
        rate = cross_sell.attach_rate(session=session, start=start, end=end)
    # Offers: the 5 of the history (croissant, taken), 3 + 1 more of croissant, 1 of kopi.
    assert (rate["orders"], rate["offered"], rate["accepted"]) == (30 + 5 + 5, 10, 8)
    assert rate["attach_rate"] == 0.8
    by_product = {item["product_id"]: item for item in rate["items"]}
    assert by_product[croissant] == {"product_id": croissant, "product": "Croissant", "offered": 9, "accepted": 8,
                                     "attach_rate": round(8 / 9, 4), "orders_without": 13, "bought_without": 8,
                                     "rate_without": round(8 / 13, 4)}
    # kopi's antecedent is croissant: 10 orders without an offer held one, 8 of them kopi too.
    assert (by_product[kopi]["orders_without"], by_product[kopi]["bought_without"]) == (10, 8)
    assert rate["rate_without"] == round((9 * 8 / 13 + 1 * 8 / 10) / 10, 4)  # weighted by the offers
    with Session(engine) as session:
        empty = cross_sell.attach_rate(session=session, start=NOW + timedelta(days=1), end=NOW + timedelta(days=2))
    assert (empty["offered"], empty["attach_rate"], empty["rate_without"], empty["items"]) == (0, None, None, [])
