"""One validated settings object, built from config.yaml plus `SAPA_*` environment variables.

`config.yaml` (next to the project root, or the file named by `SAPA_CONFIG`) documents
every key and holds the defaults; environment variables override it with `__` for
nesting (`SAPA_LINE__CHANNEL_SECRET`). Secrets come only from the environment or an
uncommitted `.env` file.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "dev", "secret", "development-only-secret"}


def config_path() -> Path:
    """Path of the YAML file the settings are read from."""
    return Path(os.environ.get("SAPA_CONFIG", ROOT / "config.yaml"))


class LineSettings(BaseModel):
    """LINE Messaging API channel; off unless both secrets are set."""

    channel_secret: str = ""
    access_token: str = ""
    api_base: str = "https://api.line.me"
    timeout_seconds: float = 10.0
    basic_id: str = ""  # "@123abcde": the account-link code's LINE link (empty: the code alone)

    @property
    def enabled(self) -> bool:
        return bool(self.channel_secret and self.access_token)

    @field_validator("api_base")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


class TelegramSettings(BaseModel):
    """Telegram bot; off unless the bot token is set."""

    bot_token: str = ""
    secret_token: str = ""
    api_base: str = "https://api.telegram.org"
    username: str = ""
    timeout_seconds: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token)

    @field_validator("api_base")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("secret_token")
    @classmethod
    def _telegram_secret_charset(cls, value: str) -> str:
        # Telegram accepts 1-256 characters A-Z a-z 0-9 _ - for secret_token.
        if value and (len(value) > 256 or not all(c.isalnum() or c in "_-" for c in value)):
            raise ValueError("telegram.secret_token may only contain A-Z, a-z, 0-9, _ and - (max 256)")
        return value


class WebhookSettings(BaseModel):
    max_body_bytes: int = Field(1_000_000, gt=0)
    store_timeout_seconds: float = Field(4.0, gt=0, le=30)


class QueueSettings(BaseModel):
    workers: int = Field(2, ge=1)
    worker_type: Literal["process", "thread"] = "process"
    retries: int = Field(5, ge=0)
    retry_delay_seconds: float = Field(2.0, ge=0)
    retry_backoff: float = Field(2.0, ge=1)
    poll_interval_seconds: float = Field(0.01, gt=0)
    max_poll_interval_seconds: float = Field(0.05, gt=0)
    stale_event_seconds: int = Field(60, ge=1)


class BotSettings(BaseModel):
    handoff_timeout_minutes: int = Field(240, ge=1)
    # A handoff nobody on duty answers within this long: the bot says so and answers again.
    handoff_answer_minutes: int = Field(10, ge=1)
    conversation_idle_minutes: int = Field(60, ge=1)
    default_language: Literal["id", "en"] = "id"
    shop_name: str = "Sapa Coffee"


class SimulatorSettings(BaseModel):
    enabled: bool | None = None  # None: on in development, off elsewhere


class NluSettings(BaseModel):
    model_path: str = "data/nlu/model.joblib"
    confidence_threshold: float = Field(0.6, ge=0, le=1)
    extra_examples: dict[str, list[str]] = {}
    custom_intents: dict[str, dict[str, Any]] = {}


class BroadcastSettings(BaseModel):
    max_per_week: int = Field(3, ge=0)
    quiet_hours: str = ""
    misfire_grace_seconds: int = Field(3600, ge=1)
    attribution_days: int = Field(7, ge=1, le=90)
    quota_policy: Literal["refuse", "trim"] = "refuse"
    telegram_per_second: float = Field(29, gt=0, le=30)
    telegram_per_chat_per_second: float = Field(1, gt=0, le=1)
    telegram_concurrency: int = Field(8, ge=1, le=64)
    line_multicast_per_second: float = Field(150, gt=0, le=200)
    resolve_batch: int = Field(5000, ge=100)
    send_batch: int = Field(50, ge=1)
    stale_seconds: int = Field(120, ge=1)
    sync_seconds: int = Field(10, ge=1)
    limiter_url: str = ""

    @field_validator("quiet_hours")
    @classmethod
    def _quiet_hours_format(cls, value: str) -> str:
        if not value:
            return value
        try:
            start, end = value.split("-")
            for part in (start, end):
                hours, minutes = part.strip().split(":")
                assert 0 <= int(hours) < 24 and 0 <= int(minutes) < 60
        except (ValueError, AssertionError):
            raise ValueError("broadcasts.quiet_hours must look like 21:00-08:00") from None
        return value


class InboxSettings(BaseModel):
    session_hours: float = Field(12, gt=0)
    login_rate_limit: str = "10 per minute"
    rate_limit_storage: str = "database"
    login_delay_after: int = Field(5, ge=1)
    login_max_delay_seconds: int = Field(30, ge=1, le=3600)
    trusted_proxies: int = Field(0, ge=0, le=5)
    page_size: int = Field(50, ge=5, le=500)
    live_poll_seconds: float = Field(1.0, gt=0)
    live_stream_seconds: float = Field(55, gt=0)
    live_streams_per_worker: int = Field(8, ge=1)
    live_busy_retry_seconds: float = Field(5.0, gt=0)

    @field_validator("login_rate_limit")
    @classmethod
    def _rate_limit_format(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("inbox.login_rate_limit must look like '10 per minute'") from None
        return value


class CsatSettings(BaseModel):
    """Satisfaction surveys after a resolved chat and a delivered order."""

    enabled: bool = True
    min_days_between: int = Field(14, ge=0)
    after_resolve_minutes: int = Field(0, ge=0)
    after_delivery_minutes: int = Field(120, ge=0)
    send_within_hours: int = Field(48, ge=1)


class LoyaltyTier(BaseModel):
    """A tier a customer reaches with the points they earned in the last 12 months."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=40, pattern=r"\S")
    name_en: str | None = Field(default=None, max_length=40)
    min_points: int = Field(ge=0, le=100_000_000)


class LoyaltyReward(BaseModel):
    """Something a customer can take for their points ("Gratis kopi susu — 100 poin")."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80, pattern=r"\S")
    name_en: str | None = Field(default=None, max_length=80)
    points: int = Field(ge=1, le=100_000_000)
    # What the voucher takes off the order: a Rupiah amount, or one of a catalog product (its SKU) free.
    # Neither: a voucher staff honour by hand (the rewards saved before rewards had a value).
    amount_off: int | None = Field(default=None, ge=1, le=100_000_000)
    free_sku: str | None = Field(default=None, min_length=1, max_length=40)

    @model_validator(mode="after")
    def _one_value(self) -> LoyaltyReward:
        if self.amount_off is not None and self.free_sku is not None:
            raise ValueError("a reward is either an amount off or a free product, not both")
        return self


class LoyaltyMultiplier(BaseModel):
    """Points earned on a catalog category count this many times ("Pastry ×2")."""

    model_config = ConfigDict(extra="forbid")

    category: str = Field(min_length=1, max_length=100, pattern=r"\S")
    factor: float = Field(gt=0, le=10, allow_inf_nan=False)


class LoyaltyStamps(BaseModel):
    """A stamp card: a stamp per qualifying item (a product or a category) of a delivered order; a full card
    gives a voucher for one item free ("buy 9, get the 10th free")."""

    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(default=None, min_length=1, max_length=40)  # the product whose items earn stamps
    category: str | None = Field(default=None, min_length=1, max_length=100)  # or every product of a category
    stamps: int = Field(9, ge=2, le=50)  # stamps to fill a card
    free_sku: str | None = Field(default=None, min_length=1, max_length=40)  # the free item; None: the stamped product

    @model_validator(mode="after")
    def _one_kind(self) -> LoyaltyStamps:
        if (self.sku is None) == (self.category is None):
            raise ValueError("a stamp card counts either a product (sku) or a category, one of them")
        if self.category is not None and self.free_sku is None:
            raise ValueError("a category's stamp card needs the free item's SKU (free_sku)")
        return self

    @property
    def reward_sku(self) -> str:
        """The SKU a full card gives free."""
        return (self.free_sku or self.sku or "").upper()

    def counts(self, sku: str | None, category: str | None) -> bool:
        """True when an item of this product earns a stamp."""
        if self.sku is not None:
            return (sku or "").upper() == self.sku.upper()
        return (category or "").strip().lower() == (self.category or "").strip().lower()


class LoyaltySettings(BaseModel):
    """How customers earn points on delivered orders, the tiers, and the rewards they buy."""

    model_config = ConfigDict(extra="forbid")

    points_per_1000_rupiah: float = Field(1, ge=0, le=1000, allow_inf_nan=False)
    expiry_months: int | None = Field(None, ge=1, le=120)  # None: points never expire
    tiers: list[LoyaltyTier] = Field(default_factory=lambda: [LoyaltyTier(name="Silver", min_points=0),
                                                              LoyaltyTier(name="Gold", min_points=500)],
                                     min_length=1, max_length=10)
    rewards: list[LoyaltyReward] = Field(
        default_factory=lambda: [LoyaltyReward(name="Gratis kopi susu", name_en="Free iced milk coffee", points=100)],
        max_length=20)
    voucher_days: int = Field(30, ge=1, le=365)  # how long a reward's voucher code stays valid
    rounding: Literal["down", "nearest", "up"] = "down"  # of an order's points (the contract: down)
    multipliers: list[LoyaltyMultiplier] = Field(default_factory=list, max_length=50)
    birthday_points: int = Field(0, ge=0, le=100_000_000)  # once a year on the contact's birthday; 0 = none
    stamps: LoyaltyStamps | None = None  # a stamp card besides the points; None: no stamps

    @field_validator("multipliers")
    @classmethod
    def _one_factor_per_category(cls, multipliers: list[LoyaltyMultiplier]) -> list[LoyaltyMultiplier]:
        names = [multiplier.category.strip().lower() for multiplier in multipliers]
        if len(set(names)) != len(names):
            raise ValueError("each category may have one multiplier")
        return multipliers

    def factor_for(self, category: str | None) -> float:
        """The multiplier of a product's category (1 when it has none)."""
        wanted = (category or "").strip().lower()
        return next((m.factor for m in self.multipliers if m.category.strip().lower() == wanted), 1)

    @field_validator("tiers")
    @classmethod
    def _tiers_from_zero(cls, tiers: list[LoyaltyTier]) -> list[LoyaltyTier]:
        tiers = sorted(tiers, key=lambda tier: tier.min_points)
        if tiers[0].min_points != 0:
            raise ValueError("the lowest tier must start at 0 points (every customer has a tier)")
        names = [tier.name.strip().lower() for tier in tiers]
        if len(set(names)) != len(names) or len({t.min_points for t in tiers}) != len(tiers):
            raise ValueError("tiers must have different names and different min_points")
        return tiers


class CrossSellSettings(BaseModel):
    """Frequently bought together: the association rules the nightly run keeps, and what a campaign says without one."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    lookback_days: int = Field(365, ge=7, le=3650)  # the orders the rules are learned from
    min_orders: int = Field(100, ge=1)  # fewer orders in that window: nothing is offered (too little to tell)
    min_pair_orders: int = Field(5, ge=1)  # orders holding both products
    min_support: float = Field(0.01, ge=0, le=1, allow_inf_nan=False)  # share of orders holding both
    min_confidence: float = Field(0.15, ge=0, le=1, allow_inf_nan=False)  # share of orders with A that hold B too
    min_lift: float = Field(1.2, ge=0, le=1000, allow_inf_nan=False)  # how much A makes B likelier than usual
    max_per_product: int = Field(5, ge=1, le=50)
    campaign_fallback: str = Field("menu favorit kami", max_length=200)  # {recommended} for a contact without one


class SmtpSettings(BaseModel):
    """The mail server for staff alerts by email; off unless a host is set (the password only from the environment)."""

    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    from_address: str = ""
    tls: Literal["none", "starttls", "ssl"] = "starttls"
    username: str = ""
    password: str = ""
    timeout_seconds: float = Field(10.0, gt=0, le=120)

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @model_validator(mode="after")
    def _sender_when_on(self) -> SmtpSettings:
        if self.host and "@" not in self.from_address:
            raise ValueError("smtp.from_address must be an email address when smtp.host is set")
        return self


class _YamlWithoutSecrets(YamlConfigSettingsSource):
    """config.yaml, refusing the secrets that may come only from the environment."""

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        if ((values.get("smtp") or {}).get("password")):
            raise ValueError("smtp.password is a secret: set SAPA_SMTP__PASSWORD in the environment, not config.yaml")
        return values


class Settings(BaseSettings):
    """Every setting of Sapa, validated once at start-up.

    Built from `config.yaml` and `SAPA_*` environment variables; `Settings(**overrides)`
    (as tests do) takes precedence over both.
    """

    model_config = SettingsConfigDict(
        env_prefix="SAPA_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///data/sapa.db"
    queue_url: str = "sqlite:///data/queue.db"
    media_dir: str = "data/media"
    secret_key: str = "development-only-secret"
    timezone: str = "Asia/Jakarta"
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    line: LineSettings = LineSettings()
    telegram: TelegramSettings = TelegramSettings()
    webhooks: WebhookSettings = WebhookSettings()
    queue: QueueSettings = QueueSettings()
    bot: BotSettings = BotSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    nlu: NluSettings = NluSettings()
    broadcasts: BroadcastSettings = BroadcastSettings()
    inbox: InboxSettings = InboxSettings()
    csat: CsatSettings = CsatSettings()
    smtp: SmtpSettings = SmtpSettings()
    loyalty: LoyaltySettings = LoyaltySettings()
    cross_sell: CrossSellSettings = CrossSellSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = _YamlWithoutSecrets(settings_cls, yaml_file=config_path())
        return (init_settings, env_settings, dotenv_settings, yaml_source)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}; use an IANA name like Asia/Jakarta") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("database_url must be sqlite:///path or postgresql+psycopg://...")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("queue_url")
    @classmethod
    def _known_queue(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "redis:", "rediss:", "memory:")):
            raise ValueError("queue_url must be sqlite:///path, redis://host:port/db or memory:")
        return value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.env == "development" or self.env == "test":
            return self
        problems = []
        if self.secret_key in PLACEHOLDER_SECRETS or len(self.secret_key) < 16:
            problems.append("SAPA_SECRET_KEY (at least 16 random characters)")
        if self.line.enabled and self.line.channel_secret in PLACEHOLDER_SECRETS:
            problems.append("SAPA_LINE__CHANNEL_SECRET")
        if self.telegram.enabled and self.telegram.secret_token in PLACEHOLDER_SECRETS:
            problems.append("SAPA_TELEGRAM__SECRET_TOKEN (Telegram webhooks need a secret)")
        if problems:
            raise ValueError(f"set real secrets for SAPA_ENV={self.env}: " + ", ".join(problems))
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def simulator_enabled(self) -> bool:
        if self.simulator.enabled is None:
            return self.env != "production"
        return self.simulator.enabled

    @property
    def channels(self) -> list[str]:
        """Channels that are switched on (have credentials), plus the simulator."""
        names = [name for name in ("line", "telegram") if getattr(self, name).enabled]
        return names + (["simulator"] if self.simulator_enabled else [])


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
