"""The loyalty settings page (admins, under "Manage shop"): rate, rounding, expiry, tiers, rewards and their value,
category multipliers, the birthday bonus and the stamp card.

One form saves the shop settings' `loyalty` key through `shop_settings.save_settings`, the function behind
PATCH /api/v1/settings: the same rules refuse bad values, a refused form keeps what was typed with an error
beside each refused field (in the staff member's language), and the bot uses the new rules from its next
message, in every process.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from pydantic import ValidationError
from sqlmodel import Session, select

from core.db import session_scope
from core.settings import LoyaltySettings
from crm import shop_settings
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import inbox
from crm.inbox.i18n import t
from crm.orders import Product, active_products
from crm.web import engine, settings

BLANK_ROWS = 2  # empty rows under the tiers, rewards and multipliers to add one
# A refused setting (the path pydantic names, without list positions) → the catalog key saying what it needs.
ERROR_KEYS = {
    "points_per_1000_rupiah": "loyalty_err_rate", "rounding": "loyalty_err_rounding",
    "expiry_months": "loyalty_err_expiry", "voucher_days": "loyalty_err_voucher_days",
    "birthday_points": "loyalty_err_birthday", "tiers": "loyalty_err_tiers", "tiers.name": "loyalty_err_name",
    "tiers.name_en": "loyalty_err_name", "tiers.min_points": "loyalty_err_tier_min",
    "rewards": "loyalty_err_reward_value", "rewards.name": "loyalty_err_name", "rewards.name_en": "loyalty_err_name",
    "rewards.points": "loyalty_err_reward_points", "rewards.amount_off": "loyalty_err_amount",
    "rewards.free_sku": "loyalty_err_reward_value", "multipliers": "loyalty_err_multipliers",
    "multipliers.category": "loyalty_err_category", "multipliers.factor": "loyalty_err_factor",
    "stamps": "loyalty_err_stamps", "stamps.stamps": "loyalty_err_stamps_count",
}


class _Reader:
    """Reads the typed form into the settings' shape, noting the fields it cannot read (field → catalog key)."""

    def __init__(self, form) -> None:
        self.form, self.errors = form, {}

    def number(self, value: str, field: str, whole: bool = True) -> float | int | None:
        """A typed number ("" is None): dots between thousands allowed in whole ones, a decimal comma in others."""
        value = value.strip().replace(" ", "")
        if not value:
            return None
        try:
            return int(value.replace(".", "")) if whole else float(value.replace(",", "."))
        except ValueError:
            self.errors[field] = ERROR_KEYS.get(_generic(field), "loyalty_err_number")
            return None

    def rows(self, prefix: str, names: tuple[str, ...]) -> list[dict[str, str]]:
        """The rows of a repeated group, blank ones left out, each with its position in the form (`_row`)."""
        columns = [self.form.getlist(f"{prefix}_{name}") for name in names]
        found = []
        for row, values in enumerate(zip(*columns)):
            if any(value.strip() for value in values):
                found.append({"_row": row, **{name: value.strip() for name, value in zip(names, values)}})
        return found


def _generic(field: str) -> str:
    """"tiers.0.min_points" → "tiers.min_points" (the key of ERROR_KEYS)."""
    return ".".join(part for part in field.split(".") if not part.isdigit())


def read_form(form) -> tuple[dict[str, Any], dict[str, list[int]], dict[str, str]]:
    """The loyalty rules typed in the form, the form row of each tier, reward and multiplier (blank rows are not
    items), and the fields that could not be read (field → catalog key)."""
    read = _Reader(form)
    tiers, rewards = read.rows("tier", ("name", "name_en", "min")), \
        read.rows("reward", ("name", "name_en", "points", "amount", "sku"))
    multipliers = read.rows("multiplier", ("category", "factor"))
    rules: dict[str, Any] = {
        "points_per_1000_rupiah": read.number(form.get("points_per_1000_rupiah", ""), "points_per_1000_rupiah",
                                              whole=False),
        "rounding": form.get("rounding", "down"),
        "expiry_months": read.number(form.get("expiry_months", ""), "expiry_months"),
        "voucher_days": read.number(form.get("voucher_days", ""), "voucher_days"),
        "birthday_points": read.number(form.get("birthday_points", ""), "birthday_points") or 0,
    }
    rules["tiers"] = [{"name": row["name"], "name_en": row["name_en"] or None,
                       "min_points": read.number(row["min"], f"tiers.{row['_row']}.min_points")}
                      for row in tiers]
    rules["rewards"] = [{"name": row["name"], "name_en": row["name_en"] or None,
                         "points": read.number(row["points"], f"rewards.{row['_row']}.points"),
                         "amount_off": read.number(row["amount"], f"rewards.{row['_row']}.amount_off"),
                         "free_sku": row["sku"] or None}
                        for row in rewards]
    rules["multipliers"] = [{"category": row["category"],
                             "factor": read.number(row["factor"], f"multipliers.{row['_row']}.factor", whole=False)}
                            for row in multipliers]
    if form.get("stamps_on"):
        by_category = form.get("stamps_by") == "category"
        rules["stamps"] = {"sku": None if by_category else form.get("stamps_sku") or None,
                           "category": form.get("stamps_category") or None if by_category else None,
                           "stamps": read.number(form.get("stamps_count", ""), "stamps.stamps"),
                           "free_sku": form.get("stamps_free_sku") or None}
    else:
        rules["stamps"] = None
    # A blank number the rules require: its default, as the API would use without the key.
    for key in ("points_per_1000_rupiah", "voucher_days"):
        if rules[key] is None and key not in read.errors:
            rules.pop(key)
    rows = {"tiers": [row["_row"] for row in tiers], "rewards": [row["_row"] for row in rewards],
            "multipliers": [row["_row"] for row in multipliers]}
    return rules, rows, read.errors


def validation_errors(exc: ValidationError, rows: dict[str, list[int]]) -> dict[str, str]:
    """The fields a validation error refuses, named as the form names them (with the form's row), → catalog key."""
    errors = {}
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        if loc and loc[0] == "loyalty":
            loc = loc[1:]
        if len(loc) >= 2 and loc[0] in rows and loc[1].isdigit() and int(loc[1]) < len(rows[loc[0]]):
            loc[1] = str(rows[loc[0]][int(loc[1])])
        field = ".".join(loc[:3]) or "loyalty"
        errors.setdefault(field, ERROR_KEYS.get(_generic(field), ERROR_KEYS.get(loc[0], "loyalty_err_number")))
    return errors


@inbox.route("/settings/loyalty", methods=["GET", "POST"])
@permission_required("settings.manage")
def loyalty_settings_page():
    """The loyalty rules in one form; a save replaces them whole (as PATCH /api/v1/settings {"loyalty"})."""
    if request.method == "GET":
        return _page()
    rules, rows, errors = read_form(request.form)
    if errors:
        return _page(errors)
    try:
        with session_scope(engine()) as db:
            shop_settings.save_settings(db, {"loyalty": rules})
            data.audit(session=db, staff=current_staff(), action="settings.loyalty", target_type="settings",
                       details={"changed": {"loyalty": rules}})
    except ValidationError as exc:
        return _page(validation_errors(exc, rows))
    flash(t("settings_saved"), "info")
    return redirect(url_for("inbox.loyalty_settings_page"), 303)


def _page(errors: dict[str, str] | None = None):
    with Session(engine()) as db:
        rules = shop_settings.current_config(db, settings()).loyalty
        products = active_products(session=db)
        categories = sorted({c for c in db.exec(select(Product.category).where(Product.active == True))  # noqa: E712
                             if c})
    if errors:
        flash(t("loyalty_invalid", count=str(len(errors))), "error")
    typed = request.form if errors else None
    return render_template("inbox/loyalty_settings.html", rules=_shown(rules, typed), products=products,
                           categories=categories, errors=errors or {},
                           blank_rows=0 if errors else BLANK_ROWS), 400 if errors else 200


def _shown(rules: LoyaltySettings, typed) -> dict[str, Any]:
    """What the form shows: what was just typed when it was refused, else the rules in force."""
    if typed is None:
        stamps = rules.stamps
        return {
            "points_per_1000_rupiah": f"{rules.points_per_1000_rupiah:g}", "rounding": rules.rounding,
            "expiry_months": rules.expiry_months or "", "voucher_days": rules.voucher_days,
            "birthday_points": rules.birthday_points or "",
            "tiers": [{"name": x.name, "name_en": x.name_en or "", "min": x.min_points} for x in rules.tiers],
            "rewards": [{"name": x.name, "name_en": x.name_en or "", "points": x.points, "amount": x.amount_off or "",
                         "sku": x.free_sku or ""} for x in rules.rewards],
            "multipliers": [{"category": x.category, "factor": f"{x.factor:g}"} for x in rules.multipliers],
            "stamps_on": stamps is not None, "stamps_by": "category" if stamps and stamps.category else "sku",
            "stamps_sku": (stamps.sku or "") if stamps else "", "stamps_category": (stamps.category or "") if stamps
            else "", "stamps_count": stamps.stamps if stamps else 9,
            "stamps_free_sku": (stamps.free_sku or "") if stamps else "",
        }

    def rows(prefix: str, names: tuple[str, ...]) -> list[dict[str, str]]:
        columns = [typed.getlist(f"{prefix}_{name}") for name in names]
        return [dict(zip(names, values)) for values in zip(*columns)]

    shown = {key: typed.get(key, "") for key in ("points_per_1000_rupiah", "rounding", "expiry_months",
                                                 "voucher_days", "birthday_points", "stamps_by", "stamps_sku",
                                                 "stamps_category", "stamps_count", "stamps_free_sku")}
    shown.update(tiers=rows("tier", ("name", "name_en", "min")),
                 rewards=rows("reward", ("name", "name_en", "points", "amount", "sku")),
                 multipliers=rows("multiplier", ("category", "factor")), stamps_on=bool(typed.get("stamps_on")))
    return shown
