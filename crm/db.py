"""Database engine and sessions (SQLite with WAL for one shop, PostgreSQL when scaled)."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path
from threading import Event, Lock, RLock, Thread

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)
_engines: dict[str, Engine] = {}
_engines_lock = Lock()
_checkpointers: dict[str, Event] = {}  # url -> stops its thread
CHECKPOINT_SECONDS = 0.2


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (how every timestamp is stored)."""
    return datetime.now(timezone.utc)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the web process write while workers read; busy_timeout makes concurrent
    # writers wait for the lock instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
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
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


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
        self.writes = 0  # write transactions of this process (the checkpointer looks for new ones)

    def __enter__(self):
        self.thread_lock.acquire()
        try:
            if self.depth == 0:
                if self.file is None:
                    self.file = open(self.path, "a+b")  # noqa: SIM115 - kept open for the process
                fcntl.flock(self.file, fcntl.LOCK_EX)
            self.depth += 1
        except BaseException:
            self.thread_lock.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.writes += 1
            fcntl.flock(self.file, fcntl.LOCK_UN)
        self.thread_lock.release()


_write_locks: dict[str, _SqliteWriteLock] = {}
_write_locks_lock = Lock()  # not _engines_lock: get_engine holds that while it asks for a lock


def write_lock(engine: Engine):
    """A context manager serialising writers to a SQLite database (a no-op elsewhere)."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return nullcontext()
    with _write_locks_lock:
        if engine.url.database not in _write_locks:
            _write_locks[engine.url.database] = _SqliteWriteLock(engine.url.database)
        return _write_locks[engine.url.database]


def ping(engine: Engine) -> bool:
    """True when the database answers a trivial query."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
