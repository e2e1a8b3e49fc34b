"""A product's options and hours as rules: what a line costs, what a menu shows, when it is sold."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from core.db import get_engine, session_scope
from crm.models import Contact
from crm.orders import (
    CartLine, OrderError, OrderItem, Product, available_at, default_variant, hours_text, next_available,
    options_named, options_text, place_order, unit_price,
)

JAKARTA = ZoneInfo("Asia/Jakarta")
ADDONS = [{"name": "Tambah shot", "name_en": "Extra shot", "price": 4_000},
          {"name": "Susu oat", "name_en": None, "price": 8_000}]


def latte(**fields) -> Product:
    return Product(**{"sku": "LAT", "name": "Caffe Latte", "price": 28_000, "variants": ["Regular", "Large"],
                      "variant_prices": {"Large": 5_000}, "addons": ADDONS, **fields})


def test_a_units_price_is_the_products_plus_its_variant_and_add_ons():
    product = latte()
    assert unit_price(product) == unit_price(product, "Regular") == 28_000
    assert unit_price(product, "Large", ["Tambah shot"]) == 37_000
    assert unit_price(product, "Large", ["extra shot", "Susu oat"]) == 45_000  # the English name, any case
    assert unit_price(Product(sku="X", name="Teh", price=10_000), "Large", ["Tambah shot"]) == 10_000


def test_the_options_a_customer_names_are_the_catalogs():
    assert options_named(latte(), ["large", "Extra shot", "Oat"]) == ("Large", ("Tambah shot",))
    assert options_named(latte(), ["Tambah shot", "extra shot"]) == (None, ("Tambah shot",))
    assert default_variant(latte()) == "Regular"
    assert default_variant(latte(variant_prices={})) is None  # variants that cost the same: no variant forced


def test_the_menu_shows_each_option_with_what_it_adds():
    assert options_text(latte(), "id") == "Regular · Large +Rp5.000 · Tambah shot +Rp4.000 · Susu oat +Rp8.000"
    assert options_text(latte(), "en") == "Regular · Large +Rp5,000 · Extra shot +Rp4,000 · Susu oat +Rp8,000"
    assert options_text(Product(sku="X", name="Teh", price=1), "id") == ""


@pytest.mark.parametrize("local, sold", [((6, 59), False), ((7, 0), True), ((10, 59), True), ((11, 0), False)])
def test_a_breakfast_product_is_sold_inside_its_hours_only(local, sold):
    breakfast = latte(available_hours=[["07:00", "11:00"]])
    at = datetime(2026, 12, 7, *local, tzinfo=JAKARTA)
    assert available_at(breakfast, at, JAKARTA) is sold
    assert available_at(latte(), at, JAKARTA)  # no hours: all day


def test_the_next_window_is_today_or_tomorrow_morning():
    breakfast = latte(available_hours=[["07:00", "11:00"], ["17:00", "19:00"]])
    assert next_available(breakfast, datetime(2026, 12, 7, 12, 0, tzinfo=JAKARTA), JAKARTA) == \
        datetime(2026, 12, 7, 17, 0, tzinfo=JAKARTA)
    assert next_available(breakfast, datetime(2026, 12, 7, 20, 0, tzinfo=JAKARTA), JAKARTA) == \
        datetime(2026, 12, 8, 7, 0, tzinfo=JAKARTA)
    assert hours_text(breakfast) == "07:00–11:00, 17:00–19:00" and next_available(latte(), None, JAKARTA) is None


def test_an_order_line_keeps_its_options_and_their_price(database_url):
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        contact, product = Contact(display_name="Budi"), latte()
        session.add_all([contact, product])
        session.flush()
        order = place_order(session=session, contact_id=contact.id, fulfilment="pickup", lines=[
            CartLine(product.id, 2, variant="Large", addons=("Tambah shot",)), CartLine(product.id, 1)])
        assert (order.subtotal, order.total) == (2 * 37_000 + 28_000, 102_000)
        items = session.exec(select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id)).all()
        assert [(i.variant, i.addons, i.price) for i in items] == [("Large", ["Tambah shot"], 37_000),
                                                                    (None, [], 28_000)]
        for bad in (CartLine(product.id, 1, variant="Jumbo"), CartLine(product.id, 1, addons=("Keju",))):
            with pytest.raises(OrderError) as refused:
                place_order(session=session, contact_id=contact.id, fulfilment="pickup", lines=[bad])
            assert refused.value.code == "option"
