"""Queue tasks: stored events are processed several to a task, and one that fails is retried alone."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot import tasks
from core.queue import configure_queue, huey
from crm.models import WebhookEvent
from tests.factories import line_text, store_unprocessed

USER = "U3333333333333333333333333333333c"


def store(runtime, text: str, key: str) -> int:
    return store_unprocessed(runtime.engine, "line", line_text(text, user=USER), key)


def statuses(session, event_ids: list[int]) -> list[str]:
    session.expire_all()
    by_id = {row.id: row.status for row in session.exec(select(WebhookEvent).where(WebhookEvent.id.in_(event_ids)))}
    return [by_id[event_id] for event_id in event_ids]


@pytest.fixture
def failing_text(runtime, monkeypatch):
    """Processing fails for the messages whose text is "gagal"; the others are answered."""
    understand = runtime.router.understand

    def understand_or_fail(text, ctx):
        if text == "gagal":
            raise RuntimeError("handler exploded")
        return understand(text, ctx)

    monkeypatch.setattr(runtime.router, "understand", understand_or_fail)


def test_stored_events_are_queued_sixteen_to_a_task(tmp_path):
    configure_queue(f"sqlite:///{tmp_path / 'queue.db'}")
    try:
        tasks.enqueue_events(list(range(1, 41)))
        queued = huey.pending()
    finally:
        configure_queue("memory:")
    assert [task.name for task in queued] == ["process_events_task"] * 3
    assert [task.args for task in queued] == [(list(range(1, 17)),), (list(range(17, 33)),), (list(range(33, 41)),)]


def test_an_event_that_fails_in_a_task_is_retried_alone_and_the_others_are_answered(
        app, runtime, session, fake_line, failing_text):
    event_ids = [store(runtime, text, f"t-{i}") for i, text in enumerate(["halo", "gagal", "jam buka?"])]
    huey.storage.flush_all()
    tasks.enqueue_events(event_ids)  # the memory queue runs the task at once
    assert statuses(session, event_ids) == ["processed", "retrying", "processed"]
    assert len(fake_line.calls("/v2/bot/message/reply")) == 2
    # What Huey would have done after the first attempt: the rest of the retries, backing off.
    queue = tasks._queue
    [retry] = huey.scheduled()
    assert retry.name == "process_event_task" and retry.args == (event_ids[1],)
    assert retry.retries == queue.retries - 1
    assert retry.retry_delay == queue.retry_delay_seconds * queue.retry_backoff
    assert retry.eta is not None


def test_without_retries_an_event_that_fails_in_a_task_is_failed_at_once(
        app, runtime, session, failing_text, monkeypatch):
    monkeypatch.setattr(tasks, "_queue", tasks._queue.model_copy(update={"retries": 0}))
    event_ids = [store(runtime, "gagal", "t-once"), store(runtime, "halo", "t-fine")]
    huey.storage.flush_all()
    tasks.enqueue_events(event_ids)
    assert statuses(session, event_ids) == ["failed", "processed"]
    assert huey.scheduled() == []
