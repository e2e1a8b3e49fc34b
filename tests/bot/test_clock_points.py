"""The clock expires the points of customers who earned none for the shop's `loyalty.expiry_months`."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from bot import clock
from core.db import session_scope, utcnow
from crm import loyalty
from crm.models import Contact
from crm.shop_settings import save_settings


def test_idle_points_expire_only_once_the_shop_sets_an_expiry(runtime):
    with session_scope(runtime.engine) as session:
        contact = Contact(display_name="Budi")
        session.add(contact)
        session.flush()
        loyalty.earn_for_order(session=session, order_id=None, contact_id=contact.id, total=80_000, delivery_fee=0,
                               rules=loyalty.LoyaltySettings(), by="test")
        contact_id = contact.id
    later = utcnow() + timedelta(days=400)
    assert clock.expire_points(later) == 0  # config.yaml: points never expire
    with session_scope(runtime.engine) as session:
        save_settings(session, {"loyalty": {"expiry_months": 12}})
    assert clock.expire_points() == 0  # earned just now
    assert clock.expire_points(later) == 1
    with Session(runtime.engine) as session:
        assert loyalty.balance(session=session, contact_id=contact_id) == 0
        assert loyalty.entries(session=session, contact_id=contact_id)[0].kind == "expire"
