"""Stores: add one, edit its address, map pin, weekly hours, delivery and pickup, deactivate it (admins).

The form is checked by the REST API's own models (`StoreCreate`, `StoreUpdate`) and written
with `stores.create_store` / `update_store`, so the page and the API refuse the same input.
A store delivers by the shop's delivery rules (/inbox/settings) unless it has its own; its own
rules are typed in the same fields as the settings page's and refused in the same words.
The hours exceptions of a store (holidays, Ramadan) are edited on /inbox/hours, linked from here.
The bot reads stores fresh for every message, so a change answers customers at once.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import flash, redirect, render_template, request, url_for
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from core.db import session_scope, utcnow
from core.geo import MapPinError, map_link, map_pin
from crm import delivery, shop_settings, stores
from crm.api.catalog import StoreCreate, StoreUpdate
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import get_or_404, inbox
from crm.inbox.i18n import current_language, t
from crm.inbox.settings_views import DELIVERY_NUMBERS, FormError, delivery_rules, field_error, form_error_text
from crm.web import engine, settings

STORE_LABELS = {"name": "name", "address": "address", "area": "stores_area", "phone": "phone",
                "lat": "stores_pin", "lon": "stores_pin", "opening_hours": "stores_weekly"}


def invalid_text(exc: ValidationError, labels: dict[str, str]) -> str:
    """The first problem of a refused form, naming the field in the staff member's words."""
    error = exc.errors()[0]
    field = str(error["loc"][0]) if error["loc"] else ""
    return t("form_invalid", field=t(labels[field]) if field in labels else field, detail=error["msg"])


def validated(model: type[BaseModel], typed: dict[str, Any], labels: dict[str, str]) -> dict[str, Any]:
    """`typed` checked by `model` (the API's), as changes; ValueError with the staff-facing reason when refused."""
    try:
        return model.model_validate(typed).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise ValueError(invalid_text(exc, labels)) from None


def save_changes(table: type, row_id: int, changes: dict[str, Any], update: Callable[[Session, Any, dict], Any],
                 action: str) -> Any:
    """Write `changes` with the crm function `update` and audit the fields that moved, in one transaction; the row."""
    with session_scope(engine()) as db:
        row = get_or_404(db, table, row_id)
        before = {field: getattr(row, field) for field in changes}
        update(db, row, changes)
        moved = [field for field, value in before.items() if value != getattr(row, field)]
        data.audit(session=db, staff=current_staff(), action=action, target_type=action.partition(".")[0],
                   target_id=row.id, details={"from": {field: before[field] for field in moved},
                                              "to": {field: getattr(row, field) for field in moved}})
        return row


def _update(db: Session, store: stores.Store, changes: dict[str, Any]) -> None:
    stores.update_store(session=db, store=store, changes=changes)


def _days() -> list[tuple[str, str]]:
    return list(zip(stores.WEEKDAYS, stores.DAY_NAMES[current_language()]))


def _typed_store(form, editing: bool) -> dict[str, Any]:
    """The store the form describes (ValueError with the staff-facing reason when the pin or hours are unreadable)."""
    try:
        lat, lon = map_pin(form.get("pin", ""))
    except MapPinError as exc:
        raise ValueError(t(f"stores_pin_{exc.code}")) from None
    hours = {}
    for day, day_name in _days():
        try:
            hours[day] = stores.parse_windows(form.get(f"hours_{day}", ""))
        except ValueError as exc:
            raise ValueError(t("stores_bad_hours", day=day_name, detail=str(exc))) from None
    try:
        own_rules = delivery_rules(form) if form.get("rules") == "own" else None
    except FormError as exc:
        raise ValueError(form_error_text(exc)) from None
    typed = {"name": form.get("name", ""), "address": form.get("address", "").strip(),
             "area": form.get("area", "").strip(), "phone": form.get("phone", "").strip() or None,
             "lat": lat, "lon": lon, "opening_hours": hours, "delivers": form.get("delivers") == "1",
             "pickup": form.get("pickup") == "1", "delivery": own_rules}
    if editing:
        typed["active"] = form.get("active") == "1"
    return typed


def _store_changes(model: type[BaseModel], form, editing: bool) -> dict[str, Any]:
    """The form checked by the API's `model`, as changes; ValueError with the staff-facing reason when refused."""
    typed = _typed_store(form, editing)
    try:
        return model.model_validate(typed).model_dump(exclude_unset=True)
    except ValidationError as exc:
        if exc.errors()[0]["loc"][:1] == ("delivery",):  # a rule of its own: the settings page's words
            raise ValueError(form_error_text(field_error(exc))) from None
        raise ValueError(invalid_text(exc, STORE_LABELS)) from None


def _rules_form(rules: delivery.DeliveryRules) -> dict[str, str]:
    return {"mode": rules.mode, **{key: "" if getattr(rules, key) is None else str(getattr(rules, key))
                                   for key in DELIVERY_NUMBERS}}


def _form_of(store: stores.Store | None, shop_rules: delivery.DeliveryRules) -> dict[str, str]:
    """A stored store as the form shows it (None: a new store); its rules fields start from the shop's."""
    if store is None:
        return {"active": "1", "delivers": "1", "pickup": "1", "rules": "shop", **_rules_form(shop_rules)}
    form = {"name": store.name, "address": store.address, "area": store.area, "phone": store.phone or "",
            "pin": f"{store.lat:.6f}, {store.lon:.6f}", "active": "1" if store.active else "",
            "delivers": "1" if store.delivers else "", "pickup": "1" if store.pickup else "",
            "rules": "own" if store.delivery is not None else "shop",
            **_rules_form(delivery.rules_of(store, shop_rules))}
    form.update({f"hours_{day}": stores.windows_text((store.opening_hours or {}).get(day, []))
                 for day in stores.WEEKDAYS})
    return form


def _stores_page(editing: stores.Store | None = None, status: int = 200):
    tz, now = settings().tz, utcnow()
    with Session(engine()) as db:
        rows = [(store, stores.opening_text(store, now, tz, current_language()), map_link(store.lat, store.lon))
                for store in stores.list_stores(session=db)]
        if editing is not None:
            editing = db.get(stores.Store, editing.id)
        form = request.form if status != 200 else _form_of(editing, shop_settings.load_settings(db).delivery)
        return render_template("inbox/stores.html", rows=rows, editing=editing, form=form, days=_days(),
                               delivery_numbers=DELIVERY_NUMBERS,
                               windows_text=stores.windows_text,
                               exceptions=stores.exceptions_of(editing.hours_exceptions) if editing else []), status


@inbox.route("/stores", methods=["GET", "POST"])
@permission_required("stores.manage")
def stores_list():
    """Every store with its status now; the form adds one."""
    if request.method == "GET":
        return _stores_page()
    try:
        changes = _store_changes(StoreCreate, request.form, editing=False)
        with session_scope(engine()) as db:
            store = stores.create_store(session=db, **changes)
            data.audit(session=db, staff=current_staff(), action="store.add", target_type="store",
                       target_id=store.id, details={"name": store.name})
    except ValueError as exc:
        flash(str(exc), "error")
        return _stores_page(status=400)
    flash(t("stores_added", name=store.name), "info")
    return redirect(url_for("inbox.store_edit", store_id=store.id), 303)


@inbox.route("/stores/<int:store_id>", methods=["GET", "POST"])
@permission_required("stores.manage")
def store_edit(store_id: int):
    """One store's form: its details, map pin, weekly hours, delivery and pickup, and whether it is active."""
    with Session(engine()) as db:
        store = get_or_404(db, stores.Store, store_id)
    if request.method == "GET":
        return _stores_page(store)
    try:
        changes = _store_changes(StoreUpdate, request.form, editing=True)
        save_changes(stores.Store, store_id, changes, _update, "store.update")
    except ValueError as exc:
        flash(str(exc), "error")
        return _stores_page(store, status=400)
    flash(t("stores_saved"), "info")
    return redirect(url_for("inbox.store_edit", store_id=store_id), 303)


@inbox.post("/stores/<int:store_id>/deactivate")
@permission_required("stores.manage")
def store_deactivate(store_id: int):
    """Take a store out of the bot's answers (it stays in order history; the form can activate it again)."""
    store = save_changes(stores.Store, store_id, {"active": False}, _update, "store.deactivate")
    flash(t("stores_deactivated", name=store.name), "info")
    return redirect(url_for("inbox.stores_list"), 303)
