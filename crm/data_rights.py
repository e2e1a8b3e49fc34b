"""The customer's data rights (UU PDP, 2022): everything held about one contact as a zip, and erasure.

Export: `contact.json` holds the profile with its identities, custom fields, tags, consent log,
satisfaction scores, orders (with items and status history), complaints, the points and stamps ledgers,
conversations and messages; beside it one CSV per list, written with the formula-safe `SafeWriter`.

Erasure anonymises the person and keeps the books: the contact row stays (its id, dates and
order totals still count in the figures) with its personal fields emptied and `erased_at` set.
Message texts, complaint texts, survey comments, notes and task titles are replaced; order
addresses, phones, notes and locations cleared; the raw platform events behind the contact's
messages emptied; the media files of the contact (photos the customer sent, images staff sent
them) deleted once the transaction commits. The channel identities are deleted and the direct
chats renamed, so the same LINE or Telegram account writing again is a stranger: a new contact
with a new chat, never the erased history coming back.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, SQLModel, select

from core.db import utcnow
from crm import consent_log, episodes, loyalty, member_codes
from crm.complaints import Complaint
from crm.csat import CsatSurvey
from crm.csv_export import SafeWriter
from crm.schemas import PRIVATE_PAYLOAD_KEYS
from crm.media import NAME as MEDIA_NAME
from crm.models import (
    AuditLog, ChannelIdentity, Contact, ContactMerge, Conversation, FollowUpTask, Message, Note, PhoneClaim, StaffChatLink,
    WebhookEvent,
)
from crm.orders import Order, OrderEvent, OrderItem

ERASED_NAME = "Dihapus"
ERASED_TEXT = "[dihapus]"


# --- export --------------------------------------------------------------------------------


def _plain(row: SQLModel, drop: Iterable[str] = ()) -> dict[str, Any]:
    data = row.model_dump(mode="json")
    for name in drop:
        data.pop(name, None)
    return data


def contact_data(*, session: Session, contact: Contact) -> dict[str, Any]:
    """Everything held about `contact`, as JSON-able lists keyed by what they are."""
    contact_id = contact.id
    orders = session.exec(select(Order).where(Order.contact_id == contact_id).order_by(Order.id)).all()
    order_ids = [order.id for order in orders]
    items = session.exec(select(OrderItem).where(OrderItem.order_id.in_(order_ids)).order_by(OrderItem.id)).all() \
        if order_ids else []
    events = session.exec(select(OrderEvent).where(OrderEvent.order_id.in_(order_ids)).order_by(OrderEvent.id)).all() \
        if order_ids else []
    messages = session.exec(select(Message).where(Message.contact_id == contact_id).order_by(Message.id)).all()
    surveys = session.exec(select(CsatSurvey).where(CsatSurvey.contact_id == contact_id, CsatSurvey.score.is_not(None))
                           .order_by(CsatSurvey.id)).all()
    return {
        "profile": {**_plain(contact), "member_code": member_codes.code_of(session=session, contact_id=contact_id)},
        "identities": [_plain(row, ["id", "contact_id"]) for row in session.exec(
            select(ChannelIdentity).where(ChannelIdentity.contact_id == contact_id).order_by(ChannelIdentity.id))],
        "custom_fields": dict(contact.attributes or {}),
        "tags": list(contact.tags or []),
        "consents": [_plain(row, ["contact_id"]) for row in reversed(
            consent_log.history(session=session, contact_id=contact_id))],
        "csat": [{"score": s.score, "comment": s.comment, "order_id": s.order_id, "channel": s.channel,
                  "rated_at": _plain(s)["rated_at"]} for s in surveys],
        "orders": [_plain(order) for order in orders],
        "order_items": [_plain(item) for item in items],
        "order_history": [_plain(event) for event in events],
        "complaints": [_plain(row) for row in session.exec(
            select(Complaint).where(Complaint.contact_id == contact_id).order_by(Complaint.id))],
        "points": [_plain(row, ["contact_id"]) for row in reversed(
            loyalty.entries(session=session, contact_id=contact_id, limit=None))],
        "stamps": [_plain(row, ["contact_id"]) for row in reversed(
            loyalty.stamp_entries(session=session, contact_id=contact_id, limit=None))],
        "conversations": [_plain(row) for row in session.exec(
            select(Conversation).where(Conversation.contact_id == contact_id).order_by(Conversation.id))],
        "messages": [{**_plain(row, ["event_id", "batch_id", "seq", "attempts"]),
                      "payload": {k: v for k, v in (row.payload or {}).items() if k not in PRIVATE_PAYLOAD_KEYS}}
                     for row in messages],
    }


# What is written as a CSV file too (the profile's one row holds the custom fields and tags).
CSV_FILES = ("profile", "identities", "consents", "csat", "orders", "order_items", "order_history", "complaints", "points",
             "stamps", "conversations", "messages")


def export_zip(*, session: Session, contact_id: int) -> bytes | None:
    """The zip of everything held about one contact (None when there is no such contact)."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        return None
    data = contact_data(session=session, contact=contact)
    document = {"exported_at": utcnow().isoformat(), "contact": {
        **data["profile"], "identities": data["identities"], "custom_fields": data["custom_fields"],
        "tags": data["tags"], "consents": data["consents"], "csat": data["csat"],
        "orders": [{**order, "items": [i for i in data["order_items"] if i["order_id"] == order["id"]],
                    "history": [e for e in data["order_history"] if e["order_id"] == order["id"]]}
                   for order in data["orders"]],
        "complaints": data["complaints"], "points": data["points"], "stamps": data["stamps"],
        "conversations": data["conversations"],
        "messages": data["messages"]}}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("contact.json", json.dumps(document, ensure_ascii=False, indent=2))
        for name in CSV_FILES:
            rows = data[name]
            archive.writestr(f"{name}.csv", _csv(rows if isinstance(rows, list) else [rows]))
    return buffer.getvalue()


def _csv(rows: list[dict[str, Any]]) -> str:
    header: list[str] = []
    for row in rows:
        header.extend(key for key in row if key not in header)
    text = io.StringIO()
    writer = SafeWriter(text)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key in header])
    return text.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False) if value else ""
    return "" if value is None else value


# --- erasure -------------------------------------------------------------------------------


@dataclass
class Erasure:
    """What an erasure did: the contact, whether it was erased already, the media files to delete after the commit."""

    contact_id: int
    erased_at: datetime
    already: bool
    media: list[str] = field(default_factory=list)


def erase_contact(*, session: Session, contact_id: int, staff_user_id: int | None = None, actor: str = "",
                  also: Iterable[Callable[..., None]] = ()) -> Erasure | None:
    """Anonymise a contact, keeping order totals (None when unknown; erasing again changes nothing).

    `also`: what the floors above keep about a contact, each called as `(session=, contact_id=)` in
    the same transaction (the app factory hands them over as `sapa.erasers`).
    """
    contact = session.get(Contact, contact_id, with_for_update=True)
    if contact is None:
        return None
    if contact.erased_at is not None:
        return Erasure(contact_id=contact_id, erased_at=contact.erased_at, already=True)
    direct = select(Conversation.id).where(Conversation.contact_id == contact_id, Conversation.kind == "direct")
    theirs = or_(Message.contact_id == contact_id, Message.conversation_id.in_(direct))
    media = _media_names(session.exec(select(Message.direction, Message.sender, Message.payload).where(theirs)).all())
    event_ids = select(Message.event_id).where(theirs, Message.event_id.is_not(None))
    session.execute(update(WebhookEvent).where(WebhookEvent.id.in_(event_ids)).values(payload="{}"))
    session.execute(update(Message).where(theirs, Message.text.is_not(None)).values(text=ERASED_TEXT))
    session.execute(update(Message).where(theirs).values(payload={}))
    for conversation in session.exec(select(Conversation).where(Conversation.id.in_(direct))).all():
        # The chat id is the customer's account: renamed, so their next message opens a new chat.
        conversation.external_chat_id, conversation.title = f"erased-{conversation.id}", None
        conversation.state, conversation.labels = {}, []
        if conversation.status != "resolved":  # nobody can answer an erased chat: off the inbox's open list
            episodes.resolve(session=session, conversation=conversation, staff_user_id=staff_user_id, now=utcnow())
            conversation.status, conversation.waiting_since, conversation.snoozed_until = "resolved", None, None
        session.add(conversation)
    session.execute(delete(ChannelIdentity).where(ChannelIdentity.contact_id == contact_id))
    session.execute(delete(StaffChatLink).where(StaffChatLink.contact_id == contact_id))
    # A phone number asked about (crm/phone_claims.py) is theirs too, asked or asked about.
    session.execute(delete(PhoneClaim).where(or_(PhoneClaim.contact_id == contact_id, PhoneClaim.member_id == contact_id)))
    order_ids = select(Order.id).where(Order.contact_id == contact_id)
    session.execute(update(Order).where(Order.contact_id == contact_id)
                    .values(address=None, phone=None, note=None, lat=None, lon=None))
    session.execute(update(OrderEvent).where(OrderEvent.order_id.in_(order_ids)).values(note=None))
    session.execute(update(Complaint).where(Complaint.contact_id == contact_id).values(text=ERASED_TEXT))
    session.execute(update(CsatSurvey).where(CsatSurvey.contact_id == contact_id).values(comment=None))
    session.execute(update(Note).where(Note.contact_id == contact_id).values(text=ERASED_TEXT))
    session.execute(update(FollowUpTask).where(FollowUpTask.contact_id == contact_id).values(title=ERASED_TEXT))
    for forget in also:
        forget(session=session, contact_id=contact_id)
    # The member code finds the person at the counter: it goes, with those of the contacts merged into them.
    member_codes.forget(session=session, contact_ids=[contact_id, *session.exec(
        select(Contact.id).where(Contact.merged_into == contact_id)).all()])
    if contact.marketing_consent:
        consent_log.record(session=session, contact_id=contact_id, opt_in=False, source="erasure",
                           staff_user_id=staff_user_id, actor=actor)
    now = utcnow()
    # Contacts merged into this one are the same person: their tombstones and the merge records' field values too.
    for tombstone in session.exec(select(Contact).where(Contact.merged_into == contact_id)).all():
        _anonymise(session, tombstone, now)
    session.execute(update(ContactMerge).where(or_(ContactMerge.survivor_id == contact_id,
                                                   ContactMerge.merged_id == contact_id)).values(changed={}))
    _anonymise(session, contact, now)
    session.add(AuditLog(staff_user_id=staff_user_id, action="contact.erase", target_type="contact",
                         target_id=contact_id, details={"by": actor} if actor else {}, at=now))
    session.flush()
    return Erasure(contact_id=contact_id, erased_at=now, already=False, media=media)


def _anonymise(session: Session, contact: Contact, now: datetime) -> None:
    for name in ("language", "phone", "email", "birthday", "address", "last_lat", "last_lon", "last_location_at"):
        setattr(contact, name, None)
    contact.display_name, contact.tags, contact.attributes = ERASED_NAME, [], {}
    contact.marketing_consent, contact.erased_at = False, contact.erased_at or now
    session.add(contact)


def _media_names(rows: Iterable[tuple[str, str, dict]]) -> list[str]:
    """Our media files among messages: photos the customer sent, images staff uploaded for them.

    Images the bot sends (the shop's payment QR) are shared by every customer and stay.
    """
    names = set()
    for direction, sender, payload in rows:
        payload = payload or {}
        if direction == "in":
            names.add(str(payload.get("media") or ""))
        elif sender == "staff":
            reply = payload.get("reply") or {}
            names.update(str(reply.get(key) or "").rsplit("/media/", 1)[-1] for key in ("image_url", "preview_url"))
    return sorted(name for name in names if MEDIA_NAME.match(name))


def delete_media(media_dir: str | Path, names: Iterable[str]) -> int:
    """Delete the named files from the media folder (after the erasure committed); how many were there."""
    folder, count = Path(media_dir), 0
    for name in names:
        if MEDIA_NAME.match(name):
            path = folder / name
            if path.is_file():
                path.unlink()
                count += 1
    return count
