"""The task queue (Huey): SQLite storage embedded, Redis when scaled, in-memory for tests.

Tasks only carry work; the database stays the source of truth (event and message rows
with statuses), so a lost task is found again by the clock's sweep.
"""

from __future__ import annotations

from pathlib import Path

from huey import Huey
from huey.storage import MemoryStorage, PriorityRedisStorage, SqliteStorage



class SqliteQueueStorage(SqliteStorage):
    """Huey's SQLite storage with synchronous=NORMAL (WAL stays durable across crashes).

    The default (FULL) syncs the disk on every enqueue (3-4 ms); an enqueue lost to a power
    cut is harmless here because the event row is committed first and the clock re-queues it.
    """

    def _create_connection(self):
        connection = super()._create_connection()
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection


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
