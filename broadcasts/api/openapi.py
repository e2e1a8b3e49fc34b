"""The broadcasts endpoints in the API's OpenAPI document."""

from __future__ import annotations

from broadcasts.api.schemas import BUCKETS, CAMPAIGN_STATUSES, MODELS
from crm.models import CHANNELS
from crm.api.base import (
    ERRORS, OPENAPI_MODELS, OPENAPI_PATHS, enum_param, json_body, limit_param, path_param, query_param,
    schema_response,
)
from crm.ids import MAX_ID

_ID = path_param("id")
_INVALID = {"422": schema_response("Error", "Invalid fields or rules")}
_MISSING = {"404": schema_response("Error", "Not found")}
_CONFLICT = {"409": schema_response("Error", "Not allowed in the current status")}


def _action(summary: str, body: str | None = None) -> dict:
    spec = {"summary": summary, "parameters": [_ID],
            "responses": {"200": schema_response("CampaignCreated"), **_MISSING, **_CONFLICT, **_INVALID, **ERRORS}}
    if body:
        spec["requestBody"] = {**json_body(body), "required": False}
    return {"post": spec}


PATHS = {
    "/segments": {
        "get": {"summary": "Saved segments with live counts", "parameters": [limit_param(500)],
                "responses": {"200": schema_response("SegmentList"), **ERRORS}},
        "post": {"summary": "Save a segment", "requestBody": json_body("SegmentCreate"),
                 "responses": {"201": schema_response("SegmentPublic"), **_INVALID, **ERRORS}}},
    "/segments/{id}": {"get": {"summary": "One segment with its live count", "parameters": [_ID],
                               "responses": {"200": schema_response("SegmentPublic"), **_MISSING, **_INVALID, **ERRORS}}},
    "/segments/preview": {"post": {"summary": "Live audience count and sample contacts of rules",
                                   "requestBody": json_body("SegmentPreview"),
                                   "responses": {"200": schema_response("PreviewResult"), **_INVALID, **ERRORS}}},
    "/campaigns": {
        "get": {"summary": "Campaigns, newest first", "parameters": [enum_param("status", CAMPAIGN_STATUSES),
                                                                      limit_param(500)],
                "responses": {"200": schema_response("CampaignList"), **ERRORS}},
        "post": {"summary": "Create a campaign (now, at a time, or recurring)", "requestBody": json_body("CampaignCreate"),
                 "responses": {"201": schema_response("CampaignCreated"), **_INVALID, **ERRORS}}},
    "/campaigns/{id}": {"get": {"summary": "A campaign with its stats", "parameters": [_ID],
                                "responses": {"200": schema_response("CampaignPublic"), **_MISSING, **ERRORS}}},
    "/campaigns/{id}/pause": _action("Pause a campaign"),
    "/campaigns/{id}/resume": _action("Resume a paused campaign or launch a draft", "ResumeBody"),
    "/campaigns/{id}/cancel": _action("Cancel a campaign"),
    "/campaigns/{id}/winner": {"post": {
        "summary": "Send the winning A/B variant to the rest", "parameters": [_ID],
        "requestBody": {**json_body("WinnerBody"), "required": False},
        "responses": {"200": schema_response("CampaignPublic"), **_MISSING, **_CONFLICT, **_INVALID, **ERRORS}}},
    "/campaigns/{id}/test": {"post": {
        "summary": "Test-send to a few staff accounts", "parameters": [_ID], "requestBody": json_body("TestSend"),
        "responses": {"200": schema_response("TestResults"), **_MISSING, **_INVALID, **ERRORS}}},
    "/campaigns/preview": {"post": {
        "summary": "Render a message for LINE and Telegram", "requestBody": json_body("MessagePreview"),
        "responses": {"200": schema_response("RenderedPreview"), **_INVALID, **ERRORS}}},
    "/campaigns/{id}/timeseries": {"get": {
        "summary": "Results over time (charts)", "parameters": [_ID, enum_param("bucket", BUCKETS)],
        "responses": {"200": schema_response("TimeSeries"), **_MISSING, **ERRORS}}},
    "/campaigns/{id}/export.csv": {"get": {
        "summary": "Deliveries as CSV", "parameters": [_ID],
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **_MISSING, **ERRORS}}},
    "/contacts/export.csv": {"get": {
        "summary": "Contacts with every field as CSV: all, a saved segment, rules (JSON) or a search",
        "parameters": [query_param("segment_id", "integer", minimum=1, maximum=MAX_ID), query_param("rules"),
                       query_param("q"), enum_param("channel", CHANNELS)],
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}},
                      **_MISSING, **_INVALID, **ERRORS}}},
    "/journeys": {"get": {"summary": "Triggered journeys", "responses": {"200": schema_response("JourneyList"), **ERRORS}}},
    "/journeys/{key}": {"patch": {
        "summary": "Switch or edit a journey",
        "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": json_body("JourneyUpdate"),
        "responses": {"200": schema_response("JourneyPublic"), **_MISSING, **_INVALID, **ERRORS}}},
    "/contacts/{id}/consent": {"post": {
        "summary": "Opt a contact out of / back into marketing on a channel", "parameters": [_ID],
        "requestBody": json_body("ConsentBody"),
        "responses": {"200": schema_response("ConsentPublic"), **_MISSING, **_INVALID, **ERRORS}}},
    "/broadcasts/quota": {"get": {"summary": "LINE monthly message quota",
                                  "responses": {"200": schema_response("Quota"), "409": schema_response("Error"),
                                                "502": schema_response("Error"), **ERRORS}}},
}


def describe() -> None:
    """Add the broadcasts shapes and paths to the API's OpenAPI document (once, however many apps are made)."""
    OPENAPI_MODELS.extend(model for model in MODELS if model not in OPENAPI_MODELS)
    OPENAPI_PATHS.update(PATHS)
