"""The points ledger: earned once on delivery, reversed once on cancel, never below zero, tiers, rewards, expiry."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlmodel import Session, select

from core.db import get_engine, session_scope, utcnow
from core.settings import LoyaltyReward, LoyaltySettings
from crm import loyalty
from crm.models import Contact
from crm.orders import CartLine, Order, OrderError, Product, change_status, place_order
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


# --- rules: rounding, multipliers, birthday bonus, rewards with a value ---------------------------------------


@pytest.mark.parametrize("rounding, points", [("down", 25), ("nearest", 26), ("up", 26)])
def test_rounding_follows_the_rules(rounding, points):
    assert loyalty.points_for(25_500, LoyaltySettings(rounding=rounding)) == points
    assert loyalty.points_for(25_000, LoyaltySettings(rounding=rounding)) == 25  # whole points stay whole


def test_a_category_multiplier_counts_its_goods_that_many_times(shop):
    with session_scope(shop.engine) as session:
        croissant = Product(sku="CROI", name="Croissant", price=20_000, category="Pastry")
        session.add(croissant)
        session.flush()
        save_settings(session, {"loyalty": {"multipliers": [{"category": "pastry", "factor": 2}]}})
        order = place_order(session=session, contact_id=shop.budi, address="Jl. Sudirman 1", delivery_fee=10_000,
                            lines=[CartLine(shop.coffee, 1), CartLine(croissant.id, 1)])
        for status in ("confirmed", "preparing", "shipped", "delivered"):
            change_status(session=session, order=order, status=status, by="staff:1")
    assert _balance(shop) == 25 + 40  # 25.500 ×1 rounded with the rest, 20.000 ×2: 65.5 → 65


def test_multipliers_must_name_each_category_once():
    with pytest.raises(ValueError, match="one multiplier"):
        LoyaltySettings(multipliers=[{"category": "Pastry", "factor": 2}, {"category": "pastry ", "factor": 3}])


def test_the_birthday_bonus_is_an_earn_without_an_order_once_a_year(shop):
    with session_scope(shop.engine) as session:
        session.get(Contact, shop.budi).birthday = date(1990, 12, 7)
        session.get(Contact, shop.sari).birthday = date(1990, 12, 8)
    with session_scope(shop.engine) as session:
        assert loyalty.birthday_contacts(session=session, day=date(2026, 12, 7)) == [shop.budi]
        assert loyalty.grant_birthday(session=session, contact_id=shop.budi, points=50, year=2026) is not None
        assert loyalty.birthday_contacts(session=session, day=date(2026, 12, 7), ungranted=True) == []
    with session_scope(shop.engine) as session:  # the job running twice
        assert loyalty.grant_birthday(session=session, contact_id=shop.budi, points=50, year=2026) is None
    with session_scope(shop.engine) as session:
        assert loyalty.grant_birthday(session=session, contact_id=shop.budi, points=50, year=2027) is not None
    assert _kinds(shop) == [("earn", 50), ("earn", 50)] and _balance(shop) == 100
    with Session(shop.engine) as session:
        assert {e.order_id for e in loyalty.entries(session=session, contact_id=shop.budi)} == {None}


def test_a_29_february_birthday_counts_on_28_february_of_other_years(shop):
    with session_scope(shop.engine) as session:
        session.get(Contact, shop.sari).birthday = date(2000, 2, 29)
    with Session(shop.engine) as session:
        assert loyalty.birthday_contacts(session=session, day=date(2027, 2, 28)) == [shop.sari]
        assert loyalty.birthday_contacts(session=session, day=date(2028, 2, 28)) == []


def test_two_birthday_runs_at_once_give_the_bonus_once(shop):
    def grant() -> None:
        with session_scope(shop.engine) as session:
            loyalty.grant_birthday(session=session, contact_id=shop.sari, points=30, year=2026)

    for _ in range(3):
        _together(grant, grant)
    assert _kinds(shop, shop.sari) == [("earn", 30)] and _balance(shop, shop.sari) == 30


def _redeem(shop, reward: LoyaltyReward, contact: int | None = None) -> str:
    _adjust(shop, reward.points, "hadiah", contact=contact)
    with session_scope(shop.engine) as session:
        _entry, voucher = loyalty.redeem_reward(session=session, contact_id=contact or shop.budi, reward=reward,
                                                rules=RULES, by="customer")
        return voucher.voucher_code


def _order_with(shop, code: str | None, quantity: int = 2, contact: int | None = None) -> Order:
    with session_scope(shop.engine) as session:
        order = place_order(session=session, contact_id=contact or shop.budi, lines=[CartLine(shop.coffee, quantity)],
                            address="Jl. Sudirman 1", delivery_fee=10_000, voucher_code=code)
        session.expunge(order)
        return order


def test_an_amount_reward_discounts_the_order_and_points_are_earned_on_what_was_paid(shop):
    code = _redeem(shop, LoyaltyReward(name="Potongan 20rb", points=100, amount_off=20_000))
    order = _order_with(shop, code)  # 51.000 of coffee
    assert (order.subtotal, order.discount, order.delivery_fee, order.total) == (51_000, 20_000, 10_000, 41_000)
    with session_scope(shop.engine) as session:
        order = session.get(Order, order.id)
        for status in ("confirmed", "preparing", "shipped", "delivered"):
            change_status(session=session, order=order, status=status, by="staff:1")
    assert _kinds(shop)[-1] == ("earn", 31)  # 51.000 − 20.000 paid for the goods
    with pytest.raises(OrderError) as refused:  # once
        _order_with(shop, code)
    assert refused.value.details["reason"] in ("used", "spent")


def test_a_discount_never_takes_the_goods_below_zero(shop):
    code = _redeem(shop, LoyaltyReward(name="Potongan besar", points=100, amount_off=90_000))
    order = _order_with(shop, code, quantity=1)
    assert (order.discount, order.total) == (25_500, 10_000)  # the delivery fee is still paid


def test_a_free_product_reward_takes_one_of_it_off(shop):
    code = _redeem(shop, LoyaltyReward(name="Gratis kopi", points=100, free_sku="kopi"))
    order = _order_with(shop, code, quantity=3)
    assert (order.discount, order.total) == (25_500, 2 * 25_500 + 10_000)


def test_two_orders_racing_for_one_reward_voucher_discount_once(shop):
    orders_made = []
    for _ in range(3):
        code = _redeem(shop, LoyaltyReward(name="Potongan 10rb", points=100, amount_off=10_000))
        results = []

        def use() -> None:
            try:
                orders_made.append(_order_with(shop, code))
                results.append("ok")
            except OrderError as exc:
                results.append(exc.details["reason"])

        _together(use, use)
        assert results.count("ok") == 1 and len(results) == 2, results
    with Session(shop.engine) as session:
        discounted = session.exec(select(Order).where(Order.discount > 0)).all()
        assert len(discounted) == 3 and {o.discount for o in discounted} == {10_000}


# --- stamps ------------------------------------------------------------------------------------------------


def _stamps(shop, contact: int | None = None) -> int:
    with Session(shop.engine) as session:
        return loyalty.stamps(session=session, contact_id=contact or shop.budi)


def test_stamps_are_earned_per_item_a_full_card_is_a_free_item_and_a_cancel_takes_them_back(shop):
    with session_scope(shop.engine) as session:
        save_settings(session, {"loyalty": {"stamps": {"sku": "kopi", "stamps": 3}}})
    first = _delivered_order(shop, quantity=2)
    assert _stamps(shop) == 2
    second = _delivered_order(shop, quantity=2)  # 4 stamps: a full card of 3, 1 left
    assert _stamps(shop) == 1
    with Session(shop.engine) as session:
        kinds = [(e.kind, e.stamps) for e in reversed(loyalty.stamp_entries(session=session, contact_id=shop.budi))]
        assert kinds == [("earn", 2), ("earn", 2), ("card", -3)]
        code = loyalty.stamp_entries(session=session, contact_id=shop.budi)[0].voucher_code
    assert code.startswith("STEMPEL-")
    _cancel(shop, second)  # 2 stamps to take back, 1 left on the card: that one goes, the voucher stays
    _cancel(shop, second)  # (a second cancel changes nothing)
    assert _stamps(shop) == 0
    order = _order_with(shop, code, quantity=1)
    assert (order.discount, order.total) == (25_500, 10_000)
    with session_scope(shop.engine) as session:  # the free coffee earns no stamp
        order = session.get(Order, order.id)
        for status in ("confirmed", "preparing", "shipped", "delivered"):
            change_status(session=session, order=order, status=status, by="staff:1")
    assert _stamps(shop) == 0 and first


def test_a_category_card_counts_the_category_and_needs_the_free_item(shop):
    with pytest.raises(ValueError, match="free_sku"):
        LoyaltySettings(stamps={"category": "Kopi"})
    with pytest.raises(ValueError, match="either a product"):
        LoyaltySettings(stamps={"sku": "KOPI", "category": "Kopi", "free_sku": "KOPI"})
    with session_scope(shop.engine) as session:
        session.get(Product, shop.coffee).category = "Kopi"
        save_settings(session, {"loyalty": {"stamps": {"category": "kopi", "stamps": 9, "free_sku": "KOPI"}}})
    _delivered_order(shop, quantity=3)
    assert _stamps(shop) == 3


def test_two_cancellations_at_once_take_stamps_back_once(shop):
    with session_scope(shop.engine) as session:
        save_settings(session, {"loyalty": {"stamps": {"sku": "KOPI", "stamps": 9}}})
    _delivered_order(shop, quantity=1)
    order_id = _delivered_order(shop, quantity=2)

    def cancel() -> None:
        try:
            _cancel(shop, order_id)
        except Exception:  # noqa: BLE001 - the loser may see the order already cancelled
            pass

    _together(cancel, cancel)
    assert _stamps(shop) == 1
    with Session(shop.engine) as session:
        assert [e.kind for e in loyalty.stamp_entries(session=session, contact_id=shop.budi)].count("reverse") == 1
