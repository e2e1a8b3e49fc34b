"""The points ledger: earned once on delivery, reversed once on cancel, never below zero, tiers, rewards, expiry."""

from __future__ import annotations

import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlmodel import Session, select

from core.db import get_engine, session_scope, utcnow
from core.settings import LoyaltyReward, LoyaltySettings
from crm import loyalty
from crm.models import Contact
from crm.orders import CartLine, Order, Product, change_status, place_order
from crm.promotions import Promotion, audience_matches
from crm.shop_settings import save_settings

RULES = LoyaltySettings()


@pytest.fixture
def shop(database_url):
    """Two customers and coffee at Rp25.500."""
    engine = get_engine(database_url)
    with session_scope(engine) as session:
        budi, sari = Contact(display_name="Budi"), Contact(display_name="Sari")
        coffee = Product(sku="KOPI", name="Es Kopi Susu", price=25_500)
        session.add_all([budi, sari, coffee])
        session.flush()
        return SimpleNamespace(engine=engine, budi=budi.id, sari=sari.id, coffee=coffee.id)


def _delivered_order(shop, contact: int | None = None, quantity: int = 2, fee: int = 10_000) -> int:
    """An order of `quantity` coffees with a delivery fee, taken to delivered; its id."""
    with session_scope(shop.engine) as session:
        order = place_order(session=session, contact_id=contact or shop.budi, lines=[CartLine(shop.coffee, quantity)],
                            address="Jl. Sudirman 1", delivery_fee=fee)
        for status in ("confirmed", "preparing", "shipped", "delivered"):
            change_status(session=session, order=order, status=status, by="staff:1")
        return order.id


def _cancel(shop, order_id: int) -> None:
    with session_scope(shop.engine) as session:
        change_status(session=session, order=session.get(Order, order_id), status="cancelled", by="staff:1")


def _balance(shop, contact: int | None = None) -> int:
    with Session(shop.engine) as session:
        return loyalty.balance(session=session, contact_id=contact or shop.budi)


def _kinds(shop, contact: int | None = None) -> list[tuple[str, int]]:
    with Session(shop.engine) as session:
        return [(e.kind, e.points) for e in reversed(loyalty.entries(session=session, contact_id=contact or shop.budi))]


def _adjust(shop, points: int, reason: str | None = "koreksi", contact: int | None = None):
    with session_scope(shop.engine) as session:
        return loyalty.adjust(session=session, contact_id=contact or shop.budi, points=points, reason=reason,
                              by="staff:1")


def test_a_delivered_order_earns_per_1000_rupiah_without_the_delivery_fee_rounded_down(shop):
    order_id = _delivered_order(shop)  # 2 × 25.500 = 51.000 (+ 10.000 delivery)
    assert _balance(shop) == 51
    assert _kinds(shop) == [("earn", 51)]
    with Session(shop.engine) as session:
        entry = session.exec(select(loyalty.PointsEntry)).one()
        assert (entry.order_id, entry.by) == (order_id, "staff:1")


@pytest.mark.parametrize("rate, amount, points", [(1, 25_999, 25), (2, 25_500, 51), (0.1, 30_000, 3), (0, 90_000, 0)])
def test_the_rate_rounds_down(rate, amount, points):
    assert loyalty.points_for(amount, LoyaltySettings(points_per_1000_rupiah=rate)) == points


def test_the_rate_saved_in_the_shop_settings_applies(shop):
    with session_scope(shop.engine) as session:
        save_settings(session, {"loyalty": {"points_per_1000_rupiah": 2}})
    _delivered_order(shop, quantity=1)
    assert _balance(shop) == 51


def test_an_order_earns_once_and_is_reversed_once(shop):
    order_id = _delivered_order(shop)
    with session_scope(shop.engine) as session:
        order = session.get(Order, order_id)
        assert loyalty.earn_for_order(session=session, order_id=order.id, contact_id=shop.budi, total=order.total,
                                      delivery_fee=order.delivery_fee, rules=RULES, by="api:pos") is None
    _cancel(shop, order_id)
    with session_scope(shop.engine) as session:
        assert loyalty.reverse_for_order(session=session, order_id=order_id, by="staff:1") is None
    assert _kinds(shop) == [("earn", 51), ("reverse", -51)]
    assert _balance(shop) == 0


def test_cancelling_an_undelivered_order_touches_no_points(shop):
    with session_scope(shop.engine) as session:
        order = place_order(session=session, contact_id=shop.budi, lines=[CartLine(shop.coffee, 1)], fulfilment="pickup")
    _cancel(shop, order.id)
    assert _kinds(shop) == []


def test_a_reversal_of_points_already_spent_takes_only_what_is_left(shop):
    order_id = _delivered_order(shop)
    _adjust(shop, -40, "tukar hadiah di kasir")
    _cancel(shop, order_id)
    assert _balance(shop) == 0
    assert _kinds(shop) == [("earn", 51), ("adjust", -40), ("reverse", -11)]
    with Session(shop.engine) as session:
        reverse = session.exec(select(loyalty.PointsEntry).where(loyalty.PointsEntry.kind == "reverse")).one()
        assert "40 of its points were already spent" in reverse.reason


def test_staff_adjust_needs_a_reason_and_cannot_go_below_zero(shop):
    with pytest.raises(loyalty.LoyaltyError) as no_reason:
        _adjust(shop, 10, "  ")
    assert no_reason.value.code == "reason"
    with pytest.raises(loyalty.LoyaltyError) as zero:
        _adjust(shop, 0)
    assert zero.value.code == "zero"
    _adjust(shop, 30, "bonus ulang tahun")
    with pytest.raises(loyalty.LoyaltyError) as below:
        _adjust(shop, -31)
    assert below.value.code == "insufficient" and below.value.details == {"balance": 30, "needed": 31}
    assert _balance(shop) == 30 and _kinds(shop) == [("adjust", 30)]


def test_tiers_count_the_points_earned_in_the_last_12_months(shop):
    _adjust(shop, 900, "hadiah")  # an adjustment is not earning: still Silver
    with Session(shop.engine) as session:
        assert loyalty.standing(session=session, contact_id=shop.budi, rules=RULES).tier.name == "Silver"
    with session_scope(shop.engine) as session:
        loyalty.earn_for_order(session=session, order_id=None, contact_id=shop.budi, total=600_000, delivery_fee=0,
                               rules=RULES, by="test", now=utcnow() - timedelta(days=400))
        loyalty.earn_for_order(session=session, order_id=None, contact_id=shop.budi, total=450_000, delivery_fee=0,
                               rules=RULES, by="test")
    with Session(shop.engine) as session:
        standing = loyalty.standing(session=session, contact_id=shop.budi, rules=RULES)
    assert (standing.balance, standing.earned_last_year, standing.tier.name) == (1950, 450, "Silver")
    assert (standing.next_tier.name, standing.to_next_tier) == ("Gold", 50)
    _delivered_order(shop)
    with Session(shop.engine) as session:
        assert loyalty.standing(session=session, contact_id=shop.budi, rules=RULES).tier.name == "Gold"


def test_tiers_must_start_at_zero():
    with pytest.raises(ValueError, match="lowest tier"):
        LoyaltySettings(tiers=[{"name": "Gold", "min_points": 500}])


def test_a_reward_gives_a_single_use_voucher_for_that_customer_only(shop):
    _adjust(shop, 150, "hadiah")
    reward = LoyaltyReward(name="Gratis kopi susu", points=100)
    with session_scope(shop.engine) as session:
        entry, voucher = loyalty.redeem_reward(session=session, contact_id=shop.budi, reward=reward, rules=RULES,
                                               by="customer")
        code = voucher.voucher_code
    assert code.startswith("POIN-") and entry.voucher_code == code and _balance(shop) == 50
    with session_scope(shop.engine) as session:
        promotion = session.exec(select(Promotion).where(Promotion.voucher_code == code)).one()
        assert (promotion.max_redemptions, promotion.per_customer) == (1, "once")
        for contact, allowed in ((shop.budi, True), (shop.sari, False)):
            assert audience_matches(promotion.audience, contact=session.get(Contact, contact), orders_count=0,
                                    channel="line") is allowed
        with pytest.raises(loyalty.LoyaltyError):
            loyalty.redeem_reward(session=session, contact_id=shop.budi, reward=reward, rules=RULES, by="customer")


def test_idle_balances_expire(shop):
    _delivered_order(shop)
    rules = LoyaltySettings(expiry_months=6)
    with session_scope(shop.engine) as session:
        assert loyalty.expire_idle(session=session, rules=rules) == 0
        assert loyalty.expire_idle(session=session, rules=rules, now=utcnow() + timedelta(days=200)) == 1
    assert _balance(shop) == 0 and _kinds(shop)[-1] == ("expire", -51)


def _together(*actions) -> list[str]:
    """Run the actions at the same moment from threads; what each did ("ok" or the refusal's code)."""
    barrier, results = threading.Barrier(len(actions)), [None] * len(actions)

    def run(index: int, action) -> None:
        barrier.wait()
        try:
            action()
            results[index] = "ok"
        except loyalty.LoyaltyError as exc:
            results[index] = exc.code

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return sorted(results)


def test_two_redemptions_at_once_cannot_overspend(shop):
    for _ in range(3):  # several rounds: the threads must really overlap at least once to mean anything
        _adjust(shop, 150 - _balance(shop) if _balance(shop) < 150 else 1, "isi ulang")
        start = _balance(shop)
        assert _together(lambda: _adjust(shop, -100, "tukar"), lambda: _adjust(shop, -100, "tukar")) == \
            ["insufficient", "ok"]
        assert _balance(shop) == start - 100
    with Session(shop.engine) as session:
        assert sum(e.points for e in loyalty.entries(session=session, contact_id=shop.budi)) == _balance(shop)


def test_a_reversal_racing_a_redemption_never_goes_below_zero(shop):
    for _ in range(3):
        order_id = _delivered_order(shop)  # +51
        start = _balance(shop)
        assert _together(lambda: _cancel(shop, order_id), lambda: _adjust(shop, -start, "tukar semua")) in (
            ["ok", "ok"], ["insufficient", "ok"])
        assert _balance(shop) >= 0
        with Session(shop.engine) as session:
            assert sum(e.points for e in loyalty.entries(session=session, contact_id=shop.budi)) == _balance(shop)


def test_two_cancellations_at_once_reverse_once(shop):
    order_id = _delivered_order(shop)
    results = []

    def cancel() -> None:
        try:
            _cancel(shop, order_id)
            results.append("ok")
        except Exception as exc:  # noqa: BLE001 - the loser may see the order already cancelled
            results.append(type(exc).__name__)

    _together(cancel, cancel)
    assert _kinds(shop) == [("earn", 51), ("reverse", -51)] and _balance(shop) == 0
