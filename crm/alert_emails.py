"""Staff alerts by email: one more recipient channel of the phone alerts' decision (crm/phone_alerts.py).

Each email is an `AlertEmail` row written in the alert's transaction (queued), handed to the
queue after its commit as `email:<id>`, and sent with the standard library. Its key names the
alert event and the recipient, and so does its Message-ID: an event is queued once, and a
row is claimed (queued → sending) before it is sent, so two workers never both send it; a
sent row is never sent again. While the server is down the row waits, `next_attempt_at`
growing after each attempt, and the clock's sweep tries it again; after `MAX_ATTEMPTS` (or a
refusal for good) it is failed. Only a worker dying between the server taking the message and
the row being marked sent leaves a row to be sent again, under the same Message-ID.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Column, Text, bindparam, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, func, select

from core import mail
from core.after_commit import send_after_commit
from core.db import session_scope, utcnow
from core.runtime import Runtime, get_runtime
from crm.models import StaffUser

log = logging.getLogger(__name__)

BATCH_PREFIX = "email:"  # what the queue is handed: "email:<row id>"
FIRST_RETRY = timedelta(minutes=1)  # doubled after each failed attempt, up to LONGEST_WAIT
LONGEST_WAIT = timedelta(hours=1)
MAX_ATTEMPTS = 12  # about 7 hours of a server down
# A row still "sending" this long after its claim: the worker died with it (an SMTP attempt
# ends within its timeout); the sweep sends it again.
STALE_SENDING = timedelta(minutes=10)


class AlertEmail(SQLModel, table=True):
    """An alert (or the alerts held for someone's hours or digest) emailed to one staff member."""

    id: int | None = Field(default=None, primary_key=True)
    # The alert event and recipient: "alert:<alert>:<repeats>:<staff>" or "alerts-held:<staff>:<hold>".
    key: str = Field(max_length=80, sa_column_kwargs={"unique": True})
    staff_user_id: int = Field(foreign_key="staffuser.id", index=True)
    to_address: str = Field(max_length=200)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    message_id: str = Field(max_length=200)  # the Message-ID header, the same on every attempt
    status: str = Field(default="queued", max_length=10, index=True)  # queued, sending, sent, failed
    attempts: int = 0
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    claimed_at: datetime | None = None
    next_attempt_at: datetime = Field(default_factory=utcnow, index=True)  # when the sweep may try it
    sent_at: datetime | None = None


def enabled() -> bool:
    """True when a mail server is set (otherwise nobody gets alerts by email)."""
    return get_runtime().settings.smtp.enabled


def wanted(staff: StaffUser) -> bool:
    """True when the staff member gets their alerts by email too, and email is on."""
    return staff.email_alerts and "@" in staff.email and enabled()


def recent(*, session: Session, staff_user_id: int, since: datetime) -> int:
    """How many alert emails (not releases of held ones) the staff member was queued since `since`."""
    return session.exec(select(func.count()).select_from(AlertEmail).where(
        AlertEmail.staff_user_id == staff_user_id, AlertEmail.key.like("alert:%"),
        AlertEmail.created_at >= since)).one()


def queue(*, session: Session, staff: StaffUser, key: str, subject: str, body: str,
          now: datetime | None = None) -> str | None:
    """Write the email for an alert event (once per key) and send it after the commit; its batch id, None if known."""
    if session.exec(select(AlertEmail.id).where(AlertEmail.key == key)).first() is not None:
        return None  # this event is already on its way to them
    now = now or utcnow()
    domain = get_runtime().settings.smtp.from_address.rpartition("@")[2] or "sapa.invalid"
    row = AlertEmail(key=key, staff_user_id=staff.id, to_address=staff.email, subject=subject[:300], body=body,
                     message_id=f"<{key.replace(':', '.')}@{domain}>", created_at=now,
                     # The handoff after the commit sends it; the sweep only if that was lost.
                     next_attempt_at=now + FIRST_RETRY)
    try:
        with session.begin_nested():  # another worker may decide the same event at the same moment
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    batch_id = f"{BATCH_PREFIX}{row.id}"
    send_after_commit(session, batch_id)
    return batch_id


def email_id(batch_id: str) -> int | None:
    """The row id an "email:<id>" batch names, None for a chat batch."""
    if not batch_id.startswith(BATCH_PREFIX):
        return None
    return int(batch_id.removeprefix(BATCH_PREFIX))


ROWS = AlertEmail.__table__
_CLAIM = (update(ROWS).where(ROWS.c.id == bindparam("row_id"))
          .where(or_(ROWS.c.status == "queued",
                     (ROWS.c.status == "sending") & (ROWS.c.claimed_at < bindparam("stale_before"))))
          .values(status="sending", claimed_at=bindparam("now"), attempts=ROWS.c.attempts + 1)
          .returning(ROWS.c.to_address, ROWS.c.subject, ROWS.c.body, ROWS.c.message_id, ROWS.c.attempts))


def wait_after(attempts: int) -> timedelta:
    """How long a row waits after its `attempts`-th failed attempt."""
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_WAIT)


def deliver(rt: Runtime, row_id: int, now: datetime | None = None) -> str | None:
    """Send one queued email and record the outcome; its new status, None when it was not this worker's to send."""
    now = now or utcnow()
    with session_scope(rt.engine) as session:
        claimed = session.connection().execute(_CLAIM, {"row_id": row_id, "now": now,
                                                        "stale_before": now - STALE_SENDING}).first()
    if claimed is None:
        return None  # sent, failed, or another worker has it
    to, subject, body, message_id, attempts = claimed
    smtp = rt.settings.smtp
    values: dict = {"status": "sent", "sent_at": utcnow(), "error": None}
    try:
        if not smtp.enabled:
            raise mail.MailError("email is off (no smtp.host)", temporary=True)
        mail.send(smtp, mail.compose(smtp=smtp, to=to, subject=subject, body=body, message_id=message_id))
    except mail.MailError as exc:
        final = not exc.temporary or attempts >= MAX_ATTEMPTS
        values = {"status": "failed" if final else "queued", "error": str(exc)[:500],
                  "next_attempt_at": now + wait_after(attempts)}
        log.warning("alert email %s to %s: attempt %d %s (%s)", row_id, to, attempts,
                    "failed" if final else "to be retried", exc)
    with session_scope(rt.engine) as session:
        session.execute(update(AlertEmail).where(AlertEmail.id == row_id).values(**values))
    return values["status"]


def due(rt: Runtime, now: datetime, limit: int = 500) -> list[str]:
    """Batch ids of the emails to try now: waited long enough, or caught mid-send by a dead worker."""
    with Session(rt.engine) as session:
        ids = session.exec(select(AlertEmail.id).where(or_(
            (AlertEmail.status == "queued") & (AlertEmail.next_attempt_at <= now),
            (AlertEmail.status == "sending") & (AlertEmail.claimed_at < now - STALE_SENDING)))
            .order_by(AlertEmail.id).limit(limit)).all()
    return [f"{BATCH_PREFIX}{row_id}" for row_id in ids]
