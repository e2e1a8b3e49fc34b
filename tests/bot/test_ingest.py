"""Durable ingestion under concurrency: group commits, and queueing in the background."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter

import pytest
from huey import Huey
from sqlalchemy import func, select

from bot import ingest
from bot.ingest import HandOff, RawEvent, store_events
from core.queue import SqliteQueueStorage
from core.db import get_engine
from crm.models import WebhookEvent


def test_concurrent_webhooks_store_every_event_once_and_learn_which_were_new(database_url):
    engine = get_engine(database_url)
    keys = [f"k{i}" for i in range(120)]
    results: list[tuple[list[str], list[int]]] = []
    start = threading.Barrier(12)

    def deliver(offset: int) -> None:
        start.wait()
        for i in range(0, 120, 3):
            # each thread sends every event of its slice, so every event arrives 3-4 times at once
            batch = [RawEvent(keys[(i + offset) % 120], "message", "{}"), RawEvent(keys[(i + offset + 1) % 120], "message", "{}")]
            results.append(([event.key for event in batch], store_events(engine, "line", batch)))

    threads = [threading.Thread(target=deliver, args=(n * 10,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    with engine.connect() as connection:
        stored = dict(connection.execute(select(WebhookEvent.id, WebhookEvent.event_key)).all())
    assert sorted(stored.values()) == sorted(set(stored.values())) and len(stored) == len({k for ks, _ in results for k in ks})
    new_ids = Counter(event_id for _, ids in results for event_id in ids)
    assert set(new_ids) == set(stored) and set(new_ids.values()) == {1}  # each row reported new to one caller
    assert all(stored[event_id] in sent for sent, ids in results for event_id in ids)  # ... who sent its key


def test_each_new_row_is_reported_with_its_own_id_among_duplicates(database_url):
    engine = get_engine(database_url)
    first = store_events(engine, "line", [RawEvent(key, "message", "{}") for key in ("a", "b")])
    mixed = ["b", "c", "a", "d", "c", "e"]  # stored before, new, stored, new, new twice in one webhook, new
    again = store_events(engine, "line", [RawEvent(key, "message", f'{{"n":{i}}}') for i, key in enumerate(mixed)])
    everything_new = store_events(engine, "telegram", [RawEvent(key, "message", "{}") for key in ("a", "f")])
    with engine.connect() as connection:
        key_of = {event_id: (channel, key) for event_id, channel, key in connection.execute(
            select(WebhookEvent.id, WebhookEvent.channel, WebhookEvent.event_key))}
    assert [key_of[event_id] for event_id in first] == [("line", "a"), ("line", "b")]
    assert [key_of[event_id] for event_id in again] == [("line", "c"), ("line", "d"), ("line", "e")]
    assert [key_of[event_id] for event_id in everything_new] == [("telegram", "a"), ("telegram", "f")]
    assert len(key_of) == 7


def test_a_failed_group_commit_fails_each_webhook_in_it_and_keeps_nothing(sqlite_url):
    engine = get_engine(sqlite_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TRIGGER refuse BEFORE INSERT ON webhookevent "
                                   "WHEN NEW.event_key = 'poison' BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    errors: list[str] = []
    start = threading.Barrier(8)

    def deliver(n: int) -> None:
        start.wait()
        try:
            store_events(engine, "line", [RawEvent(f"ok{n}", "message", "{}"), RawEvent("poison", "message", "{}")])
        except Exception as exc:  # noqa: BLE001
            errors.append(str(exc))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 8 and all("disk full" in error for error in errors)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(WebhookEvent)).scalar() == 0
    # the database still takes good events afterwards
    assert len(store_events(engine, "line", [RawEvent("later", "message", "{}")])) == 1


def _sqlite_queue(tmp_path) -> Huey:
    return Huey("test", storage_class=SqliteQueueStorage, filename=str(tmp_path / "queue.db"), results=False)


def test_a_webhook_of_many_events_is_stored_whole_or_not_at_all(database_url, monkeypatch):
    monkeypatch.setattr(ingest, "ROWS_PER_STATEMENT", 7)  # several statements for one batch
    engine = get_engine(database_url)
    events = [RawEvent(f"many{i}", "message", "{}") for i in range(20)] + [RawEvent("many3", "message", "{}")]
    new_ids = store_events(engine, "line", events)
    assert len(new_ids) == 20 == len(set(new_ids))  # the key sent twice is new once
    broken = [RawEvent(f"later{i}", "message", "{}") for i in range(15)] + [RawEvent("later-bad", "message", None)]
    with pytest.raises(Exception):
        store_events(engine, "line", broken)  # the last statement fails (payload NOT NULL)
    with engine.connect() as connection:
        keys = connection.execute(select(WebhookEvent.event_key)).scalars().all()
    assert sorted(keys) == sorted(f"many{i}" for i in range(20))  # none of the failed batch
    assert store_events(engine, "line", broken[:15]) and len(store_events(engine, "line", events)) == 0


def test_enqueues_inside_one_queue_transaction_commit_together_or_not_at_all(tmp_path):
    queue = _sqlite_queue(tmp_path)
    with queue.storage.transaction():
        for n in range(5):
            queue.storage.enqueue(f"task {n}".encode())
    assert queue.storage.queue_size() == 5
    with pytest.raises(RuntimeError), queue.storage.transaction():
        queue.storage.enqueue(b"lost with the rest")
        raise RuntimeError("crash mid-batch")
    assert queue.storage.queue_size() == 5
    queue.storage.enqueue(b"outside a transaction")
    assert queue.storage.queue_size() == 6


def test_each_group_commit_queues_its_new_events_once_in_one_queue_transaction(database_url, tmp_path):
    engine = get_engine(database_url)
    queue = _sqlite_queue(tmp_path)
    batches: list[list[int]] = []

    def enqueue(event_ids: list[int]) -> None:
        for event_id in event_ids:
            queue.storage.enqueue(str(event_id).encode())

    hand_off = HandOff(enqueue, queue.storage.transaction)

    def queue_batch(event_ids: list[int]) -> None:
        batches.append(event_ids)
        hand_off(event_ids)

    start = threading.Barrier(8)
    results: list[list[int]] = []

    def deliver(n: int) -> None:
        start.wait()
        for i in range(25):
            # every event twice: the second delivery is a duplicate and must not be queued again
            results.append(store_events(engine, "line", [RawEvent(f"q{n}-{i}", "message", "{}")], then=queue_batch))
            results.append(store_events(engine, "line", [RawEvent(f"q{n}-{i}", "message", "{}")], then=queue_batch))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    hand_off.flush()
    queued = [event_id for batch in batches for event_id in batch]
    stored = [event_id for ids in results for event_id in ids]
    assert len(stored) == 200 and sorted(queued) == sorted(stored)
    assert queue.storage.queue_size() == 200


def test_the_ingest_connection_is_replaced_after_the_database_failed_under_it(sqlite_url):
    engine = get_engine(sqlite_url)
    assert len(store_events(engine, "line", [RawEvent("before", "message", "{}")])) == 1
    group = ingest._group_commits[engine]
    group.connection.driver_connection.close()  # as if the database went away under the held connection
    with pytest.raises(Exception):
        store_events(engine, "line", [RawEvent("lost", "message", "{}")])
    assert len(store_events(engine, "line", [RawEvent("after", "message", "{}")])) == 1
    with engine.connect() as connection:
        keys = connection.execute(select(WebhookEvent.event_key).order_by(WebhookEvent.id)).scalars().all()
    assert keys == ["before", "after"]


def test_disposing_the_engine_gives_the_ingest_connection_back(sqlite_url):
    engine = get_engine(sqlite_url)
    store_events(engine, "line", [RawEvent("one", "message", "{}")])
    assert engine in ingest._group_commits and engine.pool.checkedout() == 1
    engine.dispose()
    assert engine not in ingest._group_commits


def test_hand_off_queues_every_stored_event_once_from_its_own_thread(tmp_path):
    queue = _sqlite_queue(tmp_path)
    queued: list[int] = []
    threads: set[str] = set()

    def enqueue(event_ids: list[int]) -> None:
        threads.add(threading.current_thread().name)
        queued.extend(event_ids)
        for event_id in event_ids:
            queue.storage.enqueue(str(event_id).encode())

    hand_off = HandOff(enqueue, queue.storage.transaction)
    senders = [threading.Thread(target=lambda n=n: [hand_off([n * 100 + i]) for i in range(50)]) for n in range(8)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    hand_off.flush()
    assert sorted(queued) == sorted(n * 100 + i for n in range(8) for i in range(50))
    assert threads == {"sapa-hand-off"} and queue.storage.queue_size() == 400


def test_a_queue_failure_is_logged_and_the_events_are_left_for_the_sweep(caplog):
    def broken(_event_ids: list[int]) -> None:
        raise ConnectionError("queue down")

    hand_off = HandOff(broken, background=False)
    with caplog.at_level(logging.ERROR, logger="bot.ingest"):
        hand_off([7, 8])  # does not raise: the events are stored, the clock re-queues them
    assert "could not queue events [7, 8]" in caplog.text and "sweep" in caplog.text


def test_the_wal_is_copied_into_the_database_file_in_the_background(sqlite_url):
    engine = get_engine(sqlite_url)
    database = sqlite_url.split("///", 1)[1]
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    size = os.path.getsize(database)
    for n in range(40):  # far below the 1,000 pages at which a commit would checkpoint itself
        store_events(engine, "line", [RawEvent(f"wal{n}-{i}", "message", "x" * 2000) for i in range(5)])
    deadline = time.monotonic() + 5
    while os.path.getsize(database) == size and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.getsize(database) > size + 40 * 5 * 2000  # the new pages reached the file itself


def test_a_store_past_its_timeout_answers_at_once_and_a_late_commit_is_queued_once(database_url):
    """A webhook whose events a commit carries past its deadline gets StoreTimeout (503); if that
    commit then succeeds, its rows are handed off once, and the redelivery is a duplicate."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite locks the whole file: no single key can hold one commit back")
    engine = get_engine(database_url)
    handed_off: list[int] = []
    outcomes: dict[str, object] = {}

    def store(name: str, key: str, timeout: float) -> None:
        try:
            outcomes[name] = store_events(engine, "line", [RawEvent(key, "message", "{}")], then=handed_off.extend,
                                          timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            outcomes[name] = exc

    # Other transactions insert the keys first and keep them uncommitted: an insert of the
    # same key waits for them (as it would behind any lock), so each commit can be held back.
    holders = [get_engine(database_url).connect() for _ in range(2)]
    for holder, key in zip(holders, ("first", "late")):
        holder.execute(WebhookEvent.__table__.insert().values(
            channel="line", event_key=key, event_type="message", payload="{}", status="received", attempts=0))
    threads = {name: threading.Thread(target=store, args=args) for name, args in
               {"first": ("first", "first", 5.0), "leader": ("leader", "other", 5.0), "late": ("late", "late", 1.0)}.items()}
    threads["first"].start()
    time.sleep(0.3)  # "first" is committing (held back); the next two wait for it, together
    threads["leader"].start()
    time.sleep(0.1)
    threads["late"].start()
    time.sleep(0.2)
    holders[0].rollback()  # "first" commits; "leader" commits its own and "late"'s events, held back by "late"
    threads["late"].join(timeout=3)
    assert isinstance(outcomes["late"], ingest.StoreTimeout)  # answered at its deadline: 503
    holders[1].rollback()  # ... and now that commit goes through, late
    for thread in threads.values():
        thread.join(timeout=5)
    for holder in holders:
        holder.close()
    with engine.connect() as connection:
        stored = dict(connection.execute(select(WebhookEvent.event_key, WebhookEvent.id)).all())
    assert set(stored) == {"first", "other", "late"}
    assert sorted(handed_off) == sorted(stored.values())  # the late commit's rows handed off too, once
    redelivered = store_events(engine, "line", [RawEvent("late", "message", "{}")], then=handed_off.extend, timeout=5)
    assert redelivered == [] and sorted(handed_off) == sorted(stored.values())  # a duplicate: not queued again


def test_a_store_waits_for_another_sapa_process_holding_the_write_lock_only_until_its_timeout(sqlite_url):
    """Our own write lock (flock) held by another process, e.g. a worker stuck behind a long write."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom core.db import get_engine, write_lock\n"
         f"with write_lock(get_engine({sqlite_url!r})):\n    print('held', flush=True)\n    time.sleep(2)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        engine = get_engine(sqlite_url)
        began = time.monotonic()
        with pytest.raises(TimeoutError):  # WriteBusy: answered 503 by the webhook
            store_events(engine, "line", [RawEvent("waited", "message", "{}")], timeout=0.5)
        assert time.monotonic() - began < 1.0
        assert holder.wait(timeout=10) == 0
        # The wait given up let go of the lock once it got it: the next store goes through at once.
        assert len(store_events(engine, "line", [RawEvent("waited", "message", "{}")], timeout=0.5)) == 1
    finally:
        holder.kill()
