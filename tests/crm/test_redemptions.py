"""Voucher redemptions: recorded with the order, within the budget, once per customer, released on cancel."""

from __future__ import annotations

import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlmodel import Session, select

from core.db import get_engine, session_scope, utcnow
from crm.models import Contact
from crm.orders import CartLine, Order, OrderError, Product, change_status, place_order
from crm.promotions import Promotion, PromotionRedemption, create_promotion, update_promotion


@pytest.fixture
def shop(database_url):
    """Two customers, coffee, and a voucher HEMAT10 valid this month."""
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        budi, sari = Contact(display_name="Budi"), Contact(display_name="Sari")
        coffee = Product(sku="KOPI", name="Es Kopi Susu", price=25_000)
        session.add_all([budi, sari, coffee])
        now = utcnow()
        promo = create_promotion(session=session, title="Hemat", voucher_code="HEMAT10",
                                 starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=30))
        session.flush()
        return SimpleNamespace(engine=engine, budi=budi.id, sari=sari.id, coffee=coffee.id, promo=promo.id)


def _set(shop, **changes) -> None:
    with session_scope(shop.engine) as session:
        update_promotion(session=session, promotion=session.get(Promotion, shop.promo), changes=changes)


def _order(shop, contact: int, code: str | None = "hemat10") -> Order:
    with session_scope(shop.engine) as session:
        return place_order(session=session, contact_id=contact, lines=[CartLine(shop.coffee, 1)],
                           fulfilment="pickup", voucher_code=code)


def _refusal(shop, contact: int) -> str:
    with pytest.raises(OrderError) as refused:
        _order(shop, contact)
    assert refused.value.code == "voucher"
    return refused.value.details["reason"]


def _redeemed(shop) -> int:
    with Session(shop.engine) as session:
        return session.get(Promotion, shop.promo).redeemed


def test_an_order_with_the_voucher_records_its_redemption(shop):
    order = _order(shop, shop.budi)
    with Session(shop.engine) as session:
        assert (order.voucher_code, order.promotion_id) == ("HEMAT10", shop.promo)
        redemption = session.exec(select(PromotionRedemption)).one()
        assert (redemption.promotion_id, redemption.contact_id, redemption.order_id) == (shop.promo, shop.budi, order.id)
    assert _redeemed(shop) == 1
    _order(shop, shop.budi)  # shared: the same customer may use it again
    assert _redeemed(shop) == 2


def test_single_use_per_customer_and_release_on_cancel(shop):
    _set(shop, per_customer="once")
    first = _order(shop, shop.budi)
    assert _refusal(shop, shop.budi) == "used"
    _order(shop, shop.sari)  # another customer may
    with session_scope(shop.engine) as session:
        change_status(session=session, order=session.get(Order, first.id), status="cancelled", by="customer")
    assert _redeemed(shop) == 1
    _order(shop, shop.budi)  # the cancelled order gave the use back
    with Session(shop.engine) as session:
        released = session.exec(select(PromotionRedemption).where(PromotionRedemption.order_id == first.id)).one()
        assert released.released_at is not None  # kept, not deleted


def test_the_budget_refuses_once_spent_and_leaves_nothing_half_written(shop):
    _set(shop, max_redemptions=1)
    _order(shop, shop.budi)
    assert _refusal(shop, shop.sari) == "spent"
    with Session(shop.engine) as session:
        assert len(session.exec(select(Order)).all()) == 1  # the refused order was not kept
        assert len(session.exec(select(PromotionRedemption)).all()) == 1


def test_a_voucher_outside_its_days_or_unknown_is_refused(shop):
    assert _refusal_of(shop, "NOPE-1") == "unknown"
    _set(shop, weekdays=[((utcnow() + timedelta(hours=7)).weekday() - 1) % 7])  # only yesterday in Jakarta
    assert _refusal(shop, shop.budi) == "not_now"


def _refusal_of(shop, code: str) -> str:
    with pytest.raises(OrderError) as refused:
        _order(shop, shop.budi, code)
    return refused.value.details["reason"]


@pytest.mark.parametrize("changes, problem", [
    ({"max_redemptions": 0}, "max_redemptions"), ({"per_customer": "twice"}, "per_customer"),
    ({"voucher_code": None, "per_customer": "once"}, "voucher code"),
])
def test_bad_budget_or_use_is_refused(shop, changes, problem):
    with pytest.raises(ValueError, match=problem):
        _set(shop, **changes)


def _race(shop, contacts: list[int]) -> list[str]:
    """Two orders with the voucher placed at the same moment from two threads; what each got."""
    barrier, results = threading.Barrier(len(contacts)), [None] * len(contacts)

    def attempt(index: int, contact: int) -> None:
        barrier.wait()
        try:
            _order(shop, contact)
            results[index] = "placed"
        except OrderError as exc:
            results[index] = exc.details.get("reason")

    threads = [threading.Thread(target=attempt, args=(i, c)) for i, c in enumerate(contacts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sorted(results)


@pytest.mark.postgres
def test_racing_orders_cannot_exceed_the_budget_on_postgres(shop, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the race is about PostgreSQL's concurrent transactions")
    _set(shop, max_redemptions=1)
    for _ in range(5):  # several rounds: the threads must really overlap at least once to mean anything
        assert _race(shop, [shop.budi, shop.sari]) in (["placed", "spent"],)
        _set(shop, max_redemptions=_redeemed(shop) + 1)
    assert _redeemed(shop) == 5


@pytest.mark.postgres
def test_racing_orders_of_one_customer_use_a_single_use_voucher_once_on_postgres(shop, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the race is about PostgreSQL's concurrent transactions")
    _set(shop, per_customer="once")
    assert _race(shop, [shop.budi, shop.budi]) == ["placed", "used"]
    assert _redeemed(shop) == 1
