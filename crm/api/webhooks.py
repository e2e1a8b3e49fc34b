"""REST API for outbound webhooks (admin token): register an endpoint (its secret shown once), list, get, delete."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import g
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from core.db import session_scope
from core.runtime import get_runtime
from crm import webhooks
from crm.api.base import (
    ERRORS, INVALID, NOT_FOUND_ID, OPENAPI_MODELS, OPENAPI_PATHS, ApiError, api, dump, get_row, json_body,
    path_param, read_body, require_token, schema_response,
)
from crm.schemas import UtcDatetime
from crm.web import engine

EventType = Literal[webhooks.EVENT_TYPES]  # type: ignore[valid-type]
RECENT = 20  # deliveries shown with one endpoint
PORT = "(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
URL_PATTERN = rf"^https?://[A-Za-z0-9.-]+(:{PORT})?(/\S*)?$"


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=webhooks.URL_MAX, pattern=URL_PATTERN,
                     description="https and a public host in production; http and loopback allowed otherwise")
    events: list[EventType] = Field(min_length=1, max_length=len(webhooks.EVENT_TYPES))


class WebhookPublic(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_by: str
    created_at: UtcDatetime


class WebhookCreated(WebhookPublic):
    secret: Annotated[str, Field(description="signs every delivery (Sapa-Signature); shown only in this answer")]


class WebhookList(BaseModel):
    items: list[WebhookPublic]


class WebhookDeliveryPublic(BaseModel):
    id: int
    event_id: str
    type: str
    status: Literal["queued", "sending", "sent", "failed"]
    attempts: int
    status_code: int | None
    error: str | None
    created_at: UtcDatetime
    next_attempt_at: UtcDatetime
    sent_at: UtcDatetime | None


class WebhookDetail(WebhookPublic):
    deliveries: list[WebhookDeliveryPublic] = Field(description=f"the latest {RECENT}, newest first")


def _public(endpoint: webhooks.WebhookEndpoint) -> dict:
    return WebhookPublic.model_validate(endpoint, from_attributes=True).model_dump()


@api.post("/webhooks")
@require_token
def create_webhook():
    """Register an endpoint for some events; the answer carries its signing secret, shown only once."""
    body = read_body(WebhookCreate)
    try:
        with session_scope(engine()) as session:
            endpoint = webhooks.create_endpoint(session=session, url=body.url, events=list(body.events),
                                                created_by=f"api:{g.api_token_name}",
                                                production=get_runtime().settings.env == "production")
            created = WebhookCreated(**_public(endpoint), secret=endpoint.secret)
    except webhooks.WebhookError as exc:
        field = "events" if exc.code.startswith("event") else "url"
        raise ApiError(422, str(exc), [{"field": field, "message": str(exc)}]) from None
    return dump(created), 201


@api.get("/webhooks")
@require_token
def list_webhooks():
    """Every registered endpoint (without its secret)."""
    with Session(engine()) as session:
        return dump(WebhookList(items=[WebhookPublic(**_public(e)) for e in webhooks.list_endpoints(session=session)]))


@api.get("/webhooks/<int:webhook_id>")
@require_token
def get_webhook(webhook_id: int):
    """One endpoint with its latest deliveries."""
    with Session(engine()) as session:
        endpoint = get_row(session, webhooks.WebhookEndpoint, webhook_id, "webhook")
        deliveries = [WebhookDeliveryPublic.model_validate(row, from_attributes=True) for row in
                      webhooks.recent_deliveries(session=session, endpoint_id=endpoint.id, limit=RECENT)]
        return dump(WebhookDetail(**_public(endpoint), deliveries=deliveries))


@api.delete("/webhooks/<int:webhook_id>")
@require_token
def delete_webhook(webhook_id: int):
    """Remove an endpoint and its deliveries (nothing more is sent to it)."""
    with session_scope(engine()) as session:
        webhooks.delete_endpoint(session=session, endpoint=get_row(session, webhooks.WebhookEndpoint, webhook_id,
                                                                    "webhook"))
    return "", 204


# --- OpenAPI ------------------------------------------------------------------------------

OPENAPI_MODELS.extend([WebhookCreate, WebhookCreated, WebhookList, WebhookDetail])
_ID = path_param("id")
OPENAPI_PATHS.update({
    "/webhooks": {
        "get": {"summary": "Registered webhook endpoints (admin token)",
                "responses": {"200": schema_response("WebhookList"), **ERRORS}},
        "post": {"summary": "Register a webhook endpoint (admin token); its secret is in this answer only",
                 "requestBody": json_body("WebhookCreate"),
                 "responses": {"201": schema_response("WebhookCreated", "Created"), **INVALID, **ERRORS}}},
    "/webhooks/{id}": {
        "get": {"summary": "One webhook endpoint with its latest deliveries (admin token)", "parameters": [_ID],
                "responses": {"200": schema_response("WebhookDetail"), **NOT_FOUND_ID, **ERRORS}},
        "delete": {"summary": "Remove a webhook endpoint and its deliveries (admin token)", "parameters": [_ID],
                   "responses": {"204": {"description": "Removed"}, **NOT_FOUND_ID, **ERRORS}}},
})
