"""The product offered with the cart, through the real pipeline: typed and tapped answers, once per order, recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core.db import session_scope, utcnow
from core.settings import CrossSellSettings
from crm import cross_sell
from crm.orders import Order, OrderItem, Product
from crm.stores import JAKARTA
from tests.crm.test_cross_sell import seed_orders
from tests.handlers.test_conversations import Customer, postbacks, shop, texts  # noqa: F401

OFFER_ID = "Mau sekalian Croissant Butter-nya kak? (Rp28.000)"
OFFER_EN = "Would you like a Butter Croissant with that? (Rp28,000)"
RULES = CrossSellSettings(min_orders=20)


def _history(runtime, orders: int = 20) -> None:
    """Past orders where iced milk coffee mostly came with a croissant (and banana bread, now sold out)."""
    with session_scope(runtime.engine) as session:
        ids = {p.sku: p.id for p in session.exec(select(Product))}
        kopi, croissant, banana, tea = ids["KOP-EKS"], ids["MKN-CRO"], ids["MKN-BAN"], ids["NON-TEH"]
        pairs = orders * 6 // 20
        seed_orders(session, [(kopi, croissant)] * pairs + [(kopi, banana)] * (pairs + 1)
                    + [(tea,)] * (orders - 2 * pairs - 1))
        cross_sell.recompute(session=session, now=utcnow(), rules=RULES)


@pytest.fixture
def customer(client, fake_line, shop, runtime) -> Customer:  # noqa: F811
    _history(runtime)
    return Customer(client, fake_line)


def _order(session) -> Order:
    """The order placed in the chat (the history's have no number)."""
    session.expire_all()
    return session.exec(select(Order).where(Order.number.is_not(None))).one()


def _lines(session, order: Order) -> dict[str, int]:
    return {item.product_name: item.quantity
            for item in session.exec(select(OrderItem).where(OrderItem.order_id == order.id))}


def _finish(customer: Customer) -> None:
    summary = texts(customer.says("ambil di blok m, bayar qris"))
    assert "Sudah benar?" in summary, summary
    assert "#100" in texts(customer.says("iya"))  # placed, with its number


@pytest.mark.parametrize("answer, quantity", [("boleh", 1), ("iya 1", 1), ("iya 2", 2),
                                              ("boleh kak, croissantnya 1", 1)])
def test_a_typed_yes_adds_the_offered_product(customer, session, answer, quantity):
    replies = customer.says("mau es kopi susu 2")
    assert OFFER_ID in texts(replies)  # not the banana bread: sold out
    assert {"order:offer:yes", "order:offer:no"} <= set(postbacks(replies))
    words = texts(customer.says(answer))
    assert f"{quantity}× Croissant Butter" in words and "diantar atau ambil" in words  # the order goes on
    _finish(customer)
    order = _order(session)
    assert _lines(session, order) == {"Es Kopi Susu": 2, "Croissant Butter": quantity}
    assert order.cross_sell_product_id is not None and order.cross_sell_taken is True


@pytest.mark.parametrize("answer", ["ga usah", "gak usah kak", "no thanks", "udah itu aja", "hmm"])
def test_a_typed_no_goes_on_with_the_order_as_before(customer, session, answer):
    assert OFFER_ID in texts(customer.says("mau es kopi susu 2"))
    words = texts(customer.says(answer))
    assert "Croissant" not in words and "diantar atau ambil" in words.lower(), words
    assert "belum nangkep" not in words  # a no is understood
    _finish(customer)
    order = _order(session)
    assert _lines(session, order) == {"Es Kopi Susu": 2}
    assert order.cross_sell_product_id is not None and order.cross_sell_taken is False


def test_going_on_with_the_order_declines_and_keeps_what_was_said(customer, session):
    customer.says("mau es kopi susu 2")
    words = texts(customer.says("ambil sendiri aja di blok m"))
    assert "bayar" in words.lower() and "Croissant" not in words
    summary = texts(customer.says("qris"))
    assert "Sudah benar?" in summary and "Croissant" not in summary
    customer.says("iya")
    order = _order(session)
    assert (order.fulfilment, order.payment_method, order.cross_sell_taken) == ("pickup", "qris", False)


def test_a_whole_order_in_one_message_is_offered_before_the_summary(customer, session):
    words = texts(customer.says("mau es kopi susu 1 ambil di blok m bayar qris"))
    assert OFFER_ID in words and "Sudah benar?" not in words
    summary = texts(customer.says("boleh"))
    assert "1× Croissant Butter" in summary and "Sudah benar?" in summary
    customer.says("iya")
    assert _order(session).cross_sell_taken is True


def test_the_buttons_answer_the_offer(customer, session):
    customer.says("mau es kopi susu 2")
    assert "1× Croissant Butter" in texts(customer.taps("order:offer:yes"))
    assert "1× Croissant Butter" in texts(customer.taps("order:offer:yes"))  # a second tap adds nothing
    _finish(customer)
    assert _lines(session, _order(session)) == {"Es Kopi Susu": 2, "Croissant Butter": 1}


def test_english_customers_are_offered_in_english(customer, session):
    replies = customer.says("I'd like 2 iced milk coffee please")
    assert OFFER_EN in texts(replies)
    assert "Delivery or pick up" in texts(customer.says("yes please"))
    customer.says("pick up at blok m, pay with qris")
    customer.says("yes")
    assert _lines(session, _order(session)) == {"Es Kopi Susu": 2, "Croissant Butter": 1}


def test_the_offer_is_made_once_per_order(customer, session):
    everything = [customer.says("mau es kopi susu 2"), customer.says("ga usah"),
                  customer.says("tambah es kopi susu 1 lagi"),  # the cart changes: no second offer
                  customer.says("bisa bayar pake qris ga?"),  # a question beside the order, which then resumes
                  customer.says("ambil di blok m"), customer.says("qris"), customer.says("iya")]
    assert sum(texts(replies).count("Mau sekalian") for replies in everything) == 1
    assert _lines(session, _order(session)) == {"Es Kopi Susu": 3}
    # The next order is offered again.
    assert OFFER_ID in texts(customer.says("mau es kopi susu 1"))


def test_a_product_in_the_cart_is_not_offered(customer):
    words = texts(customer.says("mau es kopi susu 2 sama croissant 1"))
    assert "Mau sekalian" not in words and "diantar atau ambil" in words.lower()


def test_no_offer_without_enough_history(client, fake_line, shop, runtime, session):  # noqa: F811
    _history(runtime, orders=19)  # one order short of min_orders: nothing learned
    customer = Customer(client, fake_line)
    words = texts(customer.says("mau es kopi susu 2"))
    assert "Mau sekalian" not in words and "diantar atau ambil" in words.lower()
    _finish(customer)
    assert _order(session).cross_sell_product_id is None


def test_a_product_not_sold_at_the_order_time_is_not_offered(customer, runtime):
    later = (utcnow() + timedelta(hours=2)).astimezone(JAKARTA)
    with session_scope(runtime.engine) as session:  # the croissant is sold only in an hour two hours from now
        croissant = session.exec(select(Product).where(Product.sku == "MKN-CRO")).one()
        croissant.available_hours = [[f"{later:%H}:00", f"{(later + timedelta(hours=1)):%H}:00"]]
        croissant.updated_at = utcnow()
    words = texts(customer.says("mau es kopi susu 2"))
    assert "Mau sekalian" not in words and "diantar atau ambil" in words.lower()
