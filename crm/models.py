"""SQLModel tables: the contact history and the raw events it is built from.

Every table works on SQLite and PostgreSQL; platform ids are strings (LINE ids are
strings, Telegram ids exceed 32 bits), so nothing overflows. Timestamps are aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, func, literal
from sqlmodel import Field, SQLModel

from core.db import utcnow

CHANNELS = ("line", "telegram", "simulator")


def _json(default: Any = None) -> Any:
    factory = (lambda: list(default)) if isinstance(default, list) else (lambda: dict(default or {}))
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))


# --- contacts -------------------------------------------------------------------------


class ContactBase(SQLModel):
    display_name: str = Field(default="", max_length=200)
    language: str | None = Field(default=None, max_length=16)
    phone: str | None = Field(default=None, max_length=40, index=True)  # an imported member is found by it
    email: str | None = Field(default=None, max_length=200)
    birthday: date | None = None
    address: str | None = Field(default=None, max_length=500)


class Contact(ContactBase, table=True):
    """A customer: one person, with one identity per channel."""

    id: int | None = Field(default=None, primary_key=True)
    tags: list[str] = _json([])
    attributes: dict[str, Any] = _json({})
    status: str = Field(default="active", max_length=16, index=True)  # active | blocked
    marketing_consent: bool = True
    last_lat: float | None = None
    last_lon: float | None = None
    last_location_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow, index=True)
    last_seen_at: datetime | None = Field(default=None, index=True)
    erased_at: datetime | None = None  # the person's data was erased on request (crm/data_rights.py)
    # Set when this contact was merged into another (crm/merge.py): a tombstone kept for undo.
    merged_into: int | None = Field(default=None, foreign_key="contact.id", index=True)


def bare_phone(column):
    """SQL: a phone column without the spaces, dashes, dots and brackets people type in it."""
    # Written into the SQL, not bound as parameters: the expression must read as the index's own
    # (ix_contact_phone_bare), which SQLite matches only against the same literal text.
    for character in (" ", "-", ".", "(", ")"):
        column = func.replace(column, literal(character, literal_execute=True), literal("", literal_execute=True))
    return column


# A phone number typed at the counter (any form: +62812…, 0812 …) is an index lookup, not a scan of every contact.
Index("ix_contact_phone_bare", bare_phone(Contact.__table__.c.phone))


class ChannelIdentity(SQLModel, table=True):
    """A contact's account on one channel (LINE user id, Telegram user id)."""

    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_identity_channel_external"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=200)
    username: str | None = Field(default=None, max_length=100)
    picture_url: str | None = Field(default=None, max_length=500)
    language: str | None = Field(default=None, max_length=16)
    blocked: bool = False
    blocked_at: datetime | None = None
    profile_fetched_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ContactMerge(SQLModel, table=True):
    """Contact `merged_id` merged into `survivor_id`: which rows moved and which fields changed, so it can be undone."""

    id: int | None = Field(default=None, primary_key=True)
    survivor_id: int = Field(foreign_key="contact.id", index=True)
    merged_id: int = Field(foreign_key="contact.id", index=True)
    source: str = Field(default="staff", max_length=10)  # staff | api | chat
    staff_user_id: int | None = Field(default=None, foreign_key="staffuser.id")
    # {"table.column": [row key, ...]}: the rows moved from the merged contact to the survivor.
    moved: dict[str, Any] = _json({})
    # {"field": [survivor's value before, value after]}: the survivor's fields the merge filled in.
    changed: dict[str, Any] = _json({})
    created_at: datetime = Field(default_factory=utcnow)
    undone_at: datetime | None = None
    undone_by_id: int | None = Field(default=None, foreign_key="staffuser.id")


class PhoneClaim(SQLModel, table=True):
    """A chat contact was asked whether an imported member's phone number is theirs (crm/phone_claims.py): the
    answer merges them (yes) or keeps the bot from asking about that number again (no)."""

    __table_args__ = (UniqueConstraint("contact_id", "phone", name="uq_phoneclaim_contact_phone"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)  # the chat contact that was asked
    member_id: int = Field(foreign_key="contact.id")  # the imported contact with that phone
    phone: str = Field(max_length=40)  # E.164
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")  # where it was asked
    status: str = Field(default="asked", max_length=10)  # asked | yes | no | taken (the member got a chat meanwhile)
    merge_id: int | None = Field(default=None, foreign_key="contactmerge.id")  # yes: the merge (undoable by staff)
    asked_at: datetime = Field(default_factory=utcnow)
    answered_at: datetime | None = None


class AccountLinkCode(SQLModel, table=True):
    """A one-time code a customer asked for in chat; sent from another account, it merges that account's contact
    into theirs (hash only)."""

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")  # where it was asked for
    code_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


# --- conversations and messages -------------------------------------------------------


class Conversation(SQLModel, table=True):
    """One chat on one channel: a customer's 1:1 chat, or a group/room with members."""

    __table_args__ = (UniqueConstraint("channel", "external_chat_id", name="uq_conversation_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_chat_id: str = Field(max_length=64)
    kind: str = Field(default="direct", max_length=8)  # direct | group | room
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    title: str | None = Field(default=None, max_length=200)
    status: str = Field(default="open", max_length=16, index=True)  # open|pending|snoozed|resolved
    assignee_id: int | None = Field(default=None, foreign_key="staffuser.id")
    labels: list[str] = _json([])
    bot_active: bool = True
    handoff_until: datetime | None = None
    bot_member: bool = True  # the bot is still in the group (False after leave)
    state: dict[str, Any] = _json({})  # conversation state, e.g. an order in progress
    state_updated_at: datetime | None = None
    last_message_at: datetime | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # Inbox bookkeeping (kept by crm.history and crm.inbox.data):
    unread_count: int = 0  # customer messages since staff last opened the conversation
    waiting_since: datetime | None = Field(default=None, index=True)  # oldest unanswered customer message
    last_intent: str | None = Field(default=None, max_length=40, index=True)
    snoozed_until: datetime | None = Field(default=None, index=True)  # every list page asks whether a snooze ran out
    # The current episode's times, cached here for the inbox (crm.episodes keeps both; figures read the episodes):
    opened_at: datetime | None = None  # start of the current open period (response times count from it)
    first_response_at: datetime | None = None  # first staff reply of the current open period
    resolved_at: datetime | None = None
    handoff_at: datetime | None = None  # last time the bot handed over to staff
    updated_at: datetime | None = Field(default_factory=utcnow, index=True)  # live-update cursor


class ConversationEpisode(SQLModel, table=True):
    """One open period of a conversation, from the message that (re)opened it to its resolution.

    Reopening a resolved chat starts a new episode; the earlier ones keep their figures.
    """

    __table_args__ = (Index("ix_episode_conversation_opened", "conversation_id", "opened_at"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    opened_at: datetime
    first_response_at: datetime | None = Field(default=None, index=True)  # the first staff reply (bots don't count)
    responder_id: int | None = Field(default=None, foreign_key="staffuser.id")  # who sent it
    resolved_at: datetime | None = Field(default=None, index=True)
    resolver_id: int | None = Field(default=None, foreign_key="staffuser.id")  # who resolved it


class ConversationMember(SQLModel, table=True):
    """A contact's membership of a group or room conversation."""

    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", primary_key=True)
    joined_at: datetime = Field(default_factory=utcnow)
    left_at: datetime | None = None


class Message(SQLModel, table=True):
    """One message in the contact history, inbound or outbound, with its delivery status.

    Outbound messages are rows before they are sent (status queued → sending → sent |
    failed | unknown); the messages answering one event share a `batch_id`, so a retried
    task finds them instead of creating them again.
    """

    __table_args__ = (
        UniqueConstraint("batch_id", "seq", name="uq_message_batch_seq"),
        Index("ix_message_conversation_created", "conversation_id", "created_at"),
        Index("ix_message_created", "created_at"),  # dashboard: messages per day
        Index("ix_message_platform", "channel", "platform_message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id")
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    channel: str = Field(max_length=16)
    direction: str = Field(max_length=3)  # in | out
    sender: str = Field(default="customer", max_length=10)  # customer | bot | staff | system
    staff_user_id: int | None = Field(default=None, foreign_key="staffuser.id")
    type: str = Field(max_length=16)  # text, image, video, audio, file, location, sticker, ...
    text: str | None = Field(default=None, sa_column=Column(Text))
    payload: dict[str, Any] = _json({})
    intent: str | None = Field(default=None, max_length=40, index=True)
    confidence: float | None = None
    status: str = Field(default="received", max_length=10, index=True)
    error: str | None = Field(default=None, sa_column=Column(Text))
    attempts: int = 0
    hidden: bool = False  # unsent by the customer
    edited_at: datetime | None = None
    platform_message_id: str | None = Field(default=None, max_length=64)
    event_id: int | None = Field(default=None, foreign_key="webhookevent.id", unique=True)
    batch_id: str | None = Field(default=None, max_length=64)
    seq: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None


class WebhookEvent(SQLModel, table=True):
    """One raw platform event exactly as received, deduplicated on the platform's id."""

    __table_args__ = (
        UniqueConstraint("channel", "event_key", name="uq_event_channel_key"),
        Index("ix_event_status_received", "status", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    event_key: str = Field(max_length=128)  # LINE webhookEventId, Telegram update_id
    event_type: str = Field(default="", max_length=40)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # the raw event JSON
    status: str = Field(default="received", max_length=12)  # received|processing|retrying|processed|ignored|failed
    attempts: int = 0
    claimed_at: datetime | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    received_at: datetime = Field(default_factory=utcnow)
    processed_at: datetime | None = None


# --- staff and API access -------------------------------------------------------------

ROLES = ("admin", "agent", "marketer")


class StaffUser(SQLModel, table=True):
    """A person who works in the inbox."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    display_name: str = Field(default="", max_length=200)
    password_hash: str = Field(max_length=200)
    role: str = Field(default="agent", max_length=10)
    language: str = Field(default="id", max_length=4)
    active: bool = True
    notes_access: bool = False  # marketers see private notes only when an admin grants it
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    # Copied into each session cookie at login; bumped on logout, password, role or active
    # changes, which ends every session holding an older value.
    session_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The alert kinds sent to their linked chats, comma-separated ("" none); None: their role's
    # default (crm/phone_alerts.py), so a default changed later reaches those who never chose.
    phone_alert_kinds: str | None = Field(default=None, max_length=200)
    # When alerts reach their phone: weekly windows in the shop's timezone (None: any time), and
    # a daily digest time "HH:MM" (None: at once). Outside them alerts wait (crm/phone_alerts.py).
    phone_hours: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    phone_digest_at: str | None = Field(default=None, max_length=5)
    # Alerts also by email to their login address, under the same kinds, hours and digest
    # (crm/alert_emails.py; only while the shop has a mail server set).
    email_alerts: bool = False
    # A password reset link an admin made (crm/staff.py): its token's SHA-256, until used or expired.
    reset_token_hash: str | None = Field(default=None, max_length=64)
    reset_expires_at: datetime | None = None


class StaffChatLink(SQLModel, table=True):
    """A chat account proven to be a staff member's own: they sent the bot a one-time code from it.

    Campaign test-sends go to these accounts and nowhere else; the account is a contact like
    any customer, so what it is sent lands in its history.
    """

    __table_args__ = (UniqueConstraint("staff_user_id", "channel", name="uq_staffchatlink_staff_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_user_id: int = Field(foreign_key="staffuser.id")
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)  # the 1:1 chat's id on the channel
    contact_id: int = Field(foreign_key="contact.id")
    linked_at: datetime = Field(default_factory=utcnow)


class StaffLinkCode(SQLModel, table=True):
    """A one-time code that links the chat account it is sent from to a staff member (hash only)."""

    id: int | None = Field(default=None, primary_key=True)
    staff_user_id: int = Field(foreign_key="staffuser.id", index=True)
    code_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    expires_at: datetime
    used_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    """A REST API bearer token; only its SHA-256 hash is stored."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    role: str | None = Field(default=None, max_length=16)  # None: full access; else what that staff role does
    revoked: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class RateLimitCounter(SQLModel, table=True):
    """A counter of the `limits` library kept in the database (login attempts of every process)."""

    key: str = Field(primary_key=True, max_length=255)
    count: int = 0
    expires_at: float = Field(index=True)  # Unix time: the counter starts again from 0 after it



# --- staff inbox ----------------------------------------------------------------------


class Note(SQLModel, table=True):
    """A private note about a contact (optionally in a conversation); never sent to the customer."""

    __table_args__ = (Index("ix_note_contact_created", "contact_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id", index=True)
    staff_user_id: int = Field(foreign_key="staffuser.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class CannedResponse(SQLModel, table=True):
    """A saved reply; `{name}`, `{first_name}`, `{agent}` and `{shop}` are filled in when sent."""

    id: int | None = Field(default=None, primary_key=True)
    shortcut: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    title: str = Field(max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    text_en: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # for English-speaking customers
    quick_replies: list[str] = _json([])
    position: int = Field(default=0, sa_column_kwargs={"server_default": "0"})  # the order staff see them in
    created_at: datetime = Field(default_factory=utcnow)

    def text_for(self, language: str | None) -> str:
        """The text in `language` (Indonesian when there is no English one)."""
        return self.text_en if (language or "").lower().startswith("en") and self.text_en else self.text


class AuditLog(SQLModel, table=True):
    """Who changed what, when: one row per staff write."""

    __table_args__ = (Index("ix_audit_target", "target_type", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_user_id: int | None = Field(default=None, foreign_key="staffuser.id", index=True)
    action: str = Field(max_length=40)
    target_type: str = Field(default="", max_length=20)
    target_id: int | None = None
    details: dict[str, Any] = _json({})
    ip: str | None = Field(default=None, max_length=64)
    at: datetime = Field(default_factory=utcnow, index=True)


class FollowUpTask(SQLModel, table=True):
    """Something staff must do for a contact by a date (by hand, or e.g. a month after a delivery)."""

    __table_args__ = (Index("ix_task_open_due", "done_at", "due_on"),
                      UniqueConstraint("source", "order_id", name="uq_task_source_order"))

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id", index=True)
    assignee_id: int | None = Field(default=None, foreign_key="staffuser.id")
    title: str = Field(max_length=300)
    due_on: date
    source: str = Field(default="manual", max_length=20)  # manual | order_delivered
    order_id: int | None = Field(default=None, foreign_key="order.id")
    created_by_id: int | None = Field(default=None, foreign_key="staffuser.id")
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


class StaffPresence(SQLModel, table=True):
    """Which staff member is viewing or typing in which conversation (refreshed every few seconds)."""

    staff_user_id: int = Field(foreign_key="staffuser.id", primary_key=True)
    conversation_id: int = Field(foreign_key="conversation.id", primary_key=True)
    state: str = Field(default="viewing", max_length=10)  # viewing | typing
    at: datetime = Field(default_factory=utcnow, index=True)


class ConsentChange(SQLModel, table=True):
    """One change of a contact's marketing consent: what, from where, by whom, when (append-only)."""

    __table_args__ = (Index("ix_consentchange_contact_at", "contact_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    opt_in: bool
    source: str = Field(max_length=10)  # chat | staff | import | api | erasure
    channel: str | None = Field(default=None, max_length=16)  # the channel it applies to; None: every channel
    staff_user_id: int | None = Field(default=None, foreign_key="staffuser.id")
    actor: str = Field(default="", max_length=100)  # "customer", the API token's name, "import <id>"
    at: datetime = Field(default_factory=utcnow)


# --- contact import -------------------------------------------------------------------


class ContactImport(SQLModel, table=True):
    """One import of a contacts file with one column mapping: resumable and idempotent.

    `key` is the SHA-256 of the file's bytes and the mapping, so importing the same file again
    finds this row: a rerun continues after `rows_done` (the data rows already committed), or,
    once `done`, plans every row again against the contacts (they all come out unchanged).
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    file_name: str = Field(default="", max_length=300)
    status: str = Field(default="running", max_length=10)  # running | done
    rows_done: int = 0
    created: int = 0
    merged: int = 0
    unchanged: int = 0
    rejected: int = 0
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class ContactImportRow(SQLModel, table=True):
    """A contact an import created from a row with no phone, email or chat id: a rerun of the file finds it here."""

    import_id: int = Field(foreign_key="contactimport.id", primary_key=True)
    row: int = Field(primary_key=True)  # the row's line in the file (the header is line 1)
    contact_id: int = Field(foreign_key="contact.id", index=True)
