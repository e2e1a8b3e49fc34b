"""The shop's own rules, edited by staff: its name and languages, payment methods, delivery fees, staff hours and
their exceptions, the bot's waiting times and the broadcasts' quiet hours and frequency cap.

Stored as one row per top-level key (``shopsetting``: key → JSON): a PATCH replaces the
keys it names and nothing else, two staff saving different keys at once cannot undo each
other's change, and a new group of settings needs no migration. Missing keys read as
their defaults, so a new shop works before anyone saves anything.

The keys that config.yaml also has (shop name, languages, timezone, times, quiet hours,
cap) read as None until staff save them: config.yaml's value applies, and `effective_config`
lays the saved ones over it.

Settings are read fresh, not cached: one query of a few rows plus validation took 0.3–0.6 ms
(SQLite and PostgreSQL, measured), no more than the fingerprint query a cache would need to
notice another process's save; `ShopView.settings()` reads them once per message.
"""

from __future__ import annotations

import logging
import math
from datetime import date, datetime
from typing import Annotated, Any, Literal, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from sqlalchemy import JSON, Column
import sqlmodel
from sqlmodel import Session, SQLModel, select

from core.db import utcnow
from core.settings import BroadcastSettings, LoyaltySettings, Settings
from crm.schemas import json_int
from crm.stores import (
    HHMM_PATTERN, JAKARTA, WEEKDAYS, HoursExceptions, hours_open_at, next_hours_opening, validate_opening_hours,
    windows_on,
)

FULFILMENTS = ("delivery", "pickup")
Money = json_int(0, 1_000_000_000)  # rupiah
Km = Annotated[float, Field(ge=0, le=20_000, allow_inf_nan=False)]
Language = Literal["id", "en"]
Minutes = json_int(1, 7 * 24 * 60)
MediaUrl = Annotated[str, Field(max_length=500, pattern=r"^https?://\S+$")]


class ShopSetting(SQLModel, table=True):
    """One top-level key of the shop's settings and its JSON value."""

    key: str = sqlmodel.Field(primary_key=True, max_length=40)
    value: Any = sqlmodel.Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = sqlmodel.Field(default_factory=utcnow)


class PaymentMethod(BaseModel):
    """A way to pay and the fulfilments it may be used with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Annotated[str, Field(pattern=r"^[a-z_]{2,32}$")]
    label: Annotated[str, Field(min_length=1, max_length=60, pattern=r"\S")]
    label_en: Annotated[str, Field(min_length=1, max_length=60, pattern=r"\S")] | None = None
    fulfilment: Annotated[list[Literal["delivery", "pickup"]], Field(min_length=1, max_length=2)] = \
        ["delivery", "pickup"]
    # How to pay, told to the customer once the order is placed (an account number, "we send the QR").
    instructions: Annotated[str, Field(max_length=500)] | None = None
    instructions_en: Annotated[str, Field(max_length=500)] | None = None
    # A picture sent with the instructions (the shop's QRIS code): an uploaded image's public URL and its preview's.
    image_url: MediaUrl | None = None
    preview_url: MediaUrl | None = None

    def how_to_pay(self, language: str) -> str | None:
        """The instructions in `language` (Indonesian when there are no English ones)."""
        return (self.instructions_en if language == "en" and self.instructions_en else self.instructions) or None

    @field_validator("fulfilment")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("fulfilment lists each of delivery, pickup at most once")
        return value


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


HoursWindow = Annotated[list[Annotated[str, Field(pattern=HHMM_PATTERN)]], Field(min_length=2, max_length=2)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# The stores' opening-hours format and rules (past midnight, 24:00 as an end), days left out closed.
WeeklyHours = Annotated[dict[Weekday, list[HoursWindow]], AfterValidator(validate_opening_hours)]

def _unique_codes(methods: list[PaymentMethod]) -> list[PaymentMethod]:
    codes = [method.code for method in methods]
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise ValueError(f"payment method codes must be unique: {', '.join(repeated)} repeated")
    return methods


PaymentMethods = Annotated[list[PaymentMethod], Field(max_length=20), AfterValidator(_unique_codes)]
DEFAULT_PAYMENT_METHODS = (
    PaymentMethod(code="qris", label="QRIS", label_en="QRIS"),
    PaymentMethod(code="transfer", label="Transfer bank", label_en="Bank transfer"),
    PaymentMethod(code="cod", label="Bayar di tempat", label_en="Cash on delivery"),  # fit a button
)
DEFAULT_STAFF_HOURS = {day: [["08:00", "21:00"]] for day in WEEKDAYS}


def _distinct_languages(languages: list[str]) -> list[str]:
    if len(set(languages)) != len(languages):
        raise ValueError("languages lists each of id, en at most once")
    return languages


def _known_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}; use an IANA name like Asia/Jakarta") from None
    return name


def _quiet_hours(value: str) -> str:
    try:
        return BroadcastSettings(quiet_hours=value).quiet_hours  # the one format check, config.yaml's
    except ValidationError:
        raise ValueError("quiet_hours must look like 21:00-08:00 (empty: none)") from None


Languages = Annotated[list[Language], Field(min_length=1, max_length=2), AfterValidator(_distinct_languages)]
Timezone = Annotated[str, Field(max_length=64), AfterValidator(_known_timezone)]
QuietHours = Annotated[str, Field(max_length=11), AfterValidator(_quiet_hours)]
ShopName = Annotated[str, Field(min_length=1, max_length=80, pattern=r"\S")]
Cap = json_int(0, 100)
# The keys config.yaml also has: None means its value (see effective_config).
CONFIG_KEYS = frozenset({"shop_name", "languages", "default_language", "timezone", "handoff_timeout_minutes",
                         "handoff_answer_minutes", "conversation_idle_minutes", "quiet_hours", "max_per_week",
                         "loyalty"})


class ShopSettings(BaseModel):
    """Everything staff can set about the shop (read-only: a change goes through save_settings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    payment_methods: PaymentMethods = list(DEFAULT_PAYMENT_METHODS)
    delivery: DeliveryRules = DeliveryRules()
    staff_hours: WeeklyHours = Field(default_factory=lambda: {d: [list(w) for w in ws]
                                                              for d, ws in DEFAULT_STAFF_HOURS.items()},
                                     description="when staff answer chats, local time: weekday → [[HH:MM, HH:MM]]")
    staff_hours_exceptions: HoursExceptions = Field(
        default_factory=list, description="dates when staff_hours do not apply (a holiday closed, Ramadan windows)")
    # None below: config.yaml's value applies (see effective_config).
    shop_name: ShopName | None = Field(
        default=None, description="the shop's name in the bot's greetings; null = config.yaml bot.shop_name")
    languages: Languages | None = Field(
        default=None, description="the languages the bot answers in; others get default_language; null = both")
    default_language: Language | None = Field(
        default=None, description="the reply language when the customer's is unknown or not offered; "
                                  "null = config.yaml bot.default_language")
    timezone: Timezone | None = Field(default=None, description="IANA name; null = config.yaml timezone")
    handoff_timeout_minutes: Minutes | None = Field(
        default=None, description="the bot stays silent this long after staff answer; null = config.yaml")
    handoff_answer_minutes: Minutes | None = Field(
        default=None, description="a handoff nobody answers within this long goes back to the bot; null = config.yaml")
    conversation_idle_minutes: Minutes | None = Field(
        default=None, description="an order or question in progress expires after this idle time; null = config.yaml")
    quiet_hours: QuietHours | None = Field(
        default=None, description="no broadcasts in this window, e.g. 21:00-08:00; empty = none; null = config.yaml")
    max_per_week: Cap | None = Field(
        default=None, description="frequency cap: marketing messages per contact per 7 days; null = config.yaml")
    loyalty: LoyaltySettings | None = Field(
        default=None, description="points per Rp1.000, expiry, tiers and rewards (replaces config.yaml loyalty "
                                  "whole); null = config.yaml")

    @field_validator("default_language")
    @classmethod
    def _default_is_offered(cls, value: str | None, info: ValidationInfo) -> str | None:
        offered = info.data.get("languages")
        if value and offered and value not in offered:
            raise ValueError("default_language must be one of languages")
        return value

    def payment_method(self, code: str | None) -> PaymentMethod | None:
        """The payment method with this code (None when unknown)."""
        return next((method for method in self.payment_methods if method.code == code), None)


SETTING_KEYS = tuple(ShopSettings.model_fields)

# --- reading and saving ---------------------------------------------------------------

_ROWS = select(ShopSetting.key, ShopSetting.value)  # built once: its compiled form is cached
log = logging.getLogger(__name__)


def load_settings(session: Session) -> ShopSettings:
    """The shop's settings, defaults for keys never saved (or stored invalid by hand, which is logged)."""
    stored = {key: value for key, value in session.execute(_ROWS) if key in SETTING_KEYS}
    try:
        return ShopSettings.model_validate(stored)
    except ValidationError as exc:  # only a write around save_settings can store this: keep answering
        bad = {str(error["loc"][0]) for error in exc.errors()}
        log.warning("stored settings %s are invalid, their defaults apply: %s", ", ".join(sorted(bad)), exc)
        return ShopSettings.model_validate({key: value for key, value in stored.items() if key not in bad})


def save_settings(session: Session, patch: Mapping[str, Any]) -> ShopSettings:
    """Replace the top-level keys in `patch`, validated with the rest (ValueError and nothing saved when bad)."""
    unknown = sorted(set(patch) - set(SETTING_KEYS))
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(SETTING_KEYS)}")
    current = load_settings(session).model_dump(mode="json")
    merged = ShopSettings.model_validate({**current, **patch})
    values = merged.model_dump(mode="json")
    now = utcnow()
    for key in patch:
        row = session.get(ShopSetting, key) or ShopSetting(key=key, value=None)
        row.value, row.updated_at = values[key], now
        session.add(row)
    session.flush()
    return merged


# --- rules ------------------------------------------------------------------------------


def effective_config(config: Settings, shop: ShopSettings) -> Settings:
    """`config` with the values staff saved in the shop settings laid over config.yaml's."""
    bot = {key: getattr(shop, key) for key in ("shop_name", "default_language", "handoff_timeout_minutes",
                                               "handoff_answer_minutes", "conversation_idle_minutes")}
    broadcasts = {key: getattr(shop, key) for key in ("quiet_hours", "max_per_week")}
    top = {"timezone": shop.timezone} if shop.timezone else {}
    if shop.loyalty is not None:
        top["loyalty"] = shop.loyalty
    return config.model_copy(update={
        **top,
        "bot": config.bot.model_copy(update={k: v for k, v in bot.items() if v is not None}),
        "broadcasts": config.broadcasts.model_copy(update={k: v for k, v in broadcasts.items() if v is not None}),
    })


def current_config(session: Session, config: Settings) -> Settings:
    """`config` as the shop settings saved now change it (read fresh: a save in any process counts at once)."""
    return effective_config(config, load_settings(session))


def reply_language(shop: ShopSettings, config: Settings, wanted: str | None) -> Language:
    """The language to answer in: the customer's when the shop offers it, else the shop's default."""
    default = shop.default_language or config.bot.default_language
    wanted = (wanted or default).lower()
    language = "en" if wanted.startswith("en") else "id"
    offered = shop.languages or ["id", "en"]
    if language in offered:
        return language
    return default if default in offered else offered[0]




def delivery_fee(settings: ShopSettings, subtotal: int, km: float | None) -> int:
    """The delivery fee of an order of `subtotal` delivered `km` away (None: distance unknown, the base fee)."""
    rules = settings.delivery
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


def staff_on_duty(settings: ShopSettings, now: datetime, tz: ZoneInfo = JAKARTA) -> bool:
    """True when `now` falls in one of the staff hours, exceptions included (local time in the shop's timezone `tz`)."""
    return hours_open_at(settings.staff_hours, now, tz, settings.staff_hours_exceptions)


def next_staff_time(settings: ShopSettings, now: datetime, tz: ZoneInfo = JAKARTA) -> datetime | None:
    """The next start of a staff window after `now` (aware, in `tz`), past any holiday; None when there is none."""
    return next_hours_opening(settings.staff_hours, now, tz, settings.staff_hours_exceptions)


def staff_windows_on(settings: ShopSettings, day: date) -> list[list[str]]:
    """The staff windows of local date `day`, its exception's when one covers it."""
    return windows_on(settings.staff_hours, day, settings.staff_hours_exceptions)
