"""/healthz tells the truth: 503 while the database cannot take a write or the queue cannot take a task."""

from __future__ import annotations

import socket
import sqlite3
import time

import pytest

from bot.app import create_app
from core.queue import configure_queue
from tests.bot.locks import database_write_lock_held
from tests.conftest import make_settings


def _healthz(client) -> tuple[int, dict, float]:
    began = time.monotonic()
    response = client.get("/healthz")
    return response.status_code, response.get_json(), time.monotonic() - began


def test_healthz_is_ok_when_the_database_takes_writes(client):
    status, body, _ = _healthz(client)
    assert (status, body) == (200, {"status": "ok"})


def test_healthz_is_503_while_another_process_holds_the_database_write_lock(client, database_url):
    with database_write_lock_held(database_url):
        status, body, seconds = _healthz(client)
    assert status == 503 and body["status"] == "unavailable" and "database" in body["reason"]
    assert seconds < 2.5  # bounded probe: a load balancer's check does not hang
    assert _healthz(client)[:2] == (200, {"status": "ok"})  # and ok again once it is released


@pytest.fixture
def queue_app(sqlite_url):
    """An app whose queue URL the test sets (the process's queue is put back to memory after)."""
    apps = []

    def make(queue_url: str):
        apps.append(create_app(make_settings(sqlite_url, queue_url=queue_url)))
        return apps[-1].test_client()

    yield make
    configure_queue("memory:")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_is_503_when_redis_does_not_answer(queue_app):
    client = queue_app(f"redis://127.0.0.1:{_free_port()}/0")  # nothing listens there
    status, body, seconds = _healthz(client)
    assert status == 503 and body["reason"].startswith("queue unreachable") and seconds < 2.5


def test_healthz_is_503_while_the_sqlite_queue_cannot_take_a_task(queue_app, tmp_path):
    path = tmp_path / "queue.db"
    client = queue_app(f"sqlite:///{path}")
    assert _healthz(client)[0] == 200
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        status, body, seconds = _healthz(client)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert status == 503 and body["reason"].startswith("queue unreachable") and seconds < 2.5


@pytest.mark.redis
def test_healthz_is_ok_with_a_redis_queue_that_answers(queue_app):
    from tests.conftest import REDIS_URL, redis_up, service_or_skip

    service_or_skip("Redis", redis_up())
    assert _healthz(queue_app(REDIS_URL))[:2] == (200, {"status": "ok"})
