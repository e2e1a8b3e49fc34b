"""The clock refreshes SQLite's planner statistics each night, so a shop's database is planned as the bench's is."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text

from bot import clock
from core.db import session_scope
from crm.models import Contact


def test_the_nightly_job_gives_sqlite_its_statistics(runtime):
    with session_scope(runtime.engine) as session:
        session.add_all([Contact(display_name=f"Pelanggan {n}", phone=f"+62812000{n:05d}") for n in range(50)])
    clock.refresh_statistics()  # on PostgreSQL autovacuum's: nothing to do, and no error
    if runtime.engine.dialect.name != "sqlite":
        return
    with runtime.engine.connect() as connection:
        indexes = {row[0] for row in connection.execute(text("SELECT idx FROM sqlite_stat1 WHERE tbl = 'contact'"))}
    assert "ix_contact_phone_bare" in indexes and "ix_contact_last_seen_at" in indexes


def test_the_job_runs_each_night_after_the_cross_sell_run(runtime):
    trigger = str(clock.build_scheduler(runtime.settings, BackgroundScheduler).get_job("refresh-statistics").trigger)
    assert "hour='3'" in trigger and "minute='45'" in trigger, trigger
