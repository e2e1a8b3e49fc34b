"""Delivery rules per store: whose rules apply, which store delivers to a place, and the rules' checks."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from crm.delivery import DeliveryRules, delivering_store, delivery_fee, rules_of, validate_rules

SHOP = DeliveryRules(mode="per_km", base_fee=8_000, base_km=3, per_km=2_500, min_order=30_000, max_km=10)


def store(name: str, delivers: bool = True, delivery: dict | None = None) -> SimpleNamespace:
    return SimpleNamespace(name=name, delivers=delivers, pickup=True, delivery=delivery)


def test_a_store_without_rules_of_its_own_follows_the_shops():
    assert rules_of(store("Kemang"), SHOP) is SHOP and rules_of(None, SHOP) is SHOP
    own = rules_of(store("Kemang", delivery={"flat_fee": 5_000, "max_km": 2}), SHOP)
    assert (own.mode, own.flat_fee, own.min_order, own.max_km) == ("flat", 5_000, 0, 2)
    assert delivery_fee(own, 20_000, 1.5) == 5_000 and delivery_fee(SHOP, 20_000, 5) == 8_000 + 2 * 2_500


def test_the_nearest_store_that_delivers_and_reaches_the_place_delivers():
    kemang, blok_m, dago = store("Kemang", delivers=False), store("Blok M", delivery={"max_km": 2}), store("Dago")
    by_distance = [(kemang, 0.5), (blok_m, 3.0), (dago, 9.0)]
    assert delivering_store(by_distance, SHOP) == (dago, 9.0)  # Kemang does not deliver, Blok M reaches 2 km
    assert delivering_store(by_distance[:2], SHOP) is None
    assert delivering_store([(dago, 11.0)], SHOP) is None  # beyond the shop's 10 km
    assert delivering_store([(store("Far", delivery={"max_km": None}), 500.0)], SHOP)[1] == 500.0  # no limit
    assert delivering_store([], SHOP) is None


@pytest.mark.parametrize(("rules", "field"), [
    ({"max_km": -1}, "delivery.max_km"), ({"mode": "per_meter"}, "delivery.mode"), ({"flat_fee": 1.5}, "delivery.flat_fee"),
    ({"radius": 3}, "delivery.radius"), ({"min_order": None}, "delivery.min_order"),
])
def test_a_stores_own_rules_are_checked_by_the_shops_model(rules, field):
    with pytest.raises(ValueError, match=f"^{field}: "):
        validate_rules(rules)
    assert validate_rules(None) is None
    assert validate_rules({"max_km": 3})["max_km"] == 3.0
