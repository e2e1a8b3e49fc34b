"""Stored webhook events as work: claim one, finish it, sweep up what a crash left behind."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, or_, update
from sqlmodel import Session, select

from core.db import session_scope, utcnow
from core.runtime import Runtime
from crm import alert_emails, outbound, webhooks
from crm.models import WebhookEvent

log = logging.getLogger(__name__)

# Core (not ORM) statements for the per-event bookkeeping: the ORM's bulk-update machinery
# cost more than the updates themselves.
EVENTS = WebhookEvent.__table__


WAITING = ("received", "retrying")  # claimable, as is "processing" once its claim went stale


# Built once: a statement object caches its compiled form (these run for every event).
_CLAIM = (
    update(EVENTS)
    .where(EVENTS.c.id == bindparam("event_id"))
    .where(or_(EVENTS.c.status.in_(WAITING),
               (EVENTS.c.status == "processing") & (EVENTS.c.claimed_at < bindparam("stale_before"))))
    .values(status="processing", claimed_at=bindparam("now"), attempts=EVENTS.c.attempts + 1)
    .returning(EVENTS.c.channel, EVENTS.c.payload, EVENTS.c.attempts)
)
_FINISH = update(EVENTS).where(EVENTS.c.id == bindparam("event_id")) \
    .values(status=bindparam("new_status"), error=bindparam("new_error"))
_FINISH_DONE = _FINISH.values(processed_at=bindparam("now"))
WAITING_EVENT = select(EVENTS.c.channel, EVENTS.c.payload, EVENTS.c.status, EVENTS.c.attempts) \
    .where(EVENTS.c.id == bindparam("event_id"), EVENTS.c.status.in_((*WAITING, "processing")))

def claim(rt: Runtime, session: Session, event_id: int) -> tuple[str, str, int] | None:
    """Atomically take an event: its (channel, payload, attempt number), or None if done or taken."""
    now = utcnow()
    stale = now - timedelta(seconds=rt.settings.queue.stale_event_seconds)
    row = session.connection().execute(_CLAIM, {"event_id": event_id, "stale_before": stale, "now": now}).first()
    return (row[0], row[1], row[2]) if row else None


def finish(connection: Connection, event_id: int, status: str, error: str | None = None) -> None:
    """Record the end of one processing attempt in the caller's transaction."""
    params = {"event_id": event_id, "new_status": status, "new_error": error}
    if status in ("processed", "ignored"):
        connection.execute(_FINISH_DONE, {**params, "now": utcnow()})
    else:
        connection.execute(_FINISH, params)


def finish_event(rt: Runtime, event_id: int, status: str, error: str | None = None) -> None:
    """Record the end of one processing attempt."""
    with session_scope(rt.engine) as session:
        finish(session.connection(), event_id, status, error)


def stale_work(rt: Runtime, limit: int = 500) -> tuple[list[int], list[str]]:
    """Events and outbound batches that were accepted but not finished in time, and alert emails and webhooks due again."""
    queue = rt.settings.queue
    cutoff = utcnow() - timedelta(seconds=queue.stale_event_seconds)
    # A retry waits at most its last backoff; past that, its task was lost (say, a Redis
    # restarted empty) and the event would otherwise wait forever.
    longest_retry_wait = queue.retry_delay_seconds * queue.retry_backoff ** max(queue.retries - 1, 0)
    retry_cutoff = cutoff - timedelta(seconds=longest_retry_wait)
    with Session(rt.engine) as session:
        events = session.exec(select(WebhookEvent.id).where(
            or_((WebhookEvent.status == "received") & (WebhookEvent.received_at < cutoff),
                (WebhookEvent.status == "processing") & (WebhookEvent.claimed_at < cutoff),
                (WebhookEvent.status == "retrying") & (WebhookEvent.claimed_at < retry_cutoff))
        ).order_by(WebhookEvent.id).limit(limit)).all()
    now = utcnow()
    return list(events), outbound.stale_batches(rt, cutoff, limit) + alert_emails.due(rt, now, limit) + \
        webhooks.due(rt, now, limit)


def requeue_stale(rt: Runtime, enqueue_events: Callable[[list[int]], Any], enqueue_batch: Callable[[str], Any]) -> int:
    """Queue again what a crash or a lost task left behind; returns how many."""
    events, batches = stale_work(rt)
    if events:
        enqueue_events(events)
    for batch_id in batches:
        enqueue_batch(batch_id)
    if events or batches:
        log.info("requeued %d stale events and %d stale batches", len(events), len(batches))
    return len(events) + len(batches)
