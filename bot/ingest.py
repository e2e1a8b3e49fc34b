"""Durable ingestion: raw events are committed (deduplicated) before the webhook answers."""

from __future__ import annotations

import atexit
import logging
import math
import os
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager as ContextManager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from queue import Empty, SimpleQueue
from threading import TIMEOUT_MAX, Event, Lock, Thread

from sqlalchemy import event as sa_event
from sqlalchemy.engine import Dialect, Engine

from core.db import limit_waits, utcnow, write_lock
from crm.models import WebhookEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawEvent:
    """One event as it arrived: dedupe key, type and the JSON text to keep."""

    key: str
    type: str
    payload: str


WAIT_STEP_MS = 100  # granularity of the database lock-wait limit of a bounded store
ROWS_PER_STATEMENT = 500  # 7 parameters a row: far below SQLite's limit of 32,766


@lru_cache(maxsize=64)
def _insert_sql(dialect: Dialect, rows: int) -> str:
    """One INSERT of `rows` events (the duplicates skipped); elsewhere than SQLite it returns the new rows.

    The hottest statement of the product: plain SQL on a DBAPI connection costs half of
    a Core insert, and one statement for a whole group commit is one call into SQLite
    instead of one per event (each call lets go of the GIL, and waits to get it back).
    SQLite would hand RETURNING rows back one call each: `_new_rows` works them out instead.
    """
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    values = ", ".join([f"({', '.join([mark] * 7)})"] * rows)
    returning = "" if dialect.name == "sqlite" else " RETURNING channel, event_key, id"
    return ("INSERT INTO webhookevent (channel, event_key, event_type, payload, status, attempts, received_at) "
            f"VALUES {values} ON CONFLICT (channel, event_key) DO NOTHING{returning}")


def _new_rows(cursor, dialect: Dialect, rows: list[tuple]) -> list[tuple[str, str, int]]:
    """Channel, key and id of each row the INSERT of `rows` just added (read before the next statement)."""
    if dialect.name != "sqlite":
        return cursor.fetchall()
    # A statement writes alone, and SQLite gives each new row the largest rowid + 1: the
    # statement's new rows have the rowids up to the last one, in the order of VALUES.
    added, last = cursor.rowcount, cursor.lastrowid
    if added == len(rows):  # all new: the usual case, worked out without asking
        return [(row[0], row[1], last - added + 1 + i) for i, row in enumerate(rows)]
    if not added:
        return []
    cursor.execute("SELECT channel, event_key, id FROM webhookevent WHERE id > ? AND id <= ?", (last - added, last))
    return cursor.fetchall()


@lru_cache(maxsize=4)
def _timestamp(dialect: Dialect) -> Callable:
    # Through the column type's own bind processor: stored exactly as the ORM stores it.
    return WebhookEvent.__table__.c.received_at.type.bind_processor(dialect) or (lambda value: value)


class StoreTimeout(TimeoutError):
    """The events could not be stored within the time allowed (the database's write lock is held)."""


class _Write:
    """One caller's events waiting for a group commit, and what became of them."""

    __slots__ = ("channel", "events", "deadline", "new_ids", "error", "done", "wake")

    def __init__(self, channel: str, events: list[RawEvent], timeout: float | None) -> None:
        self.channel, self.events = channel, events
        self.deadline = math.inf if timeout is None else time.monotonic() + timeout
        self.new_ids: list[int] = []
        self.error: BaseException | None = None
        self.done = False
        self.wake = Lock()  # held until this write is committed, or its caller is to lead
        self.wake.acquire()

    def seconds_left(self) -> float:
        """Time left before the deadline (inf without one)."""
        return self.deadline - time.monotonic()


class _GroupCommit:
    """Commits the events of every webhook waiting at that moment in one transaction.

    Under load most of a commit's cost is holding the database's write lock (threads of
    the other web process queue behind it, and the holder waits for the GIL after each
    SQLite call), so one transaction for the N webhooks waiting costs little more than
    one for a single webhook. Each webhook's events still commit all or nothing.

    The leader keeps one connection of its own: no pool checkout per commit, and on
    SQLite a page cache that stays warm while no other process has written. After its
    commit it wakes each waiting caller once, directly (not one after another through a
    lock), and the first to have arrived meanwhile leads the next commit.

    A write with a deadline is never waited on past it. The leader is the oldest write of
    its batch, so bounding its waits (for the write lock, then the database's own lock)
    by its own deadline bounds the whole batch's; a caller still waiting at its deadline
    withdraws, or, if a commit already carries its events, answers without its outcome
    (the commit stays all or nothing, and a late one hands its new rows off as usual).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection = None
        self.wait_limit_ms: int | None = None  # the lock-wait limit set on self.connection
        self.pending: list[_Write] = []
        self.pending_lock = Lock()
        self.leader: _Write | None = None  # the write committing, or woken to commit next

    def store(self, write: _Write) -> list[_Write] | None:
        """Commit `write` (with whatever else is waiting); the leader gets back the whole batch."""
        with self.pending_lock:
            self.pending.append(write)
            lead = self.leader is None
            if lead:
                self.leader = write
        if not lead:
            # Woken once: committed by a leader, or made the next leader.
            woken = write.wake.acquire(timeout=min(max(write.seconds_left(), 0), TIMEOUT_MAX))
            if write.done:
                return None
            if not woken or write.seconds_left() <= 0:
                self._withdraw(write)  # raises StoreTimeout unless committed (or failed) just now
                return None
        with self.pending_lock:
            batch, self.pending = self.pending, []
        try:
            self._insert(batch, write.deadline)
        except BaseException as exc:
            for each in batch:
                each.error = exc
            raise
        finally:
            for each in batch:
                each.done = True
            with self.pending_lock:
                # Whoever arrived during this commit: the first of them leads the next one.
                self.leader = successor = self.pending[0] if self.pending else None
            for each in batch:
                if each is not write:
                    each.wake.release()
            if successor is not None:
                successor.wake.release()
        return batch

    def _withdraw(self, write: _Write) -> None:
        """Give up waiting for a commit at the write's deadline (StoreTimeout, unless it is done)."""
        with self.pending_lock:
            if write.done:
                return
            if write in self.pending:  # not taken by a leader: it will never be stored
                self.pending.remove(write)
                if self.leader is write:  # woken to lead just now: the next in line leads instead
                    self.leader = successor = self.pending[0] if self.pending else None
                    if successor is not None:
                        successor.wake.release()
        # Either withdrawn, or carried by a commit still under way, which stores all of it or
        # none: a late commit queues its rows itself, and the platform's redelivery is a duplicate.
        raise StoreTimeout(f"events not stored within the time allowed ({len(write.events)} events)")

    def _insert(self, batch: list[_Write], deadline: float) -> None:
        dialect = self.engine.dialect
        now = _timestamp(dialect)(utcnow())
        rows = [(write.channel, event.key, event.type[:40], event.payload, "received", 0, now)
                for write in batch for event in write.events]
        chunks = [rows[i:i + ROWS_PER_STATEMENT] for i in range(0, len(rows), ROWS_PER_STATEMENT)]
        bounded = deadline != math.inf
        with write_lock(self.engine, deadline - time.monotonic() if bounded else None):
            if self.connection is None:
                self.connection = self._connect()
            connection = self.connection
            try:
                cursor = connection.cursor()
                if bounded:
                    self._limit_waits(cursor, deadline)
                elif self.wait_limit_ms is not None:  # a caller without a deadline waits as long as ever
                    limit_waits(cursor, dialect.name, None)
                    self.wait_limit_ms = None
                if len(chunks) > 1 and dialect.name == "sqlite":
                    cursor.execute("BEGIN")  # one statement is atomic by itself; several need a transaction
                new_ids: dict[tuple[str, str], int] = {}
                for chunk in chunks:
                    cursor.execute(_insert_sql(dialect, len(chunk)), [value for row in chunk for value in row])
                    for channel, key, event_id in _new_rows(cursor, dialect, chunk):
                        new_ids[channel, key] = event_id
                cursor.close()
                connection.commit()
            except BaseException:
                self.wait_limit_ms = None  # a rolled-back SET (PostgreSQL) is undone with it
                try:
                    connection.rollback()
                except Exception:  # noqa: BLE001 - a broken connection: the next batch opens a new one
                    self.close()
                raise
        # Only once committed does a caller learn its new rows (a key twice in one batch:
        # the first of them is the new row).
        for write in batch:
            for event in write.events:
                event_id = new_ids.pop((write.channel, event.key), None)
                if event_id is not None:
                    write.new_ids.append(event_id)

    def _limit_waits(self, cursor, deadline: float) -> None:
        """Bound the database's own lock wait by the time left (set again only when it changes a step)."""
        # In steps of WAIT_STEP_MS, rounded down: under load the time left hardly changes
        # from one commit to the next, so the setting is rarely sent again.
        milliseconds = math.floor((deadline - time.monotonic()) * 1000 / WAIT_STEP_MS) * WAIT_STEP_MS
        if milliseconds <= 0:
            raise StoreTimeout("no time left to store the events")
        if milliseconds != self.wait_limit_ms:
            limit_waits(cursor, self.engine.dialect.name, milliseconds)
            self.wait_limit_ms = milliseconds

    def _connect(self):
        connection = self.engine.raw_connection()  # kept checked out until close()
        if self.engine.dialect.name == "sqlite":
            # Autocommit: the batch's one INSERT commits by itself, without BEGIN and COMMIT
            # (two more calls into SQLite, and two more waits for the GIL, under the lock).
            connection.driver_connection.isolation_level = None
        return connection

    def close(self) -> None:
        """Give the leader's connection back (on an error, and when the engine is disposed)."""
        connection, self.connection = self.connection, None
        self.wait_limit_ms = None
        if connection is not None:
            try:
                connection.invalidate()
            except Exception:  # noqa: BLE001 - it is being thrown away either way
                log.debug("closing the ingest connection failed", exc_info=True)


_group_commits: dict[Engine, _GroupCommit] = {}
_group_commits_lock = Lock()
# A forked child opens its own connection: SQLite connections must not cross a fork.
os.register_at_fork(after_in_child=_group_commits.clear)


def _group_commit(engine: Engine) -> _GroupCommit:
    group = _group_commits.get(engine)
    if group is None:
        with _group_commits_lock:
            group = _group_commits.get(engine)
            if group is None:
                group = _group_commits[engine] = _GroupCommit(engine)
                sa_event.listen(engine, "engine_disposed", _forget)
    return group


def _forget(engine: Engine) -> None:
    group = _group_commits.pop(engine, None)
    if group is not None:
        group.close()


def store_events(engine: Engine, channel: str, events: Iterable[RawEvent],
                 then: Callable[[list[int]], object] | None = None, timeout: float | None = None) -> list[int]:
    """Insert events in one transaction, skipping ones already stored; ids of the new rows.

    `then` gets the ids of every new row of the group commit this call led, once per
    commit (to queue them together); it is not called for a failed commit. With `timeout`,
    raises StoreTimeout (or the database's error) once that many seconds have passed
    without the events being stored.
    """
    write = _Write(channel, list(events), timeout)
    batch = _group_commit(engine).store(write)
    if write.error is not None:
        raise write.error
    if batch is not None and then is not None:
        then([event_id for each in batch for event_id in each.new_ids])
    return write.new_ids


GATHER_SECONDS = 0.01  # how long the hand-off thread lets ids gather after each queueing


class HandOff:
    """Queues the processing of stored events from one background thread per process.

    The leader of each group commit only notes its batch's ids; the thread queues whatever
    has gathered in one queue transaction, so no webhook waits for the queue's lock (which
    the other web process and the workers taking tasks also hold). Ids lost with the
    process (a crash, a kill) are re-queued by the clock's stale-event sweep; a clean exit
    queues them first.
    """

    def __init__(self, enqueue: Callable[[list[int]], object], together: Callable[[], ContextManager] = nullcontext,
                 background: bool = True) -> None:
        self.enqueue, self.together, self.background = enqueue, together, background
        self._reset()
        if background:
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # A forked child starts empty, with its own thread: the parent queues its own ids.
        self.waiting: SimpleQueue[list[int] | Event] = SimpleQueue()
        self.starting = Lock()
        self.started_in: int | None = None

    def __call__(self, event_ids: list[int]) -> None:
        """Queue these stored events soon (at once when not in the background)."""
        if not self.background:
            self._send(event_ids)
            return
        if not event_ids:
            return
        self.waiting.put(event_ids)
        if self.started_in != os.getpid():
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
            self._send([event_id for item in taken if isinstance(item, list) for event_id in item])
            for item in taken:
                if isinstance(item, Event):
                    item.set()
            # While it sleeps, handing off costs a webhook nothing (no thread to wake), and
            # what gathers meanwhile is queued in one go: under load 6-8 % more webhooks/s,
            # for at most GATHER_SECONDS more before the worker sees an event.
            time.sleep(GATHER_SECONDS)

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
                self.enqueue(event_ids)
        except Exception:  # noqa: BLE001 - the events are safe in the database already
            log.exception("could not queue events %s; the stale-event sweep will pick them up", event_ids)
