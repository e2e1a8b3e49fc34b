"""Public shapes of the REST API (pydantic), also the source of the OpenAPI document."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, RootModel, model_validator

from crm.ids import MAX_ID

if TYPE_CHECKING:
    from crm.models import Contact, Conversation, Message


def iso_utc(value: datetime) -> str:
    """A timestamp as the API writes it: ISO-8601 in UTC with a Z."""
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.isoformat().replace("+00:00", "Z")


UtcDatetime = Annotated[datetime, PlainSerializer(iso_utc, return_type=str)]


def _integral(value: Any) -> Any:
    # Bodies are validated strictly (false is not 0), but JSON Schema counts 5.0 as an integer.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def json_int(low: int, high: int) -> Any:
    """An integer of a request body from `low` to `high` (5.0 counts, as in JSON Schema)."""
    # The bounds before the validator, so that the document states them.
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_integral)]


RowId = json_int(1, MAX_ID)  # a reference to a row: what an id column can hold


def _document_nulls(schema: dict[str, Any], model: type[PatchModel]) -> None:
    # `X | None = None` on a PATCH means "may be left out"; only NULLABLE fields take an
    # explicit null, so the document offers null for those alone.
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [])
        if name in model.NULLABLE or {"type": "null"} not in options:
            continue
        rest = [option for option in prop.pop("anyOf") if option != {"type": "null"}]
        prop.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        if prop.get("default", 0) is None:
            del prop["default"]


class PatchModel(BaseModel):
    """An update: every field optional, but null only where the column is nullable (NULLABLE)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_document_nulls)
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_nulls(self):
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None and f not in self.NULLABLE)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self


class IdentityPublic(BaseModel):
    channel: Literal["line", "telegram", "simulator"]
    external_id: str
    display_name: str = ""
    blocked: bool = False


class ContactPublic(BaseModel):
    id: int
    display_name: str
    identities: list[IdentityPublic]
    tags: list[str]
    status: Literal["active", "blocked"]
    language: str | None = None
    phone: str | None = None
    email: str | None = None
    birthday: date | None = None
    address: str | None = None
    marketing_consent: bool = True
    attributes: dict[str, Any] = {}
    created_at: UtcDatetime
    last_seen_at: UtcDatetime | None
    erased_at: UtcDatetime | None = None  # set once the person's data was erased on request


class ContactList(BaseModel):
    items: list[ContactPublic]


class CsatRating(BaseModel):
    """A satisfaction score the customer gave (1–5), with their comment."""

    score: int = Field(ge=1, le=5)
    comment: str | None = None
    at: UtcDatetime


# The RFM segments of crm.customer_value, best first (their grid is documented there).
RFM_SEGMENTS = ("champions", "loyal", "potential_loyalist", "new", "promising", "need_attention", "at_risk",
                "cannot_lose", "hibernating", "lost")


class ContactDetail(ContactPublic):
    """One contact, with the satisfaction scores they gave (newest first), their loyalty points and their value
    (null: no orders)."""

    csat: list[CsatRating] = []
    points: int = Field(default=0, ge=0, description="the points balance")
    tier: str = Field(default="", description="the loyalty tier by the points earned in the last 12 months")
    rfm_segment: Literal[RFM_SEGMENTS] | None = None
    clv: int | None = Field(default=None, description="predicted value of the next 12 months, in Rupiah")
    clv_historic: int | None = Field(default=None, description="what they spent so far, in Rupiah")
    churn_risk: float | None = Field(default=None, ge=0, le=1, description="probability of no order in 30 days")
    churn_risk_60: float | None = Field(default=None, ge=0, le=1, description="probability of no order in 60 days")
    favourite_category: str | None = None


class PointsEntryPublic(BaseModel):
    """One change of a contact's points (newest first in a ledger)."""

    id: int
    kind: Literal["earn", "redeem", "expire", "adjust", "reverse"]
    points: int = Field(description="positive: added; negative: taken")
    order_id: int | None
    voucher_code: str | None = Field(default=None, description="redeem: the reward's voucher code")
    reason: str
    by: str
    at: UtcDatetime


class PointsLedger(BaseModel):
    """A contact's points: the balance, the tier and the ledger, newest first."""

    balance: int = Field(ge=0)
    tier: str
    items: list[PointsEntryPublic]


class PointsAdjust(BaseModel):
    """Staff add (positive) or take (negative) points, with a reason."""

    model_config = ConfigDict(extra="forbid")

    points: int = Field(ge=-100_000_000, le=100_000_000, description="not 0",
                        json_schema_extra={"not": {"const": 0}})
    reason: str = Field(min_length=1, max_length=200, pattern=r"\S")


class MergedContact(BaseModel):
    """A contact merged into another: only where it lives on (the survivor lists its identities)."""

    merged_into: int


class ContactAnswer(RootModel[ContactDetail | MergedContact]):
    """One contact, or where it was merged into."""


class MergeRequest(BaseModel):
    """Merge contact `other_id` into the contact of the path (which survives)."""

    model_config = ConfigDict(extra="forbid")

    other_id: RowId


class MergeField(BaseModel):
    """A profile field: the survivor's value, the merged contact's, and the survivor's after the merge."""

    field: str
    survivor: Any = None
    merged: Any = None
    result: Any = None


class MergePreview(BaseModel):
    """What a merge would do: the contacts, the identities the survivor ends with, what moves, the fields."""

    survivor_id: int
    merged_id: int
    identities: list[IdentityPublic]
    counts: dict[str, int]  # identities, conversations, messages, orders, complaints, notes that move
    fields: list[MergeField]


class MergePublic(BaseModel):
    """A merge: who survived, who was merged, how many rows of each table moved, and whether it was undone."""

    id: int
    survivor_id: int
    merged_id: int
    source: Literal["staff", "api", "chat"]
    moved: dict[str, int]
    created_at: UtcDatetime
    undone_at: UtcDatetime | None


class ContactUpdate(PatchModel):
    """Fields a PATCH may change; anything else is refused."""

    NULLABLE = frozenset({"language", "phone", "email", "birthday", "address"})

    display_name: str | None = Field(default=None, max_length=200)
    tags: list[Annotated[str, Field(min_length=1, max_length=50)]] | None = Field(default=None, max_length=100)
    language: str | None = Field(default=None, max_length=16)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    birthday: date | None = None
    address: str | None = Field(default=None, max_length=500)
    marketing_consent: bool | None = None
    attributes: dict[str, Annotated[str, Field(max_length=500)]] | None = Field(default=None, max_length=100)


class Erasure(BaseModel):
    """The answer to an erasure: done (`already_erased` when it had been done before)."""

    id: int
    status: Literal["erased"]
    erased_at: UtcDatetime
    already_erased: bool = False


class MessagePublic(BaseModel):
    id: int
    conversation_id: int
    channel: str
    direction: Literal["in", "out"]
    sender: str
    type: str
    text: str | None
    intent: str | None
    status: str
    error: str | None = None
    hidden: bool = False
    payload: dict[str, Any] = {}
    created_at: UtcDatetime


class MessageList(BaseModel):
    items: list[MessagePublic]


class ConversationPublic(BaseModel):
    id: int
    contact_id: int | None
    channel: str
    kind: str
    status: Literal["open", "pending", "snoozed", "resolved"]
    assignee: int | None
    labels: list[str]
    bot_active: bool
    last_message_at: UtcDatetime | None


class ConversationList(BaseModel):
    items: list[ConversationPublic]


class EpisodePublic(BaseModel):
    opened_at: UtcDatetime
    first_response_at: UtcDatetime | None
    resolved_at: UtcDatetime | None


class ConversationDetail(ConversationPublic):
    episodes: list[EpisodePublic]  # oldest first; the open one last, with resolved_at null


class OrderLinePublic(BaseModel):
    product: str
    variant: str | None = None
    addons: list[str] = Field(default=[], description="the add-ons chosen (their names)")
    quantity: int
    price: int = Field(description="one unit, the variant's and the add-ons' prices included")
    note: str | None = None


class OrderEventPublic(BaseModel):
    status: str
    by: str
    note: str | None
    at: UtcDatetime


class OrderPublic(BaseModel):
    id: int
    number: str
    contact_id: int
    status: Literal["new", "confirmed", "preparing", "shipped", "delivered", "cancelled"]
    fulfilment: Literal["delivery", "pickup"]
    store_id: int | None = Field(description="the store that prepares the order (pickup: where it is collected)")
    address: str | None
    lat: float | None = Field(default=None, description="a delivery location the customer shared")
    lon: float | None = None
    phone: str | None = Field(description="E.164, e.g. +6281234567890")
    payment_method: str | None = Field(description="a code of GET /settings payment_methods")
    scheduled_for: UtcDatetime | None = Field(description="a pre-order's time; null = as soon as possible")
    note: str | None
    items: list[OrderLinePublic]
    subtotal: int
    discount: int = Field(default=0, description="what a voucher took off the goods (a loyalty reward's value)")
    delivery_fee: int
    total: int = Field(description="subtotal - discount + delivery_fee")
    created_at: UtcDatetime
    history: list[OrderEventPublic] = []


class ComplaintPublic(BaseModel):
    id: int
    number: str
    contact_id: int
    status: Literal["open", "in_progress", "resolved", "closed"]
    severity: Literal["low", "medium", "high", "critical"]
    category: str
    order_id: int | None
    text: str
    sla_due_at: UtcDatetime
    sla_breached: bool
    created_at: UtcDatetime
    resolved_at: UtcDatetime | None


class Error(BaseModel):
    error: str
    details: list[dict[str, Any]] | None = None


# --- the API shapes of rows (the API and outbound webhooks show the same) --------------------

PRIVATE_PAYLOAD_KEYS = frozenset({"reply_token", "reply_uncertain"})  # our bookkeeping on a message, never shown


def identity_public(identity: Any) -> IdentityPublic:
    """The API shape of a channel identity (a ChannelIdentity row)."""
    return IdentityPublic(channel=identity.channel, external_id=identity.external_id,
                          display_name=identity.display_name, blocked=identity.blocked)


def contact_public(contact: Contact, identities: list[Any]) -> ContactPublic:
    """The API shape of a contact (`identities`: its ChannelIdentity rows)."""
    return ContactPublic(
        id=contact.id, display_name=contact.display_name, tags=list(contact.tags or []), status=contact.status,
        identities=[identity_public(i) for i in identities],
        language=contact.language, phone=contact.phone, email=contact.email, birthday=contact.birthday,
        address=contact.address, marketing_consent=contact.marketing_consent, attributes=dict(contact.attributes or {}),
        created_at=contact.created_at, last_seen_at=contact.last_seen_at, erased_at=contact.erased_at,
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


def conversation_public(conversation: Conversation) -> ConversationPublic:
    """The API shape of a conversation."""
    return ConversationPublic(
        id=conversation.id, contact_id=conversation.contact_id, channel=conversation.channel, kind=conversation.kind,
        status=conversation.status, assignee=conversation.assignee_id, labels=list(conversation.labels or []),
        bot_active=conversation.bot_active, last_message_at=conversation.last_message_at)
