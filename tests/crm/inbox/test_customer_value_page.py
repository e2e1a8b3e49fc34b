"""The customer's value on their panel (segment, CLV, churn risk with reasons, favourite) and in the segment builder."""

from __future__ import annotations

from core.db import session_scope
from crm.customer_value import SEGMENTS
from crm.models import StaffUser
from crm.orders import CartLine, Product, place_order


def order_pastries(runtime, contact_id: int, count: int = 2) -> None:
    """Orders of croissants (category Pastry) for the contact; the value follows after each commit."""
    with session_scope(runtime.engine) as s:
        product = Product(sku="CRO", name="Croissant", price=28_000, category="Pastry")
        s.add(product)
        s.flush()
        product_id = product.id
    for _ in range(count):
        with session_scope(runtime.engine) as s:
            place_order(session=s, contact_id=contact_id, lines=[CartLine(product_id, 1)], fulfilment="pickup")


def _speak(runtime, staff_id: int, language: str) -> None:
    with session_scope(runtime.engine) as s:
        s.get(StaffUser, staff_id).language = language


def test_the_panel_shows_the_value_in_both_languages(agent, line_chat, runtime):
    _, contact_id = line_chat
    _speak(runtime, agent.user_id, "en")
    page = agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    assert "Customer value" in page and "No orders yet" in page and 'id="customer-value"' not in page
    order_pastries(runtime, contact_id)
    page = agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    assert 'id="customer-value"' in page and "Pastry" in page and "Rp56,000" in page
    assert "Risk of no order in the next 30 days" in page and "%" in page
    assert "Risk of no order in the next 60 days" in page and 'class="churn-60"' in page
    _speak(runtime, agent.user_id, "id")
    page = agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    assert "Nilai pelanggan" in page and "Rp56.000" in page and "Kategori favorit" in page
    assert "Risiko tidak pesan 60 hari ke depan" in page


def test_the_builder_offers_the_value_fields(as_role):
    page = as_role("marketer").get("/inbox/segments/new").get_data(as_text=True)
    for field in ("rfm_segment", "churn_risk", "churn_risk_60", "clv", "favourite_category"):
        assert f'"{field}"' in page
    assert "choice:" + ",".join(SEGMENTS) in page and "Berisiko pergi" in page
