"""Database engine and sessions (SQLite with WAL for one shop, PostgreSQL when scaled)."""

from __future__ import annotations

import fcntl
import logging
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from queue import SimpleQueue
from threading import Event, Lock, RLock, Thread

from sqlalchemy import event
from sqlalchemy import exc as db_errors
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)
_engines: dict[str, Engine] = {}
_engines_lock = Lock()
_checkpointers: dict[str, Event] = {}  # url -> stops its thread
CHECKPOINT_SECONDS = 0.2
CONNECT_TIMEOUT_SECONDS = 5
BUSY_TIMEOUT_MS = 10_000  # how long a SQLite statement waits for another writer's lock


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (how every timestamp is stored)."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as timezone-aware UTC (SQLite hands them back naive)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the web process write while workers read; busy_timeout makes concurrent
    # writers wait for the lock instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """A new engine for `url`, creating the SQLite file's folder when needed."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A database host that does not answer at all must fail a connection in seconds (a
    # webhook's store, /healthz), not after the operating system's TCP timeout.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})


def get_engine(url: str) -> Engine:
    """The process-wide engine for `url` (one pool per process)."""
    with _engines_lock:
        if url not in _engines:
            _engines[url] = engine = make_engine(url)
            if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
                _checkpointers[url] = _checkpoint_in_background(engine)
        return _engines[url]


def dispose_engines() -> None:
    """Close every pooled connection (after fork, and in tests)."""
    with _engines_lock:
        for stop in _checkpointers.values():
            stop.set()
        _checkpointers.clear()
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def release_engine(url: str) -> None:
    """Stop the engine of `url` and its checkpoint thread (a test's database that is gone)."""
    with _engines_lock:
        stop = _checkpointers.pop(url, None)
        if stop is not None:
            stop.set()
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def _checkpoint_in_background(engine: Engine) -> Event:
    """Copy the WAL into the database file from a thread, outside the write lock; its stop switch.

    SQLite otherwise checkpoints inside whichever commit takes the WAL past 1,000 pages,
    and that checkpoint's disk sync stalls every writer queued behind the write lock (tens
    to hundreds of ms). Run often, the WAL rarely gets that long; the automatic checkpoint
    stays as the fallback. A passive checkpoint never blocks writers or readers.
    """
    stop = Event()
    lock = write_lock(engine)

    def run() -> None:
        done = lock.writes
        while not stop.wait(CHECKPOINT_SECONDS):
            if lock.writes == done:
                continue  # nothing written since the last checkpoint
            done = lock.writes
            try:
                with engine.connect() as connection:
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception as exc:  # noqa: BLE001 - the next round, or SQLite's own checkpoint, catches up
                log.debug("background checkpoint failed: %s", exc)

    Thread(target=run, name="sapa-checkpoint", daemon=True).start()
    return stop


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A write transaction: commits on success, rolls back on error (one writer at a time on SQLite)."""
    with write_lock(engine), Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


class WriteBusy(TimeoutError):
    """The database could not take a write within the time allowed (another writer holds its lock)."""


class _SqliteWriteLock:
    """One writer at a time per SQLite file, across threads (a lock) and processes (flock).

    SQLite's own busy handler polls with sleeps of 1-10 ms, which under concurrent webhooks
    costs more than the writes themselves; waiting on a lock wakes as soon as it is free.
    """

    def __init__(self, path: str) -> None:
        self.path = path + ".writelock"
        self.thread_lock = RLock()  # re-entrant: a write transaction may call code that opens one
        self.depth = 0
        self.file = None
        self.held = None  # the file whose flock this process holds (self.file, or a bounded wait's own)
        self.writes = 0  # write transactions of this process (the checkpointer looks for new ones)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self, timeout: float | None = None) -> None:
        """Take the lock, waiting at most `timeout` seconds (None: as long as it takes), else WriteBusy."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.thread_lock.acquire(timeout=-1 if timeout is None else max(timeout, 0)):
            raise WriteBusy("another thread of this process holds the database write lock")
        try:
            if self.depth == 0:
                if self.file is None:
                    self.file = open(self.path, "a+b")  # noqa: SIM115 - kept open for the process
                self.held = self._flock(deadline)
            self.depth += 1
        except BaseException:
            self.thread_lock.release()
            raise

    def _flock(self, deadline: float | None):
        if deadline is None:
            fcntl.flock(self.file, fcntl.LOCK_EX)
            return self.file
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return self.file
        except BlockingIOError:
            pass
        # Held by another process: Linux has no flock with a timeout, so a helper thread
        # waits in the kernel (woken the moment it is free, unlike polling) on a file of its
        # own, and lets go of the lock at once if we stopped waiting meanwhile.
        wait = _FlockWait(self.path)
        if wait.within(deadline - time.monotonic()):
            return wait.file
        raise WriteBusy("another process holds the database write lock")

    def release(self) -> None:
        """Let go of the lock (the innermost of re-entrant holds)."""
        self.depth -= 1
        if self.depth == 0:
            self.writes += 1
            held, self.held = self.held, None
            if held is self.file:
                fcntl.flock(held, fcntl.LOCK_UN)
            else:
                held.close()  # a bounded wait's own file: closing it unlocks
        self.thread_lock.release()


class _FlockWait:
    """One bounded wait for a flock, run by a helper thread; given up waits unlock as soon as they get it."""

    # One daemon thread per process (threads do not survive a fork); a daemon, so that an
    # exit never waits for a lock another process holds.
    _helpers: dict[int, SimpleQueue] = {}

    def __init__(self, path: str) -> None:
        self.file = open(path, "a+b")  # noqa: SIM115 - closed by release(), or here when given up
        self.state = Lock()
        self.got = Event()
        self.given_up = False
        helper = self._helpers.get(os.getpid())
        if helper is None:
            helper = self._helpers[os.getpid()] = SimpleQueue()
            Thread(target=self._serve, args=(helper,), name="sapa-flock", daemon=True).start()
        helper.put(self)

    @staticmethod
    def _serve(waits: SimpleQueue) -> None:
        while True:
            wait = waits.get()
            try:
                wait._wait()
            except OSError:  # the waiter times out; the thread stays for the next one
                log.warning("waiting for the database write lock failed", exc_info=True)

    def _wait(self) -> None:
        with self.state:
            if self.given_up:
                self.file.close()
                return
        fcntl.flock(self.file, fcntl.LOCK_EX)
        with self.state:
            if self.given_up:
                self.file.close()
            else:
                self.got.set()

    def within(self, seconds: float) -> bool:
        """True once the lock is ours; False (and the wait given up) after `seconds`."""
        if self.got.wait(max(seconds, 0)):
            return True
        with self.state:
            if self.got.is_set():
                return True
            self.given_up = True
        return False


class _BoundedWriteLock:
    """The SQLite write lock, waited for at most `timeout` seconds (WriteBusy after that)."""

    def __init__(self, lock: _SqliteWriteLock, timeout: float) -> None:
        self.lock, self.timeout = lock, timeout

    def __enter__(self):
        self.lock.acquire(self.timeout)
        return self.lock

    def __exit__(self, *exc) -> None:
        self.lock.release()


_write_locks: dict[str, _SqliteWriteLock] = {}
_write_locks_lock = Lock()  # not _engines_lock: get_engine holds that while it asks for a lock


def write_lock(engine: Engine, timeout: float | None = None):
    """A context manager serialising writers to a SQLite database (a no-op elsewhere).

    With `timeout`, it waits at most that many seconds for the lock, then raises WriteBusy.
    """
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return nullcontext()
    with _write_locks_lock:
        if engine.url.database not in _write_locks:
            _write_locks[engine.url.database] = _SqliteWriteLock(engine.url.database)
        lock = _write_locks[engine.url.database]
    return lock if timeout is None else _BoundedWriteLock(lock, timeout)


def limit_waits(cursor, dialect_name: str, milliseconds: int | None) -> None:
    """Make this connection's statements give up after `milliseconds` waiting for a lock (busy) or running.

    None puts back the default (SQLite: BUSY_TIMEOUT_MS; PostgreSQL: no limit).
    """
    if dialect_name == "sqlite":
        cursor.execute(f"PRAGMA busy_timeout={int(milliseconds or BUSY_TIMEOUT_MS)}")
    elif dialect_name == "postgresql":
        # statement_timeout covers the wait for a table or row lock as well as the work.
        cursor.execute(f"SET statement_timeout = {int(milliseconds or 0)}")


def write_probe(engine: Engine, timeout: float = 1.0) -> str | None:
    """None when the database takes a write within `timeout` seconds, else the reason it does not.

    Nothing is written: on SQLite it takes the write lock (BEGIN IMMEDIATE) and rolls back;
    on PostgreSQL it takes the lock an INSERT into the events table needs, and rolls back.
    """
    deadline = time.monotonic() + timeout
    try:
        with write_lock(engine, timeout), engine.connect() as connection:
            milliseconds = max(1, math.floor((deadline - time.monotonic()) * 1000))  # what the lock left
            if engine.dialect.name == "sqlite":
                raw = connection.connection.driver_connection
                limit_waits(raw, "sqlite", milliseconds)
                try:
                    isolation, raw.isolation_level = raw.isolation_level, None  # BEGIN issued by us
                    try:
                        raw.execute("BEGIN IMMEDIATE")
                        raw.execute("ROLLBACK")
                    finally:
                        raw.isolation_level = isolation
                finally:
                    limit_waits(raw, "sqlite", None)
            else:
                try:
                    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
                    connection.exec_driver_sql("LOCK TABLE webhookevent IN ROW EXCLUSIVE MODE")
                finally:
                    connection.rollback()
        return None
    except WriteBusy:
        return "database is busy: another writer holds the write lock"
    except Exception as exc:  # noqa: BLE001 - any failure means no write now; the reason is the answer
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return "database cannot take a write: " + (reason[0] if reason else type(exc).__name__)


def is_transient_db_error(exc: BaseException) -> bool:
    """A database error that passes: a lock held too long, a dropped connection, a full pool."""
    if isinstance(exc, db_errors.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (db_errors.OperationalError, db_errors.InterfaceError))
    return isinstance(exc, db_errors.TimeoutError)


def short_reason(exc: BaseException) -> str:
    """The first line of the driver's message (SQLAlchemy appends the statement and parameters)."""
    message = str(getattr(exc, "orig", None) or exc).strip()
    return message.splitlines()[0] if message else type(exc).__name__
