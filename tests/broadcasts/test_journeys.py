"""Journeys: birthday (with a voucher), order follow-up, win-back, abandoned order — once each."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import update

from broadcasts import journeys
from crm import orders
from core.db import session_scope, utcnow
from crm.models import Conversation
from crm.promotions import create_promotion
from tests.broadcasts.helpers import line_id, run_to_end, seed


def fire(runtime, key: str, now: datetime | None = None):
    with session_scope(runtime.engine) as session:
        prepared = journeys.prepare(session=session, key=key, now=now or utcnow(), tz_name="Asia/Jakarta")
    if prepared is None:
        return None
    return run_to_end(runtime, *prepared)


def enable(runtime, key: str, **options):
    with session_scope(runtime.engine) as session:
        journeys.update(session=session, key=key, enabled=True, options=options or None)


def test_journeys_are_off_until_switched_on(runtime, fake_line):
    seed(runtime.engine, line=1, birthday=date(1990, 6, 1))
    assert fire(runtime, "birthday") is None
    assert not fake_line.calls("/v2/bot/message/push") and not fake_line.calls("/v2/bot/message/multicast")


def test_birthday_greeting_with_a_voucher_goes_out_once_on_the_day(runtime, fake_line):
    today = utcnow().astimezone(timezone(timedelta(hours=7))).date()
    seed(runtime.engine, line=1, birthday=date(1990, today.month, today.day), display_name="Sari Dewi")
    seed(runtime.engine, line=1, start=1, birthday=date(1990, 1, 1) if today.month != 1 else date(1990, 7, 7))
    with session_scope(runtime.engine) as session:
        promo = create_promotion(session=session, title="Ultah", starts_at=utcnow() - timedelta(days=1),
                                 ends_at=utcnow() + timedelta(days=30), voucher_code="ULTAH-20")
        journeys.update(session=session, key="birthday", enabled=True, options={"promotion_id": promo.id})
    fire(runtime, "birthday")
    fire(runtime, "birthday")  # the clock firing twice the same day
    messages = fake_line.delivered_to(line_id(0))
    assert len(messages) == 1
    assert messages[0]["text"].startswith("Selamat ulang tahun, Sari!") and "ULTAH-20" in messages[0]["text"]
    assert not fake_line.delivered_to(line_id(1))


def test_winback_after_sixty_silent_days_and_followup_a_month_after_delivery(runtime, fake_line):
    ids = seed(runtime.engine, line=1, last_seen_at=utcnow() - timedelta(days=60, hours=3))
    buyer = seed(runtime.engine, line=1, start=1)[0]
    with session_scope(runtime.engine) as session:
        product = orders.Product(sku="K", name="Kopi", price=10000)
        session.add(product)
        session.flush()
        order = orders.place_order(session=session, contact_id=buyer, lines=[orders.CartLine(product.id, 1)],
                                   fulfilment="pickup")
        for status in ("confirmed", "preparing", "shipped", "delivered"):
            orders.change_status(session=session, order=order, status=status, by="staff")
        session.execute(update(orders.Order).where(orders.Order.id == order.id)
                        .values(updated_at=utcnow() - timedelta(days=30, hours=2)))
    enable(runtime, "winback")
    enable(runtime, "order_followup")
    fire(runtime, "winback")
    fire(runtime, "order_followup")
    assert fake_line.delivered_to(line_id(0))[0]["text"].startswith("Kangen nih")
    assert fake_line.delivered_to(line_id(1))[0]["text"].startswith("Halo Pelanggan, gimana pesanan")
    assert len(fake_line.deliveries_per_user()) == 2 and ids


def test_abandoned_order_reminder(runtime, fake_telegram):
    ids = seed(runtime.engine, telegram=1)
    with session_scope(runtime.engine) as session:
        session.add(Conversation(channel="telegram", external_chat_id="5000000000", contact_id=ids[0],
                                 state={"order": {"step": "address", "lines": [{"product_id": 1}]}},
                                 state_updated_at=utcnow() - timedelta(minutes=100)))
    enable(runtime, "abandoned_order")
    fire(runtime, "abandoned_order")
    fire(runtime, "abandoned_order", now=utcnow() + timedelta(minutes=15))  # next quarter hour: not again
    assert fake_telegram.texts_to(5_000_000_000) == ["Pesanan kamu belum selesai, Pelanggan. Mau dilanjutkan?"]
