"""REST API for the shop's places and offers: stores and promotions (FAQs: crm.api.faqs).

Each resource has list/create (`/stores`) and get/patch/delete (`/stores/{id}`); DELETE
deactivates (active=false) so history that points at the row stays intact. Request
bodies are pydantic models with extra fields forbidden; a rule the data layer enforces
across fields (e.g. ends_at after starts_at once a PATCH is merged) answers 422 too.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlmodel import Session

from crm import promotions as promo_data
from crm import stores as store_data
from crm.api.base import (
    OPENAPI_MODELS, OPENAPI_PATHS, ApiError, api, bool_arg, crud_paths, dump, get_row, int_arg, limit_param, query_param,
    query_value, read_body, require_token,
)
from core.db import session_scope, utcnow
from crm.models import CHANNELS
from crm.ids import MAX_ID
from crm.schemas import PatchModel, RowId, UtcDatetime, json_int
from core.geo import map_link
from crm.web import engine, settings

# --- field types shared by create and update models ---------------------------------------

# pattern \S: the document can say "not only spaces" (stripped, the text must keep a character)
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, pattern=r"\S")]
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
OpensAt = Annotated[str, Field(pattern=r"^(?:[01]\d|2[0-3]):[0-5]\d$", description="local time HH:MM")]
HHMM = Annotated[str, Field(pattern=r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$", description="local time HH:MM")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
OpeningHours = dict[Weekday, list[tuple[OpensAt, HHMM]]]
PromoWeekdays = Annotated[list[json_int(0, 6)], Field(min_length=1, max_length=7, description=(
    "the weekdays it holds, 0–6 with Monday = 0, in the shop's timezone; null: every day"))]
PromoHours = Annotated[list[tuple[OpensAt, HHMM]], Field(min_length=1, max_length=10, description=(
    "[start, end] local-time windows it holds in (happy hour); an end not after the start runs past midnight; "
    "null: all day"))]
VoucherCode = Annotated[str, Field(pattern=r"^[A-Z0-9-]{3,32}$")]
Budget = Annotated[json_int(1, 1_000_000_000), Field(description=(
    "how many orders may use the voucher in all (needs voucher_code); null: unlimited"))]
PerCustomer = Annotated[Literal["once", "shared"], Field(description=(
    "once: each customer may use the voucher once (needs voucher_code); shared: no limit per customer"))]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"\S")]
# `near=lat,lon` in decimal degrees, within the ranges of latitude and longitude (the document says the same).
LAT = r"-?(?:90(?:\.0+)?|[1-8]?\d(?:\.\d+)?)"
LON = r"-?(?:180(?:\.0+)?|(?:1[0-7]\d|[1-9]?\d)(?:\.\d+)?)"
NEAR = re.compile(f"({LAT}),({LON})")


def _hours(value: dict | None) -> dict | None:
    # Rules the types cannot say: an empty window, or one that opens at 24:00.
    if value is None:
        return None
    hours = store_data.validate_opening_hours({day: [list(w) for w in windows] for day, windows in value.items()})
    return {day: [tuple(w) for w in windows] for day, windows in hours.items()}


def _promo_hours(value: list | None) -> list | None:
    # Rules the types cannot say: an empty window, or one that starts at 24:00.
    if value is None:
        return None
    return [tuple(w) for w in promo_data.validate_hours([list(w) for w in value])]


# --- stores -----------------------------------------------------------------------------


class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Text, Field(max_length=200)]
    address: str = Field(default="", max_length=500)
    area: str = Field(default="", max_length=100)
    lat: Lat
    lon: Lon
    phone: str | None = Field(default=None, max_length=40)
    opening_hours: OpeningHours = Field(default={}, description="weekday → [open, close] windows; "
                                        "close not after open runs past midnight")
    hours_exceptions: store_data.HoursExceptions = Field(
        default=[], description="dates with their own hours: closed (a holiday) or other windows (Ramadan)")
    active: bool = True

    _check_hours = field_validator("opening_hours")(_hours)


class StoreUpdate(PatchModel):
    NULLABLE = frozenset({"phone"})

    name: Annotated[Text, Field(max_length=200)] | None = None
    address: str | None = Field(default=None, max_length=500)
    area: str | None = Field(default=None, max_length=100)
    lat: Lat | None = None
    lon: Lon | None = None
    phone: str | None = Field(default=None, max_length=40)
    opening_hours: OpeningHours | None = None
    hours_exceptions: store_data.HoursExceptions | None = None
    active: bool | None = None

    _check_hours = field_validator("opening_hours")(_hours)


class StorePublic(BaseModel):
    id: int
    name: str
    address: str
    area: str
    lat: float
    lon: float
    phone: str | None
    opening_hours: dict[str, list[list[str]]]
    hours_exceptions: list[store_data.HoursException]
    active: bool
    open_now: bool
    opening_text: str
    map_url: str
    distance_km: float | None = Field(default=None, description="set when listing with ?near=")
    created_at: UtcDatetime
    updated_at: UtcDatetime


class StoreList(BaseModel):
    items: list[StorePublic]


def store_public(store: store_data.Store, distance_km: float | None = None) -> StorePublic:
    """The API shape of a store, with whether it is open now."""
    now, tz = utcnow(), settings().tz
    return StorePublic(
        id=store.id, name=store.name, address=store.address, area=store.area, lat=store.lat, lon=store.lon,
        phone=store.phone, opening_hours=store.opening_hours or {},
        hours_exceptions=store_data.exceptions_of(store.hours_exceptions), active=store.active,
        open_now=store_data.store_open_at(store, now, tz), opening_text=store_data.opening_text(store, now, tz, "en"),
        map_url=map_link(store.lat, store.lon),
        distance_km=None if distance_km is None else round(distance_km, 3),
        created_at=store.created_at, updated_at=store.updated_at)


def _float_arg(name: str, default: float, low: float, high: float) -> float:
    raw = query_value(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low:g} and {high:g}")
    return value


def _near_arg() -> tuple[float, float] | None:
    raw = query_value("near")
    if raw is None:
        return None
    match = NEAR.fullmatch(raw)
    if match is None:
        raise ApiError(400, "near must be lat,lon in decimal degrees, latitude in [-90, 90] and longitude in "
                            "[-180, 180] (e.g. near=-6.2607,106.8137)")
    return float(match[1]), float(match[2])


def _invalid(exc: ValueError) -> ApiError:
    return ApiError(422, "invalid fields", [{"field": "", "message": str(exc)}])


@api.get("/stores")
@require_token
def list_stores():
    """Stores by name, or with ?near=lat,lon the nearest active ones within km."""
    # Every argument is checked, also those only a near search uses: a bad one is a 400 either way.
    near, active = _near_arg(), bool_arg("active")
    limit, km = int_arg("limit", 5, 1, 100), _float_arg("km", 25.0, 0.0, 20_000.0)
    with Session(engine()) as session:
        if near is None:
            rows = store_data.list_stores(session=session, active=active)
            return dump(StoreList(items=[store_public(s) for s in rows]))
        if active is False:  # a near search finds active stores only
            return dump(StoreList(items=[]))
        hits = store_data.nearest_stores(session=session, lat=near[0], lon=near[1], k=limit, max_km=km, at=utcnow(),
                                         tz=settings().tz)
        return dump(StoreList(items=[store_public(hit.store, hit.km) for hit in hits]))


@api.post("/stores")
@require_token
def create_store():
    """Add a store."""
    body = read_body(StoreCreate)
    with session_scope(engine()) as session:
        try:
            store = store_data.create_store(session=session, **body.model_dump())
        except ValueError as exc:
            raise _invalid(exc) from None
        return dump(store_public(store)), 201


@api.get("/stores/<int:store_id>")
@require_token
def get_store(store_id: int):
    """One store."""
    with Session(engine()) as session:
        return dump(store_public(get_row(session, store_data.Store, store_id, "store")))


@api.patch("/stores/<int:store_id>")
@require_token
def update_store(store_id: int):
    """Change a store's fields."""
    changes = read_body(StoreUpdate).model_dump(exclude_unset=True)
    with session_scope(engine()) as session:
        store = get_row(session, store_data.Store, store_id, "store")
        try:
            store_data.update_store(session=session, store=store, changes=changes)
        except ValueError as exc:
            raise _invalid(exc) from None
        return dump(store_public(store))


@api.delete("/stores/<int:store_id>")
@require_token
def delete_store(store_id: int):
    """Deactivate a store (it stays in order history)."""
    with session_scope(engine()) as session:
        store = get_row(session, store_data.Store, store_id, "store")
        store_data.update_store(session=session, store=store, changes={"active": False})
    return "", 204


# --- promotions ---------------------------------------------------------------------------


class Audience(BaseModel):
    """Who may get the offer; every rule given must hold."""

    model_config = ConfigDict(extra="forbid")

    channels: list[Literal[CHANNELS]] | None = None  # type: ignore[valid-type]
    tags: list[Keyword] | None = Field(default=None, description="the contact has any of these tags")
    languages: list[Annotated[str, Field(min_length=2, max_length=16)]] | None = None
    new_customers: bool | None = Field(default=None, description="true: no orders yet; false: ordered before")
    min_orders: json_int(0, 1_000_000) | None = None
    contacts: list[json_int(1, MAX_ID)] | None = Field(
        default=None, min_length=1, max_length=1000,
        description="a personal offer: only these contacts (a loyalty reward's voucher is its customer's)")


class PromotionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[Text, Field(max_length=200)]
    description: str = Field(default="", max_length=2000)
    title_en: str | None = Field(default=None, max_length=200)
    description_en: str | None = Field(default=None, max_length=2000)
    voucher_code: VoucherCode | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    active: bool = True
    audience: Audience = Audience()
    store_id: RowId | None = Field(default=None, description="location-based: valid near this store")
    radius_km: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)
    weekdays: PromoWeekdays | None = None
    hours: PromoHours | None = None
    max_redemptions: Budget | None = None
    per_customer: PerCustomer = "shared"

    _check_hours = field_validator("hours")(_promo_hours)

    @model_validator(mode="after")
    def _consistent(self):
        # A PATCH is checked after merging, by the data layer (crm.promotions).
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if (self.store_id is None) != (self.radius_km is None):
            raise ValueError("a location-based offer needs both store_id and radius_km (or neither)")
        return self


class PromotionUpdate(PatchModel):
    NULLABLE = frozenset({"title_en", "description_en", "voucher_code", "store_id", "radius_km", "weekdays", "hours",
                          "max_redemptions"})

    title: Annotated[Text, Field(max_length=200)] | None = None
    description: str | None = Field(default=None, max_length=2000)
    title_en: str | None = Field(default=None, max_length=200)
    description_en: str | None = Field(default=None, max_length=2000)
    voucher_code: VoucherCode | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    active: bool | None = None
    audience: Audience | None = None
    store_id: RowId | None = None
    radius_km: float | None = Field(default=None, gt=0, le=1000, allow_inf_nan=False)
    weekdays: PromoWeekdays | None = None
    hours: PromoHours | None = None
    max_redemptions: Budget | None = None
    per_customer: PerCustomer | None = None

    _check_hours = field_validator("hours")(_promo_hours)


class PromotionPublic(BaseModel):
    id: int
    title: str
    description: str
    title_en: str | None
    description_en: str | None
    voucher_code: str | None
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    active: bool
    running: bool = Field(description="active and within its dates, weekdays and hours now")
    audience: dict[str, Any]
    store_id: int | None
    radius_km: float | None
    weekdays: list[int] | None = Field(description="0–6, Monday = 0; null: every day")
    hours: list[list[str]] | None = Field(description="[start, end] local-time windows; null: all day")
    max_redemptions: int | None = Field(description="the budget: how many orders may use the voucher; null: unlimited")
    per_customer: str = Field(description="once: each customer may use the voucher once; shared: no such limit")
    redemptions: int = Field(description="orders placed with the voucher and not cancelled")
    created_at: UtcDatetime


class PromotionList(BaseModel):
    items: list[PromotionPublic]


def promotion_public(promotion: promo_data.Promotion, now: datetime) -> PromotionPublic:
    """The API shape of a promotion."""
    return PromotionPublic(
        id=promotion.id, title=promotion.title, description=promotion.description, title_en=promotion.title_en,
        description_en=promotion.description_en, voucher_code=promotion.voucher_code,
        starts_at=promotion.starts_at, ends_at=promotion.ends_at, active=promotion.active,
        running=promo_data.valid_at(promotion, now, settings().tz),
        audience=dict(promotion.audience or {}), store_id=promotion.store_id, radius_km=promotion.radius_km,
        weekdays=promotion.weekdays, hours=promotion.hours, max_redemptions=promotion.max_redemptions,
        per_customer=promotion.per_customer, redemptions=promotion.redeemed, created_at=promotion.created_at)


def _save_promotion(session: Session, promotion: promo_data.Promotion | None, changes: dict) -> promo_data.Promotion:
    try:
        return promo_data.save_promotion(session=session, promotion=promotion, changes=changes)
    except promo_data.VoucherTaken as exc:
        raise ApiError(409, str(exc)) from None
    except ValueError as exc:
        raise _invalid(exc) from None


@api.get("/promotions")
@require_token
def list_promotions():
    """Promotions, newest first; ?active=true only those valid now, weekdays and hours included (ending soonest first)."""
    active, now = bool_arg("active"), utcnow()
    with Session(engine()) as session:
        if active:
            rows = promo_data.list_promotions(session=session, active_at=now, tz=settings().tz)
        else:
            rows = promo_data.list_promotions(session=session)
            if active is False:
                rows = [p for p in rows if not promo_data.valid_at(p, now, settings().tz)]
        return dump(PromotionList(items=[promotion_public(p, now) for p in rows]))


@api.post("/promotions")
@require_token
def create_promotion():
    """Add a promotion."""
    body = read_body(PromotionCreate)
    with session_scope(engine()) as session:
        promotion = _save_promotion(session, None, body.model_dump(exclude_none=False))
        return dump(promotion_public(promotion, utcnow())), 201


@api.get("/promotions/<int:promotion_id>")
@require_token
def get_promotion(promotion_id: int):
    """One promotion."""
    with Session(engine()) as session:
        return dump(promotion_public(get_row(session, promo_data.Promotion, promotion_id, "promotion"), utcnow()))


@api.patch("/promotions/<int:promotion_id>")
@require_token
def update_promotion(promotion_id: int):
    """Change a promotion (the merged result must still be consistent)."""
    changes = read_body(PromotionUpdate).model_dump(exclude_unset=True)
    with session_scope(engine()) as session:
        promotion = get_row(session, promo_data.Promotion, promotion_id, "promotion")
        _save_promotion(session, promotion, changes)
        return dump(promotion_public(promotion, utcnow()))


@api.delete("/promotions/<int:promotion_id>")
@require_token
def delete_promotion(promotion_id: int):
    """Deactivate a promotion."""
    with session_scope(engine()) as session:
        promotion = get_row(session, promo_data.Promotion, promotion_id, "promotion")
        promo_data.update_promotion(session=session, promotion=promotion, changes={"active": False})
    return "", 204


# --- OpenAPI ------------------------------------------------------------------------------

OPENAPI_MODELS.extend([StoreCreate, StoreUpdate, StorePublic, StoreList, Audience, PromotionCreate, PromotionUpdate,
                       PromotionPublic, PromotionList])
OPENAPI_PATHS.update({
    **crud_paths("stores", "stores", "Store", "store_id", [
        query_param("near", pattern=f"^{NEAR.pattern}$", description="lat,lon: the nearest active stores first"),
        query_param("km", "number", minimum=0, maximum=20_000), limit_param(100), query_param("active", "boolean")]),
    **crud_paths("promotions", "promotions", "Promotion", "promotion_id", [query_param("active", "boolean")],
                 conflict="Voucher code already used"),
})
