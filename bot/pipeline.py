"""The flow of one stored event: adapter → history → router → sender.

Each step is idempotent, so a task that is retried (or run twice) neither records a
message twice nor sends a reply twice: the inbound message is unique per event, the
replies of an event form one batch with a stable id, and only unsent messages of a
batch are (re)sent.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, event, inspect, true, update
from sqlalchemy.orm import InstanceState
from sqlmodel import Session, select

from bot import events
from bot.edges import may_hold_nul, without_nul
from bot.line import adapter as line_adapter
from bot.telegram import adapter as telegram_adapter
from core import messages as m
from core.db import session_scope, utcnow, write_lock
from core.runtime import Runtime
from crm import history
from crm.models import ChannelIdentity, Contact, Conversation, Message, WebhookEvent
from crm.outbound import RetryLater, deliver_batch
from crm.shop import ShopData
from handlers.base import Context

log = logging.getLogger(__name__)

# Kinds of inbound events the bot answers.
ANSWERED = {m.MESSAGE, m.POSTBACK, m.FOLLOW}


@dataclass
class Processed:
    """What processing an event did (for tests and logs)."""

    event_id: int
    status: str
    batch_id: str | None = None


# --- adapters ------------------------------------------------------------------------


def to_inbound(rt: Runtime, event: WebhookEvent) -> m.Inbound | None:
    """The neutral Inbound of a stored event (None when there is nothing to act on)."""
    raw = json.loads(event.payload)
    if may_hold_nul(event.payload):  # a platform's name or text with NUL: kept without it (PostgreSQL refuses it)
        raw = without_nul(raw)
    if event.channel == "line":
        return line_adapter.to_inbound(raw, event.id)
    if event.channel == "telegram":
        username = rt.settings.telegram.username or _telegram_username(rt)
        return telegram_adapter.to_inbound(raw, event.id, bot_username=username)
    if event.channel == "simulator":
        from bot.simulator import to_inbound as simulator_inbound

        return simulator_inbound(raw, event.id)
    return None


def _telegram_username(rt: Runtime) -> str | None:
    try:
        return rt.senders.get("telegram").username
    except KeyError:
        return None


def process_event(rt: Runtime, event_id: int, *, final_attempt: bool = True) -> Processed:
    """Process one stored event end to end; the error boundary of the pipeline.

    On an error the event is marked `retrying` (or `failed` on the last attempt) with the
    error text, and the exception propagates so the queue retries with backoff.
    """
    try:
        result = _process(rt, event_id)
    except RetryLater:
        raise  # the event is recorded and answered; only sending waits for a retry
    except Exception as exc:
        log.exception("processing event %s failed", event_id)
        with session_scope(rt.engine) as session:
            if not getattr(exc, "claimed", False):  # the claim (and its attempt count) was rolled back
                session.execute(update(WebhookEvent).where(WebhookEvent.id == event_id)
                                .values(attempts=WebhookEvent.attempts + 1))
            events.finish(session.connection(), event_id, "failed" if final_attempt else "retrying", f"{type(exc).__name__}: {exc}")
        raise
    return result


def _process(rt: Runtime, event_id: int) -> Processed:
    # Few transactions on purpose: claiming, recording and routing commit together (no
    # network inside), then the reply is sent, then its outcome and the event's end
    # commit together. A new LINE contact adds one step for the profile, once.
    if rt.settings.telegram.enabled:
        _telegram_username(rt)  # getMe once, outside any transaction
    batch_id = f"event:{event_id}"
    with Session(rt.engine, expire_on_commit=False) as session:
        early = _understand_unlocked(rt, session, event_id)
        answered = _answer_before_lock(rt, session, event_id, early, batch_id) if early is not None else None
    if answered is SKIPPED:
        return Processed(event_id, "skipped")
    if answered is None:
        answered = _record_and_answer_locked(rt, event_id, early, batch_id)
        if isinstance(answered, Processed):
            return answered  # skipped or ignored
    recorded, batch_id, rows = answered
    prepared = (rows, recorded.conversation) if rows else None
    if batch_id is None:
        events.finish_event(rt, event_id, "processed")
        return Processed(event_id, "processed")
    try:
        deliver_batch(rt, batch_id, also=lambda connection: events.finish(connection, event_id, "processed"),
                      prepared=prepared)
    except RetryLater:
        events.finish_event(rt, event_id, "processed")
        raise
    return Processed(event_id, "processed", batch_id)


def _record_and_answer_locked(rt: Runtime, event_id: int, early: _Understood | None,
                              batch_id: str) -> tuple[history.Recorded, str | None, list[Message]] | Processed:
    """Claim, record and answer the event with every read under the write lock (the general path).

    Returns (recorded, batch id or None when silent, rows to send now), or the Processed
    of an event that was skipped or ignored.
    """
    with session_scope(rt.engine) as session:
        claimed = events.claim(rt, session, event_id)
        if claimed is None:
            return Processed(event_id, "skipped")
        channel, payload, attempt = claimed
        if early is not None and early.payload == payload:
            inbound, analysis = early.inbound, early.analysis
        else:
            inbound, analysis = to_inbound(rt, WebhookEvent(id=event_id, channel=channel, payload=payload)), None
        if inbound is None:
            events.finish(session.connection(), event_id, "ignored")
            return Processed(event_id, "ignored")
        recorded = history.record_inbound(session=session, inbound=inbound, first_attempt=attempt == 1)
        needs_profile = recorded.identity is not None and recorded.identity.profile_fetched_at is None \
            and inbound.channel == "line"
        if not needs_profile:
            batch_id, rows, failure = _answer_safely(rt, session, inbound, recorded, batch_id, analysis)
    if needs_profile:
        _fetch_profile(rt, recorded.identity.id, inbound)
        with session_scope(rt.engine) as session:
            recorded = history.record_inbound(session=session, inbound=inbound)
            batch_id, rows, failure = _answer_safely(rt, session, inbound, recorded, batch_id, analysis)
    if failure is not None:
        failure.claimed = True  # the customer's message is in the history; the event is retried
        raise failure
    return recorded, batch_id, rows


@dataclass
class _Understood:
    """What is worked out about an event before the write lock: its parse and its NLU."""

    payload: str
    inbound: m.Inbound | None
    analysis: Any
    first_attempt: bool


def _understand_unlocked(rt: Runtime, session: Session, event_id: int) -> _Understood | None:
    """Parse the event and understand its text with reads only, outside the write lock.

    On SQLite the worker processes take turns holding the write lock, so whatever needs
    no write (the SDK's parsing, the NLU, the catalog it matches against) is done before.
    None when the event is not waiting for processing (the claim will skip it).
    """
    row = session.connection().execute(events.WAITING_EVENT, {"event_id": event_id}).first()
    if row is None:
        return None
    try:
        inbound = to_inbound(rt, WebhookEvent(id=event_id, channel=row.channel, payload=row.payload))
        analysis = None
        if inbound is not None:
            ctx = Context(contact_id=None, contact_name="", language="id", shop_name="", now=utcnow(),
                          data=ShopData(session=session, contact=None, conversation=None, tz=rt.settings.tz,
                                        handoff_minutes=0, channel=inbound.channel))
            rt.router.prepare(inbound, ctx)
            analysis = ctx.analysis
    except Exception:  # noqa: BLE001 - done again under the lock, where a failure is recorded as usual
        return None
    return _Understood(row.payload, inbound, analysis, first_attempt=row.status == "received" and row.attempts == 0)


# --- answering before the lock ---------------------------------------------------------

SKIPPED = object()  # the event was taken by another worker meanwhile


class _NeedsWriteLock(Exception):
    """A handler wanted to write while answering before the lock: answer again under it."""


def _answer_before_lock(rt: Runtime, session: Session, event_id: int, early: _Understood,
                        batch_id: str) -> tuple[history.Recorded, str | None, list[Message]] | object | None:
    """Record and answer a customer's message from reads; take the write lock only to write.

    The write lock is what the worker processes wait for, so the common case (a first
    attempt at a message in a known 1:1 chat, answered by a handler that only reads) is
    worked out before it. Under the lock the claim is made and the chat, contact and
    identity rows are checked unchanged since they were read (another event of the same
    chat, or staff, may have written meanwhile); then everything is written at once.
    None (nothing written) when the event does not qualify, a handler wants to write, or
    a row changed: the caller then does it all under the lock. SKIPPED if already taken.
    """
    inbound = early.inbound
    if inbound is None or not early.first_attempt or inbound.kind not in (m.MESSAGE, m.POSTBACK) \
            or not inbound.is_direct or not inbound.user_id:
        return None
    flushes: list[bool] = []  # a new contact or chat is flushed, so it is refused here too

    def refuse_flush(*_args) -> None:
        flushes.append(True)  # noted too, in case a handler swallows the error
        raise _NeedsWriteLock("a flush while answering before the write lock")

    event.listen(session, "before_flush", refuse_flush)
    try:
        with session.no_autoflush:
            recorded = history.record_inbound(session=session, inbound=inbound, first_attempt=True, flush=False)
            if recorded.contact is None or recorded.conversation.kind != "direct" or \
                    (recorded.identity.profile_fetched_at is None and inbound.channel == "line"):
                return None
            replies, ctx = _route(rt, session, inbound, recorded, early.analysis)
    except _NeedsWriteLock:
        return None
    except Exception:  # noqa: BLE001 - answered again under the lock, where a failure is recorded as usual
        log.debug("answering event %s before the lock failed; answering under it", event_id, exc_info=True)
        return None
    finally:
        event.remove(session, "before_flush", refuse_flush)
    read = [recorded.identity, recorded.contact, recorded.conversation]
    expected = {id(obj) for obj in read} | {id(recorded.message)}
    if flushes or session.deleted or any(id(obj) not in expected for obj in (*session.new, *session.dirty)):
        return None  # the handler changed something else (an order, a ticket...): answer under the lock
    with write_lock(rt.engine):
        try:
            claimed = events.claim(rt, session, event_id)
            if claimed is None:
                session.rollback()
                return SKIPPED
            if claimed[1] != early.payload or claimed[2] != 1 or _changed_since_read(session, read):
                session.rollback()
                return None
            if not replies:
                session.flush()
                session.commit()
                return recorded, None, []
            batch_id, rows = _store_replies(session, inbound, recorded, batch_id, replies, ctx)
            session.commit()
        except BaseException:
            session.rollback()
            raise
    return recorded, batch_id, rows


def _changed_since_read(session: Session, read: list[Any]) -> bool:
    """True when any of these loaded rows now differs in the database from how it was loaded (one query).

    A value changed in place (a JSON dict) also counts as changed: the safe side. On
    PostgreSQL (no write lock) the rows stay locked until the commit.
    """
    tables = tuple(obj.__table__ for obj in read)
    statement = _rows_by_id(tables)
    row = session.connection().execute(statement, {f"id_{i}": obj.id for i, obj in enumerate(read)}).first()
    if row is None:
        return True
    values = iter(row)
    return any(_as_loaded(state, column.key) != next(values)
               for table, state in zip(tables, (inspect(obj) for obj in read)) for column in table.columns)


@lru_cache(maxsize=8)
def _rows_by_id(tables: tuple) -> Any:
    """SELECT one row of each table, by id (`id_0`, `id_1`...), locking them on PostgreSQL."""
    joined = tables[0]
    for table in tables[1:]:
        joined = joined.join(table, true())  # one row each, picked by id below
    return select(*tables).select_from(joined) \
        .where(*(table.c.id == bindparam(f"id_{i}") for i, table in enumerate(tables))).with_for_update()


def _as_loaded(state: InstanceState, key: str) -> Any:
    # The ORM keeps the loaded value of a changed attribute until the flush.
    return state.committed_state[key] if key in state.committed_state else state.dict.get(key)


def _answer_safely(rt: Runtime, session: Session, inbound: m.Inbound, recorded: history.Recorded,
                   batch_id: str, analysis: Any = None) -> tuple[str | None, list[Message], Exception | None]:
    """`_answer` in a savepoint: if a handler fails, the recorded message still commits."""
    try:
        with session.begin_nested():
            return *_answer(rt, session, inbound, recorded, batch_id, analysis), None
    except Exception as exc:  # noqa: BLE001 - re-raised by the caller after the commit
        return None, [], exc


def _answer(rt: Runtime, session: Session, inbound: m.Inbound, recorded: history.Recorded, batch_id: str,
            analysis: Any = None) -> tuple[str | None, list[Message]]:
    """Route the event and store the replies as a batch: its id and the rows to send now, or None if silent."""
    if recorded.already_recorded and history.batch_messages(session=session, batch_id=batch_id):
        return batch_id, []  # a retry: the replies exist, only sending may be left
    replies, ctx = _route(rt, session, inbound, recorded, analysis)
    if not replies:
        return None, []
    return _store_replies(session, inbound, recorded, batch_id, replies, ctx)


def _store_replies(session: Session, inbound: m.Inbound, recorded: history.Recorded, batch_id: str,
                   replies: list[m.Reply], ctx: Context) -> tuple[str, list[Message]]:
    """Store the replies as one batch: its id and the rows to send right after the commit."""
    # Fresh replies are stored as `sending`, to be sent right after the commit (no second
    # transaction). Not on Telegram: there a row in `sending` after a crash means "maybe
    # sent" (unknown), so rows become `sending` only just before the call, in deliver_batch.
    sending = recorded.conversation.channel != "telegram"
    rows = history.record_outbound(session=session, conversation=recorded.conversation, replies=replies,
                                   batch_id=batch_id, intent=ctx.intent, sending=sending,
                                   meta={"reply_token": inbound.reply_token, "chat_type": inbound.chat_type})
    return batch_id, rows if sending else []


def _fetch_profile(rt: Runtime, identity_id: int, inbound: m.Inbound) -> None:
    """Fetch the LINE profile once per identity (never per message)."""
    try:
        profile = rt.senders.get(inbound.channel).profile(inbound.user_id, inbound.chat_type, inbound.chat_id)
    except KeyError:
        return
    except Exception as exc:  # noqa: BLE001 - a profile is nice to have; try again next message
        log.warning("profile of %s not fetched: %s", inbound.user_id, exc)
        return
    with session_scope(rt.engine) as session:
        identity = session.get(ChannelIdentity, identity_id)
        identity.profile_fetched_at = utcnow()
        if profile:
            identity.display_name = without_nul(profile.get("display_name") or "") or identity.display_name
            identity.picture_url = profile.get("picture_url")
            identity.language = profile.get("language") or identity.language
            contact = session.get(Contact, identity.contact_id)
            contact.display_name = contact.display_name or identity.display_name
            contact.language = contact.language or identity.language
            session.add(contact)
        session.add(identity)


def reply_language(rt: Runtime, contact: Contact | None, inbound: m.Inbound) -> str:
    """Reply in the customer's language: English for English speakers, else Indonesian."""
    language = (contact.language if contact else None) or inbound.language or rt.settings.bot.default_language
    return "en" if language.lower().startswith("en") else "id"


def _bot_should_answer(rt: Runtime, inbound: m.Inbound, conversation: Conversation) -> bool:
    if inbound.kind not in ANSWERED or not inbound.addressed:
        return False
    if not conversation.bot_active:
        if conversation.handoff_until and conversation.handoff_until <= utcnow():
            conversation.bot_active, conversation.handoff_until = True, None  # handoff timed out
        else:
            return False
    return True


def _route(rt: Runtime, session: Session, inbound: m.Inbound,
           recorded: history.Recorded, analysis: Any = None) -> tuple[list[m.Reply], Context]:
    conversation, contact = recorded.conversation, recorded.contact
    message_id = recorded.message.id if recorded.message is not None else None
    now = utcnow()
    ctx = Context(
        contact_id=contact.id if contact else None,
        contact_name=(contact.display_name if contact else "") or inbound.display_name or "Kak",
        language=reply_language(rt, contact, inbound),
        shop_name=rt.settings.bot.shop_name,
        now=now,
        state=_live_state(rt, conversation, now),
        data=ShopData(session=session, contact=contact, conversation=conversation, tz=rt.settings.tz,
                      handoff_minutes=rt.settings.bot.handoff_timeout_minutes, message_id=message_id,
                      channel=inbound.channel),
        threshold=rt.settings.nlu.confidence_threshold,
        analysis=analysis,
    )
    if not _bot_should_answer(rt, inbound, conversation):
        # Staff have the chat, or a group talks among itself: the bot stays quiet, but the
        # message is still labelled with what it is about (inbox filters, dashboard).
        rt.router.prepare(inbound, ctx)
        replies = _answer_while_bot_inactive(rt, inbound, ctx)
        _note_intent(session, recorded, ctx)
        if replies is not None:
            return replies, ctx
        intent = recorded.message.intent if recorded.message is not None else None
        if intent not in (None, "other") and (ctx.analysis is None or ctx.analysis.confidence >= ctx.threshold):
            conversation.last_intent = intent
            session.add(conversation)
        return [], ctx
    replies = rt.router.route(inbound, ctx)
    conversation.state, conversation.state_updated_at = ctx.state, now
    session.add(conversation)
    _note_intent(session, recorded, ctx)
    return replies, ctx


def _answer_while_bot_inactive(rt: Runtime, inbound: m.Inbound, ctx: Context) -> list[m.Reply] | None:
    """Replies of a handler that answers whatever the bot state (a staff link code), or None."""
    for handler in rt.router.handlers:
        if getattr(handler, "answers_while_bot_inactive", False) and handler.matches(inbound, ctx):
            ctx.intent = handler.name
            return handler.handle(inbound, ctx)
    return None


def _note_intent(session: Session, recorded: history.Recorded, ctx: Context) -> None:
    """Label the customer's message with its intent (the NLU's, a menu button's or the handler's)."""
    message, analysis = recorded.message, ctx.analysis
    if message is None or message.intent is not None:
        return
    intent = analysis.intent if analysis else (ctx.requested_intent or ctx.intent)
    if intent is None:
        return
    message.intent = intent
    message.confidence = round(analysis.confidence, 4) if analysis else None
    session.add(message)


def _live_state(rt: Runtime, conversation: Conversation, now) -> dict:
    """The conversation state, or a fresh one when it has been idle too long."""
    idle = timedelta(minutes=rt.settings.bot.conversation_idle_minutes)
    if conversation.state and conversation.state_updated_at and now - conversation.state_updated_at > idle:
        return {}
    return copy.deepcopy(conversation.state or {})  # handlers change nested values in place
