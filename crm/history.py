"""The contact history: every inbound event and outbound message, in one place."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable
from urllib.parse import parse_qs

from sqlmodel import Session, select

from core import messages as m
from core.texts import MENU_INTENTS, menu_label
from crm import contacts, episodes
from core.db import as_utc, utcnow
from crm.models import ChannelIdentity, Contact, Conversation, Message

LAST_SEEN_RESOLUTION = timedelta(minutes=1)  # how fresh `Contact.last_seen_at` is kept
PRIVATE_PAYLOAD_KEYS = frozenset({"reply_token", "reply_uncertain"})  # our bookkeeping on a message, never shown
RECENT_BUTTON_MESSAGES = 30  # bot messages searched for the button a postback came from
SHORTENED_DATA_MIN = 32  # received data this long may be a platform's shortened copy of ours

# Inbound kinds that are stored as a history entry of their own type.
EVENT_TYPES = {
    m.FOLLOW: "follow", m.UNFOLLOW: "unfollow", m.JOIN: "join", m.LEAVE: "leave",
    m.MEMBER_JOINED: "member_joined", m.MEMBER_LEFT: "member_left", m.POSTBACK: "postback",
}


@dataclass
class Recorded:
    """What recording an inbound event produced (or found, when it was recorded before)."""

    conversation: Conversation
    contact: Contact | None
    identity: ChannelIdentity | None
    message: Message | None
    is_new_contact: bool = False
    already_recorded: bool = False


def find_message(*, session: Session, channel: str, platform_message_id: str, conversation_id: int | None = None) -> Message | None:
    """An inbound message by its platform id."""
    query = select(Message).where(Message.channel == channel, Message.platform_message_id == platform_message_id,
                                  Message.direction == "in")
    if conversation_id is not None:
        query = query.where(Message.conversation_id == conversation_id)
    return session.exec(query.order_by(Message.id)).first()


def _identity_for(session: Session, inbound: m.Inbound, external_id: str | None) -> tuple[ChannelIdentity | None, bool]:
    if not external_id:
        return None, False
    is_actor = external_id == inbound.user_id
    return contacts.get_or_create_identity(
        session=session, channel=inbound.channel, external_id=external_id,
        display_name=inbound.display_name if is_actor else None,
        username=inbound.username if is_actor else None,
        language=inbound.language if is_actor else None,
    )


def record_inbound(*, session: Session, inbound: m.Inbound, first_attempt: bool = False, flush: bool = True) -> Recorded:
    """Store an inbound event in the history and apply its effects (blocks, members, edits).

    Idempotent per event: a second call for the same `event_id` returns what the first stored
    (`first_attempt=True` skips that look-up when the event has certainly not been recorded).
    `flush=False` leaves the changes pending in the session (the new message has no id yet).
    """
    identity, is_new = _identity_for(session, inbound, inbound.user_id)
    contact = session.get(Contact, identity.contact_id) if identity else None
    conversation = contacts.get_or_create_conversation(
        session=session, channel=inbound.channel, chat_id=inbound.chat_id, kind=inbound.chat_type,
        contact_id=contact.id if contact else None,
    )
    if inbound.event_id is not None and not first_attempt:
        existing = session.exec(select(Message).where(Message.event_id == inbound.event_id)).first()
        if existing is not None:
            return Recorded(conversation, contact, identity, existing, already_recorded=True)

    now = utcnow()
    if contact is not None and inbound.kind != m.UNFOLLOW:
        if contact.last_seen_at is None or now - contact.last_seen_at > LAST_SEEN_RESOLUTION:
            contact.last_seen_at = now  # not on every message of a burst: one UPDATE less each
        if identity.display_name != (inbound.display_name or identity.display_name):
            identity.display_name = inbound.display_name
        session.add(contact)
    if contact is not None and not inbound.is_direct:
        contacts.add_member(session=session, conversation_id=conversation.id, contact_id=contact.id)

    message = _apply(session, inbound, conversation, contact, identity)
    if message is not None:
        message.event_id = inbound.event_id
        session.add(message)
        conversation.last_message_at = conversation.updated_at = now
        if inbound.kind in (m.MESSAGE, m.POSTBACK):
            _customer_wrote(session, conversation, now)
        session.add(conversation)
    if flush:
        session.flush()
    return Recorded(conversation, contact, identity, message, is_new_contact=is_new)


def _customer_wrote(session: Session, conversation: Conversation, now) -> None:
    """Inbox bookkeeping for a customer message: unread, waiting, reopening a resolved or snoozed chat."""
    if episodes.needs_new_episode(conversation):  # the earlier episode keeps its response and resolution times
        episodes.open_episode(session=session, conversation=conversation, now=now)
    if conversation.status in ("resolved", "snoozed"):
        conversation.status, conversation.snoozed_until = "open", None
    conversation.unread_count = (conversation.unread_count or 0) + 1
    conversation.waiting_since = conversation.waiting_since or now


def _new_message(inbound: m.Inbound, conversation: Conversation, contact: Contact | None,
                 type_: str, text: str | None = None, payload: dict[str, Any] | None = None) -> Message:
    return Message(
        conversation_id=conversation.id, contact_id=contact.id if contact else None, channel=inbound.channel,
        direction="in", sender="customer", type=type_,
        text=text.replace("\x00", "") if text else text,  # PostgreSQL text cannot hold NUL
        payload=payload or {},
        status="received", platform_message_id=inbound.message_id,
        created_at=utcnow(),
    )


def _apply(session: Session, inbound: m.Inbound, conversation: Conversation, contact: Contact | None,
           identity: ChannelIdentity | None) -> Message | None:
    data = dict(inbound.data)
    if inbound.kind == m.MESSAGE:
        if inbound.message_type == "location" and contact is not None and inbound.is_direct:
            contact.last_lat, contact.last_lon = data.get("lat"), data.get("lon")
            contact.last_location_at = utcnow()
        if inbound.message_type == "contact" and contact is not None and data.get("user_id") and \
                str(data["user_id"]) == inbound.user_id:
            contact.phone = data.get("phone")  # the customer shared their own number
        return _new_message(inbound, conversation, contact, inbound.message_type or "unknown", inbound.text, data)
    if inbound.kind == m.EDITED:
        original = find_message(session=session, channel=inbound.channel, platform_message_id=inbound.message_id or "",
                                conversation_id=conversation.id)
        if original is None:
            return _new_message(inbound, conversation, contact, inbound.message_type or "text", inbound.text,
                                {**data, "edited": True})
        edits = list(original.payload.get("edits", [])) + [{"text": original.text, "at": utcnow().isoformat()}]
        original.payload = {**original.payload, "edits": edits}
        original.text, original.edited_at = inbound.text, utcnow()
        session.add(original)
        return _new_message(inbound, conversation, contact, "edit", inbound.text,
                            {"message_id": original.id, "platform_message_id": inbound.message_id})
    if inbound.kind == m.UNSEND:
        original = find_message(session=session, channel=inbound.channel, platform_message_id=inbound.message_id or "")
        if original is not None:
            original.hidden = True
            session.add(original)
        return _new_message(inbound, conversation, contact, "unsend", None, {"platform_message_id": inbound.message_id})
    if inbound.kind in (m.FOLLOW, m.UNFOLLOW) and identity is not None:
        contacts.set_blocked(session=session, identity=identity, blocked=inbound.kind == m.UNFOLLOW)
    if inbound.kind in (m.JOIN, m.LEAVE):
        conversation.bot_member = inbound.kind == m.JOIN
    if inbound.kind in (m.MEMBER_JOINED, m.MEMBER_LEFT):
        for external_id in data.get("members", []):
            member_identity, _ = _identity_for(session, inbound, external_id)
            change = contacts.add_member if inbound.kind == m.MEMBER_JOINED else contacts.remove_member
            change(session=session, conversation_id=conversation.id, contact_id=member_identity.contact_id)
    if inbound.kind == m.POSTBACK:
        # Staff read the button's words; the data ("order:add:3") stays in the payload for code.
        data = {**data, "postback_data": inbound.postback_data}
        label = postback_label(session=session, inbound=inbound, conversation=conversation,
                               language=(contact.language if contact else None) or inbound.language)
        return _new_message(inbound, conversation, contact, "postback", label, data)
    if inbound.kind in EVENT_TYPES:
        return _new_message(inbound, conversation, contact, EVENT_TYPES[inbound.kind], None, data)
    return None


def postback_label(*, session: Session, inbound: m.Inbound, conversation: Conversation,
                   language: str | None = None) -> str | None:
    """The words on the button a postback came from, or None when they cannot be known.

    The simulator and Telegram send the label along; LINE sends only the button's data, so
    the label is found on the chat's recent outbound messages (a card's button names its
    card: "Pesan 1 · Kopi Susu"), or is the main menu's (a LINE rich menu sends `intent=…`).
    """
    given = str(inbound.data.get("label") or "").strip()
    if given or not inbound.postback_data:
        return given or None
    found = _label_on_recent_messages(session, conversation, inbound.postback_data) if conversation.id else None
    intent = parse_qs(inbound.postback_data).get("intent", [None])[0]
    if found is None and intent in MENU_INTENTS:
        found = menu_label(intent, "en" if (language or "").lower().startswith("en") else "id")
    return found


def _label_on_recent_messages(session: Session, conversation: Conversation, data: str) -> str | None:
    payloads = session.exec(select(Message.payload).where(
        Message.conversation_id == conversation.id, Message.direction == "out")
        .order_by(Message.id.desc()).limit(RECENT_BUTTON_MESSAGES)).all()
    for payload in payloads:
        reply = (payload or {}).get("reply") or {}
        for choice in reply.get("choices") or ():
            if _same_button(choice.get("data"), data):
                return choice.get("label") or None
        for card in reply.get("cards") or ():
            for choice in card.get("buttons") or ():
                if _same_button(choice.get("data"), data):
                    return " · ".join(part for part in (choice.get("label"), card.get("title")) if part) or None
    return None


def tapped_label(message: Message) -> str | None:
    """The button words of a stored postback (None when unknown; older rows kept only the raw data)."""
    payload = message.payload or {}
    return message.text if "postback_data" in payload else payload.get("label")


def _same_button(sent: str | None, received: str) -> bool:
    # A platform may shorten long data (Telegram keeps 64 bytes): a long prefix is the same button.
    return bool(sent) and (sent == received or (len(received) >= SHORTENED_DATA_MIN and sent.startswith(received)))


# Replies that answer something the shop asked (the satisfaction survey), not what the chat is about.
NOT_A_TOPIC = frozenset({"csat"})


def record_outbound(*, session: Session, conversation: Conversation, replies: list[m.Reply], batch_id: str,
                    sender: str = "bot", staff_user_id: int | None = None, intent: str | None = None,
                    meta: dict[str, Any] | None = None, sending: bool = False) -> list[Message]:
    """Store replies as queued outbound messages of one batch (before anything is sent).

    `sending=True` stores them as `sending` (first attempt) instead, for a caller that sends
    them as soon as this transaction commits.
    """
    rows = []
    for seq, reply in enumerate(replies):
        payload = {"reply": reply.to_payload(), **(meta or {})}
        row = Message(
            conversation_id=conversation.id, contact_id=conversation.contact_id, channel=conversation.channel,
            direction="out", sender=sender, staff_user_id=staff_user_id, type=reply.type, text=reply.text,
            payload=payload, intent=intent, status="sending" if sending else "queued", attempts=int(sending),
            batch_id=batch_id, seq=seq,
        )
        session.add(row)
        rows.append(row)
    now = utcnow()
    conversation.last_message_at = conversation.updated_at = now
    if intent and intent not in NOT_A_TOPIC:
        conversation.last_intent = intent
    # The customer stops waiting when staff answer, or the bot does while it still handles the chat
    # and nobody asked for staff (a handoff off duty stays waiting for staff while the bot helps).
    if sender == "staff" or (sender == "bot" and conversation.bot_active and not staff_asked_for(conversation)):
        conversation.waiting_since = None
    if sender == "staff":
        episodes.staff_replied(session=session, conversation=conversation, staff_user_id=staff_user_id, now=now)
    session.add(conversation)
    session.flush()
    return rows


def staff_asked_for(conversation: Conversation) -> bool:
    """True when the bot handed the chat to staff in this open period and no staff member has answered since."""
    handoff = conversation.handoff_at
    return handoff is not None and (conversation.opened_at is None or handoff >= conversation.opened_at) and (
        conversation.first_response_at is None or conversation.first_response_at < handoff)


def notify_customer(*, session: Session, contact_id: int, conversation_id: int | None, words: Callable[[str], str],
                    batch_id: str, intent: str | None = None) -> str | None:
    """Queue a system message to a customer, in their language; the batch id, or None without a chat.

    It goes to `conversation_id` when given, else to the customer's most recent chat.
    `words(language)` gives the text in "id" or "en".
    """
    conversation = session.get(Conversation, conversation_id) if conversation_id else \
        session.exec(select(Conversation).where(Conversation.contact_id == contact_id)
                     .order_by(Conversation.last_message_at.desc().nulls_last())).first()
    if conversation is None:
        return None
    contact = session.get(Contact, contact_id)
    # The language the customer last wrote in (kept by the conversation), else their profile's.
    language = (conversation.state or {}).get("lang") or contact.language or ""
    language = "en" if language.startswith("en") else "id"
    record_outbound(session=session, conversation=conversation, replies=[m.Reply(text=words(language))],
                    batch_id=batch_id, sender="system", intent=intent)
    return batch_id


def batch_messages(*, session: Session, batch_id: str) -> list[Message]:
    """The outbound messages of one batch, in order."""
    return list(session.exec(select(Message).where(Message.batch_id == batch_id).order_by(Message.seq)).all())


def contact_messages(*, session: Session, contact_id: int, limit: int = 500, before_id: int | None = None) -> list[Message]:
    """A contact's whole history across channels (their chats and their group messages), oldest first."""
    direct = select(Conversation.id).where(Conversation.contact_id == contact_id)
    query = select(Message).where((Message.contact_id == contact_id) | Message.conversation_id.in_(direct))
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = session.exec(query.order_by(Message.id.desc()).limit(limit)).all()
    return list(reversed(rows))


def live_state(conversation: Conversation, idle: timedelta, now: datetime, keep: tuple[str, ...] = ()) -> dict:
    """The chat's state as the bot left it (a copy to change), or only its `keep` keys once idle longer than `idle`."""
    state = copy.deepcopy(conversation.state or {})
    updated = conversation.state_updated_at
    if state and updated is not None and now - as_utc(updated) > idle:
        return {key: state[key] for key in keep if key in state}
    return state
