"""Alerts on staff phones: a new (or bumped back to new) alert goes to the linked chats of the staff who want it.

Each message is an outbound row in that staff chat's history, written in the alert's own
transaction (a rolled-back alert leaves no message) and sent after its commit by the path
every message takes. Its batch id names the alert event (alert, repeat, recipient, channel),
so one event is never sent twice. At most `PER_WINDOW` alerts reach one chat per `WINDOW`;
the rest are skipped with a log line (the inbox still shows them).

A staff member may set their own hours (weekly windows in the shop's timezone) and a daily
digest time. An alert outside their hours, or any alert for a digest, is held (a
`PhoneAlertHold` row in the alert's transaction); the clock releases what is held in one
message when their hours start, or at the digest time, under a batch id naming the last
hold released, so a release is sent once however often the clock runs.

A staff member may also get them by email (crm/alert_emails.py): one more recipient of the
same decision, under the same kinds, hours, digest and rate limit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, Session, SQLModel, func, select

from core import messages as m
from core.after_commit import send_after_commit
from core.db import utcnow
from core.runtime import get_runtime
from core.texts import text
from crm import alert_emails, contacts, history, staff_links
from crm.models import Contact, Message, StaffUser
from crm.shop_settings import current_config
from crm.stores import hours_open_at, validate_opening_hours

log = logging.getLogger(__name__)

# By default an admin is told at once, day and night, of what a person must answer.
DEFAULT_KINDS = {"admin": ("complaint", "negative", "handoff")}
WINDOW = timedelta(minutes=10)
PER_WINDOW = 5
QUOTE_CHARS = 120
HELD_LINES = 30  # alerts listed in one held message; a chat message has room for ~4,000 characters
HELD_PREFIX = "alerts-held"  # not "alert:": a release is one message and not counted in the rate limit
EMAIL_QUOTE_CHARS = 2000
INBOX_CONVERSATION, INBOX_ME = "/inbox/c/{id}", "/inbox/me"  # the inbox pages an email links to
DIGEST_TIME = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")  # HH:MM; 24:00 is no time of day


class PhoneAlertHold(SQLModel, table=True):
    """An alert event held back from a staff member's phone (outside their hours, or for their digest)."""

    __table_args__ = (UniqueConstraint("staff_user_id", "alert_id", "repeats", name="uq_phonealerthold_event"),)

    id: int | None = Field(default=None, primary_key=True)
    staff_user_id: int = Field(foreign_key="staffuser.id", index=True)
    alert_id: int = Field(foreign_key="staffalert.id")
    repeats: int = 0  # the alert event: raised (0) or bumped back to new
    held_at: datetime = Field(default_factory=utcnow)
    released_at: datetime | None = Field(default=None, index=True)
    batch_id: str | None = Field(default=None, max_length=80)  # the message it went out in (None: nothing sent)


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


def set_schedule(*, session: Session, staff: StaffUser, hours: dict | None, digest_at: str | None) -> None:
    """Store the member's phone hours (None: any time) and digest time (None: at once); ValueError naming the field."""
    if hours is not None:
        try:
            hours = validate_opening_hours(hours)
        except ValueError as exc:
            raise ValueError(f"phone_hours: {exc}") from None
        if not any(hours.values()):  # alerts would wait for ever
            raise ValueError("phone_hours: give at least one window, or let alerts come any time")
    if digest_at is not None and not DIGEST_TIME.fullmatch(digest_at):
        raise ValueError(f"digest_at: {digest_at!r} is not a time of day HH:MM")
    staff.phone_hours, staff.phone_digest_at = hours, digest_at
    session.add(staff)


def held_back(staff: StaffUser, now: datetime, tz: ZoneInfo) -> bool:
    """True when an alert now waits for the staff member's digest or the start of their hours."""
    if staff.phone_digest_at is not None:
        return True
    return staff.phone_hours is not None and not hours_open_at(staff.phone_hours, now, tz)


def _shop_tz(session: Session) -> ZoneInfo:
    return current_config(session, get_runtime().settings).tz  # the timezone staff saved last


def notify(*, session: Session, alert: Any, now: datetime | None = None, tz: ZoneInfo | None = None) -> list[str]:
    """Queue `alert` (a StaffAlert just raised or bumped to new) to the chats of the staff who want it; batch ids.

    For a staff member outside their hours or on a digest the alert is held instead (see `release_held`).
    """
    if alert.conversation_id is None:
        return []
    now = now or utcnow()
    batches = []
    for staff in session.exec(select(StaffUser).where(StaffUser.active == True)  # noqa: E712 - SQL
                              .order_by(StaffUser.id)).all():
        if alert.kind not in kinds_of(staff):
            continue
        # Their own chat raised it (a test): no alert about themselves.
        linked = staff_links.targets_of(session=session, staff_user_id=staff.id)
        targets = [target for target in linked if target.contact_id != alert.contact_id]
        by_email = alert_emails.wanted(staff) and all(target.contact_id != alert.contact_id for target in linked)
        if (targets or by_email) and (staff.phone_hours is not None or staff.phone_digest_at is not None) \
                and held_back(staff, now, tz or _shop_tz(session)):
            _hold(session, staff, alert, now)
            continue
        for target in targets:
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
        if by_email:
            batches.extend(_email_alert(session, staff, alert, now))
    return batches


def _email_alert(session: Session, staff: StaffUser, alert: Any, now: datetime) -> list[str]:
    if alert_emails.recent(session=session, staff_user_id=staff.id, since=now - WINDOW) >= PER_WINDOW:
        log.info("alert %s not emailed to staff %s: %d alerts in the last %s already", alert.id, staff.id,
                 PER_WINDOW, WINDOW)
        return []
    subject, body = alert_email(session, alert, staff.language)
    batch_id = alert_emails.queue(session=session, staff=staff, key=f"alert:{alert.id}:{alert.repeats}:{staff.id}",
                                  subject=subject, body=body, now=now)
    return [batch_id] if batch_id else []


def _hold(session: Session, staff: StaffUser, alert: Any, now: datetime) -> None:
    held = session.exec(select(PhoneAlertHold.id).where(
        PhoneAlertHold.staff_user_id == staff.id, PhoneAlertHold.alert_id == alert.id,
        PhoneAlertHold.repeats == alert.repeats)).first()
    if held is None:  # one hold per alert event
        session.add(PhoneAlertHold(staff_user_id=staff.id, alert_id=alert.id, repeats=alert.repeats, held_at=now))
        session.flush()


def release_due(staff: StaffUser, now: datetime, tz: ZoneInfo) -> datetime | None:
    """Until when held alerts go out now: the last digest time passed, or now within their hours; None: not yet."""
    if not staff.active:
        return now  # nobody to tell: let them go without a message
    if staff.phone_digest_at is not None:
        local = now.astimezone(tz)
        hour, minute = map(int, staff.phone_digest_at.split(":"))
        digest = datetime.combine(local.date(), time(hour, minute), tz)
        return digest if digest <= local else datetime.combine(local.date() - timedelta(days=1), time(hour, minute), tz)
    if staff.phone_hours is not None and not hours_open_at(staff.phone_hours, now, tz):
        return None
    return now


def release_held(*, session: Session, now: datetime, tz: ZoneInfo,
                 alerts_by_id: Callable[[list[int]], dict[int, Any]]) -> list[str]:
    """Send each staff member what was held for them and is due, one message per linked chat; batch ids.

    `alerts_by_id` reads the StaffAlert rows (crm.alerts owns them). Alerts done meanwhile are
    left out; when all are, nothing is sent.
    """
    batches: list[str] = []
    pending = session.exec(select(PhoneAlertHold.staff_user_id)
                           .where(PhoneAlertHold.released_at.is_(None)).distinct()).all()
    for staff_id in sorted(pending):
        staff = session.get(StaffUser, staff_id)
        until = release_due(staff, now, tz)
        if until is None:
            continue
        # Locked, so a second clock run at the same moment waits and then finds them released.
        holds = list(session.exec(select(PhoneAlertHold).where(
            PhoneAlertHold.staff_user_id == staff_id, PhoneAlertHold.released_at.is_(None),
            PhoneAlertHold.held_at <= until.astimezone(timezone.utc))
            .order_by(PhoneAlertHold.id).with_for_update()).all())
        if not holds:
            continue
        found = alerts_by_id(sorted({hold.alert_id for hold in holds}))
        listed = [found[alert_id] for alert_id in dict.fromkeys(hold.alert_id for hold in holds)
                  if alert_id in found and found[alert_id].status != "done"]
        batch_id = f"{HELD_PREFIX}:{staff.id}:{holds[-1].id}"
        digest, sent, emailed = staff.phone_digest_at is not None, [], None
        if listed and staff.active:
            sent = _send_held(session, staff, listed, batch_id, digest=digest)
            if alert_emails.wanted(staff):  # sent after the commit, not among the batches returned to the clock
                emailed = alert_emails.queue(session=session, staff=staff, key=batch_id, now=now,
                                             **held_email(session, listed, staff.language, digest=digest))
        for hold in holds:
            hold.released_at, hold.batch_id = now, batch_id if sent or emailed else None
            session.add(hold)
        batches.extend(sent)
    session.flush()
    return batches


def _send_held(session: Session, staff: StaffUser, listed: list, batch_id: str, *, digest: bool) -> list[str]:
    words = held_text(session, listed, staff.language, digest=digest)
    batches = []
    for target in staff_links.targets_of(session=session, staff_user_id=staff.id):
        channel_batch = f"{batch_id}:{target.channel}"
        if history.batch_messages(session=session, batch_id=channel_batch):
            continue  # already on its way
        conversation = contacts.get_or_create_conversation(
            session=session, channel=target.channel, chat_id=target.external_id, kind="direct",
            contact_id=target.contact_id)
        history.record_outbound(session=session, conversation=conversation, batch_id=channel_batch, sender="system",
                                replies=[m.Reply(text=words)],
                                meta={"alert_ids": [alert.id for alert in listed], "chat_type": "direct"})
        batches.append(channel_batch)
    return batches


def _customer(session: Session | None, alert: Any, language: str) -> str:
    contact = session.get(Contact, alert.contact_id) if alert.contact_id else None
    return (contact.display_name if contact else "") or text("phone_alert_someone", language)


def _quote(session: Session, alert: Any, chars: int) -> str:
    """The customer's message that raised the alert, cut to `chars`; "" when there is none."""
    message = session.get(Message, alert.message_id) if alert.message_id else None
    quote = (message.text or "").strip() if message is not None and message.direction == "in" else ""
    return quote[:chars - 1].rstrip() + "…" if len(quote) > chars else quote


def _link(path: str) -> str:
    return get_runtime().settings.public_url.rstrip("/") + path


def _held_lines(session: Session | None, listed: list, language: str, *, digest: bool, links: bool) -> list[str]:
    lines = [text("phone_alert_digest" if digest else "phone_alert_held", language, count=str(len(listed)))]
    for alert in listed[:HELD_LINES]:
        lines.append(text("phone_alert_line", language, kind=text(f"alert.{alert.kind}", language),
                          name=_customer(session, alert, language), id=str(alert.conversation_id)))
        if links:
            lines.append("  " + _link(INBOX_CONVERSATION.format(id=alert.conversation_id)))
    if len(listed) > HELD_LINES:
        lines.append(text("phone_alert_more", language, count=str(len(listed) - HELD_LINES)))
    return lines


def held_text(session: Session | None, listed: Iterable[Any], language: str, *, digest: bool) -> str:
    """One message for held alerts: how many, one line each (kind, customer, conversation id), how to answer."""
    listed = list(listed)
    lines = _held_lines(session, listed, language, digest=digest, links=False)
    lines.append(text("phone_alert_answer", language, id=str(listed[0].conversation_id)))
    return "\n".join(lines)


def held_email(session: Session, listed: list, language: str, *, digest: bool) -> dict[str, str]:
    """The email for held alerts: subject (how many) and body (one line and link each)."""
    subject = text("email_digest_subject" if digest else "email_held_subject", language,
                   shop=current_config(session, get_runtime().settings).bot.shop_name, count=str(len(listed)))
    lines = _held_lines(session, listed, language, digest=digest, links=True)
    return {"subject": subject, "body": "\n".join([*lines, "", _email_footer(language)])}


def alert_text(session: Session, alert: Any, language: str) -> str:
    """The phone message: the kind in words, the customer, a short quote, the conversation id and how to answer."""
    kind, name, quote = text(f"alert.{alert.kind}", language), _customer(session, alert, language), \
        _quote(session, alert, QUOTE_CHARS)
    lines = [text("phone_alert", language, kind=kind, name=name, id=str(alert.conversation_id))]
    if quote:
        lines.append(f"“{quote}”")
    lines.append(text("phone_alert_answer", language, id=str(alert.conversation_id)))
    return "\n".join(lines)


def alert_email(session: Session, alert: Any, language: str) -> tuple[str, str]:
    """The email: subject (the kind, the customer); body (conversation id, the quoted message, a link to it)."""
    kind, name, quote = text(f"alert.{alert.kind}", language), _customer(session, alert, language), \
        _quote(session, alert, EMAIL_QUOTE_CHARS)
    subject = text("email_alert_subject", language, shop=current_config(session, get_runtime().settings).bot.shop_name, kind=kind, name=name)
    lines = [text("phone_alert", language, kind=kind, name=name, id=str(alert.conversation_id)), ""]
    if quote:
        lines += [f"“{quote}”", ""]
    lines += [text("email_alert_open", language, link=_link(INBOX_CONVERSATION.format(id=alert.conversation_id))),
              "", _email_footer(language)]
    return subject, "\n".join(lines)


def _email_footer(language: str) -> str:
    return "-- \n" + text("email_alert_why", language, link=_link(INBOX_ME))


def _recent(session: Session, conversation_id: int, now: datetime) -> int:
    # The alert messages themselves are the count: exact across workers, and a rolled-back
    # alert's row is not counted.
    return session.exec(select(func.count(func.distinct(Message.batch_id))).where(
        Message.conversation_id == conversation_id, Message.batch_id.like("alert:%"),
        Message.created_at >= now - WINDOW)).one()
