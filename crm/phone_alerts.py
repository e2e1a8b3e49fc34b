"""Alerts on staff phones: a new (or bumped back to new) alert goes to the linked chats of the staff who want it.

Each message is an outbound row in that staff chat's history, written in the alert's own
transaction (a rolled-back alert leaves no message) and sent after its commit by the path
every message takes. Its batch id names the alert event (alert, repeat, recipient, channel),
so one event is never sent twice. At most `PER_WINDOW` alerts reach one chat per `WINDOW`;
the rest are skipped with a log line (the inbox still shows them).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, func, select

from core import messages as m
from core.after_commit import send_after_commit
from core.db import utcnow
from core.texts import text
from crm import contacts, history, staff_links
from crm.models import Contact, Message, StaffUser

log = logging.getLogger(__name__)

# By default an admin is told at once, day and night, of what a person must answer.
DEFAULT_KINDS = {"admin": ("complaint", "negative", "handoff")}
WINDOW = timedelta(minutes=10)
PER_WINDOW = 5
QUOTE_CHARS = 120


def kinds_of(staff: StaffUser) -> tuple[str, ...]:
    """The alert kinds that reach the staff member's linked chats (their choice, else their role's default)."""
    if staff.phone_alert_kinds is None:
        return DEFAULT_KINDS.get(staff.role, ())
    return tuple(kind for kind in staff.phone_alert_kinds.split(",") if kind)


def set_kinds(*, session: Session, staff: StaffUser, kinds: list[str], known: tuple[str, ...]) -> None:
    """Store the staff member's choice of alert kinds (unknown kinds are refused with ValueError)."""
    unknown = sorted(set(kinds) - set(known))
    if unknown:
        raise ValueError(f"unknown alert kinds: {', '.join(unknown)}")
    staff.phone_alert_kinds = ",".join(kind for kind in known if kind in kinds)
    session.add(staff)


def notify(*, session: Session, alert: Any, now: datetime | None = None) -> list[str]:
    """Queue `alert` (a StaffAlert just raised or bumped to new) to the chats of the staff who want it; batch ids."""
    if alert.conversation_id is None:
        return []
    now = now or utcnow()
    batches = []
    for staff in session.exec(select(StaffUser).where(StaffUser.active == True)  # noqa: E712 - SQL
                              .order_by(StaffUser.id)).all():
        if alert.kind not in kinds_of(staff):
            continue
        for target in staff_links.targets_of(session=session, staff_user_id=staff.id):
            if target.contact_id == alert.contact_id:
                continue  # their own chat raised it (a test): no alert about themselves
            batch_id = f"alert:{alert.id}:{alert.repeats}:{staff.id}:{target.channel}"
            if history.batch_messages(session=session, batch_id=batch_id):
                continue  # this alert event is already on its way
            conversation = contacts.get_or_create_conversation(
                session=session, channel=target.channel, chat_id=target.external_id, kind="direct",
                contact_id=target.contact_id)
            if _recent(session, conversation.id, now) >= PER_WINDOW:
                log.info("alert %s not sent to staff %s on %s: %d alerts in the last %s already", alert.id,
                         staff.id, target.channel, PER_WINDOW, WINDOW)
                continue
            history.record_outbound(session=session, conversation=conversation, batch_id=batch_id, sender="system",
                                    replies=[m.Reply(text=alert_text(session, alert, staff.language))],
                                    meta={"alert_id": alert.id, "chat_type": "direct"})
            send_after_commit(session, batch_id)
            batches.append(batch_id)
    return batches


def alert_text(session: Session, alert: Any, language: str) -> str:
    """The phone message: the kind in words, the customer, a short quote, the conversation id and how to answer."""
    contact = session.get(Contact, alert.contact_id) if alert.contact_id else None
    message = session.get(Message, alert.message_id) if alert.message_id else None
    quote = (message.text or "").strip() if message is not None and message.direction == "in" else ""
    if len(quote) > QUOTE_CHARS:
        quote = quote[:QUOTE_CHARS - 1].rstrip() + "…"
    lines = [text("phone_alert", language, kind=text(f"alert.{alert.kind}", language),
                  name=(contact.display_name if contact else "") or text("phone_alert_someone", language),
                  id=str(alert.conversation_id))]
    if quote:
        lines.append(f"“{quote}”")
    lines.append(text("phone_alert_answer", language, id=str(alert.conversation_id)))
    return "\n".join(lines)


def _recent(session: Session, conversation_id: int, now: datetime) -> int:
    # The alert messages themselves are the count: exact across workers, and a rolled-back
    # alert's row is not counted.
    return session.exec(select(func.count(func.distinct(Message.batch_id))).where(
        Message.conversation_id == conversation_id, Message.batch_id.like("alert:%"),
        Message.created_at >= now - WINDOW)).one()
