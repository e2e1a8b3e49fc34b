"""Delivery rules (the fee, the minimum order, the radius) and which store delivers to a place.

The shop's rules live in the shop settings (`ShopSettings.delivery`); a store may have its own
(`Store.delivery`, null: the shop's) and may not deliver at all (`Store.delivers`). A delivery is
made from the nearest store that delivers and whose radius covers the customer's place; its fee and
minimum order are that store's rules. This module knows no table: stores come in as rows.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Iterable, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crm.schemas import json_int

Money = json_int(0, 1_000_000_000)  # rupiah
Km = Annotated[float, Field(ge=0, le=20_000, allow_inf_nan=False)]


class DeliveryRules(BaseModel):
    """How the delivery fee is worked out, and the limits of delivery."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["flat", "per_km"] = "flat"
    flat_fee: Money = 0
    base_fee: Money = Field(default=0, description="per_km: the fee up to base_km")
    base_km: Km = 0.0
    per_km: Money = Field(default=0, description="per_km: added for every started km beyond base_km")
    free_above: Money | None = Field(default=None, description="free delivery from this subtotal on; null = never")
    min_order: Money = Field(default=0, description="the smallest subtotal delivered")
    max_km: Km | None = Field(default=None, description="the farthest delivery from the store; null = no limit")


class DeliveringStore(Protocol):
    """What the rules read of a store (crm.stores.Store)."""

    delivers: bool
    delivery: dict[str, Any] | None


def validate_rules(value: Any) -> dict[str, Any] | None:
    """A store's own rules checked and as stored (JSON); None: the shop's apply. ValueError when bad."""
    if value is None:
        return None
    try:
        return DeliveryRules.model_validate(value).model_dump(mode="json")
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ValueError(f"{'.'.join(map(str, ('delivery', *error['loc'])))}: {error['msg']}") from None


def rules_of(store: DeliveringStore | None, shop: DeliveryRules) -> DeliveryRules:
    """The rules a delivery from `store` follows: its own, else the shop's (`store` None: the shop's)."""
    own = store.delivery if store is not None else None
    return DeliveryRules.model_validate(own) if own is not None else shop


def covers(rules: DeliveryRules, km: float) -> bool:
    """True when a place `km` away is within the rules' radius (no radius: any distance)."""
    return rules.max_km is None or km <= rules.max_km


def delivering_store(by_distance: Iterable[tuple[Any, float]], shop: DeliveryRules) -> tuple[Any, float] | None:
    """The first (store, km), closest first, that delivers and whose radius covers its km; None when none does."""
    return next(((store, km) for store, km in by_distance
                 if store.delivers and covers(rules_of(store, shop), km)), None)


def delivery_fee(rules: DeliveryRules, subtotal: int, km: float | None) -> int:
    """The delivery fee of an order of `subtotal` delivered `km` away (None: distance unknown, the base fee)."""
    if rules.free_above is not None and subtotal >= rules.free_above:
        return 0
    if rules.mode == "flat":
        return rules.flat_fee
    if km is None:
        return rules.base_fee
    if not math.isfinite(km) or km < 0:
        raise ValueError(f"km must be a distance, got {km!r}")
    # Rounded to metres first so float noise (3.0000000001 km) does not start another km.
    beyond = round(km - rules.base_km, 3)
    return rules.base_fee + max(0, math.ceil(beyond)) * rules.per_km
