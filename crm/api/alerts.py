"""REST API for staff alerts: the list staff work through, and moving one to seen or done."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session

from core.db import session_scope
from crm import alerts as alert_data
from crm.api.base import (
    ERRORS, OPENAPI_MODELS, OPENAPI_PATHS, ApiError, api, dump, enum_param, get_row, int_arg, json_body, limit_param,
    path_param, query_value, read_body, require_token, schema_response,
)
from crm.schemas import UtcDatetime
from crm.web import engine

Kind = Literal["complaint", "negative", "handoff", "sla", "order_waiting", "payment_proof", "send_failed",
               "campaign_paused", "low_rating"]
Status = Literal["new", "seen", "done"]


class AlertPublic(BaseModel):
    id: int
    kind: Kind
    status: Status
    severity: Literal["low", "medium", "high", "critical"]
    conversation_id: int | None
    contact_id: int | None
    order_id: int | None
    complaint_id: int | None
    text: str
    repeats: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class AlertList(BaseModel):
    items: list[AlertPublic]


class AlertUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status


def _choice(name: str, values: tuple[str, ...]) -> str | None:
    """A filter that must be one of `values` (422 otherwise, as the alerts contract says)."""
    raw = query_value(name)
    if raw is not None and raw not in values:
        raise ApiError(422, f"{name} must be one of {', '.join(values)}")
    return raw


@api.get("/alerts")
@require_token
def list_alerts():
    """Alerts, newest first, filtered by status and kind."""
    status = _choice("status", alert_data.STATUSES)
    kind = _choice("kind", alert_data.KINDS)
    limit = int_arg("limit", 100, 1, 1000)
    with Session(engine()) as session:
        rows = alert_data.list_alerts(session=session, status=status, kind=kind, limit=limit)
        return dump(AlertList(items=[AlertPublic.model_validate(row, from_attributes=True) for row in rows]))


@api.patch("/alerts/<int:alert_id>")
@require_token
def update_alert(alert_id: int):
    """Move an alert to seen or done (for the whole shop)."""
    change = read_body(AlertUpdate)
    with session_scope(engine()) as session:
        alert = get_row(session, alert_data.StaffAlert, alert_id, "alert")
        try:
            alert_data.change_status(session=session, alert=alert, status=change.status)
        except alert_data.AlertError as exc:
            raise ApiError(422, str(exc)) from None
        return dump(AlertPublic.model_validate(alert, from_attributes=True))


# --- OpenAPI ------------------------------------------------------------------------

OPENAPI_MODELS.extend([AlertPublic, AlertList, AlertUpdate])
_BAD_FILTER = {"422": schema_response("Error", "Unknown status or kind")}
OPENAPI_PATHS.update({
    "/alerts": {"get": {"summary": "Staff alerts, newest first",
                        "parameters": [enum_param("status", alert_data.STATUSES),
                                       enum_param("kind", alert_data.KINDS), limit_param(1000)],
                        "responses": {"200": schema_response("AlertList"), **_BAD_FILTER, **ERRORS}}},
    "/alerts/{id}": {"patch": {"summary": "Move an alert: new → seen → done (new → done too); the shop's, not per staff",
                               "parameters": [path_param("id")], "requestBody": json_body("AlertUpdate"),
                               "responses": {"200": schema_response("AlertPublic"), "404": schema_response("Error"),
                                             "422": schema_response("Error", "Invalid status or a step back"),
                                             **ERRORS}}},
})
