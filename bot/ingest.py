"""Durable ingestion: raw events are committed (deduplicated) before the webhook answers."""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager as ContextManager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from queue import Empty, SimpleQueue
from threading import Event, Lock, Thread

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


class _Write:
    """One caller's events waiting for a group commit, and what became of them."""

    __slots__ = ("channel", "events", "new_ids", "error", "done")

    def __init__(self, channel: str, events: list[RawEvent]) -> None:
        self.channel, self.events = channel, events
        self.new_ids: list[int] = []
        self.error: BaseException | None = None
        self.done = False


class _GroupCommit:
    """Commits the events of every webhook waiting at that moment in one transaction.

    Under load most of a commit's cost is holding the database's write lock (threads of
    the other web process queue behind it, and the holder waits for the GIL after each
    SQLite call), so one transaction for the N webhooks waiting costs little more than
    one for a single webhook. Each webhook's events still commit all or nothing.
    """

    def __init__(self) -> None:
        self.pending: list[_Write] = []
        self.pending_lock = Lock()
        self.leader_lock = Lock()

    def store(self, engine: Engine, write: _Write) -> None:
        with self.pending_lock:
            self.pending.append(write)
        with self.leader_lock:
            if write.done:  # an earlier leader committed it with its own batch
                return
            with self.pending_lock:
                batch, self.pending = self.pending, []
            try:
                _insert(engine, batch)
            except BaseException as exc:
                for each in batch:
                    each.error = exc
                raise
            finally:
                for each in batch:
                    each.done = True


def _insert(engine: Engine, batch: list[_Write]) -> None:
    sql, timestamp = _insert_sql(engine.dialect)
    now = timestamp(utcnow())
    with write_lock(engine):
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            for write in batch:
                for event in write.events:
                    cursor.execute(sql, (write.channel, event.key, event.type[:40], event.payload, "received", 0, now))
                    row = cursor.fetchone()
                    if row is not None:
                        write.new_ids.append(row[0])
            cursor.close()
            connection.commit()
        except BaseException:
            for write in batch:
                write.new_ids.clear()
            connection.rollback()
            raise
        finally:
            connection.close()


_group_commits: dict[str, _GroupCommit] = {}
_group_commits_lock = Lock()


def store_events(engine: Engine, channel: str, events: Iterable[RawEvent]) -> list[int]:
    """Insert events in one transaction, skipping ones already stored; ids of the new rows."""
    with _group_commits_lock:
        group = _group_commits.setdefault(str(engine.url), _GroupCommit())
    write = _Write(channel, list(events))
    group.store(engine, write)
    if write.error is not None:
        raise write.error
    return write.new_ids


class HandOff:
    """Queues the processing of stored events from one background thread per process.

    Web threads only note the ids (after their answer has gone out); the thread queues
    whatever has gathered in one queue transaction, so concurrent webhooks no longer queue
    up behind the queue's lock one task at a time. Ids lost with the process (a crash, a
    kill) are re-queued by the clock's stale-event sweep; a clean exit queues them first.
    """

    def __init__(self, enqueue: Callable[[int], object], together: Callable[[], ContextManager] = nullcontext,
                 background: bool = True) -> None:
        self.enqueue, self.together, self.background = enqueue, together, background
        self._reset()
        if background:
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # A forked child starts empty, with its own thread: the parent queues its own ids.
        self.waiting: SimpleQueue[int | Event] = SimpleQueue()
        self.starting = Lock()
        self.started_in: int | None = None

    def __call__(self, event_ids: list[int]) -> None:
        """Queue these stored events soon (at once when not in the background)."""
        if not self.background:
            self._send(event_ids)
            return
        for event_id in event_ids:
            self.waiting.put(event_id)
        if event_ids and self.started_in != os.getpid():
            self._start()

    def _start(self) -> None:
        with self.starting:
            if self.started_in != os.getpid():
                self.started_in = os.getpid()
                Thread(target=self._run, name="sapa-hand-off", daemon=True).start()
                atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            taken = [self.waiting.get()]
            while True:
                try:
                    taken.append(self.waiting.get_nowait())
                except Empty:
                    break
            self._send([item for item in taken if isinstance(item, int)])
            for item in taken:
                if isinstance(item, Event):
                    item.set()

    def flush(self, timeout: float = 10.0) -> None:
        """Wait until every id handed off so far is queued (at exit, and in tests)."""
        if self.started_in == os.getpid():
            done = Event()
            self.waiting.put(done)
            done.wait(timeout)

    def _send(self, event_ids: list[int]) -> None:
        if not event_ids:
            return
        try:
            with self.together():
                for event_id in event_ids:
                    self.enqueue(event_id)
        except Exception:  # noqa: BLE001 - the events are safe in the database already
            log.exception("could not queue events %s; the stale-event sweep will pick them up", event_ids)
