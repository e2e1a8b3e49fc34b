"""The shop settings page: name and languages, bot times, broadcasts, delivery fees and payment methods.

Each section is its own form and saves only its own keys through `shop_settings.save_settings`, the
function behind PATCH /api/v1/settings: the same rules refuse bad values, nothing is half-written,
and the bot reads the saved values with its next message, in every process.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from flask import current_app, flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlmodel import Session

from core.db import session_scope
from crm import shop_settings
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import inbox
from crm.inbox.i18n import error_text, t
from crm.media import MAX_UPLOAD_BYTES, CheckedImage, MediaError, check_image
from crm.web import engine, settings

INDONESIA = ("Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura")  # WIB, WIB, WITA, WIT
TIMEZONES = INDONESIA + tuple(sorted(available_timezones() - set(INDONESIA) - {"localtime"}))
SECTIONS = {
    "shop": ("shop_name", "languages", "default_language", "timezone"),
    "bot": ("handoff_timeout_minutes", "handoff_answer_minutes", "conversation_idle_minutes"),
    "broadcasts": ("quiet_hours", "max_per_week"),
    "delivery": ("delivery",),
    "payment": ("payment_methods",),
}
DELIVERY_NUMBERS = ("flat_fee", "base_fee", "base_km", "per_km", "free_above", "min_order", "max_km")


class FormError(ValueError):
    """A typed value refused: the setting it names (a catalog key `setting_<name>`) and why."""

    def __init__(self, field: str, reason: str = "") -> None:
        super().__init__(field)
        self.field, self.reason = field, reason


def _whole(value: str, field: str) -> int | None:
    """A typed whole number, dots and spaces between thousands allowed (Rp 12.000); "" is None."""
    digits = value.strip().replace(".", "").replace(" ", "")
    if not digits:
        return None
    if not digits.isdigit():
        raise FormError(field)
    return int(digits)


def _decimal(value: str, field: str) -> float | None:
    """A typed decimal number, with a comma or a dot (2,5 km); "" is None."""
    value = value.strip().replace(",", ".")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise FormError(field) from None


def _shop(form) -> dict[str, Any]:
    return {"shop_name": form.get("shop_name", "").strip() or None, "languages": form.getlist("languages"),
            "default_language": form.get("default_language") or None, "timezone": form.get("timezone") or None}


def _bot(form) -> dict[str, Any]:
    return {key: _whole(form.get(key, ""), key) for key in SECTIONS["bot"]}


def _broadcasts(form) -> dict[str, Any]:
    start, end = form.get("quiet_start", "").strip(), form.get("quiet_end", "").strip()
    if bool(start) != bool(end):
        raise FormError("quiet_hours")
    cap = _whole(form.get("max_per_week", ""), "max_per_week")
    return {"quiet_hours": f"{start}-{end}" if start else "", "max_per_week": 0 if cap is None else cap}


def delivery_rules(form) -> dict[str, Any]:
    """The delivery rules typed in a form (this page's, a store's own); FormError naming the unreadable number."""
    numbers = {key: (_decimal if key in ("base_km", "max_km") else _whole)(form.get(key, ""), f"delivery.{key}")
               for key in DELIVERY_NUMBERS}
    rules = {key: value for key, value in numbers.items() if value is not None or key in ("free_above", "max_km")}
    return {"mode": form.get("mode", "flat"), **rules}


def _delivery(form) -> dict[str, Any]:
    return {"delivery": delivery_rules(form)}


def _payment(form, current: shop_settings.ShopSettings) -> tuple[dict[str, Any], CheckedImage | None]:
    """The payment methods after this form's change, and the QRIS image to write when one was uploaded."""
    methods = [method.model_dump(mode="json") for method in current.payment_methods]
    action, code = form.get("action", "save"), form.get("code", "").strip()
    if action == "remove":
        return {"payment_methods": [m for m in methods if m["code"] != code]}, None
    if action == "add":
        if any(m["code"] == code for m in methods):
            raise FormError("payment_methods.code", t("settings_code_taken"))
        return {"payment_methods": methods + [{"code": code, "label": form.get("label", "").strip()}]}, None
    method = next((m for m in methods if m["code"] == code), None)
    if method is None:
        raise FormError("payment_methods.code")
    method.update({key: form.get(key, "").strip() or None for key in ("label_en", "instructions", "instructions_en")},
                  label=form.get("label", "").strip(), fulfilment=form.getlist("fulfilment"))
    image, upload = None, request.files.get("image_file")
    if upload is not None and upload.filename:
        try:
            image = check_image(upload.stream.read(MAX_UPLOAD_BYTES + 1))
        except MediaError as exc:
            raise FormError("payment_methods.image_url", error_text(str(exc))) from None
        base = settings().public_url.rstrip("/")
        method["image_url"] = f"{base}{url_for('media.uploaded', name=image.name)}"
        method["preview_url"] = f"{base}{url_for('media.uploaded', name=image.preview)}"
    elif form.get("remove_image") == "1":
        method["image_url"] = method["preview_url"] = None
    return {"payment_methods": methods}, image


def field_error(exc: ValidationError) -> FormError:
    """The first refused setting of a validation error, named as the form names it."""
    loc = [str(part) for part in exc.errors()[0]["loc"] if not str(part).isdigit()]
    return FormError(".".join(loc[:2]))


def form_error_text(exc: FormError) -> str:
    """The refused setting and why, in the staff member's words ("Check "Farthest delivery (km)": …")."""
    field = exc.field.split(".")[-1] if exc.field.startswith(("delivery.", "payment_methods.")) else exc.field
    key = f"setting_{field}"
    return t("settings_invalid", field=t(key), reason=exc.reason or t(f"{key}_help"))


@inbox.route("/settings", methods=["GET", "POST"])
@permission_required("settings.manage")
def shop_settings_page():
    """The shop's settings, one form per section; a save changes only that section's settings."""
    if request.method == "GET":
        return _page()
    section = request.form.get("section", "")
    if section not in SECTIONS:
        flash(t("bad_request"), "error")
        return _page(400)
    try:
        with session_scope(engine()) as db:
            image = None
            if section == "payment":
                patch, image = _payment(request.form, shop_settings.load_settings(db))
            else:
                patch = {"shop": _shop, "bot": _bot, "broadcasts": _broadcasts, "delivery": _delivery}[section](
                    request.form)
            try:
                shop_settings.save_settings(db, patch)
            except ValidationError as exc:
                raise field_error(exc) from None
            data.audit(session=db, staff=current_staff(), action=f"settings.{section}", target_type="settings",
                       details={"changed": patch, "action": request.form.get("action")}
                       if section == "payment" else {"changed": patch})
            if image is not None:
                image.write(current_app.config["SAPA"].media_dir)  # only when the save stands; before its commit
    except FormError as exc:
        flash(form_error_text(exc), "error")
        return _page(400)
    flash(t("settings_saved"), "info")
    return redirect(url_for("inbox.shop_settings_page", _anchor=f"settings-{section}"), 303)


def _page(status: int = 200):
    with Session(engine()) as db:
        saved = shop_settings.load_settings(db)
    config = shop_settings.effective_config(settings(), saved)
    typed = request.form if status != 200 else {}
    return render_template("inbox/settings.html", saved=saved, config=config, timezones=TIMEZONES,
                           languages_offered=saved.languages or ["id", "en"], typed=typed,
                           typed_section=typed.get("section"), typed_code=typed.get("code")), status
