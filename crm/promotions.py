"""Promotions: time-boxed offers for an audience, optionally valid only near one store.

The audience is a small set of optional rules (all must hold):
``{"channels": ["line"], "tags": ["vip"], "languages": ["id"], "new_customers": true,
"min_orders": 2}``. ``tags`` matches when the contact has any of the tags; ``contacts`` (ids) makes an
offer personal (a loyalty reward's voucher). A promotion
with ``store_id`` and ``radius_km`` is location-based: it applies only to customers within
that distance of the store.

A promotion may also be valid only on some weekdays (0–6, Monday = 0) and within local-time
windows (``[["15:00", "17:00"]]``, happy hour) in the shop's timezone; null means every day, all day.
A window whose end is not after its start runs past midnight into the next day.

A promotion with a voucher code may have a budget (``max_redemptions``, null = unlimited) and be
single-use per customer (``per_customer = "once"``) or ``"shared"``. Each order placed with the code
is a `PromotionRedemption`; cancelling the order releases it. ``redeemed`` counts the live ones and
is raised by a conditional update, so two customers racing for the last redemption cannot both win.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from sqlalchemy import JSON, CheckConstraint, Column, UniqueConstraint, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from core.db import utcnow
from crm.models import Contact
from crm.stores import JAKARTA, WEEKDAYS, Store, hours_open_at, validate_windows
from core.geo import haversine_km, valid_coordinates

AUDIENCE_KEYS = ("channels", "tags", "languages", "new_customers", "min_orders", "contacts")
VOUCHER_CODE = re.compile(r"^[A-Z0-9-]{3,32}$")
PER_CUSTOMER = ("shared", "once")


class Promotion(SQLModel, table=True):
    """An offer, valid from starts_at (inclusive) to ends_at (exclusive)."""

    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ck_promotion_window"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    title_en: str | None = Field(default=None, max_length=200)
    description_en: str | None = Field(default=None, max_length=2000)
    voucher_code: str | None = Field(default=None, max_length=32, sa_column_kwargs={"unique": True})
    starts_at: datetime = Field(index=True)
    ends_at: datetime = Field(index=True)
    active: bool = Field(default=True, index=True)
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    store_id: int | None = Field(default=None, foreign_key="store.id", index=True)
    radius_km: float | None = None
    weekdays: list[int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    hours: list[list[str]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    max_redemptions: int | None = None  # the budget; None = unlimited
    per_customer: str = Field(default="shared", max_length=8)  # shared | once
    redeemed: int = 0  # live redemptions (orders placed with the voucher and not cancelled)
    # A loyalty reward's value, taken off the order that uses the voucher: rupiah, or one of a product free.
    discount_amount: int | None = Field(default=None, ge=1)
    free_sku: str | None = Field(default=None, max_length=40)  # the free product's SKU (the catalog's key)
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def location_based(self) -> bool:
        return self.store_id is not None and self.radius_km is not None

    @property
    def spent(self) -> bool:
        """True when the budget is used up."""
        return self.max_redemptions is not None and self.redeemed >= self.max_redemptions


class PromotionRedemption(SQLModel, table=True):
    """One use of a promotion's voucher by an order; `released_at` set when that order was cancelled.

    `once_contact_id` is the contact while the use counts against a single-use promotion (else
    null), so the unique key lets each customer hold one live use of it.
    """

    __table_args__ = (UniqueConstraint("promotion_id", "once_contact_id", name="uq_redemption_once"),)

    id: int | None = Field(default=None, primary_key=True)
    promotion_id: int = Field(foreign_key="promotion.id", index=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    order_id: int = Field(foreign_key="order.id", index=True)
    once_contact_id: int | None = Field(default=None, foreign_key="contact.id")
    at: datetime = Field(default_factory=utcnow)
    released_at: datetime | None = None


def validate_audience(value: Any) -> dict[str, Any]:
    """The audience rules checked and normalised; ValueError when malformed."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("audience must be an object")
    unknown = sorted(set(value) - set(AUDIENCE_KEYS))
    if unknown:
        raise ValueError(f"unknown audience rule(s) {', '.join(map(str, unknown))}; use {', '.join(AUDIENCE_KEYS)}")
    rules: dict[str, Any] = {}
    for key in ("channels", "tags", "languages"):
        if key in value and value[key] is not None:
            items = value[key]
            if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
                raise ValueError(f"audience.{key} must be a list of non-empty strings")
            rules[key] = sorted({i.strip() for i in items})
    if value.get("new_customers") is not None:
        if not isinstance(value["new_customers"], bool):
            raise ValueError("audience.new_customers must be true or false")
        rules["new_customers"] = value["new_customers"]
    if value.get("min_orders") is not None:
        count = value["min_orders"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("audience.min_orders must be a non-negative integer")
        rules["min_orders"] = count
    if value.get("contacts") is not None:
        ids = value["contacts"]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, int) and not isinstance(i, bool) and i > 0
                                                            for i in ids):
            raise ValueError("audience.contacts must be a non-empty list of contact ids")
        rules["contacts"] = sorted(set(ids))
    return rules


def validate_weekdays(value: Any) -> list[int] | None:
    """The weekdays (0–6, Monday = 0) sorted without repeats, None for every day; ValueError when malformed."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError("weekdays must be a non-empty list of days 0–6 (Monday = 0), or null for every day")
    if not all(isinstance(day, int) and not isinstance(day, bool) and 0 <= day <= 6 for day in value):
        raise ValueError(f"weekdays must be days 0–6 (Monday = 0, Sunday = 6), got {list(value)!r}")
    return sorted(set(value))


def validate_hours(value: Any) -> list[list[str]] | None:
    """The local-time windows [["HH:MM", "HH:MM"], …], None for all day; ValueError when malformed."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError('hours must be a non-empty list of ["HH:MM", "HH:MM"] windows, or null for all day')
    return validate_windows([list(window) if isinstance(window, tuple) else window for window in value], "hours")


def weekly_hours(promotion: Promotion) -> dict[str, list[list[str]]]:
    """The promotion's weekdays and hours as store opening hours (mon … sun → windows)."""
    days = promotion.weekdays if promotion.weekdays is not None else range(7)
    windows = promotion.hours or [["00:00", "24:00"]]
    return {WEEKDAYS[day]: windows for day in days}


def valid_at(promotion: Promotion, now: datetime, tz: ZoneInfo) -> bool:
    """True when the promotion is on and `now` is in its dates, weekdays and hours (local to `tz`)."""
    if not (promotion.active and promotion.starts_at <= now < promotion.ends_at):
        return False
    if promotion.weekdays is None and not promotion.hours:
        return True
    return hours_open_at(weekly_hours(promotion), now, tz)


# Customers read "Senin–Jumat" and "Mon–Fri" (CLDR's wide Indonesian and abbreviated English day names).
_DAYS = {"id": get_day_names("wide", locale="id"), "en": get_day_names("abbreviated", locale="en")}


def _day_span(days: list[int], lang: str) -> str:
    names = _DAYS[lang]
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{names[days[0]]}–{names[days[-1]]}"
    return ", ".join(names[day] for day in days)


def validity_text(promotion: Promotion, lang: str) -> str:
    """When in the week the promotion holds: "Senin–Jumat, 10:00–14:00" / "Monday–Friday"; "" when always."""
    parts = []
    if promotion.weekdays is not None and len(promotion.weekdays) < 7:
        parts.append(_day_span(promotion.weekdays, "en" if lang == "en" else "id"))
    if promotion.hours:
        parts.append(", ".join(f"{start}–{end}" for start, end in promotion.hours))
    return ", ".join(parts)


def _check(promotion: Promotion) -> None:
    if promotion.ends_at <= promotion.starts_at:
        raise ValueError("ends_at must be after starts_at")
    if promotion.voucher_code is not None and not VOUCHER_CODE.match(promotion.voucher_code):
        raise ValueError("voucher_code must be 3–32 characters of A-Z, 0-9 and -")
    if (promotion.store_id is None) != (promotion.radius_km is None):
        raise ValueError("a location-based offer needs both store_id and radius_km")
    if promotion.radius_km is not None and not promotion.radius_km > 0:
        raise ValueError("radius_km must be positive")
    if promotion.per_customer not in PER_CUSTOMER:
        raise ValueError("per_customer must be once or shared")
    if promotion.max_redemptions is not None and (isinstance(promotion.max_redemptions, bool)
                                                  or not isinstance(promotion.max_redemptions, int)
                                                  or promotion.max_redemptions < 1):
        raise ValueError("max_redemptions must be a positive whole number, or null for no limit")
    if (promotion.max_redemptions is not None or promotion.per_customer == "once") and not promotion.voucher_code:
        raise ValueError("a budget or single use per customer needs a voucher code (redemptions are counted by it)")


PROMOTION_FIELDS = ("title", "description", "title_en", "description_en", "voucher_code", "starts_at", "ends_at",
                    "active", "audience", "store_id", "radius_km", "weekdays", "hours", "max_redemptions",
                    "per_customer", "discount_amount", "free_sku")


def create_promotion(*, session: Session, title: str, starts_at: datetime, ends_at: datetime,
                     **fields: Any) -> Promotion:
    """Add a promotion (ValueError when its rules are inconsistent)."""
    promotion = Promotion(title=title, starts_at=starts_at, ends_at=ends_at)
    return update_promotion(session=session, promotion=promotion, changes=fields)


def update_promotion(*, session: Session, promotion: Promotion, changes: dict[str, Any]) -> Promotion:
    """Change a promotion's fields (ValueError when the result is inconsistent)."""
    unknown = set(changes) - set(PROMOTION_FIELDS)
    if unknown:
        raise ValueError(f"unknown promotion field(s): {', '.join(sorted(unknown))}")
    if "audience" in changes:
        changes = {**changes, "audience": validate_audience(changes["audience"])}
    if "weekdays" in changes:
        changes = {**changes, "weekdays": validate_weekdays(changes["weekdays"])}
    if "hours" in changes:
        changes = {**changes, "hours": validate_hours(changes["hours"])}
    for field, value in changes.items():
        setattr(promotion, field, value)
    _check(promotion)
    if promotion.store_id is not None and session.get(Store, promotion.store_id) is None:
        raise ValueError(f"store {promotion.store_id} does not exist")
    session.add(promotion)
    session.flush()
    return promotion


class VoucherTaken(ValueError):
    """Another promotion already has this voucher code."""


def save_promotion(*, session: Session, promotion: Promotion | None, changes: dict[str, Any]) -> Promotion:
    """Create (`promotion` None) or change a promotion; VoucherTaken when its code is another's, ValueError when invalid."""
    code = changes.get("voucher_code")
    taken = VoucherTaken(f"voucher code {code} is already used by another promotion")
    if code and voucher_taken(session=session, code=code, exclude_id=promotion.id if promotion else None):
        raise taken
    try:
        # A savepoint, so a lost race on the unique voucher code leaves the session usable.
        with session.begin_nested():
            if promotion is None:
                return create_promotion(session=session, **changes)
            return update_promotion(session=session, promotion=promotion, changes=changes)
    except IntegrityError:
        raise taken from None


def voucher_taken(*, session: Session, code: str, exclude_id: int | None = None) -> bool:
    """True when another promotion already uses this voucher code."""
    query = select(Promotion.id).where(Promotion.voucher_code == code)
    if exclude_id is not None:
        query = query.where(Promotion.id != exclude_id)
    return session.exec(query).first() is not None


def list_promotions(*, session: Session, active_at: datetime | None = None, tz: ZoneInfo = JAKARTA) -> list[Promotion]:
    """All promotions (newest first), or only those valid at `active_at` (ending soonest first)."""
    if active_at is None:
        return list(session.exec(select(Promotion).order_by(Promotion.starts_at.desc(), Promotion.id.desc())).all())
    return _running(session, active_at, tz)


def _running(session: Session, now: datetime, tz: ZoneInfo | None) -> list[Promotion]:
    """Promotions on and within their dates at `now`; with `tz` also within their weekdays and hours."""
    query = (select(Promotion)
             .where(Promotion.active == True, Promotion.starts_at <= now, Promotion.ends_at > now)  # noqa: E712
             .order_by(Promotion.ends_at, Promotion.id))
    rows = list(session.exec(query).all())
    return rows if tz is None else [p for p in rows if valid_at(p, now, tz)]


def audience_matches(audience: dict[str, Any], *, contact: Contact, orders_count: int,
                     channel: str | None) -> bool:
    """True when the contact satisfies every rule of the audience."""
    if audience.get("contacts") and contact.id not in audience["contacts"]:
        return False
    if audience.get("channels") and channel not in audience["channels"]:
        return False
    if audience.get("tags") and not set(audience["tags"]) & set(contact.tags or []):
        return False
    if audience.get("languages") and (contact.language or "id") not in audience["languages"]:
        return False
    if audience.get("new_customers") is not None and audience["new_customers"] != (orders_count == 0):
        return False
    return orders_count >= (audience.get("min_orders") or 0)


def _stores(session: Session, promotions: list[Promotion]) -> dict[int, Store]:
    ids = {p.store_id for p in promotions if p.location_based}
    if not ids:
        return {}
    return {s.id: s for s in session.exec(select(Store).where(Store.id.in_(ids))).all()}


def _distance(promotion: Promotion, stores: dict[int, Store], point: tuple[float, float]) -> float | None:
    """km from the point to the promotion's store when within its radius, else None."""
    store = stores.get(promotion.store_id)
    if store is None or not store.active:
        return None
    km = haversine_km(point[0], point[1], store.lat, store.lon)
    return km if km <= promotion.radius_km else None


def promotions_for(*, session: Session, contact: Contact, now: datetime, orders_count: int = 0,
                   channel: str | None = None, near: tuple[float, float] | None = None, tz: ZoneInfo = JAKARTA,
                   any_hour: bool = False) -> list[Promotion]:
    """The running promotions this contact qualifies for and can still use, ending soonest first.

    Location-based offers count only near their store: `near`, or else the contact's last
    shared location; without either they are left out. `any_hour`: also those within their
    dates but outside their weekdays or hours now (to tell the customer when they hold).
    Offers whose budget is spent, or single-use ones the contact already used, are left out.
    """
    found = _qualifying(session, contact, now, orders_count, channel, near, tz, any_hour)
    used = used_once(session=session, contact_id=contact.id, promotion_ids=[p.id for p in found])
    return [p for p in found if why_unusable(p, used) is None]


def used_up_for(*, session: Session, contact: Contact, now: datetime, orders_count: int = 0,
                channel: str | None = None, tz: ZoneInfo = JAKARTA) -> list[tuple[Promotion, str]]:
    """The running promotions this contact qualifies for but cannot use: (promotion, "used" | "spent")."""
    found = _qualifying(session, contact, now, orders_count, channel, None, tz, True)
    used = used_once(session=session, contact_id=contact.id, promotion_ids=[p.id for p in found])
    return [(p, why_unusable(p, used)) for p in found if why_unusable(p, used) is not None]


def _qualifying(session: Session, contact: Contact, now: datetime, orders_count: int, channel: str | None,
                near: tuple[float, float] | None, tz: ZoneInfo, any_hour: bool) -> list[Promotion]:
    """The running promotions whose audience and place this contact fits (used or not)."""
    running = [p for p in _running(session, now, None if any_hour else tz)
               if audience_matches(p.audience or {}, contact=contact, orders_count=orders_count, channel=channel)]
    if near is None and contact.last_lat is not None and contact.last_lon is not None:
        near = (contact.last_lat, contact.last_lon)
    if near is not None and not valid_coordinates(*near):
        near = None
    stores = _stores(session, running) if near is not None else {}
    return [p for p in running
            if not p.location_based or (near is not None and _distance(p, stores, near) is not None)]


def offers_near(*, session: Session, lat: float, lon: float, now: datetime,
                tz: ZoneInfo = JAKARTA) -> list[tuple[Promotion, Store, float]]:
    """Location-based offers valid at this point as (promotion, store, km), nearest store first."""
    if not valid_coordinates(lat, lon):
        raise ValueError(f"invalid coordinates lat={lat!r}, lon={lon!r}")
    running = [p for p in _running(session, now, tz) if p.location_based]
    stores = _stores(session, running)
    found = []
    for promotion in running:
        km = _distance(promotion, stores, (lat, lon))
        if km is not None:
            found.append((promotion, stores[promotion.store_id], km))
    found.sort(key=lambda hit: (hit[2], hit[0].ends_at))
    return found


# --- vouchers and their redemptions -------------------------------------------------------


class VoucherError(ValueError):
    """A voucher cannot be used; `code` says why: unknown, not_now, spent, used."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def find_voucher(*, session: Session, code: str) -> Promotion | None:
    """The promotion with this voucher code (any case), None when no promotion has it."""
    code = (code or "").strip().upper()
    return session.exec(select(Promotion).where(Promotion.voucher_code == code)).first() if code else None


def used_once(*, session: Session, contact_id: int, promotion_ids: list[int]) -> set[int]:
    """The single-use promotions among these the contact holds a live redemption of."""
    if not promotion_ids:
        return set()
    query = select(PromotionRedemption.promotion_id).where(PromotionRedemption.once_contact_id == contact_id,
                                                           PromotionRedemption.promotion_id.in_(promotion_ids))
    return set(session.exec(query).all())


def why_unusable(promotion: Promotion, used: set[int]) -> str | None:
    """"used" when the customer already used this single-use offer, "spent" when its budget is gone, else None."""
    if promotion.per_customer == "once" and promotion.id in used:
        return "used"
    return "spent" if promotion.spent else None


def redeem(*, session: Session, promotion: Promotion, contact_id: int, order_id: int, now: datetime,
           tz: ZoneInfo = JAKARTA) -> PromotionRedemption:
    """Record that an order used the voucher (VoucherError when it is not valid now, used up or already used).

    Call inside the order's transaction: the budget is taken by a conditional update, and the
    unique key refuses a second live use of a single-use offer even when two orders race.
    """
    code = promotion.voucher_code  # read now: a failed flush below expires the row
    if not valid_at(promotion, now, tz):
        raise VoucherError("not_now", f"voucher {code} is not valid now")
    once = promotion.per_customer == "once"
    if once and used_once(session=session, contact_id=contact_id, promotion_ids=[promotion.id]):
        raise VoucherError("used", f"voucher {code} was already used by this customer")
    with session.begin_nested():
        taken = session.execute(update(Promotion).where(
            Promotion.id == promotion.id,
            (Promotion.max_redemptions == None) | (Promotion.redeemed < Promotion.max_redemptions))  # noqa: E711
            .values(redeemed=Promotion.redeemed + 1))
        if taken.rowcount != 1:
            raise VoucherError("spent", f"voucher {code} has no redemptions left")
        redemption = PromotionRedemption(promotion_id=promotion.id, contact_id=contact_id, order_id=order_id,
                                         once_contact_id=contact_id if once else None, at=now)
        session.add(redemption)
        try:
            session.flush()
        except IntegrityError:  # a second order of the same customer won the race
            raise VoucherError("used", f"voucher {code} was already used by this customer") from None
    session.refresh(promotion)
    return redemption


def discount_for(promotion: Promotion, lines: Iterable[tuple[str, int]], subtotal: int) -> int:
    """What the voucher takes off goods worth `subtotal` (lines: SKU, unit price): its amount, or one unit of its
    free product when the order has it (the cheapest such unit); never more than the goods."""
    if promotion.discount_amount:
        return min(promotion.discount_amount, subtotal)
    if promotion.free_sku is not None:
        prices = [price for sku, price in lines if sku.upper() == promotion.free_sku.upper()]
        return min(min(prices), subtotal) if prices else 0
    return 0


def release(*, session: Session, order_id: int, now: datetime) -> None:
    """Give back the voucher use of a cancelled order (the budget and the customer's single use)."""
    live = session.exec(select(PromotionRedemption).where(PromotionRedemption.order_id == order_id,
                                                          PromotionRedemption.released_at == None)).all()  # noqa: E711
    for redemption in live:
        redemption.released_at, redemption.once_contact_id = now, None
        session.add(redemption)
        session.execute(update(Promotion).where(Promotion.id == redemption.promotion_id, Promotion.redeemed > 0)
                        .values(redeemed=Promotion.redeemed - 1))
    session.flush()
