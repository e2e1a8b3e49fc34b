"""Durable ingestion: raw events are committed (deduplicated) before the webhook answers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from crm.db import utcnow
from crm.models import WebhookEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawEvent:
    """One event as it arrived: dedupe key, type and the JSON text to keep."""

    key: str
    type: str
    payload: str


def store_events(engine: Engine, channel: str, events: Iterable[RawEvent]) -> list[int]:
    """Insert events in one transaction, skipping ones already stored; ids of the new rows."""
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    table = WebhookEvent.__table__
    now = utcnow()
    new_ids: list[int] = []
    with engine.begin() as connection:
        for event in events:
            statement = (
                insert(table)
                .values(channel=channel, event_key=event.key, event_type=event.type[:40], payload=event.payload,
                        status="received", attempts=0, received_at=now)
                .on_conflict_do_nothing(index_elements=["channel", "event_key"])
                .returning(table.c.id)
            )
            row = connection.execute(statement).first()
            if row is not None:
                new_ids.append(row[0])
    return new_ids


def hand_off(event_ids: list[int], enqueue: Callable[[int], object]) -> None:
    """Queue processing of stored events; a queue failure is logged, the clock's sweep retries."""
    for event_id in event_ids:
        try:
            enqueue(event_id)
        except Exception:  # noqa: BLE001 - the event is safe in the database already
            log.exception("could not queue event %s; the stale-event sweep will pick it up", event_id)
