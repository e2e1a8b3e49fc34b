"""Durable ingestion: raw events are committed (deduplicated) before the webhook answers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from functools import lru_cache

from sqlalchemy.engine import Dialect, Engine

from crm.db import utcnow, write_lock
from crm.models import WebhookEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawEvent:
    """One event as it arrived: dedupe key, type and the JSON text to keep."""

    key: str
    type: str
    payload: str


@lru_cache(maxsize=4)
def _insert_sql(dialect: Dialect) -> tuple[str, Callable]:
    # The hottest statement of the product, run once per webhook: plain SQL on the pooled
    # DBAPI connection costs half of a Core insert. The timestamp goes through the column
    # type's own bind processor, so it is stored exactly as the ORM stores it.
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = ("INSERT INTO webhookevent (channel, event_key, event_type, payload, status, attempts, received_at) "
           f"VALUES ({', '.join([mark] * 7)}) ON CONFLICT (channel, event_key) DO NOTHING RETURNING id")
    return sql, WebhookEvent.__table__.c.received_at.type.bind_processor(dialect) or (lambda value: value)


def store_events(engine: Engine, channel: str, events: Iterable[RawEvent]) -> list[int]:
    """Insert events in one transaction, skipping ones already stored; ids of the new rows."""
    sql, timestamp = _insert_sql(engine.dialect)
    now = timestamp(utcnow())
    new_ids: list[int] = []
    with write_lock(engine):
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            for event in events:
                cursor.execute(sql, (channel, event.key, event.type[:40], event.payload, "received", 0, now))
                row = cursor.fetchone()
                if row is not None:
                    new_ids.append(row[0])
            cursor.close()
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()
    return new_ids


def hand_off(event_ids: list[int], enqueue: Callable[[int], object]) -> None:
    """Queue processing of stored events; a queue failure is logged, the clock's sweep retries."""
    for event_id in event_ids:
        try:
            enqueue(event_id)
        except Exception:  # noqa: BLE001 - the event is safe in the database already
            log.exception("could not queue event %s; the stale-event sweep will pick it up", event_id)
