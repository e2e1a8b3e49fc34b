"""REST API for the shop's settings: name, languages, payment methods, delivery-fee rules, staff hours and their
exceptions, the bot's waiting times, quiet hours, the frequency cap and the loyalty rules."""

from __future__ import annotations

from pydantic import ValidationError
from sqlmodel import Session

from core.db import session_scope
from core.settings import LoyaltySettings
from crm import shop_settings
from crm.api.base import (
    ERRORS, OPENAPI_MODELS, OPENAPI_PATHS, ApiError, api, dump, json_body, read_body, require_token, schema_response,
)
from crm.schemas import PatchModel
from crm.shop_settings import (
    Cap, DeliveryRules, Language, Languages, Minutes, PaymentMethods, QuietHours, ShopName, ShopSettings, Timezone,
    WeeklyHours,
)
from crm.stores import HoursExceptions
from crm.web import engine


class SettingsUpdate(PatchModel):
    """The top-level keys a PATCH replaces (each whole); keys left out stay as they are."""

    NULLABLE = shop_settings.CONFIG_KEYS  # null: back to config.yaml's value

    payment_methods: PaymentMethods | None = None
    delivery: DeliveryRules | None = None
    staff_hours: WeeklyHours | None = None
    staff_hours_exceptions: HoursExceptions | None = None
    shop_name: ShopName | None = None
    languages: Languages | None = None
    default_language: Language | None = None
    timezone: Timezone | None = None
    handoff_timeout_minutes: Minutes | None = None
    handoff_answer_minutes: Minutes | None = None
    conversation_idle_minutes: Minutes | None = None
    quiet_hours: QuietHours | None = None
    max_per_week: Cap | None = None
    loyalty: LoyaltySettings | None = None


@api.get("/settings")
@require_token
def get_settings():
    """The shop's settings (defaults for anything never saved)."""
    with Session(engine()) as session:
        return dump(shop_settings.load_settings(session))


@api.patch("/settings")
@require_token
def update_settings():
    """Replace the given top-level keys of the shop's settings."""
    patch = read_body(SettingsUpdate).model_dump(mode="json", exclude_unset=True)
    try:
        with session_scope(engine()) as session:
            return dump(shop_settings.save_settings(session, patch))
    except ValidationError as exc:  # a rule across keys; the body itself was valid
        details = [{"field": ".".join(map(str, err["loc"])), "message": err["msg"]} for err in exc.errors()]
        raise ApiError(422, "invalid settings", details) from None


OPENAPI_MODELS.extend([ShopSettings, SettingsUpdate])
OPENAPI_PATHS.update({
    "/settings": {
        "get": {"summary": "The shop's settings: name, languages, payment, delivery, staff hours, bot times, broadcasts",
                "responses": {"200": schema_response("ShopSettings"), **ERRORS}},
        "patch": {"summary": "Replace the given top-level keys of the settings (the others stay)",
                  "requestBody": json_body("SettingsUpdate"),
                  "responses": {"200": schema_response("ShopSettings"), "422": schema_response("Error"), **ERRORS}}},
})
