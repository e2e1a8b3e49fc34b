"""Inbox data functions for conversations: the list, the timeline, replies, assignment, presence; the audit log.

The customer pages' data is in `crm.inbox.customer_data`, the back office's (orders, complaints,
canned replies, dashboard) in `crm.inbox.shop_data`. All are keyword-only, no Flask, each write
recorded in the audit log.

Views call these inside one transaction (`session_scope`), so a refused change writes
nothing; `InboxError` carries the reason shown to the agent.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, and_, case, func, true
from sqlmodel import Session, select

from core import messages as m
from core.db import as_utc, utcnow
from crm import alerts, csat, episodes, history
from crm import orders as order_data
from crm.models import CHANNELS, AuditLog, Contact, Conversation, Message, Note, StaffPresence, StaffUser
from crm.search_index import one_of, where_contains

STATUSES = ("open", "pending", "snoozed", "resolved")
SCOPES = ("mine", "unassigned", "all")
MAX_TEXT = 5000  # LINE's limit for one text message
MAX_QUICK_REPLIES = 13  # LINE quick reply items
LABEL = re.compile(r"^[\w .:/&+-]{1,40}$", re.UNICODE)


class InboxError(ValueError):
    """A change refused with a reason the agent can act on."""


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


SEARCH_LIMIT = 2000  # matches kept per search source (the list shows the first page anyway)


def search(*, session: Session, q: str) -> list[int]:
    """Conversation ids whose contact name, message text, order number or product bought matches `q`."""
    number = q.lstrip("#").strip()
    buyers = where_contains(select(order_data.Order.contact_id).join(
        order_data.OrderItem, order_data.OrderItem.order_id == order_data.Order.id), session=session,
        column=order_data.OrderItem.product_name, q=q).limit(SEARCH_LIMIT)
    contacts = where_contains(select(Contact.id), session=session, column=Contact.display_name, q=q).limit(SEARCH_LIMIT)
    contact_ids = set(session.exec(contacts).all()) | set(session.exec(buyers).all())
    if number:
        contact_ids |= set(session.exec(select(order_data.Order.contact_id).where(order_data.Order.number == number)).all())
    ids = set(session.exec(where_contains(select(Message.conversation_id), session=session, column=Message.text, q=q)
                           .distinct().limit(SEARCH_LIMIT)).all())
    if contact_ids:
        ids |= set(session.exec(select(Conversation.id).where(one_of(session, Conversation.contact_id,
                                                                    sorted(contact_ids)))).all())
    return sorted(ids)


def _tab_conditions(filters: Filters, staff: StaffUser) -> dict[str, Any]:
    """The conditions the status, scope and unread tabs set, by tab row; `true()` where a tab shows everything."""
    scope = {"mine": Conversation.assignee_id == staff.id, "unassigned": Conversation.assignee_id.is_(None)}
    return {"status": Conversation.status == filters.status if filters.status != "any" else true(),
            "scope": scope.get(filters.scope, true()),
            "unread": Conversation.unread_count > 0 if filters.unread else true()}


def _conditions(filters: Filters, staff: StaffUser, *, session: Session, with_tabs: bool = True) -> list:
    conditions = list(_tab_conditions(filters, staff).values()) if with_tabs else []
    if filters.channel:
        conditions.append(Conversation.channel == filters.channel)
    if filters.intent:
        conditions.append(Conversation.last_intent == filters.intent)
    if filters.label:
        # Labels are a JSON list stored as json.dumps wrote it (on SQLite and in PostgreSQL's
        # `json` type alike), so the label's own JSON form, quotes included, finds it.
        conditions.append(func.cast(Conversation.labels, Text).contains(json.dumps(filters.label), autoescape=True))
    if filters.q:
        conditions.append(one_of(session, Conversation.id, filters.matches or [0]))
    return conditions


@dataclass
class ListRow:
    conversation: Conversation
    contact: Contact | None
    last_text: str
    last_type: str
    assignee: str
    alerted: bool = False  # an open alert on this chat


def wake_snoozed(*, session: Session) -> int:
    """Reopen snoozed conversations whose time has come; how many."""
    now = utcnow()
    # Row by row through the ORM (few wake at once): each reopening is a status change webhooks tell.
    due = list(session.exec(select(Conversation).where(Conversation.status == "snoozed",
                                                       Conversation.snoozed_until <= now)).all())
    for conversation in due:
        conversation.status, conversation.snoozed_until, conversation.updated_at = "open", None, now
        session.add(conversation)
    session.flush()
    return len(due)


def list_conversations(*, session: Session, staff: StaffUser, filters: Filters, limit: int = 50,
                       offset: int = 0) -> list[ListRow]:
    """Conversations matching `filters`, the longest-waiting customer first."""
    query = select(Conversation, Contact).join(Contact, Contact.id == Conversation.contact_id, isouter=True) \
        .where(*_conditions(filters, staff, session=session)) \
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
    alerted = alerts.conversations_with_open_alerts(session=session, conversation_ids=ids)
    result = []
    for conversation, contact in rows:
        message = last.get(conversation.id)
        shown = (history.tapped_label(message) if message.type == "postback" else message.text) if message else None
        result.append(ListRow(conversation, contact, (shown or "") if message and not message.hidden else "",
                              message.type if message else "", names.get(conversation.assignee_id, ""),
                              conversation.id in alerted))
    return result


def filter_counts(*, session: Session, staff: StaffUser, filters: Filters) -> dict[str, int]:
    """How many conversations each status and scope tab would show (the other filters applied)."""
    tabs = _tab_conditions(filters, staff)

    def count(status: Any = tabs["status"], scope: Any = tabs["scope"], unread: Any = tabs["unread"]):
        return func.coalesce(func.sum(case((and_(status, scope, unread), 1), else_=0)), 0)

    # One pass over the chats with a sum per tab: three counts read the table three times (at 100k
    # chats ~25 ms each on SQLite, ~15 on PostgreSQL), and a GROUP BY needed a temporary b-tree on SQLite.
    columns = {status: count(status=Conversation.status == status) for status in STATUSES}
    columns |= {"all": count(scope=true()), "mine": count(scope=Conversation.assignee_id == staff.id),
                "unassigned": count(scope=Conversation.assignee_id.is_(None)),
                "unread": count(unread=Conversation.unread_count > 0)}
    row = session.exec(select(*columns.values()).where(*_conditions(filters, staff, session=session,
                                                                    with_tabs=False))).one()
    counts = {name: int(value) for name, value in zip(columns, row)}
    counts["any"] = sum(counts[s] for s in STATUSES)
    return counts


def facet_values(*, session: Session) -> dict[str, list[str]]:
    """Values offered in the channel, intent and label filters."""
    # A probe of the (channel, chat id) index per channel, not a DISTINCT over every conversation.
    channels = [c for c in CHANNELS
                if session.exec(select(Conversation.id).where(Conversation.channel == c).limit(1)).first()]
    intents = [i for i in session.exec(select(Conversation.last_intent).distinct()).all() if i]
    # The distinct label lists among the first 2000 labelled chats: few, where parsing every row's list took ~10 ms.
    lists = select(func.cast(Conversation.labels, Text).label("labels")).where(
        func.cast(Conversation.labels, Text) != "[]").limit(2000).subquery()
    labels = set()
    for value in session.exec(select(lists.c.labels).distinct()).all():
        labels.update(json.loads(value) or [])
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


def _latest_ids(session: Session, condition, after_id: int | None, limit: int) -> list[int]:
    query = select(Message.id).where(condition)
    if after_id is not None:
        query = query.where(Message.id > after_id)
    return session.exec(query.order_by(Message.id.desc()).limit(limit)).all()


def timeline(*, session: Session, conversation: Conversation, with_notes: bool, limit: int = 300,
             after_id: int | None = None) -> list[TimelineItem]:
    """The customer's history across channels (their other chats too), with private notes if allowed."""
    if conversation.contact_id and conversation.kind == "direct":
        # Two indexed reads, merged: one query with "contact_id = … OR conversation_id IN (…)" makes
        # PostgreSQL walk the whole message table backwards by id (~1 s at 2M messages).
        chats = session.exec(select(Conversation.id).where(Conversation.contact_id == conversation.contact_id)).all()
        ids = set(_latest_ids(session, Message.contact_id == conversation.contact_id, after_id, limit))
        ids |= set(_latest_ids(session, Message.conversation_id.in_(chats), after_id, limit))
        query = select(Message).where(Message.id.in_(sorted(ids)[-limit:]))
    else:
        query = select(Message).where(Message.conversation_id == conversation.id)
        if after_id is not None:
            query = query.where(Message.id > after_id)
    rows = list(reversed(session.exec(query.order_by(Message.id.desc()).limit(limit)).all()))
    names = staff_names(session=session)
    items = [TimelineItem("message", as_utc(row.created_at), message=row,
                          author=names.get(row.staff_user_id, "") if row.staff_user_id else "") for row in rows]
    if with_notes and after_id is None:
        since = items[0].at if items and len(rows) == limit else None
        notes_query = select(Note).where(Note.contact_id == conversation.contact_id) if conversation.contact_id \
            else select(Note).where(Note.conversation_id == conversation.id)
        if since is not None:
            notes_query = notes_query.where(Note.created_at >= since)
        for note in session.exec(notes_query).all():
            items.append(TimelineItem("note", as_utc(note.created_at), note=note, author=names.get(note.staff_user_id, "")))
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
        if m.label_width(label) > m.LABEL_LIMIT:  # counted as LINE may count it: an emoji is 2
            raise InboxError(f"quick_reply_too_long:{m.LABEL_LIMIT}")
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
        if snooze_until is None or as_utc(snooze_until) <= now:
            raise InboxError("snooze_in_future")
        conversation.snoozed_until = snooze_until
    else:
        conversation.snoozed_until = None
    before = conversation.status
    if status == "resolved":
        episodes.resolve(session=session, conversation=conversation, staff_user_id=staff.id, now=now)
        conversation.waiting_since = None
        conversation.bot_active, conversation.handoff_until = True, None
        csat.after_resolve(session=session, conversation=conversation, staff_user_id=staff.id, now=now)
    elif before == "resolved":
        episodes.open_episode(session=session, conversation=conversation, now=now)
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
             "state": row.state if as_utc(row.at) >= utcnow() - timedelta(seconds=4) else "viewing"}
            for row, user in rows]
