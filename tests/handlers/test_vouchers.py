"""Voucher codes in a chat order: applied, recorded with the order, used once, released when the order is cancelled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from core.db import session_scope, utcnow
from crm.orders import Order, change_status
from crm.promotions import Promotion, PromotionRedemption, create_promotion
from tests.handlers.test_conversations import Customer, postbacks, shop, texts  # noqa: F401


@pytest.fixture
def hemat(runtime, shop):  # noqa: F811
    """A single-use voucher with a budget of two, valid every day this month."""
    with session_scope(runtime.engine) as session:
        now = utcnow()
        promo = create_promotion(session=session, title="Hemat Sepuluh Ribu", voucher_code="HEMAT10",
                                 description="Potongan Rp10.000", starts_at=now - timedelta(days=1),
                                 ends_at=now + timedelta(days=30), per_customer="once", max_redemptions=2)
        return promo.id


@pytest.fixture
def customer(client, fake_line, hemat) -> Customer:
    return Customer(client, fake_line)


def order_with_voucher(customer: Customer) -> list[dict]:
    """A typed delivery order, the voucher code typed at its summary; the replies to the code."""
    customer.says("kak mau pesen es kopi susu 2 ya, anter ke kantor di jl sudirman 21")
    customer.says("0812 3456 7890")
    assert "order:confirm" in postbacks(customer.says("qris"))
    return customer.says("pakai kode hemat10")


def test_a_voucher_typed_during_an_order_is_recorded_with_it(customer, session, hemat):
    summary = order_with_voucher(customer)
    assert "HEMAT10" in texts(summary) and "Hemat Sepuluh Ribu" in texts(summary)
    assert "🎟️ Voucher HEMAT10" in texts(summary) and "order:confirm" in postbacks(summary)
    assert "#10001" in texts(customer.taps("order:confirm"))
    order = session.exec(select(Order)).one()
    assert (order.voucher_code, order.promotion_id) == ("HEMAT10", hemat)
    redemption = session.exec(select(PromotionRedemption)).one()
    assert (redemption.order_id, redemption.contact_id) == (order.id, order.contact_id)
    assert session.get(Promotion, hemat).redeemed == 1


def test_a_used_voucher_is_not_offered_again_and_the_bot_says_why(customer, session, runtime, hemat):
    assert "Hemat Sepuluh Ribu" in texts(customer.says("ada promo apa?"))
    order_with_voucher(customer)
    customer.taps("order:confirm")
    assert "Hemat Sepuluh Ribu" not in texts(customer.says("ada promo apa?"))
    assert "sudah memakainya" in texts(customer.says("promo hemat sepuluh ribu masih ada?"))
    # A second order with the same code is refused in words and carries no voucher.
    summary = order_with_voucher(customer)
    assert "sudah memakainya" in texts(summary) and "🎟️" not in texts(summary)
    # Cancelling the first order gives the single use back.
    with session_scope(runtime.engine) as db:
        first = db.exec(select(Order).order_by(Order.id)).first()
        change_status(session=db, order=first, status="cancelled", by="staff:1")
    with session_scope(runtime.engine) as db:
        assert db.get(Promotion, hemat).redeemed == 0
    assert "Hemat Sepuluh Ribu" in texts(customer.says("ada promo apa?"))


def test_a_spent_budget_is_said_and_an_unknown_code_too(customer, runtime, hemat):
    with session_scope(runtime.engine) as db:
        db.get(Promotion, hemat).redeemed = 2
    assert "habis" in texts(customer.says("promo hemat sepuluh ribu masih ada?"))
    summary = order_with_voucher(customer)
    assert "Kuota Hemat Sepuluh Ribu sudah habis" in texts(summary)
    assert "tidak kami temukan" in texts(customer.says("kode NGASAL99"))
