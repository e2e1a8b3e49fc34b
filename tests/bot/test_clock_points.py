"""The clock expires the points of customers who earned none for the shop's `loyalty.expiry_months`."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from bot import clock
from core.db import session_scope, utcnow
from crm import loyalty
from crm.models import Contact
from crm.shop_settings import save_settings
from tests.factories import Webhooks, tg_text


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


TG_USER = 7_700_000_777


def test_the_clock_gives_the_birthday_bonus_once_and_says_so_in_chat_outside_quiet_hours(runtime, client,
                                                                                         fake_telegram):
    assert Webhooks(client).telegram(tg_text("halo kak", user_id=TG_USER, first_name="Tono")).status_code == 200
    today = utcnow().astimezone(runtime.settings.tz).date()
    with session_scope(runtime.engine) as session:
        contact = session.exec(select(Contact)).one()
        contact.birthday, contact_id = today.replace(year=1990 if (today.month, today.day) != (2, 29) else 1992), \
            contact.id
        session.add(contact)
    assert clock.grant_birthday_points() == 0  # config.yaml: no birthday points
    with session_scope(runtime.engine) as session:
        save_settings(session, {"loyalty": {"birthday_points": 50}, "quiet_hours": "00:00-23:59"})
    assert clock.grant_birthday_points() == 0  # quiet hours: the greeting waits
    with session_scope(runtime.engine) as session:
        save_settings(session, {"quiet_hours": ""})
    assert clock.grant_birthday_points() == 1
    assert clock.grant_birthday_points() == 0  # the next hourly run
    with Session(runtime.engine) as session:
        assert loyalty.balance(session=session, contact_id=contact_id) == 50
    greetings = [t for t in fake_telegram.texts_to(TG_USER) if "ulang tahun" in t]
    assert greetings == ["Selamat ulang tahun kak! 🎂 Ada hadiah +50 poin dari kami. Poin kakak sekarang 50."]
