"""The one outbound path: every message a customer gets is a `Message` row, sent here.

Bot replies, staff replies, test-sends and broadcasts are stored as outbound `Message`
rows (status queued) grouped in a batch, then `deliver_batch` sends them through the
channel's sender and records each outcome: sent, failed, unknown (maybe sent: never sent
again), or queued again after a temporary error (`RetryLater`). A recipient who blocked
the account is marked so here, once for every kind of message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection, String, bindparam, func, update
from sqlmodel import Session, select

from core import messages as m
from core.db import session_scope, utcnow, write_lock
from core.runtime import Runtime
from core.sending import Outcome, SendRequest
from crm import contacts, history
from crm.models import Conversation, Message

log = logging.getLogger(__name__)
MESSAGES = Message.__table__


class RetryLater(Exception):
    """Some messages of a batch could not be sent yet; try again after `delay` seconds."""

    def __init__(self, batch_id: str, delay: float | None, reason: str) -> None:
        super().__init__(f"batch {batch_id}: {reason}")
        self.batch_id, self.delay = batch_id, delay


# A platform id or a send time, once known, is kept (a retry has neither).
_OUTCOME = update(MESSAGES).where(MESSAGES.c.id == bindparam("row_id")).values(
    status=bindparam("new_status"), error=bindparam("new_error"),
    sent_at=func.coalesce(bindparam("sent", type_=MESSAGES.c.sent_at.type), MESSAGES.c.sent_at),
    platform_message_id=func.coalesce(bindparam("platform_id", type_=String), MESSAGES.c.platform_message_id))



SENDABLE = ("queued", "sending")


def deliver_batch(rt: Runtime, batch_id: str, also: Callable[[Connection], None] | None = None,
                  prepared: tuple[list[Message], Conversation] | None = None) -> list[Message]:
    """Send the unsent messages of a batch and record each outcome.

    Raises `RetryLater` when some messages hit a temporary error (rate limit, 5xx); they
    stay `queued` and the caller retries. A Telegram message caught mid-send by a crash
    (`sending`) is marked `unknown` instead of being sent again.
    `also` runs in the same transaction as the outcomes (the pipeline marks its event processed).
    """
    if prepared is not None:
        rows, conversation = prepared
        return _send(rt, batch_id, rows, conversation, also)
    with session_scope(rt.engine) as session:
        rows = [row for row in history.batch_messages(session=session, batch_id=batch_id) if row.status in SENDABLE]
        conversation = session.get(Conversation, rows[0].conversation_id) if rows else None
        if conversation is not None and conversation.channel == "telegram":
            for row in rows:
                if row.status == "sending":
                    row.status, row.error = "unknown", "worker stopped while sending; not resent"
                    session.add(row)
            rows = [row for row in rows if row.status == "queued"]
        if rows:
            session.execute(update(Message).where(Message.id.in_([row.id for row in rows]))
                            .values(status="sending", attempts=Message.attempts + 1))
        elif also is not None:
            also(session.connection())
    if not rows:
        return []
    return _send(rt, batch_id, rows, conversation, also)


def _send(rt: Runtime, batch_id: str, rows: list[Message], conversation: Conversation,
          also: Callable[[Connection], None] | None) -> list[Message]:
    meta = rows[0].payload
    request = SendRequest(
        chat_id=conversation.external_chat_id,
        replies=[m.Reply.from_payload(row.payload.get("reply", {})) for row in rows],
        # A retry tries the reply token again (free, and LINE rejects it if it was used);
        # after an uncertain attempt a rejected token means "maybe delivered": no push.
        retry_key=batch_id, reply_token=meta.get("reply_token"), reply_uncertain=bool(meta.get("reply_uncertain")),
        chat_type=conversation.kind,
    )
    try:
        outcomes = rt.senders.get(conversation.channel).deliver(request)
    except KeyError as exc:
        outcomes = [Outcome("failed", str(exc)) for _ in rows]
    except Exception as exc:  # noqa: BLE001 - the error boundary of sending
        log.exception("sending batch %s failed", batch_id)
        outcomes = [Outcome("retry", f"{type(exc).__name__}: {exc}") for _ in rows]
    return _record_outcomes(rt, batch_id, rows, outcomes, conversation, also)


def _record_outcomes(rt: Runtime, batch_id: str, rows: list[Message], outcomes: list[Outcome],
                     conversation: Conversation, also: Callable[[Connection], None] | None) -> list[Message]:
    retry: Outcome | None = None
    now = utcnow()
    # Core statements on a bare connection: a session costs more than these updates.
    with write_lock(rt.engine), rt.engine.begin() as connection:
        for row, outcome in zip(rows, outcomes):
            status = outcome.status
            if status == "retry":  # stays queued for the next attempt
                status, retry = "queued", retry or outcome
            sent_at = now if status == "sent" else None
            connection.execute(_OUTCOME, {"row_id": row.id, "new_status": status, "new_error": outcome.error,
                                          "sent": sent_at, "platform_id": outcome.platform_message_id})
            row.status, row.error = status, outcome.error
            row.sent_at = sent_at or row.sent_at
            row.platform_message_id = outcome.platform_message_id or row.platform_message_id
            if outcome.uncertain:
                row.payload = {**row.payload, "reply_uncertain": True}
                connection.execute(update(MESSAGES).where(MESSAGES.c.id == row.id).values(payload=row.payload))
        if conversation.contact_id and any(outcome.blocked for outcome in outcomes):
            with Session(bind=connection) as session:  # in this transaction
                _mark_blocked(session, conversation)
                session.flush()
        if also is not None:
            also(connection)
    if retry is not None:
        raise RetryLater(batch_id, retry.retry_after, retry.error or "temporary error")
    return rows


def _mark_blocked(session: Session, conversation: Conversation) -> None:
    identity = contacts.find_identity(session=session, channel=conversation.channel,
                                      external_id=conversation.external_chat_id)
    if identity is not None and not identity.blocked:
        contacts.set_blocked(session=session, identity=identity, blocked=True)



def give_up_batch(rt: Runtime, batch_id: str, reason: str) -> None:
    """Mark the still-unsent messages of a batch failed after the last retry."""
    with session_scope(rt.engine) as session:
        for row in history.batch_messages(session=session, batch_id=batch_id):
            if row.status in SENDABLE:
                row.status, row.error = "failed", f"gave up after retries: {reason}"
                session.add(row)


def stale_batches(rt: Runtime, cutoff, limit: int = 500) -> list[str]:
    """Outbound batches with messages still unsent since before `cutoff` (their task was lost)."""
    with Session(rt.engine) as session:
        return list(session.exec(select(Message.batch_id).where(
            Message.direction == "out", Message.status.in_(SENDABLE), Message.created_at < cutoff,
            Message.batch_id.is_not(None)).distinct().limit(limit)).all())
