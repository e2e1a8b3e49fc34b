"""Journeys: triggered messages, each switchable and editable.

* ``welcome`` — on LINE follow / Telegram ``/start`` (answered by the bot in the chat;
  `handlers.journeys` uses the edited text, or stays silent when switched off);
* ``birthday`` — on the customer's birthday (09:00 shop time), optionally with a voucher;
* ``order_followup`` — ``days`` (30) after an order was delivered: how was it?;
* ``winback`` — the day a customer has been silent ``days`` (60);
* ``abandoned_order`` — an order left half-way in the chat for ``minutes`` (90).

The scheduled ones are campaigns of kind ``journey`` whose rules are filled in at each
firing; a run per day (or per quarter hour) keyed by its time, plus "not received in the
last N days", keeps a customer from getting the same journey twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from broadcasts.campaign_message import CampaignError, validate_message
from broadcasts.models import Campaign, Journey
from broadcasts.scheduler import clock_runtime
from broadcasts.tasks import enqueue_campaign
from core.db import session_scope, utcnow
from crm.promotions import Promotion

DEFAULTS: dict[str, dict[str, Any]] = {
    "welcome": {"enabled": True, "options": {}, "message": {}},
    "birthday": {"enabled": False, "options": {"promotion_id": None},
                 "message": {"text": "Selamat ulang tahun, {first_name}! 🎉 Ada hadiah kecil dari {shop} untukmu."}},
    "order_followup": {"enabled": False, "options": {"days": 30},
                       "message": {"text": "Halo {first_name}, gimana pesanan kamu bulan lalu? Mau pesan lagi?",
                                   "quick_replies": [{"label": "Pesan lagi", "text": "pesan"}]}},
    "winback": {"enabled": False, "options": {"days": 60},
                "message": {"text": "Kangen nih, {first_name}! Sudah lama tidak mampir ke {shop}. Ada promo "
                                    "menunggu kamu."}},
    "abandoned_order": {"enabled": False, "options": {"minutes": 90},
                        "message": {"text": "Pesanan kamu belum selesai, {first_name}. Mau dilanjutkan?",
                                    "quick_replies": [{"label": "Lanjutkan", "text": "pesan"}]}},
}
DAILY = ("birthday", "order_followup", "winback")


def _option_rules(key: str, options: dict[str, Any], campaign_id: int, now_local: datetime) -> dict:
    """The audience of a journey at one firing."""
    once = {"field": "received_campaign", "op": "ne", "value": {"campaign_id": campaign_id, "days": 300}}
    if key == "birthday":
        return {"all": [{"field": "birthday_month", "op": "eq", "value": now_local.month},
                        {"field": "birthday_day", "op": "eq", "value": now_local.day}, once]}
    if key == "order_followup":
        return {"all": [{"field": "delivered_order_days", "op": "eq", "value": int(options.get("days", 30))},
                        {**once, "value": {"campaign_id": campaign_id, "days": 7}}]}
    if key == "winback":
        return {"all": [{"field": "last_seen_days", "op": "eq", "value": int(options.get("days", 60))},
                        {**once, "value": {"campaign_id": campaign_id, "days": 30}}]}
    if key == "abandoned_order":
        minutes = int(options.get("minutes", 90))
        return {"all": [{"field": "abandoned_order_minutes", "op": "gte", "value": minutes},
                        {"field": "abandoned_order_minutes", "op": "lt", "value": minutes + 24 * 60},
                        {**once, "value": {"campaign_id": campaign_id, "days": 1}}]}
    return {}


def ensure(*, session: Session) -> list[Journey]:
    """Every journey, created with its defaults on first use."""
    rows = {row.key: row for row in session.exec(select(Journey)).all()}
    for key, default in DEFAULTS.items():
        if key not in rows:
            row = Journey(key=key, enabled=default["enabled"], message=dict(default["message"]),
                          options=dict(default["options"]))
            session.add(row)
            rows[key] = row
    session.flush()
    return [rows[key] for key in DEFAULTS]


def get(*, session: Session, key: str) -> Journey:
    """One journey by key (CampaignError 404 when unknown)."""
    if key not in DEFAULTS:
        raise CampaignError(f"unknown journey {key!r}; journeys are {', '.join(DEFAULTS)}", status=404)
    return next(row for row in ensure(session=session) if row.key == key)


def update(*, session: Session, key: str, enabled: bool | None = None, message: Any = None,
           options: dict[str, Any] | None = None) -> Journey:
    """Switch a journey on/off or change its message/options (validated)."""
    journey = get(session=session, key=key)
    if message is not None:
        journey.message = validate_message(message)
    if options is not None:
        allowed = set(DEFAULTS[key]["options"])
        unknown = set(options) - allowed
        if unknown:
            raise CampaignError(f"{key} takes options {', '.join(sorted(allowed)) or 'none'}", "options")
        for name in ("days", "minutes"):
            if name in options and (isinstance(options[name], bool) or not isinstance(options[name], int)
                                    or not 1 <= options[name] <= 3650):
                raise CampaignError(f"{name} is a whole number 1-3650", f"options.{name}")
        if options.get("promotion_id") is not None:
            if session.get(Promotion, options["promotion_id"]) is None:
                raise CampaignError(f"promotion {options['promotion_id']} does not exist", "options.promotion_id")
        journey.options = {**journey.options, **options}
    if enabled is not None:
        journey.enabled = enabled
    journey.updated_at = utcnow()
    session.add(journey)
    session.flush()
    return journey


def welcome_text(*, session: Session) -> tuple[bool, str | None]:
    """(on, edited text or None for the built-in welcome) for the welcome journey."""
    journey = session.exec(select(Journey).where(Journey.key == "welcome")).first()
    if journey is None:
        return True, None
    return journey.enabled, (journey.message or {}).get("text")


def _campaign_for(session: Session, journey: Journey, tz_name: str) -> Campaign:
    campaign = session.get(Campaign, journey.campaign_id) if journey.campaign_id else None
    if campaign is None:
        campaign = Campaign(name=f"Journey: {journey.key}", kind="journey", status="sending",
                            message=journey.message, timezone=tz_name)
        session.add(campaign)
        session.flush()
        journey.campaign_id = campaign.id
        session.add(journey)
    return campaign


def prepare(*, session: Session, key: str, now: datetime, tz_name: str) -> tuple[int, str] | None:
    """Refresh a journey's campaign for this firing: (campaign id, run key), or None when off."""
    journey = get(session=session, key=key)
    if not journey.enabled or key == "welcome":
        return None
    campaign = _campaign_for(session, journey, tz_name)
    local = now.astimezone(ZoneInfo(tz_name))
    campaign.rules = _option_rules(key, journey.options or {}, campaign.id, local)
    campaign.message = validate_message(journey.message)
    campaign.promotion_id = (journey.options or {}).get("promotion_id")
    campaign.status, campaign.updated_at = "sending", utcnow()
    session.add(campaign)
    session.flush()
    if key in DAILY:
        run_key = f"{key}:{local.date().isoformat()}"
    else:
        run_key = f"{key}:{(now - timedelta(minutes=now.minute % 15)).strftime('%Y-%m-%dT%H:%M')}"
    return campaign.id, run_key


def _fire(keys: tuple[str, ...]) -> list[str]:
    runtime = clock_runtime()
    fired = []
    now = utcnow()
    for key in keys:
        with session_scope(runtime.engine) as session:
            prepared = prepare(session=session, key=key, now=now, tz_name=runtime.settings.timezone)
        if prepared is not None:
            enqueue_campaign(*prepared)
            fired.append(prepared[1])
    return fired


def run_daily() -> list[str]:
    """Clock job (09:00 shop time): birthday, order follow-up and win-back runs."""
    return _fire(DAILY)


def run_frequent() -> list[str]:
    """Clock job (every 15 minutes): abandoned-order reminders."""
    return _fire(("abandoned_order",))
