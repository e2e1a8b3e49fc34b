"""Product options in the chat: a variant that costs more and add-ons, read from words or picked on the menu."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import select

from core.db import session_scope
from crm.orders import Order, OrderItem, Product
from handlers.nlu.order_text import read_order_text
from tests.handlers.order_catalogs import DEMO, NOW
from tests.handlers.test_conversations import Customer, postbacks, shop, texts  # noqa: F401

LATTE = 3  # Caffe Latte, Rp30.000, in the demo terms
OPTIONS = ("Regular", "Large", "Extra shot", "Oat milk")
TERMS = replace(DEMO, products=tuple(replace(p, options=OPTIONS) if p.id == LATTE else p for p in DEMO.products))


@pytest.mark.parametrize("text, quantity, options, note", [
    ("2 latte large extra shot", 2, ("Large", "Extra shot"), None),
    ("mau caffe latte yang large", None, ("Large",), None),
    ("a large latte with oat milk please", None, ("Large", "Oat milk"), None),
    ("latte gede 1 pake oat", 1, ("Large", "Oat milk"), None),  # a size in other words, an add-on by its first word
    ("latte larg 2 less sugar", 2, ("Large",), "less sugar"),  # a typo; the note stays a note
])
def test_the_options_of_a_product_are_read_next_to_it(text, quantity, options, note):
    [item] = read_order_text(text, TERMS, now=NOW).items
    assert (item.product_id, item.quantity, item.options, item.note) == (LATTE, quantity, options, note)


def test_a_product_without_options_reads_as_before():
    [item] = read_order_text("2 kopsus large", TERMS, now=NOW).items
    assert (item.product_id, item.options, item.note) == (1, (), "large")


@pytest.fixture
def customer(client, fake_line, shop, runtime) -> Customer:  # noqa: F811
    with session_scope(runtime.engine) as session:
        latte = session.exec(select(Product).where(Product.sku == "KOP-LAT")).one()
        latte.variants, latte.variant_prices = ["Regular", "Large"], {"Large": 5_000}
        latte.addons = [{"name": "Tambah shot", "name_en": "Extra shot", "price": 4_000},
                        {"name": "Susu oat", "name_en": "Oat milk", "price": 8_000}]
    return Customer(client, fake_line)


def _items(session) -> list[OrderItem]:
    session.expire_all()
    order = session.exec(select(Order)).one()
    return list(session.exec(select(OrderItem).where(OrderItem.order_id == order.id)).all())


def test_the_bot_prices_a_large_latte_with_an_extra_shot(customer, session):
    customer.says("mau 2 latte large tambah shot sama 1 croissant")
    summary = texts(customer.says("ambil sendiri di blok m, bayar qris"))
    # (30.000 + 5.000 + 4.000) × 2 = 78.000, and a croissant at 28.000
    assert "2× Caffe Latte · Large · Tambah shot — Rp78.000" in summary, summary
    assert "Rp106.000" in summary
    customer.says("iya")
    [latte, croissant] = _items(session)
    assert (latte.variant, latte.addons, latte.quantity, latte.price) == ("Large", ["Tambah shot"], 2, 39_000)
    assert (croissant.variant, croissant.addons, croissant.price) == (None, [], 28_000)
    session.expire_all()
    assert session.exec(select(Order)).one().total == 106_000


def test_a_latte_said_plainly_is_the_first_variant_and_the_menu_shows_the_prices(customer, session):
    replies = customer.says("harga latte brp?")
    assert "Regular · Large +Rp5.000 · Tambah shot +Rp4.000 · Susu oat +Rp8.000" in texts(replies)
    assert texts(customer.says("latte 1")).count("Caffe Latte · Regular") == 1


def test_the_customer_picks_the_large_variant_on_the_menu(customer, session):
    menu = customer.says("kak menunya apa aja?")
    picks = [data for data in postbacks(menu) if data.startswith("order:add:")]
    latte = session.exec(select(Product).where(Product.sku == "KOP-LAT")).one()
    assert f"order:add:{latte.id}:1" in picks  # one button per variant: "Large +Rp5.000"
    customer.taps(f"order:add:{latte.id}:1")
    customer.says("pickup di blok m")
    summary = texts(customer.says("qris"))
    assert "1× Caffe Latte · Large — Rp35.000" in summary, summary
    customer.says("ya")
    assert [(i.variant, i.price) for i in _items(session)] == [("Large", 35_000)]


def test_in_english_the_add_on_has_its_english_name(customer, session):
    customer.says("I'd like a large latte with oat milk")
    summary = texts(customer.says("pick up at blok m, pay by qris"))
    assert "1× Caffe Latte · Large · Oat milk — Rp43,000" in summary, summary


def test_a_breakfast_product_is_not_added_at_night_but_can_be_pre_ordered_for_the_morning(customer, session, runtime):
    import time_machine

    from tests.handlers.test_conversations import _next

    with session_scope(runtime.engine) as s:
        s.exec(select(Product).where(Product.sku == "MKN-CRO")).one().available_hours = [["07:00", "11:00"]]
    with time_machine.travel(_next(1, 19), tick=True):  # a Tuesday evening
        assert "🕒 07:00–11:00" in texts(customer.says("harga croissant brp?"))
        refused = texts(customer.says("mau croissant 1"))
        assert "Croissant Butter hanya tersedia jam 07:00–11:00" in refused and "besok 07:00" in refused, refused
        customer.says("croissant besok jam 8")
        customer.says("ambil di blok m")
        summary = texts(customer.says("qris"))
        assert "1× Croissant Butter — Rp28.000" in summary and "besok 08:00" in summary, summary
        customer.says("iya")
        session.expire_all()
        order = session.exec(select(Order)).one()
        assert order.scheduled_for is not None and [i.product_name for i in _items(session)] == ["Croissant Butter"]
