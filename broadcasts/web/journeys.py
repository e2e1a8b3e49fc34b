"""The journey screens (switch, edit message and parameters) and the location-based offers
(tie a promotion to a store and radius, see how many customers are inside).

The offers page is the one place where a promotion's store and radius are set (marketers and
admins); the admins' promotions page shows them and links here. The offer form is checked by the
REST API's `PromotionUpdate`, so bad input gets the same reasons, in the staff member's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlmodel import Session

from broadcasts import journeys as journey_data
from broadcasts import schedule as sched
from broadcasts import segments as seg
from broadcasts.campaign_message import VARIABLES, CampaignError
from broadcasts.web.base import marketing
from broadcasts.web.campaign_form import buttons
from core.db import as_utc, session_scope, utcnow
from crm import promotions as promo_data
from crm import stores as store_data
from crm.api.catalog import PromotionUpdate
from crm.ids import id_arg, id_value
from crm.inbox import data
from crm.inbox.blueprint import get_or_404
from crm.inbox.store_views import validated
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.i18n import t
from crm.web import engine, settings


@marketing.get("/journeys")
@permission_required("campaigns.manage")
def journeys():
    """The triggered journeys with their switches, messages and parameters."""
    with session_scope(engine()) as db:  # ensure() creates missing journeys with their defaults
        rows = journey_data.ensure(session=db)
        promotions = promo_data.list_promotions(session=db)
        return render_template("marketing/journeys.html", rows=rows, promotions=promotions,
                               variables=VARIABLES)


@marketing.post("/journeys/<key>")
@permission_required("campaigns.manage")
def journey_update(key: str):
    """Switch a journey on/off, or edit its message and parameters."""
    if key not in journey_data.DEFAULTS:
        abort(404)
    form = request.form
    enabled = {"1": True, "0": False}.get(form.get("enabled", ""))
    message, options = None, None
    if "text" in form:
        message = {"text": form.get("text", ""), "quick_replies": [
            q for q in buttons(form, "qr", 2)]} if key != "welcome" else {"text": form.get("text", "")}
        if key == "welcome" and not form.get("text", "").strip():
            message = None  # the built-in welcome
        options = {}
        for name in journey_data.DEFAULTS[key]["options"]:
            raw = form.get(name, "").strip()
            if name == "promotion_id":
                options[name] = id_value(raw)
            elif raw:
                if not raw.isdigit():
                    flash(t("err_bad_number"), "error")
                    return redirect(url_for("marketing.journeys", _anchor=key), 303)
                options[name] = int(raw)
    try:
        with session_scope(engine()) as db:
            journey_data.update(session=db, key=key, enabled=enabled, message=message, options=options)
            data.audit(session=db, staff=current_staff(), action="journey.update", target_type="journey",
                       details={"key": key, "enabled": enabled, "message": message, "options": options})
    except CampaignError as exc:
        flash(t("err_campaign", arg=str(exc)), "error")
        return redirect(url_for("marketing.journeys", _anchor=key), 303)
    flash(t("journey_saved", name=t(f"journey_{key}")), "info")
    return redirect(url_for("marketing.journeys", _anchor=key), 303)


# --- location-based offers ------------------------------------------------------------------


@marketing.get("/offers")
@permission_required("offers.manage")
def offers():
    """Promotions with their store and radius (location-based offers), and how many customers are inside."""
    with Session(engine()) as db:
        stores = store_data.list_stores(session=db)
        rows = []
        for promotion in promo_data.list_promotions(session=db):
            inside = seg.count(session=db, rules={"field": "offer", "op": "within", "value": promotion.id}) \
                if promotion.location_based else None
            rows.append((promotion, inside))
        return render_template("marketing/offers.html", rows=rows, stores={s.id: s for s in stores},
                               store_list=stores, now=utcnow())


OFFER_LABELS = {"store_id": "store", "radius_km": "radius_km", "starts_at": "valid_from", "ends_at": "valid_until"}


def _typed_offer(form) -> dict[str, Any]:
    """The store, radius, validity and switch the offer form describes (ValueError with the staff-facing reason)."""
    store_id = id_arg("store_id", form)
    typed: dict[str, Any] = {"store_id": store_id, "radius_km": None, "active": bool(form.get("active"))}
    radius = form.get("radius_km", "").strip().replace(",", ".")
    if store_id is not None:
        if not radius:
            raise ValueError(t("err_radius"))
        try:
            typed["radius_km"] = float(radius)
        except ValueError:
            raise ValueError(t("promo_bad_number", field=t("radius_km"))) from None
    for name in ("starts_at", "ends_at"):
        if form.get(name):
            try:
                typed[name] = sched.to_utc(datetime.fromisoformat(form[name]), settings().tz)
            except ValueError:
                raise ValueError(t("promo_bad_date", field=t(OFFER_LABELS[name]))) from None
    return typed


@marketing.post("/offers/<int:promotion_id>")
@permission_required("offers.manage")
def offer_update(promotion_id: int):
    """Tie a promotion to a store and radius (or untie it), and change its validity."""
    try:
        changes = validated(PromotionUpdate, _typed_offer(request.form), OFFER_LABELS)
        with session_scope(engine()) as db:
            promotion = get_or_404(db, promo_data.Promotion, promotion_id)
            if as_utc(changes.get("ends_at", promotion.ends_at)) <= as_utc(changes.get("starts_at",
                                                                                     promotion.starts_at)):
                raise ValueError(t("promo_ends_before_start"))
            promo_data.update_promotion(session=db, promotion=promotion, changes=changes)
            data.audit(session=db, staff=current_staff(), action="offer.update", target_type="promotion",
                       target_id=promotion_id, details={k: str(v) for k, v in changes.items()})
    except ValueError as exc:
        flash(t("err_offer", arg=str(exc)), "error")
        return redirect(url_for("marketing.offers", _anchor=f"offer-{promotion_id}"), 303)
    flash(t("saved"), "info")
    return redirect(url_for("marketing.offers", _anchor=f"offer-{promotion_id}"), 303)

