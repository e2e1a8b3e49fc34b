"""The clock: its job store and jobs wait out transient database errors instead of ending the process."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot import clock
from bot.clock import RetryingExecutor, RetryingJobStore
from core.db import get_engine
from tests.conftest import POSTGRES_URL

calls: list[str] = []


def flaky_job(failures: int) -> str:
    """Fails with a transient database error `failures` times, then succeeds."""
    calls.append("run")
    if len(calls) <= failures:
        raise OperationalError("UPDATE x", {}, sqlite3.OperationalError("database is locked"))
    return "done"


def hold_write_lock(path: str, seconds: float) -> threading.Event:
    """Hold SQLite's write lock from another connection (as `BEGIN IMMEDIATE` in another process); set once held."""
    held = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        connection.execute("ROLLBACK")
        connection.close()

    threading.Thread(target=hold, daemon=True).start()
    assert held.wait(5)
    return held


def run_once(job_store, func: str, args: list) -> None:
    """Run `func` once as a clock job (the clock's executor) and wait until it ended."""
    scheduler = BackgroundScheduler(jobstores={"default": job_store}, executors={"default": RetryingExecutor()},
                                    timezone="UTC")
    done = threading.Event()
    scheduler.add_listener(lambda event: done.set(), mask=EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    try:
        scheduler.add_job(func, args=args, id=func.rsplit(":", 1)[1])
        assert done.wait(10)
    finally:
        scheduler.shutdown(wait=False)


@pytest.fixture
def store(tmp_path):
    """The clock's job store on a SQLite file whose busy timeout is short (the lock shows at once)."""
    engine = create_engine(f"sqlite:///{tmp_path}/clock.db", connect_args={"timeout": 0.05})
    return RetryingJobStore(engine=engine, tablename="apscheduler_jobs"), str(tmp_path / "clock.db")


def test_the_job_store_waits_out_a_held_write_lock(store, caplog):
    job_store, path = store
    scheduler = BackgroundScheduler(jobstores={"default": job_store}, timezone="UTC")
    scheduler.start(paused=True)
    try:
        job = scheduler.add_job("bot.clock:sweep", "interval", seconds=30, id="sweep")
        hold_write_lock(path, 1.5)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="bot.clock"):
            # Before, the first "database is locked" went straight up and ended the scheduler's loop.
            job.modify(next_run_time=datetime.now(timezone.utc) + timedelta(hours=1))
        assert time.monotonic() - started >= 1.0
        assert scheduler.get_job("sweep").next_run_time > datetime.now(timezone.utc) + timedelta(minutes=59)
        assert "job store update: database unavailable (database is locked)" in caplog.text
    finally:
        scheduler.shutdown(wait=False)


def test_a_job_retries_a_transient_database_error_then_succeeds(store, caplog):
    calls.clear()
    with caplog.at_level(logging.WARNING):
        run_once(store[0], f"{__name__}:flaky_job", [1])
    assert calls == ["run", "run"]
    assert "job flaky_job: database unavailable (database is locked); attempt 1 failed, retrying in 1.0 s" \
        in caplog.text
    assert "raised an exception" not in caplog.text


def test_a_job_that_keeps_failing_transiently_logs_one_warning_and_leaves_it_to_the_next_run(
        store, caplog, monkeypatch):
    calls.clear()
    monkeypatch.setattr(clock, "JOB_ATTEMPTS", 2)
    with caplog.at_level(logging.WARNING):
        run_once(store[0], f"{__name__}:flaky_job", [99])
    assert calls == ["run", "run"]
    assert "job flaky_job: database unavailable (database is locked) after 2 attempts; its next run retries" \
        in caplog.text
    assert "raised an exception" not in caplog.text and "Traceback" not in caplog.text


def test_a_job_with_a_real_bug_still_reports_it_with_its_traceback(store, caplog):
    with caplog.at_level(logging.WARNING):
        run_once(store[0], "builtins:divmod", [1, 0])
    assert 'Job "divmod' in caplog.text and "raised an exception" in caplog.text


@pytest.mark.postgres
def test_the_job_store_survives_dropped_postgres_connections(postgres_schema):
    postgres_url = postgres_schema
    job_store = RetryingJobStore(engine=get_engine(postgres_url), tablename="apscheduler_jobs")
    scheduler = BackgroundScheduler(jobstores={"default": job_store}, timezone="UTC")
    scheduler.start(paused=True)
    try:
        scheduler.add_job("bot.clock:sweep", "interval", seconds=30, id="sweep", replace_existing=True)
        database = get_engine(postgres_url).url.database
        with create_engine(POSTGRES_URL).connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": database})
        assert [job.id for job in scheduler.get_jobs()] == ["sweep"]
        scheduler.get_job("sweep").modify(next_run_time=datetime.now(timezone.utc) + timedelta(hours=1))
    finally:
        scheduler.shutdown(wait=False)
