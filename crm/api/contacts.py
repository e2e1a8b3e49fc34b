"""REST API v1 for contacts, their conversations and their messages."""

from __future__ import annotations

from flask import current_app, g
from sqlmodel import Session, select

from core.db import session_scope
from core.runtime import get_runtime
from crm import contacts as contact_data
from crm import consent_log, csat, customer_value, episodes, history, loyalty, merge
from crm.api.base import (
    CONTACT_FILTER, ERRORS, OPENAPI_MODELS, OPENAPI_PATHS, ApiError, api, contact_filter, dump, enum_arg, enum_param,
    get_row, int_arg, json_body, limit_param, path_param, query_param, query_value, read_body, require_token, schema_response,
)
from crm.models import CHANNELS, Contact, Conversation, Message
from crm.schemas import (
    ContactAnswer,
    ContactDetail,
    ContactList,
    ContactPublic,
    ContactUpdate,
    ConversationDetail,
    ConversationList,
    ConversationPublic,
    CsatRating,
    EpisodePublic,
    IdentityPublic,
    MergedContact,
    MessageList,
    MessagePublic,
    PointsAdjust,
    PointsEntryPublic,
    PointsLedger,
    contact_public,  # noqa: F401 - the API shapes' builders, imported from here by other floors
    conversation_public,
    message_public,
)
from crm.web import engine, settings

MEDIA_TYPES = {"image", "video", "audio", "file"}
CONVERSATION_STATUSES = ("open", "pending", "snoozed", "resolved")


def contact_detail(session: Session, contact: Contact) -> ContactDetail:
    """The API shape of one contact: its identities, the satisfaction scores it gave, its points and tier, its value."""
    identities = contact_data.identities_of(session=session, contact_ids=[contact.id])[contact.id]
    ratings = [CsatRating(score=row.score, comment=row.comment, at=row.rated_at)
               for row in csat.ratings_of(session=session, contact_id=contact.id)]
    standing = loyalty.standing(session=session, contact_id=contact.id, rules=loyalty.rules_for(session, settings()))
    value = customer_value.value_of(session=session, contact_id=contact.id)
    figures = dict(rfm_segment=value.segment, clv=value.predicted_clv, clv_historic=value.historic_clv,
                   churn_risk=value.churn_risk, favourite_category=value.favourite_category) if value else {}
    return ContactDetail(**dict(contact_public(contact, identities)), csat=ratings, points=standing.balance,
                         tier=standing.tier.name, **figures)


def points_ledger(session: Session, contact_id: int, limit: int = 200) -> PointsLedger:
    """The API shape of a contact's points: balance, tier and ledger (newest first)."""
    standing = loyalty.standing(session=session, contact_id=contact_id, rules=loyalty.rules_for(session, settings()))
    items = [PointsEntryPublic.model_validate(entry, from_attributes=True)
             for entry in loyalty.entries(session=session, contact_id=contact_id, limit=limit)]
    return PointsLedger(balance=standing.balance, tier=standing.tier.name, items=items)


def _get_contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise ApiError(404, f"contact {contact_id} not found")
    return contact


def _live_contact(session: Session, contact_id: int) -> Contact:
    """The contact to write to; 409 for a merged-away one, whose data now lives on its survivor."""
    contact = _get_contact(session, contact_id)
    if contact.merged_into is not None:
        survivor = merge.survivor_of(session=session, contact_id=contact.id)
        raise ApiError(409, f"contact {contact_id} was merged into contact {survivor.id}; change that one")
    return contact


@api.get("/contacts")
@require_token
def list_contacts():
    """Contacts, searchable by name/phone/id (`q`) and channel."""
    channel = enum_arg("channel", CHANNELS)
    limit = int_arg("limit", 50, 1, 500)
    with Session(engine()) as session:
        rows = contact_data.search_contacts(session=session, q=query_value("q"), channel=channel, limit=limit)
        identities = contact_data.identities_of(session=session, contact_ids=[c.id for c in rows])
        return dump(ContactList(items=[contact_public(c, identities[c.id]) for c in rows]))


@api.get("/contacts/<int:contact_id>")
@require_token
def get_contact(contact_id: int):
    """One contact with its channel identities and satisfaction scores; a merged-away one says where it lives on."""
    with Session(engine()) as session:
        contact = _get_contact(session, contact_id)
        if contact.merged_into is not None:
            survivor = merge.survivor_of(session=session, contact_id=contact.id)
            return dump(MergedContact(merged_into=survivor.id))
        return dump(contact_detail(session, contact))


@api.patch("/contacts/<int:contact_id>")
@require_token
def update_contact(contact_id: int):
    """Change a contact's profile fields or tags."""
    changes = read_body(ContactUpdate).model_dump(exclude_unset=True)
    with session_scope(engine()) as session:
        contact = _live_contact(session, contact_id)
        if "tags" in changes:
            changes["tags"] = sorted({tag.strip() for tag in changes["tags"] if tag.strip()})
        if changes.get("marketing_consent") is not None and changes["marketing_consent"] != contact.marketing_consent:
            consent_log.record(session=session, contact_id=contact.id, opt_in=changes["marketing_consent"],
                               source="api", actor=g.api_token_name)
        for field, value in changes.items():
            setattr(contact, field, value)
        session.add(contact)
        session.flush()
        return dump(contact_detail(session, contact))


@api.get("/contacts/<int:contact_id>/messages")
@require_token
def contact_messages(contact_id: int):
    """A contact's full history across channels, oldest first."""
    limit = int_arg("limit", 500, 1, 5000)
    with Session(engine()) as session:
        _get_contact(session, contact_id)
        rows = history.contact_messages(session=session, contact_id=contact_id, limit=limit)
        return dump(MessageList(items=[message_public(row) for row in rows]))


@api.get("/contacts/<int:contact_id>/points")
@require_token
def contact_points(contact_id: int):
    """A contact's points balance, tier and ledger, newest first."""
    limit = int_arg("limit", 200, 1, 1000)
    with Session(engine()) as session:
        _get_contact(session, contact_id)
        return dump(points_ledger(session, contact_id, limit))


@api.post("/contacts/<int:contact_id>/points")
@require_token
def adjust_points(contact_id: int):
    """Staff add or take points with a reason (never below zero)."""
    change = read_body(PointsAdjust)
    with session_scope(engine()) as session:
        _live_contact(session, contact_id)
        try:
            loyalty.adjust(session=session, contact_id=contact_id, points=change.points, reason=change.reason,
                           by=f"api:{g.api_token_name}")
        except loyalty.LoyaltyError as exc:
            field = "reason" if exc.code == "reason" else "points"
            raise ApiError(422, str(exc), [{"field": field, "message": str(exc)}]) from None
        return dump(points_ledger(session, contact_id)), 201


@api.get("/messages/<int:message_id>/content")
@require_token
def message_content(message_id: int):
    """The media of an image/video/audio/file message, fetched from the platform on demand."""
    body, content_type = fetch_media(engine(), message_id)
    return current_app.response_class(body, mimetype=content_type)


def fetch_media(db_engine, message_id: int) -> tuple[bytes, str]:
    """The bytes and content type of an inbound media message, from the platform (ApiError if none)."""
    with Session(db_engine) as session:
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
    status = enum_arg("status", CONVERSATION_STATUSES)
    if status:
        query = query.where(Conversation.status == status)
    contact_id = contact_filter()
    if contact_id is not None:
        query = query.where(Conversation.contact_id == contact_id)
    limit = int_arg("limit", 100, 1, 1000)
    with Session(engine()) as session:
        rows = session.exec(query.order_by(Conversation.last_message_at.desc().nulls_last()).limit(limit)).all()
        return dump(ConversationList(items=[conversation_public(c) for c in rows]))


@api.get("/conversations/<int:conversation_id>")
@require_token
def get_conversation(conversation_id: int):
    """One conversation with its episodes (each open period's first response and resolution times)."""
    with Session(engine()) as session:
        conversation = get_row(session, Conversation, conversation_id, "conversation")
        rows = episodes.of_conversation(session=session, conversation_id=conversation_id)
        return dump(ConversationDetail(**dict(conversation_public(conversation)), episodes=[
            EpisodePublic(opened_at=e.opened_at, first_response_at=e.first_response_at, resolved_at=e.resolved_at)
            for e in rows]))


# --- OpenAPI ------------------------------------------------------------------------

CONTACT_ID = path_param("contact_id")
OPENAPI_MODELS.extend([ContactPublic, ContactDetail, MergedContact, ContactAnswer, CsatRating, ContactList,
                       ContactUpdate, MessagePublic, MessageList, PointsLedger, PointsEntryPublic, PointsAdjust,
                       ConversationPublic, ConversationList, ConversationDetail, EpisodePublic, IdentityPublic])
OPENAPI_PATHS.update({
    "/contacts": {"get": {"summary": "Search contacts",
                          "parameters": [query_param("q"), enum_param("channel", CHANNELS), limit_param(500)],
                          "responses": {"200": schema_response("ContactList"), **ERRORS}}},
    "/contacts/{contact_id}": {
        "get": {"summary": "One contact (a merged-away one: only `merged_into`, the contact it lives on in)",
                "parameters": [CONTACT_ID],
                "responses": {"200": schema_response("ContactAnswer"), "404": schema_response("Error"), **ERRORS}},
        "patch": {"summary": "Update a contact", "parameters": [CONTACT_ID], "requestBody": json_body("ContactUpdate"),
                  "responses": {"200": schema_response("ContactDetail"), "404": schema_response("Error"),
                                "409": schema_response("Error"), "422": schema_response("Error"), **ERRORS}}},
    "/contacts/{contact_id}/messages": {"get": {
        "summary": "A contact's history, oldest first", "parameters": [CONTACT_ID, limit_param(5000)],
        "responses": {"200": schema_response("MessageList"), "404": schema_response("Error"), **ERRORS}}},
    "/contacts/{contact_id}/points": {
        "get": {"summary": "A contact's points: balance, tier and ledger, newest first",
                "parameters": [CONTACT_ID, limit_param(1000)],
                "responses": {"200": schema_response("PointsLedger"), "404": schema_response("Error"), **ERRORS}},
        "post": {"summary": "Add or take points with a reason (never below zero)", "parameters": [CONTACT_ID],
                 "requestBody": json_body("PointsAdjust"),
                 "responses": {"201": schema_response("PointsLedger"), "404": schema_response("Error"),
                               "409": schema_response("Error"), "422": schema_response("Error"), **ERRORS}}},
    "/messages/{message_id}/content": {"get": {
        "summary": "Media of an inbound message (bytes, fetched from the platform)",
        "parameters": [path_param("message_id")],
        "responses": {"200": {"description": "The media bytes",
                              "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
                      "404": schema_response("Error"), "502": schema_response("Error"), **ERRORS}}},
    "/conversations": {"get": {
        "summary": "Conversations",
        "parameters": [enum_param("status", CONVERSATION_STATUSES), CONTACT_FILTER, limit_param(1000)],
        "responses": {"200": schema_response("ConversationList"), **ERRORS}}},
    "/conversations/{conversation_id}": {"get": {
        "summary": "One conversation with its episodes, oldest first",
        "parameters": [path_param("conversation_id")],
        "responses": {"200": schema_response("ConversationDetail"), "404": schema_response("Error"), **ERRORS}}},
})
