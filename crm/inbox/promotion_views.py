"""Promotions: add one, edit its texts, dates, days and hours, audience, voucher and budget, deactivate it (admins).

The form is checked by the REST API's own models (`PromotionCreate`, `PromotionUpdate`) and
written with `promotions.save_promotion`, so the page and the API refuse the same input.
Dates are typed in the shop's timezone. The bot reads promotions fresh for every message, so
a change answers customers at once. A promotion's store and radius are shown here but set on
the location offers page (`broadcasts.web.journeys`), the one place for them, which marketers
may use too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlmodel import Session, select

from core.db import as_utc, session_scope, utcnow
from crm import promotions, stores
from crm.api.catalog import PromotionCreate, PromotionUpdate
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import get_or_404, inbox
from crm.inbox.i18n import LANGUAGES, current_language, t
from crm.inbox.store_views import validated
from crm.models import CHANNELS, Contact
from crm.web import engine, settings

PROMO_LABELS = {"title": "promo_title_id", "description": "promo_description_id", "title_en": "promo_title_en",
                "description_en": "promo_description_en", "voucher_code": "promo_voucher",
                "starts_at": "promo_starts", "ends_at": "promo_ends", "audience": "promo_audience",
                "weekdays": "promo_weekdays",
                "hours": "promo_hours", "max_redemptions": "promo_budget", "per_customer": "promo_per_customer"}
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # the value of an <input type="datetime-local">


def state(promotion: promotions.Promotion, now: datetime) -> str:
    """Where the promotion stands now: valid_now, not_this_hour, scheduled, ended or inactive."""
    if not promotion.active:
        return "inactive"
    if now < as_utc(promotion.starts_at):
        return "scheduled"
    if now >= as_utc(promotion.ends_at):
        return "ended"
    return "valid_now" if promotions.valid_at(promotion, now, settings().tz) else "not_this_hour"


def _local(typed: str, field: str) -> datetime | None:
    """A datetime-local value read in the shop's timezone (None when empty)."""
    if not typed.strip():
        return None
    try:
        return datetime.strptime(typed.strip(), LOCAL_INPUT).replace(tzinfo=settings().tz)
    except ValueError:
        raise ValueError(t("promo_bad_date", field=t(PROMO_LABELS[field]))) from None


def _number(typed: str, field: str, kind: type) -> Any:
    """A number typed in the form (None when empty)."""
    if not typed.strip():
        return None
    try:
        return kind(typed.strip().replace(",", "."))
    except ValueError:
        raise ValueError(t("promo_bad_number", field=t(PROMO_LABELS[field]))) from None


def _typed_promotion(form, editing: bool) -> dict[str, Any]:
    """The promotion the form describes (ValueError with the staff-facing reason when a field is unreadable)."""
    days = sorted({int(day) for day in form.getlist("weekdays") if day.isdigit()})
    try:
        hours = stores.parse_windows(form.get("hours", "")) or None
    except ValueError as exc:
        raise ValueError(t("form_invalid", field=t("promo_hours"), detail=str(exc))) from None
    new = form.get("new_customers", "")
    audience = {"channels": form.getlist("channels") or None, "tags": form.getlist("tags") or None,
                "languages": form.getlist("languages") or None,
                "new_customers": {"yes": True, "no": False}.get(new),
                "min_orders": _number(form.get("min_orders", ""), "audience", int)}
    typed = {"title": form.get("title", ""), "description": form.get("description", "").strip(),
             "title_en": form.get("title_en", "").strip() or None,
             "description_en": form.get("description_en", "").strip() or None,
             "voucher_code": form.get("voucher_code", "").strip().upper() or None,
             "starts_at": _local(form.get("starts_at", ""), "starts_at"),
             "ends_at": _local(form.get("ends_at", ""), "ends_at"),
             "audience": {key: value for key, value in audience.items() if value is not None},
             "weekdays": days if days and len(days) < 7 else None, "hours": hours,
             "max_redemptions": _number(form.get("max_redemptions", ""), "max_redemptions", int),
             "per_customer": form.get("per_customer") or "shared"}
    if editing:
        typed["active"] = form.get("active") == "1"
    _explain(typed)
    return typed


def _explain(typed: dict[str, Any]) -> None:
    """The rules across fields, said in the staff member's words before the API's models refuse them in English."""
    if typed["starts_at"] is None or typed["ends_at"] is None:
        raise ValueError(t("promo_dates_required"))
    if typed["ends_at"] <= typed["starts_at"]:
        raise ValueError(t("promo_ends_before_start"))
    if (typed["max_redemptions"] is not None or typed["per_customer"] == "once") and not typed["voucher_code"]:
        raise ValueError(t("promo_voucher_required"))


def _form_of(promotion: promotions.Promotion) -> dict[str, Any]:
    """A stored promotion as the form shows it."""
    tz, audience = settings().tz, promotion.audience or {}
    new = audience.get("new_customers")
    return {"title": promotion.title, "description": promotion.description, "title_en": promotion.title_en or "",
            "description_en": promotion.description_en or "", "voucher_code": promotion.voucher_code or "",
            "starts_at": as_utc(promotion.starts_at).astimezone(tz).strftime(LOCAL_INPUT),
            "ends_at": as_utc(promotion.ends_at).astimezone(tz).strftime(LOCAL_INPUT),
            "weekdays": [str(day) for day in (promotion.weekdays or [])],
            "hours": stores.windows_text(promotion.hours or []),
            "channels": audience.get("channels") or [], "tags": audience.get("tags") or [],
            "languages": audience.get("languages") or [],
            "new_customers": "" if new is None else ("yes" if new else "no"),
            "min_orders": str(audience.get("min_orders") or ""),
            "max_redemptions": str(promotion.max_redemptions or ""), "per_customer": promotion.per_customer,
            "active": "1" if promotion.active else ""}


def _typed_back(form) -> dict[str, Any]:
    """The refused form as typed, lists included, to show again."""
    typed = form.to_dict()
    for name in ("weekdays", "channels", "tags", "languages"):
        typed[name] = form.getlist(name)
    return typed


def _known_tags(db: Session) -> list[str]:
    """The tags contacts carry and promotions use, to choose an audience from."""
    tags = {tag for row in db.exec(select(Contact.tags)).all() for tag in (row or [])}
    tags |= {tag for row in db.exec(select(promotions.Promotion.audience)).all() for tag in (row or {}).get("tags", [])}
    return sorted(tags, key=str.lower)


def _jsonable(value: Any) -> Any:
    return as_utc(value).isoformat() if isinstance(value, datetime) else value


def _save(promotion_id: int | None, changes: dict[str, Any], action: str) -> promotions.Promotion:
    """Write the promotion with the API's data function and audit what moved, in one transaction."""
    with session_scope(engine()) as db:
        row = get_or_404(db, promotions.Promotion, promotion_id) if promotion_id is not None else None
        before = {field: _jsonable(getattr(row, field)) for field in changes} if row is not None else {}
        try:
            row = promotions.save_promotion(session=db, promotion=row, changes=changes)
        except promotions.VoucherTaken:
            raise ValueError(t("promo_voucher_taken", code=changes.get("voucher_code"))) from None
        after = {field: _jsonable(getattr(row, field)) for field in changes}
        moved = {field for field in after if before.get(field) != after[field]}
        data.audit(session=db, staff=current_staff(), action=action, target_type="promotion", target_id=row.id,
                   details={"title": row.title, "from": {f: before.get(f) for f in moved if f in before},
                            "to": {f: after[f] for f in moved}})
        return row


def _page(editing: promotions.Promotion | None = None, status: int = 200):
    now, lang = utcnow(), current_language()
    with Session(engine()) as db:
        shop_stores = stores.list_stores(session=db)
        rows = [(p, state(p, now), promotions.validity_text(p, lang)) for p in promotions.list_promotions(session=db)]
        if editing is not None:
            editing = db.get(promotions.Promotion, editing.id)
        if status != 200:
            form = _typed_back(request.form)
        elif editing is not None:
            form = _form_of(editing)
        else:
            form = {"active": "1", "per_customer": "shared", "weekdays": [], "channels": [], "tags": [],
                    "languages": []}
        return render_template("inbox/promotions.html", rows=rows, editing=editing, form=form,
                               stores={s.id: s for s in shop_stores},
                               days=list(enumerate(stores.DAY_NAMES[lang])), channels=CHANNELS,
                               languages=LANGUAGES, tags=_known_tags(db), timezone=str(settings().tz)), status


@inbox.route("/promotions", methods=["GET", "POST"])
@permission_required("promotions.manage")
def promotions_list():
    """Every promotion with where it stands now; the form adds one."""
    if request.method == "GET":
        return _page()
    try:
        changes = validated(PromotionCreate, _typed_promotion(request.form, editing=False), PROMO_LABELS)
        promotion = _save(None, changes, "promotion.add")
    except ValueError as exc:
        flash(str(exc), "error")
        return _page(status=400)
    flash(t("promo_added", title=promotion.title), "info")
    return redirect(url_for("inbox.promotion_edit", promotion_id=promotion.id), 303)


@inbox.route("/promotions/<int:promotion_id>", methods=["GET", "POST"])
@permission_required("promotions.manage")
def promotion_edit(promotion_id: int):
    """One promotion's form."""
    with Session(engine()) as db:
        promotion = get_or_404(db, promotions.Promotion, promotion_id)
    if request.method == "GET":
        return _page(promotion)
    try:
        typed = _typed_promotion(request.form, editing=True)
        if (promotion.audience or {}).get("contacts"):  # a loyalty reward's voucher stays its customer's
            typed["audience"]["contacts"] = promotion.audience["contacts"]
        changes = validated(PromotionUpdate, typed, PROMO_LABELS)
        _save(promotion_id, changes, "promotion.update")
    except ValueError as exc:
        flash(str(exc), "error")
        return _page(promotion, status=400)
    flash(t("promo_saved"), "info")
    return redirect(url_for("inbox.promotion_edit", promotion_id=promotion_id), 303)


@inbox.post("/promotions/<int:promotion_id>/deactivate")
@permission_required("promotions.manage")
def promotion_deactivate(promotion_id: int):
    """Stop offering a promotion (its orders and redemptions stay; the form can activate it again)."""
    promotion = _save(promotion_id, {"active": False}, "promotion.deactivate")
    flash(t("promo_deactivated", title=promotion.title), "info")
    return redirect(url_for("inbox.promotions_list"), 303)
