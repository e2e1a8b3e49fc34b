"""The task queue (Huey): SQLite storage embedded, Redis when scaled, in-memory for tests.

Tasks only carry work; the database stays the source of truth (event and message rows
with statuses), so a lost task is found again by the clock's sweep.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from huey import Huey
from huey.storage import MemoryStorage, PriorityRedisStorage, RedisStorage, SqliteStorage


class SqliteQueueStorage(SqliteStorage):
    """Huey's SQLite storage with synchronous=NORMAL and batched enqueues.

    The default (FULL) syncs the disk on every enqueue (3-4 ms); an enqueue lost to a power
    cut is harmless here because the event row is committed first and the clock re-queues it.
    Inside `transaction()`, the calling thread's enqueues share one exclusive transaction.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._open = threading.local()

    def _create_connection(self):
        connection = super()._create_connection()
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Enqueues of this thread inside the block commit together (or not at all)."""
        with self.db(commit=True) as cursor:
            self._open.cursor = cursor
            try:
                yield
            finally:
                self._open.cursor = None

    def enqueue(self, data, priority=None) -> None:
        cursor = getattr(self._open, "cursor", None)
        if cursor is None:
            super().enqueue(data, priority)
        else:
            cursor.execute("insert into task (queue, data, priority) values (?, ?, ?)",
                           (self.name, self.to_blob(data), priority or 0))


huey = Huey("sapa", storage_class=MemoryStorage, results=False, immediate=False)


def configure_queue(queue_url: str) -> Huey:
    """Point the process's Huey instance at the storage named by `queue_url`."""
    if queue_url.startswith("memory:"):
        huey.storage_class, huey.storage_kwargs = MemoryStorage, {}
        huey.immediate = True
    elif queue_url.startswith(("redis:", "rediss:")):
        huey.immediate = False
        # The priority variant: bot and staff replies go before broadcast traffic.
        huey.storage_class, huey.storage_kwargs = PriorityRedisStorage, {"url": queue_url}
    else:
        huey.immediate = False
        path = queue_url.split("///", 1)[-1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        huey.storage_class, huey.storage_kwargs = SqliteQueueStorage, {"filename": path, "timeout": 10}
    huey.storage = huey.create_storage()
    return huey


def enqueue_together():
    """A block whose enqueues share one queue transaction where the storage can (SQLite)."""
    transaction = getattr(huey.storage, "transaction", None)
    return transaction() if transaction is not None else nullcontext()


_probe_clients: dict[str, object] = {}  # queue URL -> a Redis client with short timeouts


def queue_problem(timeout: float = 0.5) -> str | None:
    """None when the queue can take a task within `timeout` seconds, else the reason it cannot."""
    storage = huey.storage
    try:
        if isinstance(storage, SqliteStorage):
            # The queue file's write lock, taken and let go (nothing written).
            connection = sqlite3.connect(storage.filename, timeout=timeout, isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
            finally:
                connection.close()
        elif isinstance(storage, RedisStorage):
            url = huey.storage_kwargs["url"]
            client = _probe_clients.get(url)
            if client is None:
                import redis

                client = _probe_clients[url] = redis.Redis.from_url(
                    url, socket_timeout=timeout, socket_connect_timeout=timeout)
            client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means the queue cannot take work now
        return f"queue unreachable: {exc}"
    return None
