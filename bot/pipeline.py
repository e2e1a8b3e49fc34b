"""The flow of one stored event: claim (bot/events.py) → adapter → history → answer (bot/answer.py) → outbound
(crm/outbound.py).

Each step is idempotent, so a task that is retried (or run twice) neither records a
message twice, applies a handler's effects twice, nor sends a reply twice: the inbound
message is unique per event, an answer commits with it, the replies of an event form one
batch with a stable id, and only unsent messages of a batch are (re)sent.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, inspect, true, update
from sqlalchemy.orm import InstanceState
from sqlmodel import Session, select

from bot import answer, events
from bot.edges import may_hold_nul, without_nul
from bot.line import adapter as line_adapter
from bot.simulator import to_inbound as simulator_inbound
from bot.telegram import adapter as telegram_adapter
from core import messages as m
from core.db import session_scope, utcnow, write_lock
from core.runtime import Runtime
from crm import history, shop
from crm.models import ChannelIdentity, Contact, Message, WebhookEvent
from crm.outbound import RetryLater, deliver_batch

log = logging.getLogger(__name__)


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
            events.finish(session.connection(), event_id, "failed" if final_attempt else "retrying",
                          f"{type(exc).__name__}: {exc}")
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
            batch_id, rows, failure = answer.answer_safely(rt, session, inbound, recorded, batch_id, analysis)
    if needs_profile:
        _fetch_profile(rt, recorded.identity.id, inbound)
        with session_scope(rt.engine) as session:
            recorded = history.record_inbound(session=session, inbound=inbound)
            batch_id, rows, failure = answer.answer_safely(rt, session, inbound, recorded, batch_id, analysis)
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
        analysis = answer.understand(rt, session, inbound) if inbound is not None else None
    except Exception:  # noqa: BLE001 - done again under the lock, where a failure is recorded as usual
        return None
    return _Understood(row.payload, inbound, analysis, first_attempt=row.status == "received" and row.attempts == 0)


# --- answering before the lock ---------------------------------------------------------

SKIPPED = object()  # the event was taken by another worker meanwhile


def _answer_before_lock(rt: Runtime, session: Session, event_id: int, early: _Understood,
                        batch_id: str) -> tuple[history.Recorded, str | None, list[Message]] | object | None:
    """Record and answer a customer's message from reads; take the write lock only to write.

    The write lock is what the worker processes wait for, so the common case (a first
    attempt at a message in a known 1:1 chat) is decided before it: handlers only read and
    return their replies and effects. Under the lock the claim is made and the chat,
    contact and identity rows are checked unchanged since they were read (another event of
    the same chat, or staff, may have written meanwhile); then the message, the effects and
    the replies are written at once. None (nothing written) when the event does not
    qualify, a row changed or an effect is refused now: the caller then decides again
    under the lock. SKIPPED if already taken.
    """
    inbound = early.inbound
    if inbound is None or not early.first_attempt or inbound.kind not in (m.MESSAGE, m.POSTBACK) \
            or not inbound.is_direct or not inbound.user_id:
        return None
    try:
        # A first message creates the contact or the chat: a write, so it is recorded under the lock.
        if not shop.known_direct_chat(session=session, channel=inbound.channel, user_id=inbound.user_id,
                                      chat_id=inbound.chat_id):
            return None
        with session.no_autoflush:
            recorded = history.record_inbound(session=session, inbound=inbound, first_attempt=True, flush=False)
            if recorded.contact is None or recorded.conversation.kind != "direct" or \
                    (recorded.identity.profile_fetched_at is None and inbound.channel == "line"):
                return None
            decision = answer.decide(rt, session, inbound, recorded, early.analysis)
    except Exception:  # noqa: BLE001 - answered again under the lock, where a failure is recorded as usual
        log.debug("answering event %s before the lock failed; answering under it", event_id, exc_info=True)
        return None
    read = [recorded.identity, recorded.contact, recorded.conversation]
    with write_lock(rt.engine):
        try:
            claimed = events.claim(rt, session, event_id)
            if claimed is None:
                session.rollback()
                return SKIPPED
            if claimed[1] != early.payload or claimed[2] != 1 or _changed_since_read(session, read):
                session.rollback()
                return None
            try:
                batch_id, rows = answer.apply(rt, session, inbound, recorded, decision, batch_id)
            except Exception:  # noqa: BLE001 - refused since the reads (or failed): decided again under the lock
                log.debug("applying event %s's answer failed; answering under the lock", event_id, exc_info=True)
                session.rollback()
                return None
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
