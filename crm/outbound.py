"""The one outbound path: every message a customer gets is a `Message` row, sent here.

Bot replies, staff replies and test-sends are outbound `Message` rows (status queued)
grouped in a batch, sent by `deliver_batch`; a broadcast's messages are rows too (sender
"campaign"), sent one chat at a time by `send` / `push` or 500 at a time by `multicast`.
Either way `record` writes each outcome on its message: sent, failed, unknown (maybe sent:
never sent again), or queued again after a temporary error, to be tried again later
(`RetryLater`, honouring the platform's retry_after). A recipient who blocked the account
is marked so in `record`, once for every kind of message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection, String, bindparam, func, update
from sqlmodel import Session, select
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from core import messages as m
from core.db import is_transient_db_error, session_scope, utcnow, write_lock
from core.runtime import Runtime
from core.sending import Outcome, SendRequest
from crm import alerts, contacts, history
from crm.models import Conversation, Message

log = logging.getLogger(__name__)
MESSAGES = Message.__table__


class RetryLater(Exception):
    """Some messages could not be sent yet; try again after `delay` seconds (None: the queue's backoff)."""

    def __init__(self, reason: str, delay: float | None = None, batch_id: str | None = None) -> None:
        super().__init__(f"batch {batch_id}: {reason}" if batch_id else reason)
        self.reason, self.delay, self.batch_id = reason, delay, batch_id


def backoff(outcome: Outcome, attempt: int) -> float:
    """Seconds to wait before sending again after a temporary error: the platform's retry_after, else doubling."""
    return min(outcome.retry_after or 0.5 * 2 ** attempt, 30)


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
        caught_mid_send = any(row.status == "sending" for row in rows)
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
    return _send(rt, batch_id, rows, conversation, also, caught_mid_send)


def _send(rt: Runtime, batch_id: str, rows: list[Message], conversation: Conversation,
          also: Callable[[Connection], None] | None, caught_mid_send: bool = False) -> list[Message]:
    meta = rows[0].payload
    request = SendRequest(
        chat_id=conversation.external_chat_id,
        replies=[m.Reply.from_payload(row.payload.get("reply", {})) for row in rows],
        # A retry tries the reply token again (free, and LINE rejects it if it was used);
        # after an uncertain attempt, or one caught mid-send, a rejected token means "maybe
        # delivered": no push.
        retry_key=batch_id, reply_token=meta.get("reply_token"),
        reply_uncertain=caught_mid_send or bool(meta.get("reply_uncertain")),
        chat_type=conversation.kind,
    )
    outcomes = _guarded(lambda: rt.senders.get(conversation.channel).deliver(request), len(rows), "retry",
                        f"batch {batch_id}")
    return _record_outcomes(rt, batch_id, rows, outcomes, conversation, also)


def _record_outcomes(rt: Runtime, batch_id: str, rows: list[Message], outcomes: list[Outcome],
                     conversation: Conversation, also: Callable[[Connection], None] | None) -> list[Message]:
    chat_ids = [conversation.external_chat_id if conversation.contact_id else None] * len(rows)
    retry = record(rt, [row.id for row in rows], outcomes, channel=conversation.channel, chat_ids=chat_ids, also=also)
    now = utcnow()
    for row, outcome in zip(rows, outcomes):  # what was written, for the caller
        row.status, row.error = message_status(outcome), outcome.error
        row.sent_at = now if row.status == "sent" else row.sent_at
        row.platform_message_id = outcome.platform_message_id or row.platform_message_id
        if outcome.uncertain:
            row.payload = {**row.payload, "reply_uncertain": True}
    if retry is not None:
        raise RetryLater(retry.error or "temporary error", retry.retry_after, batch_id)
    return rows


# --- sending and recording, for every kind of message -------------------------------------


def message_status(outcome: Outcome) -> str:
    """The status a message keeps after `outcome` (a temporary error leaves it queued for the next attempt)."""
    return "queued" if outcome.status == "retry" else outcome.status


def _guarded(call: Callable[[], list[Outcome]], count: int, on_error: str, what: str) -> list[Outcome]:
    """The error boundary of sending: a switched-off channel fails; an exception is `on_error` (retry | unknown)."""
    try:
        return call()
    except KeyError as exc:
        return [Outcome("failed", str(exc)) for _ in range(count)]
    except Exception as exc:  # noqa: BLE001 - the error boundary of sending
        log.exception("sending %s failed", what)
        return [Outcome(on_error, f"{type(exc).__name__}: {exc}") for _ in range(count)]


def send(rt: Runtime, channel: str, request: SendRequest, on_error: str = "retry") -> Outcome:
    """Send one chat's replies (a broadcast message); its outcome (the first reply's).

    `on_error="unknown"`: an exception may have come after the platform acted (Telegram has
    no retry key), so the message is never sent again.
    """
    outcomes = _guarded(lambda: rt.senders.get(channel).deliver(request), 1, on_error, f"{channel} {request.retry_key}")
    return outcomes[0] if outcomes else Outcome("failed", "nothing to send")


def push(rt: Runtime, chat_id: str, replies: list[m.Reply], key: str) -> Outcome:
    """Push replies to one LINE user under retry key `key` (a retry never sends twice)."""
    return _guarded(lambda: [rt.senders.get("line").push(chat_id, replies, key)], 1, "retry", f"line push {key}")[0]


def multicast(rt: Runtime, chat_ids: list[str], replies: list[m.Reply], key: str) -> Outcome:
    """Send the same replies to up to 500 LINE users under retry key `key` (a retry never sends twice)."""
    return _guarded(lambda: [rt.senders.get("line").multicast(chat_ids, replies, key)], 1, "retry",
                    f"line multicast {key}")[0]


def record(rt: Runtime, message_ids: list[int | None], outcomes: list[Outcome], *, channel: str,
           chat_ids: list[str | None], also: Callable[[Connection], None] | None = None) -> Outcome | None:
    """Write each message's outcome and mark the recipients who blocked the account, in one transaction.

    `chat_ids[i]` is the chat of message i (None: not a person's chat; a message id None: a
    send with no row to write, its recipient still marked blocked); `also` runs in the
    same transaction (the pipeline marks its event processed, the fan-out its recipient rows).
    Returns the first temporary error (those messages stay queued), or None.
    """
    retry: Outcome | None = None
    now = utcnow()
    params, uncertain = [], []
    for message_id, outcome in zip(message_ids, outcomes):
        status = message_status(outcome)
        if outcome.status == "retry":
            retry = retry or outcome
        if message_id is None:
            continue
        params.append({"row_id": message_id, "new_status": status, "new_error": outcome.error,
                       "sent": now if status == "sent" else None, "platform_id": outcome.platform_message_id})
        if outcome.uncertain:
            uncertain.append(message_id)
    blocked = {chat for chat, outcome in zip(chat_ids, outcomes) if chat and outcome.blocked}
    # The platform has acted: a dropped connection must not lose what it did (written again
    # on a new connection; every statement here can run twice).
    retrying = Retrying(retry=retry_if_exception(is_transient_db_error), reraise=True, stop=stop_after_attempt(3),
                        wait=wait_exponential(multiplier=0.2, max=2))
    retrying(_write_outcomes, rt, channel, params, uncertain, blocked, also)
    return retry


def _write_outcomes(rt: Runtime, channel: str, params: list[dict], uncertain: list[int], blocked: set[str],
                    also: Callable[[Connection], None] | None) -> None:
    # Core statements on a bare connection: a session costs more than these updates.
    with write_lock(rt.engine), rt.engine.begin() as connection:
        if params:
            connection.execute(_OUTCOME, params)
        for message_id in uncertain:  # a retry must not trust the reply token again
            payload = connection.execute(select(MESSAGES.c.payload).where(MESSAGES.c.id == message_id)).scalar_one()
            connection.execute(update(MESSAGES).where(MESSAGES.c.id == message_id)
                               .values(payload={**payload, "reply_uncertain": True}))
        failed = [row["row_id"] for row in params if row["new_status"] == "failed"]
        if blocked or failed:
            with Session(bind=connection) as session:  # in this transaction
                for chat_id in sorted(blocked):
                    _mark_blocked(session, channel, chat_id)
                _alert_failed_staff_replies(session, failed)
                session.flush()
        if also is not None:
            also(connection)


def _mark_blocked(session: Session, channel: str, chat_id: str) -> None:
    identity = contacts.find_identity(session=session, channel=channel, external_id=chat_id)
    if identity is not None and not identity.blocked:
        contacts.set_blocked(session=session, identity=identity, blocked=True)


def _alert_failed_staff_replies(session: Session, message_ids: list[int]) -> None:
    # A bot reply that fails is logged; a person's reply that fails must reach a person.
    if not message_ids:
        return
    for row in session.exec(select(Message).where(Message.id.in_(message_ids), Message.sender == "staff")).all():
        alerts.raise_alert(session=session, kind="send_failed", severity="high", contact_id=row.contact_id,
                           conversation_id=row.conversation_id, message_id=row.id,
                           text=f"{row.error or 'not delivered'}: {row.text or ''}",
                           params={"line": "send_failed", "error": row.error or "-", "quote": row.text or ""})


def give_up_batch(rt: Runtime, batch_id: str, reason: str) -> None:
    """Mark the still-unsent messages of a batch failed after the last retry."""
    with session_scope(rt.engine) as session:
        failed = []
        for row in history.batch_messages(session=session, batch_id=batch_id):
            if row.status in SENDABLE:
                row.status, row.error = "failed", f"gave up after retries: {reason}"
                session.add(row)
                failed.append(row.id)
        session.flush()
        _alert_failed_staff_replies(session, failed)


def stale_batches(rt: Runtime, cutoff, limit: int = 500) -> list[str]:
    """Outbound batches with messages still unsent since before `cutoff` (their task was lost)."""
    with Session(rt.engine) as session:
        return list(session.exec(select(Message.batch_id).where(
            Message.direction == "out", Message.status.in_(SENDABLE), Message.created_at < cutoff,
            Message.batch_id.is_not(None)).distinct().limit(limit)).all())
