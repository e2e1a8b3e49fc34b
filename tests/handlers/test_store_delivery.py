"""Per-store delivery and pickup in conversations: the delivering store, its own fee and radius, pickup refused."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.db import session_scope
from crm import stores
from crm.orders import Order
from tests.handlers.test_conversations import Customer, postbacks, shop, texts  # noqa: F401 - the demo shop

NEAR_KEMANG = (-6.2625, 106.8150)  # about 200 m from Sapa Coffee Kemang
NEAR_DAGO = (-6.8600, 107.6300)  # about 3.3 km from Sapa Coffee Dago; Jakarta is 120 km away
FLAT_5000 = {"mode": "flat", "flat_fee": 5_000, "min_order": 10_000, "max_km": 5}


@pytest.fixture
def customer(client, fake_line, shop) -> Customer:  # noqa: F811
    return Customer(client, fake_line)


def change_store(runtime, name: str, **changes) -> stores.Store:
    """Change the demo store called `name` as staff would."""
    with session_scope(runtime.engine) as session:
        store = session.exec(select(stores.Store).where(stores.Store.name == name)).one()
        return stores.update_store(session=session, store=store, changes=changes)


def store_id(session, name: str) -> int:
    return session.exec(select(stores.Store.id).where(stores.Store.name == name)).one()


def order_by_location(customer: Customer, point: tuple[float, float], text: str = "pesen 2 es kopi susu, dianter ya"):
    """A delivery order to a shared location, up to the summary; the bot's replies to the location."""
    customer.says(text)
    replies = customer.shares_location(*point)
    if "Nomor HP" in texts(replies):
        customer.says("0812 3456 7890")
        replies = customer.says("qris")
    return replies


def test_a_delivery_costs_what_the_delivering_stores_own_rules_say(customer, runtime, session):
    change_store(runtime, "Sapa Coffee Kemang", delivery=FLAT_5000)  # the shop charges 8.000 and more per km
    summary = texts(order_by_location(customer, NEAR_KEMANG))
    assert "Dari: Sapa Coffee Kemang" in summary and "Ongkir: Rp5.000" in summary, summary
    customer.taps("order:confirm")
    order = session.exec(select(Order)).one()
    assert (order.store_id, order.delivery_fee) == (store_id(session, "Sapa Coffee Kemang"), 5_000)


def test_the_nearest_store_that_does_not_deliver_is_passed_over(customer, runtime, session):
    change_store(runtime, "Sapa Coffee Kemang", delivers=False)
    summary = texts(order_by_location(customer, NEAR_KEMANG))
    assert "Dari: Sapa Coffee Kemang" not in summary and "Dari: Sapa Coffee Blok M" in summary, summary


def test_a_place_beyond_every_delivering_stores_radius_is_told_plainly_and_offered_pickup(customer, runtime):
    change_store(runtime, "Sapa Coffee Dago", delivery={**FLAT_5000, "max_km": 2})
    replies = order_by_location(customer, NEAR_DAGO)
    said = texts(replies)
    assert "di luar jangkauan antar" in said and "ambil sendiri di Sapa Coffee Dago" in said, said
    assert "order:fulfil:pickup" in postbacks(replies)
    change_store(runtime, "Sapa Coffee Dago", delivery={**FLAT_5000, "max_km": 4})  # now it reaches
    assert "Nomor HP" in texts(customer.shares_location(*NEAR_DAGO))


def test_out_of_reach_without_pickup_near_asks_for_another_address_only(customer, runtime):
    change_store(runtime, "Sapa Coffee Dago", delivery={**FLAT_5000, "max_km": 2}, pickup=False)  # Jakarta is far
    replies = order_by_location(customer, NEAR_DAGO)
    assert "Mau kirim alamat lain?" in texts(replies)
    assert "order:fulfil:pickup" not in postbacks(replies)


def test_the_minimum_order_is_the_delivering_stores(customer, runtime):
    change_store(runtime, "Sapa Coffee Kemang", delivery={**FLAT_5000, "min_order": 100_000})
    replies = order_by_location(customer, NEAR_KEMANG)
    assert "Minimal pesanan antar Rp100.000" in texts(replies), texts(replies)


def test_pickup_at_a_store_without_pickup_is_refused_naming_stores_that_offer_it(customer, runtime, session):
    change_store(runtime, "Sapa Coffee Blok M", pickup=False)
    replies = customer.says("pesen 1 es kopi susu, ambil di blok m")
    said = texts(replies)
    assert "Sapa Coffee Blok M tidak melayani ambil sendiri" in said, said
    assert "Bisa ambil di: Sapa Coffee SCBD, Sapa Coffee Kemang, Sapa Coffee Menteng." in said  # nearest Blok M
    choices = postbacks(replies)
    assert f"order:store:{store_id(session, 'Sapa Coffee Blok M')}" not in choices
    assert f"order:store:{store_id(session, 'Sapa Coffee Kemang')}" in choices
    # an old button of that store is refused the same way
    assert "tidak melayani ambil sendiri" in texts(customer.taps(f"order:store:{store_id(session, 'Sapa Coffee Blok M')}"))
    assert "Oke, ambil di Sapa Coffee Kemang" in texts(customer.says("kemang aja"))


def test_no_store_delivering_offers_pickup_at_once(customer, runtime, session):
    with session_scope(runtime.engine) as db:
        for store in stores.list_stores(session=db):
            stores.update_store(session=db, store=store, changes={"delivers": False})
    replies = customer.says("pesen 2 es kopi susu, dianter ya")
    assert "belum melayani antar" in texts(replies) and "order:fulfil:pickup" in postbacks(replies)


def test_the_store_finder_says_which_stores_do_not_both_deliver_and_hand_out(customer, runtime):
    change_store(runtime, "Sapa Coffee Kemang", delivers=False)
    said = texts(customer.shares_location(*NEAR_KEMANG))
    assert "hanya ambil sendiri" in said and said.count("hanya") == 1, said
    assert "hanya ambil sendiri" in texts(customer.says("cabang kemang buka ga?"))
