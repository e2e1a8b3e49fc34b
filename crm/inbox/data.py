"""Inbox data functions: keyword-only, no Flask, each write recorded in the audit log.

Views call these inside one transaction (`session_scope`), so a refused change writes
nothing; `InboxError` carries the reason shown to the agent.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Integer, Text, extract, func, or_, update
from sqlmodel import Session, select

from core import messages as m
from crm import complaints as complaint_data
from crm import contacts as contact_data
from crm import history
from crm import orders as order_data
from core.db import utcnow
from crm.models import (
    AuditLog, CannedResponse, Contact, Conversation, FollowUpTask, Message, Note, StaffPresence,
    StaffUser,
)

STATUSES = ("open", "pending", "snoozed", "resolved")
SCOPES = ("mine", "unassigned", "all")
MAX_TEXT = 5000  # LINE's limit for one text message
MAX_QUICK_REPLIES = 13  # LINE quick reply items
MAX_LABEL = 20  # LINE quick reply label length
LABEL = re.compile(r"^[\w .:/&+-]{1,40}$", re.UNICODE)


class InboxError(ValueError):
    """A change refused with a reason the agent can act on."""


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


# --- audit ---------------------------------------------------------------------------


def audit(*, session: Session, staff: StaffUser | None, action: str, target_type: str = "",
          target_id: int | None = None, details: dict[str, Any] | None = None, ip: str | None = None) -> AuditLog:
    """Record one staff write: who, what, on which record, when."""
    row = AuditLog(staff_user_id=staff.id if staff else None, action=action, target_type=target_type,
                   target_id=target_id, details=details or {}, ip=ip)
    session.add(row)
    return row


# --- conversation list ----------------------------------------------------------------


@dataclass
class Filters:
    """What the conversation list shows."""

    status: str = "open"
    scope: str = "all"
    channel: str = ""
    label: str = ""
    intent: str = ""
    unread: bool = False
    q: str = ""
    matches: list[int] | None = None  # conversation ids found for `q` (see `search`), set once per request

    @classmethod
    def from_args(cls, args) -> Filters:
        """Filters from query arguments; unknown values fall back to the defaults."""
        status = args.get("status", "open")
        scope = args.get("scope", "all")
        return cls(status=status if status in STATUSES + ("any",) else "open",
                   scope=scope if scope in SCOPES else "all",
                   channel=(args.get("channel") or "")[:16], label=(args.get("label") or "")[:40],
                   intent=(args.get("intent") or "")[:40], unread=args.get("unread") in ("1", "true", "on"),
                   q=(args.get("q") or "").strip()[:100])

    def args(self, **changes: Any) -> dict[str, Any]:
        """Query arguments for these filters with `changes` applied (for links)."""
        values = {"status": self.status, "scope": self.scope, "channel": self.channel, "label": self.label,
                  "intent": self.intent, "unread": "1" if self.unread else "", "q": self.q, **changes}
        return {k: v for k, v in values.items() if v not in ("", None, False)}


def _contains(session: Session, column, q: str):
    # SQLite's LIKE is already case-insensitive (ASCII) and lower() would cost a third more per
    # row; PostgreSQL needs ILIKE. Wildcards typed by the agent are escaped.
    if session.get_bind().dialect.name == "sqlite":
        return column.contains(q, autoescape=True)
    return column.icontains(q, autoescape=True)


SEARCH_LIMIT = 2000  # matches kept per search source (the list shows the first page anyway)


def search(*, session: Session, q: str) -> list[int]:
    """Conversation ids whose contact name, message text, order number or product bought matches `q`."""
    number = q.lstrip("#").strip()
    buyers = select(order_data.Order.contact_id).join(
        order_data.OrderItem, order_data.OrderItem.order_id == order_data.Order.id).where(
        _contains(session, order_data.OrderItem.product_name, q)).limit(SEARCH_LIMIT)
    contacts = select(Contact.id).where(_contains(session, Contact.display_name, q)).limit(SEARCH_LIMIT)
    contact_ids = set(session.exec(contacts).all()) | set(session.exec(buyers).all())
    if number:
        contact_ids |= set(session.exec(select(order_data.Order.contact_id).where(order_data.Order.number == number)).all())
    ids = set(session.exec(select(Message.conversation_id).where(_contains(session, Message.text, q))
                           .distinct().limit(SEARCH_LIMIT)).all())
    if contact_ids:
        ids |= set(session.exec(select(Conversation.id).where(Conversation.contact_id.in_(contact_ids))).all())
    return sorted(ids)


def _conditions(filters: Filters, staff: StaffUser, *, skip: str = "") -> list:
    conditions = []
    if skip != "status" and filters.status != "any":
        conditions.append(Conversation.status == filters.status)
    if skip != "scope":
        if filters.scope == "mine":
            conditions.append(Conversation.assignee_id == staff.id)
        elif filters.scope == "unassigned":
            conditions.append(Conversation.assignee_id.is_(None))
    if filters.channel:
        conditions.append(Conversation.channel == filters.channel)
    if filters.intent:
        conditions.append(Conversation.last_intent == filters.intent)
    if filters.label:
        # Labels are a JSON list stored as json.dumps wrote it (on SQLite and in PostgreSQL's
        # `json` type alike), so the label's own JSON form, quotes included, finds it.
        conditions.append(func.cast(Conversation.labels, Text).contains(json.dumps(filters.label), autoescape=True))
    if skip != "unread" and filters.unread:
        conditions.append(Conversation.unread_count > 0)
    if filters.q:
        conditions.append(Conversation.id.in_(filters.matches or [0]))
    return conditions


@dataclass
class ListRow:
    conversation: Conversation
    contact: Contact | None
    last_text: str
    last_type: str
    assignee: str


def wake_snoozed(*, session: Session) -> int:
    """Reopen snoozed conversations whose time has come; how many."""
    now = utcnow()
    due = list(session.exec(select(Conversation.id).where(Conversation.status == "snoozed",
                                                          Conversation.snoozed_until <= now)).all())
    if due:
        session.execute(update(Conversation).where(Conversation.id.in_(due))
                        .values(status="open", snoozed_until=None, updated_at=now))
    return len(due)


def list_conversations(*, session: Session, staff: StaffUser, filters: Filters, limit: int = 50,
                       offset: int = 0) -> list[ListRow]:
    """Conversations matching `filters`, the longest-waiting customer first."""
    query = select(Conversation, Contact).join(Contact, Contact.id == Conversation.contact_id, isouter=True) \
        .where(*_conditions(filters, staff)) \
        .order_by(Conversation.waiting_since.asc().nulls_last(), Conversation.last_message_at.desc().nulls_last(),
                  Conversation.id.desc()).limit(limit).offset(offset)
    rows = session.exec(query).all()
    ids = [conversation.id for conversation, _ in rows]
    last: dict[int, Message] = {}
    if ids:
        latest = select(func.max(Message.id)).where(Message.conversation_id.in_(ids)).group_by(Message.conversation_id)
        for message in session.exec(select(Message).where(Message.id.in_(latest))).all():
            last[message.conversation_id] = message
    names = staff_names(session=session)
    result = []
    for conversation, contact in rows:
        message = last.get(conversation.id)
        result.append(ListRow(conversation, contact, (message.text or "") if message and not message.hidden else "",
                              message.type if message else "", names.get(conversation.assignee_id, "")))
    return result


def filter_counts(*, session: Session, staff: StaffUser, filters: Filters) -> dict[str, int]:
    """How many conversations each status and scope tab would show (the other filters applied)."""
    counts: dict[str, int] = {}
    by_status = session.exec(select(Conversation.status, func.count(Conversation.id))
                             .where(*_conditions(filters, staff, skip="status")).group_by(Conversation.status)).all()
    for status in STATUSES:
        counts[status] = 0
    for status, count in by_status:
        counts[status] = count
    counts["any"] = sum(counts[s] for s in STATUSES)
    scoped = [c for c in _conditions(filters, staff, skip="scope")]
    row = session.exec(select(
        func.count(Conversation.id),
        func.coalesce(func.sum(func.cast(Conversation.assignee_id == staff.id, Integer)), 0),
        func.coalesce(func.sum(func.cast(Conversation.assignee_id.is_(None), Integer)), 0),
    ).where(*scoped)).one()
    counts["all"], counts["mine"], counts["unassigned"] = int(row[0]), int(row[1]), int(row[2])
    counts["unread"] = session.exec(select(func.count(Conversation.id)).where(
        *_conditions(filters, staff, skip="unread"), Conversation.unread_count > 0)).one()
    return counts


def facet_values(*, session: Session) -> dict[str, list[str]]:
    """Values offered in the channel, intent and label filters."""
    channels = [c for c in session.exec(select(Conversation.channel).distinct()).all() if c]
    intents = [i for i in session.exec(select(Conversation.last_intent).distinct()).all() if i]
    labels = set()
    for value in session.exec(select(Conversation.labels).where(
            func.cast(Conversation.labels, Text) != "[]").limit(2000)).all():
        labels.update(value or [])
    return {"channels": sorted(channels), "intents": sorted(intents), "labels": sorted(labels)}


def staff_names(*, session: Session) -> dict[int, str]:
    """Display names of all staff, by id."""
    return {s.id: s.display_name or s.email for s in session.exec(select(StaffUser)).all()}


# --- conversation view ----------------------------------------------------------------


@dataclass
class TimelineItem:
    kind: str  # message | note
    at: datetime
    message: Message | None = None
    note: Note | None = None
    author: str = ""


def timeline(*, session: Session, conversation: Conversation, with_notes: bool, limit: int = 300,
             after_id: int | None = None) -> list[TimelineItem]:
    """The customer's history across channels (their other chats too), with private notes if allowed."""
    if conversation.contact_id and conversation.kind == "direct":
        query = select(Message).where(or_(Message.contact_id == conversation.contact_id,
                                          Message.conversation_id.in_(select(Conversation.id).where(
                                              Conversation.contact_id == conversation.contact_id))))
    else:
        query = select(Message).where(Message.conversation_id == conversation.id)
    if after_id is not None:
        query = query.where(Message.id > after_id)
    rows = list(reversed(session.exec(query.order_by(Message.id.desc()).limit(limit)).all()))
    names = staff_names(session=session)
    items = [TimelineItem("message", _aware(row.created_at), message=row,
                          author=names.get(row.staff_user_id, "") if row.staff_user_id else "") for row in rows]
    if with_notes and after_id is None:
        since = items[0].at if items and len(rows) == limit else None
        notes_query = select(Note).where(Note.contact_id == conversation.contact_id) if conversation.contact_id \
            else select(Note).where(Note.conversation_id == conversation.id)
        if since is not None:
            notes_query = notes_query.where(Note.created_at >= since)
        for note in session.exec(notes_query).all():
            items.append(TimelineItem("note", _aware(note.created_at), note=note, author=names.get(note.staff_user_id, "")))
        items.sort(key=lambda item: (item.at, 0 if item.kind == "message" else 1))
    return items


def mark_read(*, session: Session, conversation: Conversation) -> None:
    """Opening a conversation reads it for the whole team (a shared inbox)."""
    # Not audited: reading changes no customer data (the audit log records changes).
    if conversation.unread_count:
        conversation.unread_count = 0
        session.add(conversation)


def fill_variables(template: str, *, contact: Contact | None, staff: StaffUser, shop: str) -> str:
    """A canned text with {name}, {first_name}, {agent} and {shop} filled in (unknown braces kept)."""
    name = (contact.display_name if contact else "") or "Kak"
    values = {"name": name, "first_name": name.split()[0] if name.split() else name,
              "agent": staff.display_name or staff.email, "shop": shop}
    return re.sub(r"\{(\w+)\}", lambda match: values.get(match.group(1), match.group(0)), template)


@dataclass
class ReplyDraft:
    """What an agent asked to send."""

    text: str = ""
    quick_replies: list[str] = field(default_factory=list)
    image_url: str = ""
    location: m.Location | None = None
    uploaded: tuple[str, str] | None = None  # an uploaded image's URL and its preview's


def build_replies(draft: ReplyDraft) -> list[m.Reply]:
    """Neutral replies for a draft, or InboxError with the reason it cannot be sent."""
    text = draft.text.strip()
    if len(text) > MAX_TEXT:
        raise InboxError(f"text_too_long:{MAX_TEXT}")
    choices = []
    for label in draft.quick_replies:
        label = label.strip()
        if not label:
            continue
        if len(label) > MAX_LABEL:
            raise InboxError(f"quick_reply_too_long:{MAX_LABEL}")
        choices.append(m.Choice(label=label, text=label))
    if len(choices) > MAX_QUICK_REPLIES:
        raise InboxError(f"too_many_quick_replies:{MAX_QUICK_REPLIES}")
    replies: list[m.Reply] = []
    if draft.uploaded:
        replies.append(m.Reply(image_url=draft.uploaded[0], preview_url=draft.uploaded[1]))
    if draft.image_url:
        if not re.match(r"^https://[^\s\"'<>]{4,1000}$", draft.image_url):
            raise InboxError("image_url_https")
        replies.append(m.Reply(image_url=draft.image_url))
    if draft.location is not None:
        replies.append(m.Reply(location=draft.location))
    if text:
        replies.append(m.Reply(text=text, choices=tuple(choices)))
    elif choices:
        raise InboxError("quick_replies_need_text")
    if not replies:
        raise InboxError("empty_reply")
    return replies


def send_reply(*, session: Session, conversation: Conversation, staff: StaffUser, draft: ReplyDraft,
               handoff_minutes: int) -> str:
    """Queue a staff reply through the bot's outbound path; returns the batch id to send.

    A staff reply takes the conversation over from the bot (for `handoff_minutes`), as
    a handoff does, so the bot does not talk over the agent.
    """
    if conversation.kind != "direct" and not conversation.bot_member:
        raise InboxError("bot_left_group")
    replies = build_replies(draft)
    batch_id = f"staff:{uuid.uuid4()}"
    history.record_outbound(session=session, conversation=conversation, replies=replies, batch_id=batch_id,
                            sender="staff", staff_user_id=staff.id, meta={"chat_type": conversation.kind})
    conversation.bot_active = False
    conversation.handoff_until = utcnow() + timedelta(minutes=handoff_minutes)
    if conversation.status == "pending":
        conversation.status = "open"
    conversation.unread_count = 0
    session.add(conversation)
    audit(session=session, staff=staff, action="conversation.reply", target_type="conversation",
          target_id=conversation.id, details={"batch_id": batch_id, "messages": len(replies)})
    return batch_id


def _touch(session: Session, conversation: Conversation) -> None:
    conversation.updated_at = utcnow()
    session.add(conversation)


def assign(*, session: Session, conversation: Conversation, staff: StaffUser, assignee: StaffUser | None) -> None:
    """Give the conversation to `assignee` (None: unassign); a transfer is an assign to someone else."""
    if assignee is not None and (not assignee.active or assignee.role not in ("admin", "agent")):
        raise InboxError("assignee_not_agent")
    before = conversation.assignee_id
    conversation.assignee_id = assignee.id if assignee else None
    _touch(session, conversation)
    audit(session=session, staff=staff, action="conversation.assign", target_type="conversation",
          target_id=conversation.id, details={"from": before, "to": conversation.assignee_id})


def set_labels(*, session: Session, conversation: Conversation, staff: StaffUser, labels: list[str]) -> None:
    """Replace the conversation's labels."""
    cleaned = sorted({label.strip() for label in labels if label.strip()})
    for label in cleaned:
        if not LABEL.match(label) or '"' in label:
            raise InboxError("bad_label")
    if len(cleaned) > 20:
        raise InboxError("too_many_labels")
    before = list(conversation.labels or [])
    conversation.labels = cleaned
    _touch(session, conversation)
    audit(session=session, staff=staff, action="conversation.labels", target_type="conversation",
          target_id=conversation.id, details={"from": before, "to": cleaned})


def set_status(*, session: Session, conversation: Conversation, staff: StaffUser, status: str,
               snooze_until: datetime | None = None) -> None:
    """Open, pend, snooze (until a time) or resolve; resolving hands the chat back to the bot."""
    if status not in STATUSES:
        raise InboxError("bad_status")
    now = utcnow()
    if status == "snoozed":
        if snooze_until is None or _aware(snooze_until) <= now:
            raise InboxError("snooze_in_future")
        conversation.snoozed_until = snooze_until
    else:
        conversation.snoozed_until = None
    before = conversation.status
    if status == "resolved":
        conversation.resolved_at = now
        conversation.waiting_since = None
        conversation.bot_active, conversation.handoff_until = True, None
    elif before == "resolved":
        conversation.opened_at, conversation.first_response_at, conversation.resolved_at = now, None, None
    conversation.status = status
    _touch(session, conversation)
    audit(session=session, staff=staff, action="conversation.status", target_type="conversation",
          target_id=conversation.id, details={"from": before, "to": status,
                                              "until": snooze_until.isoformat() if snooze_until else None})


def set_bot(*, session: Session, conversation: Conversation, staff: StaffUser, active: bool,
            handoff_minutes: int) -> None:
    """Take the conversation over from the bot (`active=False`) or hand it back."""
    conversation.bot_active = active
    conversation.handoff_until = None if active else utcnow() + timedelta(minutes=handoff_minutes)
    if not active:
        conversation.handoff_at = utcnow()
        conversation.assignee_id = conversation.assignee_id or staff.id
    _touch(session, conversation)
    audit(session=session, staff=staff, action="conversation.bot_on" if active else "conversation.take_over",
          target_type="conversation", target_id=conversation.id)


def add_note(*, session: Session, staff: StaffUser, contact_id: int, text: str,
             conversation: Conversation | None = None) -> Note:
    """A private note about a contact (never sent to the customer)."""
    text = text.strip()
    if not text:
        raise InboxError("empty_note")
    if len(text) > 5000:
        raise InboxError(f"text_too_long:{5000}")
    note = Note(contact_id=contact_id, conversation_id=conversation.id if conversation else None,
                staff_user_id=staff.id, text=text)
    session.add(note)
    if conversation is not None:
        _touch(session, conversation)
    session.flush()
    audit(session=session, staff=staff, action="note.add", target_type="contact", target_id=contact_id,
          details={"note_id": note.id, "conversation_id": conversation.id if conversation else None})
    return note


def touch_presence(*, session: Session, staff: StaffUser, conversation_id: int, state: str) -> None:
    """Say that `staff` is viewing or typing in a conversation now (not audited: it is not a change of data)."""
    row = session.get(StaffPresence, (staff.id, conversation_id))
    if row is None:
        row = StaffPresence(staff_user_id=staff.id, conversation_id=conversation_id)
    row.state, row.at = ("typing" if state == "typing" else "viewing"), utcnow()
    session.add(row)


def presence(*, session: Session, conversation_id: int, exclude_staff_id: int, seconds: int = 8) -> list[dict]:
    """Other staff viewing or typing in a conversation in the last few seconds."""
    since = utcnow() - timedelta(seconds=seconds)
    rows = session.exec(select(StaffPresence, StaffUser).join(StaffUser, StaffUser.id == StaffPresence.staff_user_id)
                        .where(StaffPresence.conversation_id == conversation_id, StaffPresence.at >= since,
                               StaffPresence.staff_user_id != exclude_staff_id)).all()
    return [{"staff_id": user.id, "name": user.display_name or user.email,
             "state": row.state if _aware(row.at) >= utcnow() - timedelta(seconds=4) else "viewing"}
            for row, user in rows]


# --- customer 360 -------------------------------------------------------------------------


ACTIVITY = (("active_2w", 14), ("active_1m", 31), ("active_6m", 183))


def activity_status(last_seen_at: datetime | None, now: datetime | None = None) -> str:
    """active_2w / active_1m / active_6m / dormant, from when the customer last wrote."""
    if last_seen_at is None:
        return "dormant"
    age = (now or utcnow()) - _aware(last_seen_at)
    for name, days in ACTIVITY:
        if age <= timedelta(days=days):
            return name
    return "dormant"


def interests(*, session: Session, contact_id: int, limit_messages: int = 300) -> dict[str, list[tuple[str, int]]]:
    """Products the customer bought (with quantities) and products they asked about in chat."""
    bought = session.exec(select(order_data.OrderItem.product_name, func.sum(order_data.OrderItem.quantity))
                          .join(order_data.Order, order_data.Order.id == order_data.OrderItem.order_id)
                          .where(order_data.Order.contact_id == contact_id, order_data.Order.status != "cancelled")
                          .group_by(order_data.OrderItem.product_name)
                          .order_by(func.sum(order_data.OrderItem.quantity).desc())).all()
    texts = session.exec(select(Message.text).where(Message.contact_id == contact_id, Message.direction == "in",
                                                    Message.text.is_not(None))
                         .order_by(Message.id.desc()).limit(limit_messages)).all()
    asked: Counter = Counter()
    if texts:
        products = session.exec(select(order_data.Product)).all()
        lowered = [t.lower() for t in texts]
        for product in products:
            words = {product.name.lower(), *(a.lower() for a in product.aliases or [])}
            if product.name_en:
                words.add(product.name_en.lower())
            hits = sum(1 for text in lowered if any(word and word in text for word in words))
            if hits:
                asked[product.name] = hits
    return {"bought": [(name, int(qty)) for name, qty in bought], "asked": asked.most_common(10)}


def contact_360(*, session: Session, contact: Contact, with_notes: bool) -> dict[str, Any]:
    """Everything the shop knows about a customer, for the side panel and the contact page."""
    now = utcnow()
    identities = contact_data.identities_of(session=session, contact_ids=[contact.id])[contact.id]
    orders = session.exec(select(order_data.Order).where(order_data.Order.contact_id == contact.id)
                          .order_by(order_data.Order.id.desc()).limit(10)).all()
    items = {}
    if orders:
        for item in session.exec(select(order_data.OrderItem).where(
                order_data.OrderItem.order_id.in_([o.id for o in orders]))).all():
            items.setdefault(item.order_id, []).append(item)
    complaints = session.exec(select(complaint_data.Complaint).where(complaint_data.Complaint.contact_id == contact.id)
                              .order_by(complaint_data.Complaint.id.desc()).limit(10)).all()
    notes = session.exec(select(Note).where(Note.contact_id == contact.id).order_by(Note.id.desc()).limit(20)).all() \
        if with_notes else []
    tasks = session.exec(select(FollowUpTask).where(FollowUpTask.contact_id == contact.id, FollowUpTask.done_at.is_(None))
                         .order_by(FollowUpTask.due_on)).all()
    conversations = session.exec(select(Conversation).where(Conversation.contact_id == contact.id)).all()
    totals = session.exec(select(func.count(order_data.Order.id), func.coalesce(func.sum(order_data.Order.total), 0))
                          .where(order_data.Order.contact_id == contact.id,
                                 order_data.Order.status != "cancelled")).one()
    return {
        "contact": contact, "identities": identities, "orders": orders, "order_items": items,
        "complaints": [(c, c.status in ("open", "in_progress") and _aware(c.sla_due_at) < now) for c in complaints],
        "notes": notes, "tasks": tasks, "conversations": conversations,
        "activity": activity_status(contact.last_seen_at, now), "interests": interests(session=session, contact_id=contact.id),
        "orders_count": int(totals[0]), "total_spent": int(totals[1]), "names": staff_names(session=session),
    }


PROFILE_FIELDS = ("display_name", "phone", "email", "address", "language")


def update_contact(*, session: Session, contact: Contact, staff: StaffUser, form: dict[str, str]) -> list[str]:
    """Apply an inline edit (profile fields, birthday, tags, consent, custom fields); the fields changed."""
    changed = []
    for name in PROFILE_FIELDS:
        if name in form:
            value = form[name].strip()
            limit = Contact.model_fields[name].metadata
            max_length = next((getattr(x, "max_length", None) for x in limit if getattr(x, "max_length", None)), 200)
            if len(value) > max_length:
                raise InboxError(f"field_too_long:{name}")
            if name == "email" and value and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
                raise InboxError("bad_email")
            if name == "phone" and value and not re.match(r"^\+?[0-9 ()-]{5,40}$", value):
                raise InboxError("bad_phone")
            new = value or (None if name != "display_name" else "")
            if getattr(contact, name) != new:
                setattr(contact, name, new)
                changed.append(name)
    if "birthday" in form:
        raw = form["birthday"].strip()
        try:
            birthday = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise InboxError("bad_birthday") from None
        if birthday and birthday > date.today():
            raise InboxError("bad_birthday")
        if contact.birthday != birthday:
            contact.birthday = birthday
            changed.append("birthday")
    if "tags" in form:
        tags = sorted({t.strip() for t in form["tags"].split(",") if t.strip()})
        if any(len(t) > 50 for t in tags) or len(tags) > 100:
            raise InboxError("bad_tags")
        if tags != list(contact.tags or []):
            contact.tags = tags
            changed.append("tags")
    if "marketing_consent" in form:
        consent = form["marketing_consent"] in ("1", "on", "true", "yes")
        if consent != contact.marketing_consent:
            contact.marketing_consent = consent
            changed.append("marketing_consent")
    if form.get("attr_key", "").strip():
        key = form["attr_key"].strip()
        if not re.match(r"^[\w .-]{1,40}$", key):
            raise InboxError("bad_field_name")
        attributes = dict(contact.attributes or {})
        value = form.get("attr_value", "").strip()[:500]
        if value:
            attributes[key] = value
        else:
            attributes.pop(key, None)
        contact.attributes = attributes
        changed.append(f"attributes.{key}")
    if changed:
        session.add(contact)
        audit(session=session, staff=staff, action="contact.update", target_type="contact", target_id=contact.id,
              details={"fields": changed})
    return changed


# --- agenda ---------------------------------------------------------------------------


def create_task(*, session: Session, staff: StaffUser, contact_id: int, title: str, due_on: date,
                assignee_id: int | None = None) -> FollowUpTask:
    """A follow-up task for a contact, due on a date."""
    title = title.strip()
    if not title or len(title) > 300:
        raise InboxError("bad_task_title")
    if session.get(Contact, contact_id) is None:
        raise InboxError("unknown_contact")
    task = FollowUpTask(contact_id=contact_id, title=title, due_on=due_on, assignee_id=assignee_id or staff.id,
                        created_by_id=staff.id)
    session.add(task)
    session.flush()
    audit(session=session, staff=staff, action="task.add", target_type="task", target_id=task.id,
          details={"contact_id": contact_id, "due_on": due_on.isoformat()})
    return task


def complete_task(*, session: Session, staff: StaffUser, task: FollowUpTask) -> None:
    """Mark a task done."""
    task.done_at = utcnow()
    session.add(task)
    audit(session=session, staff=staff, action="task.done", target_type="task", target_id=task.id)


def agenda(*, session: Session, today: date) -> dict[str, Any]:
    """Open tasks that are due (overdue first), the next ones, and today's birthdays."""
    due = session.exec(select(FollowUpTask, Contact).join(Contact, Contact.id == FollowUpTask.contact_id)
                       .where(FollowUpTask.done_at.is_(None), FollowUpTask.due_on <= today)
                       .order_by(FollowUpTask.due_on, FollowUpTask.id).limit(200)).all()
    upcoming = session.exec(select(FollowUpTask, Contact).join(Contact, Contact.id == FollowUpTask.contact_id)
                            .where(FollowUpTask.done_at.is_(None), FollowUpTask.due_on > today)
                            .order_by(FollowUpTask.due_on, FollowUpTask.id).limit(50)).all()
    birthdays = session.exec(select(Contact).where(extract("month", Contact.birthday) == today.month,
                                                   extract("day", Contact.birthday) == today.day)
                             .order_by(Contact.display_name).limit(200)).all()
    return {"due": due, "upcoming": upcoming, "birthdays": birthdays, "today": today}


# --- orders and complaints ------------------------------------------------------------


def list_orders(*, session: Session, status: str = "", q: str = "", limit: int = 50, offset: int = 0):
    """Orders newest first with their customers, by status and number/customer search."""
    query = select(order_data.Order, Contact).join(Contact, Contact.id == order_data.Order.contact_id)
    if status:
        query = query.where(order_data.Order.status == status)
    if q:
        query = query.where(or_(order_data.Order.number == q.lstrip("#"),
                                _contains(session, Contact.display_name, q)))
    rows = session.exec(query.order_by(order_data.Order.id.desc()).limit(limit).offset(offset)).all()
    items: dict[int, list] = {}
    if rows:
        for item in session.exec(select(order_data.OrderItem).where(
                order_data.OrderItem.order_id.in_([o.id for o, _ in rows]))).all():
            items.setdefault(item.order_id, []).append(item)
    counts = dict(session.exec(select(order_data.Order.status, func.count(order_data.Order.id))
                               .group_by(order_data.Order.status)).all())
    return rows, items, counts


def change_order_status(*, session: Session, staff: StaffUser, order: order_data.Order, status: str,
                        notify: bool = True) -> str | None:
    """Move an order on (the shop's rules apply) and queue the customer's notification; the batch id."""
    from crm.api_orders import notify_status

    before = order.status
    try:
        order_data.change_status(session=session, order=order, status=status, by=f"staff:{staff.id}")
    except order_data.OrderError as exc:
        raise InboxError(f"order:{exc}") from None
    audit(session=session, staff=staff, action="order.status", target_type="order", target_id=order.id,
          details={"from": before, "to": status})
    if notify and order.status != before:
        return notify_status(session=session, order=order)
    return None


def list_complaints(*, session: Session, status: str = "", severity: str = "", breached: bool = False,
                    limit: int = 50, offset: int = 0):
    """Complaints, SLA breaches and the most urgent first."""
    now = utcnow()
    query = select(complaint_data.Complaint, Contact).join(Contact, Contact.id == complaint_data.Complaint.contact_id)
    if status:
        query = query.where(complaint_data.Complaint.status == status)
    if severity:
        query = query.where(complaint_data.Complaint.severity == severity)
    if breached:
        query = query.where(complaint_data.Complaint.status.in_(("open", "in_progress")),
                            complaint_data.Complaint.sla_due_at < now)
    rows = session.exec(query.order_by(complaint_data.Complaint.resolved_at.is_not(None),
                                       complaint_data.Complaint.sla_due_at).limit(limit).offset(offset)).all()
    counts = dict(session.exec(select(complaint_data.Complaint.status, func.count(complaint_data.Complaint.id))
                               .group_by(complaint_data.Complaint.status)).all())
    counts["breached"] = session.exec(select(func.count(complaint_data.Complaint.id)).where(
        complaint_data.Complaint.status.in_(("open", "in_progress")), complaint_data.Complaint.sla_due_at < now)).one()
    return [(c, contact, c.status in ("open", "in_progress") and _aware(c.sla_due_at) < now) for c, contact in rows], counts


def change_complaint_status(*, session: Session, staff: StaffUser, complaint: complaint_data.Complaint, status: str,
                            notify: bool = True) -> str | None:
    """Set a complaint's status and queue the customer's notification; the batch id."""
    from core.texts import text

    if status not in complaint_data.STATUSES:
        raise InboxError("bad_status")
    before = complaint.status
    complaint_data.change_complaint_status(session=session, complaint=complaint, status=status)
    audit(session=session, staff=staff, action="complaint.status", target_type="complaint", target_id=complaint.id,
          details={"from": before, "to": status})
    if not notify or status == before:
        return None
    return history.notify_customer(
        session=session, contact_id=complaint.contact_id, conversation_id=complaint.conversation_id,
        words=lambda language: text("complaint_status", language, number=complaint.number,
                                    status=text(f"complaint_{status}", language)),
        batch_id=f"complaint:{complaint.id}:{status}:{uuid.uuid4().hex[:8]}", intent="complaint")


# --- canned responses and users ---------------------------------------------------------


def canned_responses(*, session: Session) -> list[CannedResponse]:
    """All canned responses by shortcut."""
    return list(session.exec(select(CannedResponse).order_by(CannedResponse.shortcut)).all())


def save_canned(*, session: Session, staff: StaffUser, shortcut: str, title: str, text: str,
                quick_replies: list[str]) -> CannedResponse:
    """Add a canned response (shortcut unique)."""
    shortcut = shortcut.strip().lstrip("/").lower()
    if not re.match(r"^[a-z0-9_-]{1,40}$", shortcut):
        raise InboxError("bad_shortcut")
    if not text.strip() or len(text) > MAX_TEXT or not title.strip() or len(title) > 200:
        raise InboxError("bad_canned")
    if session.exec(select(CannedResponse).where(CannedResponse.shortcut == shortcut)).first():
        raise InboxError("shortcut_exists")
    build_replies(ReplyDraft(text=text, quick_replies=quick_replies))  # the same limits as sending
    row = CannedResponse(shortcut=shortcut, title=title.strip(), text=text.strip(),
                         quick_replies=[q.strip() for q in quick_replies if q.strip()])
    session.add(row)
    session.flush()
    audit(session=session, staff=staff, action="canned.add", target_type="canned", target_id=row.id)
    return row


# --- dashboard -----------------------------------------------------------------------------


def _minutes(values: list[float]) -> float | None:
    return round(sum(values) / len(values) / 60, 1) if values else None


def _median_minutes(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[len(ordered) // 2] / 60, 1)


def _seconds(session: Session, later, earlier):
    """SQL for the seconds between two timestamps (computed by the database, not row by row in Python)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def dashboard(*, session: Session, days: int = 30, now: datetime | None = None) -> dict[str, Any]:
    """Support figures over the last `days`: response and resolution times, intents, channels, handoffs, agents."""
    now = now or utcnow()
    since = now - timedelta(days=days)
    first_s = _seconds(session, Conversation.first_response_at, Conversation.opened_at)
    resolution_s = _seconds(session, Conversation.resolved_at, Conversation.opened_at)
    rows = session.exec(select(Conversation.channel, Conversation.last_intent, Conversation.assignee_id,
                               Conversation.status, first_s, resolution_s, Conversation.handoff_at >= since)
                        .where(Conversation.last_message_at >= since)).all()
    names = staff_names(session=session)
    first, resolution = [], []
    by_channel, by_intent, by_status = Counter(), Counter(), Counter()
    agents: dict[str, dict[str, list]] = {}
    handoffs = 0
    for channel, intent, assignee, status, first_seconds, resolution_seconds, handed_off in rows:
        by_channel[channel] += 1
        by_intent[intent or "other"] += 1
        by_status[status] += 1
        handoffs += bool(handed_off)
        agent = agents.setdefault(names.get(assignee, "—") if assignee else "—",
                                  {"first": [], "resolution": [], "count": []})
        agent["count"].append(1)
        if first_seconds is not None and first_seconds >= 0:
            first.append(float(first_seconds))
            agent["first"].append(first[-1])
        if resolution_seconds is not None and resolution_seconds >= 0:
            resolution.append(float(resolution_seconds))
            agent["resolution"].append(resolution[-1])
    per_day = Counter({(now - timedelta(days=back)).date().isoformat(): 0 for back in range(14)})  # days without messages too
    day = func.date(Message.created_at)
    for value, count in session.exec(select(day, func.count(Message.id))
                                     .where(Message.created_at >= now - timedelta(days=14), Message.direction == "in")
                                     .group_by(day)).all():
        per_day[str(value)] = count
    staff_replies = session.exec(select(Message.staff_user_id, func.count(Message.id))
                                 .where(Message.sender == "staff", Message.created_at >= since)
                                 .group_by(Message.staff_user_id)).all()
    total = len(rows)
    return {
        "days": days, "conversations": total,
        "first_response_avg": _minutes(first), "first_response_median": _median_minutes(first),
        "resolution_avg": _minutes(resolution), "resolution_median": _median_minutes(resolution),
        "handoffs": handoffs, "handoff_rate": round(100 * handoffs / total, 1) if total else 0.0,
        "by_channel": dict(by_channel.most_common()), "by_intent": dict(by_intent.most_common()),
        "by_status": dict(by_status),
        "agents": [{"name": name, "conversations": len(v["count"]), "first_response": _minutes(v["first"]),
                    "resolution": _minutes(v["resolution"])} for name, v in sorted(agents.items())],
        "replies_by_agent": {names.get(staff_id, "?"): count for staff_id, count in staff_replies},
        "messages_per_day": dict(sorted(per_day.items())),
    }
