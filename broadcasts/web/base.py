"""What every marketer's screen shares: the blueprint, the app's engine and settings, the LINE
quota with its audience check, the rule builder's pickers and a campaign's look-up."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, current_app, jsonify
from sqlmodel import Session

from broadcasts import actions
from broadcasts import segments as seg
from broadcasts.models import Campaign
from crm import catalog
from crm import promotions as promo_data
from crm import stores as store_data
from crm.customer_value import SEGMENTS
from crm.inbox.i18n import channel_name, t
from crm.web import settings

# The templates and static files stay in the broadcasts package (broadcasts/templates, broadcasts/static).
marketing = Blueprint("marketing", __name__, url_prefix="/inbox", template_folder="../templates",
                      static_folder="../static", static_url_path="/marketing/static")

# The rule builder's pickers: field -> (ops, value kind). The compiler (broadcasts.segments) decides.
FIELD_KINDS = {
    "channel": "choice:line,telegram,simulator", "tag": "text", "status": "choice:active,blocked",
    "activity": "choice:active_2w,active_1m,active_6m,dormant", "last_seen_days": "number",
    "first_seen_days": "number", "last_order_days": "number", "orders_count": "number", "total_spent": "number",
    "complaints_open": "number", "product_bought": "product", "category_bought": "category", "birthday_month": "number",
    "birthday_day": "number", "language": "choice:id,en", "near": "near", "offer": "offer",
    "points": "number", "tier": "text", "loyalty_tier": "text", "last_seen_at": "date", "first_seen_at": "date",
    "last_order_at": "date",
    "rfm_segment": "choice:" + ",".join(SEGMENTS), "clv": "number", "churn_risk": "number",
    "churn_risk_60": "number",
    "favourite_category": "category",
}
OPS = ("eq", "ne", "in", "has", "gt", "gte", "lt", "lte", "within")
QUOTA_SECONDS = 30


def fetch_error(status: int, message: str, details: list | None = None):
    """A JSON error for the screens' fetch() calls."""
    return jsonify(error=message, details=details or []), status


def quota() -> dict[str, Any] | None:
    """LINE's monthly quota {limit, used, left}, or None when LINE is off or does not answer."""
    # Two LINE calls per read: kept for a few seconds so pages stay fast (the fan-out checks it again).
    cache = current_app.extensions.setdefault("sapa.line_quota", {})
    if cache.get("until", 0) > time.monotonic():
        return cache["value"]
    try:
        value = actions.line_quota()
    except actions.QuotaUnavailable:
        value = None
    cache.update(value=value, until=time.monotonic() + QUOTA_SECONDS)
    return value


def line_audience(session: Session, rules: dict, channels: list[str]) -> int:
    """How many contacts of `rules` are on LINE (what the quota is about)."""
    if "line" not in channels:
        return 0
    line = {"field": "channel", "op": "eq", "value": "line"}
    return seg.count(session=session, rules={"all": [rules, line]} if rules else line)


def _choice_labels() -> dict[str, dict[str, str]]:
    """The words staff read for each choice of the builder's choice fields (never the stored code)."""
    labels = {"channel": {code: channel_name(code) for code in ("line", "telegram", "simulator")},
              "status": {"active": t("contact_active"), "blocked": t("contact_blocked")},
              "language": {code: t(f"language_{code}") for code in ("id", "en")}}
    labels["activity"] = {code: t(f"activity_{code}") for code in ("active_2w", "active_1m", "active_6m", "dormant")}
    labels["rfm_segment"] = {code: t(f"rfm_{code}") for code in SEGMENTS}
    return labels


def builder_context(session: Session) -> dict[str, Any]:
    """What the rule builder's template needs: fields, ops, stores, offers and their labels."""
    return {"fields": FIELD_KINDS, "ops": {name: ops for name, (ops, _) in seg.FIELDS.items() if name in FIELD_KINDS},
            "stores": [{"id": s.id, "name": s.name} for s in store_data.list_stores(session=session)],
            "offers": [{"id": p.id, "name": p.title} for p in promo_data.list_promotions(session=session)
                       if p.location_based],
            # Products and categories are picked from the catalog, by name (what the compiler matches on).
            "products": [p.name for p in catalog.list_products(session=session)],
            "categories": catalog.categories(session=session),
            "choice_labels": _choice_labels(),
            "today": datetime.now(settings().tz).date().isoformat(),  # a date rule's default: the shop's today
            "field_labels": {name: t(f"field_{name}") for name in FIELD_KINDS},
            "op_labels": {name: t(f"op_{name}") for name in OPS},
            "texts": {key: t(key) for key in ("match_all", "match_any", "add_rule", "add_group", "remove", "near_store",
                                              "near_point", "km", "counting", "none")}}


def campaign_or_404(db: Session, campaign_id: int) -> Campaign:
    """The campaign (not a journey's) with that id, else 404."""
    campaign = db.get(Campaign, campaign_id)
    if campaign is None or campaign.kind != "campaign":
        abort(404)
    return campaign
