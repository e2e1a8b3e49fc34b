"""A photo sent while an order waits for a transfer or QRIS payment: thanked with the order, staff alerted."""

from __future__ import annotations

from sqlmodel import select

from crm.orders import Order
from tests.factories import line_event
from tests.handlers.test_conversations import Customer, customer, place_order, shop, texts  # noqa: F401


def sends_photo(customer: Customer, message_id: str = "900001") -> list[dict]:
    before = customer._count()
    customer.hooks.line(line_event("message", customer.user, message={
        "id": message_id, "type": "image", "contentProvider": {"type": "line"}, "quoteToken": "q-proof"}))
    return customer._replies(before)


def alerts(client, api_token) -> list[dict]:
    auth = {"Authorization": f"Bearer {api_token}"}
    return client.get("/api/v1/alerts?kind=payment_proof", headers=auth).get_json()["items"]


def test_a_photo_after_a_qris_order_is_taken_as_its_payment_proof(customer, session, client, api_token):
    place_order(customer)  # paid by QRIS
    order = session.exec(select(Order)).one()
    replies = sends_photo(customer)
    assert "bukti bayar" in texts(replies) and "10001" in texts(replies)
    assert [(a["order_id"], a["severity"], a["status"]) for a in alerts(client, api_token)] == \
        [(order.id, "high", "new")]


def test_a_photo_without_an_order_waiting_for_payment_is_just_thanked(customer, session, client, api_token):
    replies = sends_photo(customer)
    assert "bukti bayar" not in texts(replies) and "sudah kami terima" in texts(replies)
    assert alerts(client, api_token) == []


def test_a_photo_after_a_cash_on_delivery_order_is_no_payment_proof(customer, session, client, api_token):
    replies = customer.says("kak mau pesen es kopi susu 2 ya, anter ke kantor di jl sudirman 21")
    customer.says("0812 3456 7890")
    replies = customer.says("cod aja")
    assert "order:confirm" in str(replies)
    customer.taps("order:confirm")
    assert session.exec(select(Order)).one().payment_method is not None
    assert "bukti bayar" not in texts(sends_photo(customer))
    assert alerts(client, api_token) == []
