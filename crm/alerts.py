"""Staff alerts: what needs a person now, one open alert per cause and conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Column, Index, and_, or_
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, func, select

from core.db import as_utc, utcnow
from crm.complaints import SLA as SLA_SPANS
from crm.complaints import Complaint
from crm.models import Conversation
from crm.phone_alerts import notify, release_held

KINDS = ("complaint", "negative", "handoff", "sla", "order_waiting", "payment_proof", "send_failed",
         "campaign_paused", "low_rating")
STATUSES = ("new", "seen", "done")
SEVERITIES = ("low", "medium", "high", "critical")
COMPLAINT_KINDS = ("complaint", "sla")  # settled when their complaint is resolved or closed
# The status an alert may move to from each status (the same status again is a no-op).
NEXT = {"new": ("seen", "done"), "seen": ("done",), "done": ()}
OPEN = "status != 'done'"  # the rows the uniqueness below covers


class StaffAlert(SQLModel, table=True):
    """Something staff should look at now; a repeat of an open one bumps it instead of adding a row."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)
    status: str = Field(default="new", max_length=8, index=True)
    severity: str = Field(default="medium", max_length=10)
    contact_id: int | None = Field(default=None, foreign_key="contact.id", index=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    order_id: int | None = Field(default=None, foreign_key="order.id")
    complaint_id: int | None = Field(default=None, foreign_key="complaint.id")
    message_id: int | None = Field(default=None, foreign_key="message.id")
    text: str = Field(default="", max_length=1000)  # in English, for the API and the logs
    # What the inbox words the line from, in each staff member's language: {"line": key, values...}.
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False, server_default="{}"))
    repeats: int = 0  # how many more times the cause came back while the alert was open
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)
    seen_at: datetime | None = None
    seen_by: int | None = Field(default=None, foreign_key="staffuser.id")
    done_at: datetime | None = None
    done_by: int | None = Field(default=None, foreign_key="staffuser.id")

    # At most one open alert per cause and conversation, even when two workers raise it at once.
    __table_args__ = (Index("ux_staffalert_open", "kind", "conversation_id", unique=True,
                            sqlite_where=sql(OPEN), postgresql_where=sql(OPEN)),)


class AlertError(ValueError):
    """A refused alert change (its message says why)."""


def _stronger(a: str, b: str) -> str:
    return max(a, b, key=lambda s: SEVERITIES.index(s) if s in SEVERITIES else 1)


def open_alert(*, session: Session, kind: str, conversation_id: int) -> StaffAlert | None:
    """The open (not done) alert of `kind` on a conversation, if any."""
    return session.exec(select(StaffAlert).where(StaffAlert.kind == kind, StaffAlert.conversation_id == conversation_id,
                                                 StaffAlert.status != "done")).first()


def _bump(session: Session, alert: StaffAlert, *, severity: str, text_: str, now: datetime, renamed: bool = False,
          params: dict[str, Any] | None = None, **links) -> StaffAlert:
    # Phones hear of it again only when it is news: it was seen or done, or it is now another kind.
    news = alert.status != "new" or renamed
    alert.repeats += 1
    alert.severity = _stronger(alert.severity, severity)
    alert.status, alert.updated_at = "new", now  # it came back: someone must look again
    alert.text = text_[:1000] or alert.text
    alert.params = params or alert.params
    for name, value in links.items():
        if value is not None:
            setattr(alert, name, value)
    session.add(alert)
    session.flush()
    if news:
        notify(session=session, alert=alert, now=now)
    return alert


def raise_alert(*, session: Session, kind: str, text: str = "", severity: str = "medium",
                contact_id: int | None = None, conversation_id: int | None = None, order_id: int | None = None,
                complaint_id: int | None = None, message_id: int | None = None,
                now: datetime | None = None, params: dict[str, Any] | None = None) -> StaffAlert:
    """Raise an alert for staff, or bump the open one of the same cause in the same conversation.

    `text` is the line in English (the API's); `params` name the inbox's words for it in each
    language, `{"line": key, **values}` (crm/inbox/words.yaml `alert_line_<key>`).
    """
    if kind not in KINDS:
        raise AlertError(f"kind must be one of {', '.join(KINDS)}")
    now = now or utcnow()
    links = {"contact_id": contact_id, "order_id": order_id, "complaint_id": complaint_id, "message_id": message_id}
    if conversation_id is not None:
        # A complaint is the negative message's cause made explicit: one alert, of kind complaint.
        if kind == "negative" and (complaint := open_alert(session=session, kind="complaint",
                                                           conversation_id=conversation_id)):
            return _bump(session, complaint, severity=severity, text_=complaint.text, now=now)
        if kind == "complaint" and (negative := open_alert(session=session, kind="negative",
                                                           conversation_id=conversation_id)):
            if open_alert(session=session, kind="complaint", conversation_id=conversation_id) is None:
                negative.kind = "complaint"
                return _bump(session, negative, severity=severity, text_=text, now=now, renamed=True, params=params,
                             **links)
            negative.status, negative.done_at = "done", now
            session.add(negative)
        existing = open_alert(session=session, kind=kind, conversation_id=conversation_id)
        if existing is not None:
            return _bump(session, existing, severity=severity, text_=text, now=now, params=params, **links)
    alert = StaffAlert(kind=kind, severity=severity, conversation_id=conversation_id, text=text[:1000],
                       params=params or {}, created_at=now, updated_at=now, **links)
    try:
        with session.begin_nested():  # another worker may insert the same open alert first
            session.add(alert)
            session.flush()
    except IntegrityError:
        existing = open_alert(session=session, kind=kind, conversation_id=conversation_id)
        if existing is None:
            raise
        return _bump(session, existing, severity=severity, text_=text, now=now, params=params, **links)
    notify(session=session, alert=alert, now=now)
    return alert


def change_status(*, session: Session, alert: StaffAlert, status: str, staff_id: int | None = None,
                  now: datetime | None = None) -> StaffAlert:
    """Move an alert forward (new → seen → done, or new → done); the status is the shop's, not per staff."""
    if status not in STATUSES:
        raise AlertError(f"status must be one of {', '.join(STATUSES)}")
    if status == alert.status:
        return alert
    if status not in NEXT[alert.status]:
        raise AlertError(f"an alert that is {alert.status} cannot become {status}")
    now = now or utcnow()
    if status == "seen":
        alert.seen_at, alert.seen_by = now, staff_id
    else:
        alert.seen_at = alert.seen_at or now
        alert.done_at, alert.done_by = now, staff_id
    alert.status, alert.updated_at = status, now
    session.add(alert)
    session.flush()
    return alert


def settle(*, session: Session, kinds: tuple[str, ...], order_id: int | None = None, complaint_id: int | None = None,
           now: datetime | None = None) -> int:
    """Mark done the open alerts of `kinds` about an order or complaint whose cause went away; how many."""
    about = StaffAlert.order_id == order_id if order_id is not None else StaffAlert.complaint_id == complaint_id
    rows = session.exec(select(StaffAlert).where(StaffAlert.kind.in_(kinds), about, StaffAlert.status != "done")).all()
    for alert in rows:
        alert.status, alert.done_at, alert.updated_at = "done", now or utcnow(), now or utcnow()
        session.add(alert)
    return len(rows)


def list_alerts(*, session: Session, status: str | None = None, kind: str | None = None,
                limit: int = 100) -> list[StaffAlert]:
    """Alerts, newest first, filtered by status and kind."""
    query = select(StaffAlert)
    if status:
        query = query.where(StaffAlert.status == status)
    if kind:
        query = query.where(StaffAlert.kind == kind)
    return list(session.exec(query.order_by(StaffAlert.created_at.desc(), StaffAlert.id.desc()).limit(limit)).all())


def count_new(*, session: Session) -> int:
    """How many alerts nobody has looked at yet."""
    return session.exec(select(func.count()).select_from(StaffAlert).where(StaffAlert.status == "new")).one()


def fingerprint(*, session: Session) -> tuple[int, int, str]:
    """What changes whenever an alert is raised, bumped or moved (the live stream compares it)."""
    count, newest = session.exec(select(func.count(), func.max(StaffAlert.updated_at))
                                 .where(StaffAlert.status != "done")).one()
    return count_new(session=session), count, str(newest)


def newest_new(*, session: Session) -> tuple[str, str, int | None] | None:
    """The kind, severity and chat assignee of the latest alert nobody has seen (what a notification names)."""
    row = session.exec(select(StaffAlert.kind, StaffAlert.severity, Conversation.assignee_id)
                       .join(Conversation, Conversation.id == StaffAlert.conversation_id, isouter=True)
                       .where(StaffAlert.status == "new")
                       .order_by(StaffAlert.updated_at.desc(), StaffAlert.id.desc()).limit(1)).first()
    return tuple(row) if row else None


def conversations_with_open_alerts(*, session: Session, conversation_ids: list[int]) -> set[int]:
    """Which of these conversations have an open alert."""
    if not conversation_ids:
        return set()
    return set(session.exec(select(StaffAlert.conversation_id).where(
        StaffAlert.conversation_id.in_(conversation_ids), StaffAlert.status != "done")).all())


SLA_WARNING = 0.25  # the last quarter of a complaint's SLA time is "about to breach"


def alert_complaint_sla(*, session: Session, now: datetime | None = None) -> int:
    """Alert on open complaints about to breach their SLA (high) or breached (critical), once per stage; how many."""
    now = now or utcnow()
    raised = 0
    rows = session.exec(select(Complaint).where(Complaint.status.in_(("open", "in_progress")),
                                                Complaint.sla_due_at <= now + max(SLA_SPANS.values()) * SLA_WARNING)).all()
    for complaint in rows:
        due = as_utc(complaint.sla_due_at)
        span = SLA_SPANS.get(complaint.severity, SLA_SPANS["medium"])
        minutes = int((due - now).total_seconds() // 60)
        if due <= now:
            severity, words = "critical", f"Complaint {complaint.number}: SLA breached"
            params = {"line": "sla_breached", "number": complaint.number}
        elif due - now <= span * SLA_WARNING:
            severity, words = "high", f"Complaint {complaint.number}: SLA ends in {minutes} min"
            params = {"line": "sla_ends", "number": complaint.number, "minutes": minutes}
        else:
            continue
        # Each stage once: a stage staff already handled is not raised again every minute, and a
        # chat's open SLA alert at this stage or worse already covers its other complaints.
        at_least = SEVERITIES[SEVERITIES.index(severity):]
        told = session.exec(select(StaffAlert.id).where(StaffAlert.kind == "sla", or_(
            and_(StaffAlert.complaint_id == complaint.id, StaffAlert.severity == severity),
            and_(StaffAlert.conversation_id == complaint.conversation_id, StaffAlert.status != "done",
                 StaffAlert.severity.in_(at_least))))).first()
        if told is None:
            raise_alert(session=session, kind="sla", severity=severity, text=words, contact_id=complaint.contact_id,
                        conversation_id=complaint.conversation_id, order_id=complaint.order_id,
                        complaint_id=complaint.id, now=now, params=params)
            raised += 1
    return raised


def release_phone_alerts(*, session: Session, now: datetime, tz: ZoneInfo) -> list[str]:
    """Send staff phones what their hours or digest held back, once due (the clock, every minute); batch ids."""
    def by_id(ids: list[int]) -> dict[int, StaffAlert]:
        return {alert.id: alert for alert in session.exec(select(StaffAlert).where(StaffAlert.id.in_(ids))).all()}
    return release_held(session=session, now=now, tz=tz, alerts_by_id=by_id)
