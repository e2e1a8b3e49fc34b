"""REST API v1: JSON over Bearer tokens, described by /api/v1/openapi.json."""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable, Sequence

from flask import Blueprint, current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from sqlmodel import Session, select

from crm import contacts as contact_data
from crm import history
from core.db import session_scope
from crm.ids import MAX_ID
from crm.models import CHANNELS, ChannelIdentity, Contact, Conversation, Message
from crm.schemas import (
    ContactList,
    ContactPublic,
    ContactUpdate,
    ConversationList,
    ConversationPublic,
    Error,
    IdentityPublic,
    MessageList,
    MessagePublic,
)
from crm.tokens import verify_token

api = Blueprint("api", __name__, url_prefix="/api/v1")
MEDIA_TYPES = {"image", "video", "audio", "file"}
PRIVATE_PAYLOAD_KEYS = {"reply_token", "reply_uncertain"}


class ApiError(Exception):
    """An API error answered as {"error": reason} with an HTTP status."""

    def __init__(self, status: int, reason: str, details: list | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.details = status, reason, details


@api.errorhandler(ApiError)
def _api_error(exc: ApiError):
    body = {"error": exc.reason}
    if exc.details:
        body["details"] = exc.details
    return jsonify(body), exc.status


def _engine():
    return current_app.extensions["sapa.engine"]


def require_token(view: Callable) -> Callable:
    """Allow the view only with a valid `Authorization: Bearer <token>`."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "missing bearer token (create one with `sapa token add NAME`)")
        with session_scope(_engine()) as session:
            row = verify_token(session=session, token=token.strip())
            if row is None:
                raise ApiError(401, "invalid or revoked token")
            g.api_token_name = row.name
        return view(*args, **kwargs)
    return wrapper


def _json_body(model: type[BaseModel]) -> BaseModel:
    if not request.is_json:
        raise ApiError(415, "send JSON with Content-Type: application/json")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "body must be a JSON object")
    try:
        # Strict, as the document is: 0 is not false and "5" not 5 (JSON strings still give dates).
        return model.model_validate_json(request.get_data(), strict=True)
    except ValidationError as exc:
        details = [{"field": ".".join(map(str, err["loc"])), "message": err["msg"]} for err in exc.errors()]
        raise ApiError(422, "invalid fields", details) from None


def query_value(name: str) -> str | None:
    """A query parameter's value, None when absent or empty (`?limit=` means "not given", as the contract writes it)."""
    return request.args.get(name) or None


def _int_arg(name: str, default: int | None, low: int, high: int) -> int | None:
    raw = query_value(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}")
    return value


def _enum_arg(name: str, values: Sequence[str], default: str | None = None) -> str | None:
    raw = query_value(name)
    if raw is None:
        return default
    if raw not in values:
        raise ApiError(400, f"{name} must be one of {', '.join(values)}")
    return raw


def _bool_arg(name: str) -> bool | None:
    raw = query_value(name)
    if raw is None:
        return None
    raw = raw.lower()
    if raw not in ("true", "false", "1", "0"):
        raise ApiError(400, f"{name} must be true or false")
    return raw in ("true", "1")


def contact_filter() -> int | None:
    """The `contact_id` filter of a list: a row id, or None when not given."""
    return _int_arg("contact_id", None, 1, MAX_ID)


def contact_public(contact: Contact, identities: list[ChannelIdentity]) -> ContactPublic:
    """The API shape of a contact."""
    return ContactPublic(
        id=contact.id, display_name=contact.display_name, tags=list(contact.tags or []), status=contact.status,
        identities=[IdentityPublic(channel=i.channel, external_id=i.external_id, display_name=i.display_name,
                                   blocked=i.blocked) for i in identities],
        language=contact.language, phone=contact.phone, email=contact.email, birthday=contact.birthday,
        address=contact.address, marketing_consent=contact.marketing_consent, attributes=dict(contact.attributes or {}),
        created_at=contact.created_at, last_seen_at=contact.last_seen_at,
    )


def message_public(message: Message) -> MessagePublic:
    """The API shape of a message (hidden messages keep no text)."""
    payload = {k: v for k, v in (message.payload or {}).items() if k not in PRIVATE_PAYLOAD_KEYS}
    return MessagePublic(
        id=message.id, conversation_id=message.conversation_id, channel=message.channel,
        direction=message.direction, sender=message.sender, type=message.type,
        text=None if message.hidden else message.text, intent=message.intent, status=message.status,
        error=message.error, hidden=message.hidden, payload={} if message.hidden else payload,
        created_at=message.created_at,
    )


def _get_contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise ApiError(404, f"contact {contact_id} not found")
    return contact


def _dump(model: BaseModel):
    return jsonify(model.model_dump(mode="json"))


@api.get("/contacts")
@require_token
def list_contacts():
    """Contacts, searchable by name/phone/id (`q`) and channel."""
    channel = _enum_arg("channel", CHANNELS)
    limit = _int_arg("limit", 50, 1, 500)
    with Session(_engine()) as session:
        rows = contact_data.search_contacts(session=session, q=query_value("q"), channel=channel, limit=limit)
        identities = contact_data.identities_of(session=session, contact_ids=[c.id for c in rows])
        return _dump(ContactList(items=[contact_public(c, identities[c.id]) for c in rows]))


@api.get("/contacts/<int:contact_id>")
@require_token
def get_contact(contact_id: int):
    """One contact with its channel identities."""
    with Session(_engine()) as session:
        contact = _get_contact(session, contact_id)
        identities = contact_data.identities_of(session=session, contact_ids=[contact_id])[contact_id]
        return _dump(contact_public(contact, identities))


@api.patch("/contacts/<int:contact_id>")
@require_token
def update_contact(contact_id: int):
    """Change a contact's profile fields or tags."""
    changes = _json_body(ContactUpdate).model_dump(exclude_unset=True)
    with session_scope(_engine()) as session:
        contact = _get_contact(session, contact_id)
        if "tags" in changes:
            changes["tags"] = sorted({tag.strip() for tag in changes["tags"] if tag.strip()})
        for field, value in changes.items():
            setattr(contact, field, value)
        session.add(contact)
        session.flush()
        identities = contact_data.identities_of(session=session, contact_ids=[contact_id])[contact_id]
        return _dump(contact_public(contact, identities))


@api.get("/contacts/<int:contact_id>/messages")
@require_token
def contact_messages(contact_id: int):
    """A contact's full history across channels, oldest first."""
    limit = _int_arg("limit", 500, 1, 5000)
    with Session(_engine()) as session:
        _get_contact(session, contact_id)
        rows = history.contact_messages(session=session, contact_id=contact_id, limit=limit)
        return _dump(MessageList(items=[message_public(row) for row in rows]))


@api.get("/messages/<int:message_id>/content")
@require_token
def message_content(message_id: int):
    """The media of an image/video/audio/file message, fetched from the platform on demand."""
    body, content_type = fetch_media(_engine(), message_id)
    return current_app.response_class(body, mimetype=content_type)


def fetch_media(engine, message_id: int) -> tuple[bytes, str]:
    """The bytes and content type of an inbound media message, from the platform (ApiError if none)."""
    from core.runtime import get_runtime

    with Session(engine) as session:
        message = session.get(Message, message_id)
        if message is None or message.direction != "in":
            raise ApiError(404, f"inbound message {message_id} not found")
        if message.type not in MEDIA_TYPES or message.hidden:
            raise ApiError(404, "this message has no media content")
    try:
        result = get_runtime().senders.get(message.channel).content(message.platform_message_id, message.payload)
    except KeyError:
        raise ApiError(409, f"channel {message.channel} is not configured") from None
    except Exception as exc:  # noqa: BLE001 - the platform failed; say so instead of a 500
        raise ApiError(502, f"{message.channel} did not deliver the content: {type(exc).__name__}") from None
    if result is None:
        raise ApiError(404, "the platform no longer has this content")
    return result


@api.get("/conversations")
@require_token
def list_conversations():
    """Conversations filtered by status and contact."""
    query = select(Conversation)
    status = _enum_arg("status", CONVERSATION_STATUSES)
    if status:
        query = query.where(Conversation.status == status)
    contact_id = contact_filter()
    if contact_id is not None:
        query = query.where(Conversation.contact_id == contact_id)
    limit = _int_arg("limit", 100, 1, 1000)
    with Session(_engine()) as session:
        rows = session.exec(query.order_by(Conversation.last_message_at.desc().nulls_last()).limit(limit)).all()
        items = [ConversationPublic(
            id=c.id, contact_id=c.contact_id, channel=c.channel, kind=c.kind, status=c.status,
            assignee=c.assignee_id, labels=list(c.labels or []), bot_active=c.bot_active,
            last_message_at=c.last_message_at) for c in rows]
        return _dump(ConversationList(items=items))


# --- OpenAPI ------------------------------------------------------------------------

def _response(model: str, description: str = "OK") -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}}


ERRORS = {"401": _response("Error", "Missing or invalid token"),
          "400": _response("Error", "Bad parameter (or a query string the app refuses, e.g. with NUL bytes)")}
# Every operation with a body can answer these; openapi_document() adds them where an endpoint did not.
BODY_ERRORS = {"400": _response("Error", "Malformed JSON, not a JSON object, too deeply nested, or NUL bytes"),
               "415": _response("Error", "Not JSON (send Content-Type: application/json)"),
               "422": _response("Error", "Invalid fields")}
NOT_FOUND = {"404": _response("Error", "Not found (or an id out of range: 1 to 2^31-1)")}


# Endpoint modules add their paths and response models here; the document is built from them.
OPENAPI_MODELS: list[type[BaseModel]] = [ContactPublic, ContactList, ContactUpdate, MessagePublic, MessageList,
                                         ConversationPublic, ConversationList, Error, IdentityPublic]
OPENAPI_PATHS: dict[str, dict] = {}


def query_param(name: str, type_: str = "string", **schema: Any) -> dict:
    """An optional query parameter for the OpenAPI document (`schema`: bounds, enum, pattern); empty = not given."""
    return {"name": name, "in": "query", "required": False, "allowEmptyValue": True,
            "schema": {"type": type_, **schema}}


def limit_param(high: int) -> dict:
    """The `limit` query parameter: 1 to `high` rows."""
    return query_param("limit", "integer", minimum=1, maximum=high)


def enum_param(name: str, values: tuple[str, ...] | list[str]) -> dict:
    """A query parameter that takes one of `values`."""
    return query_param(name, enum=list(values))


def path_param(name: str) -> dict:
    """A row id in the path (the app's routes take 1..MAX_ID, anything else is a 404)."""
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}


CONTACT_ID = path_param("contact_id")
CONTACT_FILTER = query_param("contact_id", "integer", minimum=1, maximum=MAX_ID)
CONVERSATION_STATUSES = ("open", "pending", "snoozed", "resolved")


def json_body(model: str) -> dict:
    """A required JSON request body of a named schema."""
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}}


OPENAPI_PATHS.update({
    "/contacts": {"get": {"summary": "Search contacts",
                          "parameters": [query_param("q"), enum_param("channel", CHANNELS), limit_param(500)],
                          "responses": {"200": _response("ContactList"), **ERRORS}}},
    "/contacts/{contact_id}": {
        "get": {"summary": "One contact", "parameters": [CONTACT_ID],
                "responses": {"200": _response("ContactPublic"), "404": _response("Error"), **ERRORS}},
        "patch": {"summary": "Update a contact", "parameters": [CONTACT_ID], "requestBody": json_body("ContactUpdate"),
                  "responses": {"200": _response("ContactPublic"), "404": _response("Error"),
                                "422": _response("Error"), **ERRORS}}},
    "/contacts/{contact_id}/messages": {"get": {
        "summary": "A contact's history, oldest first", "parameters": [CONTACT_ID, limit_param(5000)],
        "responses": {"200": _response("MessageList"), "404": _response("Error"), **ERRORS}}},
    "/messages/{message_id}/content": {"get": {
        "summary": "Media of an inbound message (bytes, fetched from the platform)",
        "parameters": [path_param("message_id")],
        "responses": {"200": {"description": "The media bytes",
                              "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                      "404": _response("Error"), "502": _response("Error"), **ERRORS}}},
    "/conversations": {"get": {
        "summary": "Conversations",
        "parameters": [enum_param("status", CONVERSATION_STATUSES), CONTACT_FILTER, limit_param(1000)],
        "responses": {"200": _response("ConversationList"), **ERRORS}}},
})


def _with_common_errors(paths: dict[str, dict]) -> dict[str, dict]:
    # What any operation of its kind can answer, so no endpoint's entry can forget it.
    for path, operations in paths.items():
        for operation in operations.values():
            responses = operation["responses"]
            extra = {**(NOT_FOUND if "{" in path else {}), **(BODY_ERRORS if "requestBody" in operation else {})}
            for status, response in extra.items():
                responses.setdefault(status, response)
    return paths


def openapi_document() -> dict:
    """The OpenAPI 3.1 document of this API, schemas generated from the pydantic models."""
    _, schemas = models_json_schema([(model, "serialization") for model in OPENAPI_MODELS],
                                    ref_template="#/components/schemas/{model}")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Sapa API", "version": "1",
                 "description": "A query parameter sent with an empty value (`?limit=`) is the same as one not sent."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {"schemas": schemas["$defs"],
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": _with_common_errors(OPENAPI_PATHS),
    }


@api.get("/openapi.json")
def openapi():
    """The OpenAPI document (public, like most APIs' specs)."""
    return jsonify(openapi_document())

