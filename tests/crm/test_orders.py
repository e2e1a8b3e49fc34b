"""Placing an order with its details: what is kept, which shop rules refuse it, and all-or-nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlmodel import Session, func, select

from core.db import get_engine, session_scope
from crm import stores
from crm.models import Contact
from crm.orders import CartLine, Order, OrderError, OrderItem, Product, order_items, place_order
from crm.shop_settings import save_settings

TOMORROW_8 = datetime(2030, 1, 2, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def shop(database_url):
    """A contact, coffee (unlimited) and croissants (2 left), an open and a closed store, the shop's rules."""
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        contact = Contact(display_name="Budi")
        coffee = Product(sku="KOPI", name="Es Kopi Susu", price=25_000)
        croissant = Product(sku="CRO", name="Croissant", price=28_000, stock=2)
        session.add_all([contact, coffee, croissant])
        kemang = stores.create_store(session=session, name="Kemang", lat=-6.26, lon=106.81)
        gone = stores.create_store(session=session, name="Tutup", lat=-6.2, lon=106.8, active=False)
        save_settings(session, {
            "payment_methods": [{"code": "qris", "label": "QRIS"},
                                {"code": "cod", "label": "COD", "fulfilment": ["delivery"]}],
            "delivery": {"mode": "flat", "flat_fee": 10_000, "min_order": 30_000}})
        session.flush()
        return SimpleNamespace(engine=engine, contact=contact.id, coffee=coffee.id, croissant=croissant.id,
                               kemang=kemang.id, gone=gone.id)


def _place(shop, session, lines=None, **details):
    values = {"fulfilment": "delivery", "address": "Jl. Sudirman 21"} | details
    return place_order(session=session, contact_id=shop.contact,
                       lines=lines or [CartLine(shop.coffee, 2, note="less sugar")], **values)


def test_an_order_keeps_its_details_and_each_lines_note(shop):
    with session_scope(shop.engine) as session:
        lines = [CartLine(shop.coffee, 2, note="  gak pake es  "), CartLine(shop.croissant, 1)]
        order = _place(shop, session, lines=lines,
                       phone="+6281234567890", payment_method="cod", scheduled_for=TOMORROW_8, lat=-6.2, lon=106.8,
                       store_id=shop.kemang, note="titip satpam", delivery_fee=10_000)
        order_id = order.id
    with Session(shop.engine) as session:
        order = session.get(Order, order_id)
        assert (order.phone, order.payment_method, order.store_id, order.note) == \
               ("+6281234567890", "cod", shop.kemang, "titip satpam")
        assert order.scheduled_for.astimezone(timezone.utc) == TOMORROW_8 and (order.lat, order.lon) == (-6.2, 106.8)
        assert (order.subtotal, order.delivery_fee, order.total) == (78_000, 10_000, 88_000)
        assert [(i.product_name, i.note) for i in order_items(session=session, order_id=order_id)] == \
               [("Es Kopi Susu", "gak pake es"), ("Croissant", None)]
        assert session.get(Product, shop.croissant).stock == 1


def test_a_pickup_keeps_no_address_location_or_fee(shop):
    with session_scope(shop.engine) as session:
        order = _place(shop, session, lines=[CartLine(shop.coffee, 1)], fulfilment="pickup", store_id=shop.kemang,
                       payment_method="qris", lat=-6.2, lon=106.8, delivery_fee=10_000)
        assert (order.address, order.lat, order.delivery_fee, order.total) == (None, None, 0, 25_000)


@pytest.mark.parametrize(("details", "code"), [
    ({"lines": "one coffee"}, "minimum"),  # 25 000 delivered, the minimum is 30 000
    ({"payment_method": "bitcoin"}, "payment_method"),
    ({"payment_method": "cod", "fulfilment": "pickup"}, "payment_method"),  # COD is for delivery only here
    ({"fulfilment": "pickup", "store_id": "gone"}, "store"),
    ({"fulfilment": "pickup", "store_id": 999_999}, "store"),
    ({"phone": "0812345"}, "phone"),
    ({"scheduled_for": datetime(2030, 1, 2, 8, 0)}, "scheduled_for"),  # no timezone
    ({"lat": -6.2}, "location"),
    ({"lat": 95.0, "lon": 106.8}, "location"),
    ({"note": "x" * 501}, "note"),
    ({"lines": "long line note"}, "note"),
    ({"lines": "too many croissants"}, "out_of_stock"),
])
def test_refusals_name_the_rule_and_write_nothing(shop, details, code):
    details = dict(details)  # the parameters are shared by the SQLite and PostgreSQL runs
    lines = {"one coffee": [CartLine(shop.coffee, 1)],
             "long line note": [CartLine(shop.coffee, 2, note="x" * 201)],
             # The croissants run out on the second line: the first line's stock comes back.
             "too many croissants": [CartLine(shop.croissant, 1), CartLine(shop.coffee, 1),
                                     CartLine(shop.croissant, 2)]}.get(details.pop("lines", None))
    if details.get("store_id") == "gone":
        details["store_id"] = shop.gone
    with session_scope(shop.engine) as session:
        with pytest.raises(OrderError) as refused:
            _place(shop, session, lines=lines, **details)
        assert refused.value.code == code
    with Session(shop.engine) as session:
        assert session.exec(select(func.count(Order.id))).one() == 0
        assert session.exec(select(func.count(OrderItem.id))).one() == 0
        assert session.get(Product, shop.croissant).stock == 2


def test_a_refused_line_keeps_the_callers_transaction_usable(shop):
    with session_scope(shop.engine) as session:
        with pytest.raises(OrderError):
            _place(shop, session, lines=[CartLine(shop.croissant, 1), CartLine(shop.croissant, 5)])
        placed = _place(shop, session, lines=[CartLine(shop.croissant, 2)])  # the same transaction goes on
        assert placed.number is not None
    with Session(shop.engine) as session:
        assert session.get(Product, shop.croissant).stock == 0
        assert session.exec(select(func.count(Order.id))).one() == 1


def test_pickup_has_no_minimum_and_the_minimum_follows_the_settings(shop):
    with session_scope(shop.engine) as session:
        _place(shop, session, lines=[CartLine(shop.coffee, 1)], fulfilment="pickup")
        save_settings(session, {"delivery": {"min_order": 0}})
        order = _place(shop, session, lines=[CartLine(shop.coffee, 1)], scheduled_for=TOMORROW_8 + timedelta(days=1))
        assert order.subtotal == 25_000


def test_a_stores_own_minimum_applies_to_its_deliveries(shop):
    with session_scope(shop.engine) as session:
        kemang = session.get(stores.Store, shop.kemang)
        stores.update_store(session=session, store=kemang, changes={"delivery": {"min_order": 10_000}})
        # 25 000 is below the shop's 30 000 but above Kemang's own 10 000
        assert _place(shop, session, lines=[CartLine(shop.coffee, 1)], store_id=shop.kemang).subtotal == 25_000
        stores.update_store(session=session, store=kemang, changes={"delivery": {"min_order": 60_000}})
        with pytest.raises(OrderError) as refused:
            _place(shop, session, store_id=shop.kemang)  # 50 000 is above the shop's minimum, below Kemang's
        assert (refused.value.code, refused.value.details["minimum"]) == ("minimum", 60_000)
