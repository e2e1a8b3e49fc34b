"""Schedule math (Asia/Jakarta and America/New_York across a DST change), quiet hours, and the
clock's APScheduler jobs (persistent SQLAlchemy job store, misfire grace, run keys)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from broadcasts import scheduler as clock
from broadcasts import schedule as sched
from broadcasts.models import Campaign, CampaignRun
from core.db import session_scope
from tests.broadcasts.helpers import make_campaign, seed

JAKARTA = ZoneInfo("Asia/Jakarta")
NEW_YORK = ZoneInfo("America/New_York")
UTC = timezone.utc


def test_naive_send_at_is_shop_time():
    assert sched.to_utc(datetime(2026, 12, 4, 10, 0), JAKARTA) == datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    assert sched.to_utc(datetime(2026, 12, 4, 10, 0, tzinfo=UTC), JAKARTA) == datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def test_every_friday_ten_in_jakarta_is_three_utc():
    times = sched.next_fire_times("0 10 * * fri", JAKARTA, datetime(2026, 12, 1, tzinfo=UTC), 3)
    assert [t.astimezone(UTC) for t in times] == [datetime(2026, 12, d, 3, 0, tzinfo=UTC) for d in (4, 11, 18)]


def test_new_york_keeps_ten_local_across_the_dst_change():
    # DST starts on Sunday 2027-03-14 in New York: 10:00 is 15:00 UTC before, 14:00 UTC after.
    times = sched.next_fire_times("0 10 * * *", NEW_YORK, datetime(2027, 3, 12, tzinfo=UTC), 4)
    assert [t.astimezone(UTC).hour for t in times] == [15, 15, 14, 14]
    assert all(t.astimezone(NEW_YORK).hour == 10 for t in times)
    # 02:30 does not exist on the change day: it still runs that day (at the shifted 03:30), once
    nightly = sched.next_fire_times("30 2 * * *", NEW_YORK, datetime(2027, 3, 13, 12, tzinfo=UTC), 2)
    assert all(t.astimezone(NEW_YORK).strftime("%H:%M") in ("02:30", "03:30") for t in nightly)
    # autumn: 01:30 happens twice on 2027-11-07; the job fires once
    autumn = sched.next_fire_times("30 1 * * *", NEW_YORK, datetime(2027, 11, 6, 12, tzinfo=UTC), 3)
    assert [t.astimezone(NEW_YORK).day for t in autumn] == [7, 8, 9]


def test_invalid_cron_is_refused():
    with pytest.raises(ValueError):
        sched.cron_trigger("every friday", JAKARTA)
    with pytest.raises(ValueError):
        sched.cron_trigger("0 25 * * *", JAKARTA)


@pytest.mark.parametrize("now_local, expected", [
    (datetime(2026, 12, 1, 22, 30), datetime(2026, 12, 2, 8, 0)),
    (datetime(2026, 12, 2, 6, 0), datetime(2026, 12, 2, 8, 0)),
    (datetime(2026, 12, 2, 12, 0), None),
    (datetime(2026, 12, 2, 20, 59), None),
])
def test_quiet_hours_across_midnight(now_local, expected):
    until = sched.quiet_until("21:00-08:00", JAKARTA, now_local.replace(tzinfo=JAKARTA))
    assert until == (expected.replace(tzinfo=JAKARTA).astimezone(UTC) if expected else None)


def test_quiet_hours_end_on_a_dst_day_in_new_york():
    until = sched.quiet_until("22:00-08:00", NEW_YORK, datetime(2027, 3, 13, 23, 0, tzinfo=NEW_YORK))
    assert until == datetime(2027, 3, 14, 12, 0, tzinfo=UTC)  # 08:00 EDT


@pytest.fixture
def scheduler(runtime):
    jobs = BackgroundScheduler(jobstores={"default": SQLAlchemyJobStore(url=runtime.settings.database_url,
                                                                        tablename="apscheduler_jobs")},
                               timezone=JAKARTA)
    jobs.start(paused=True)  # a real store, but the test decides when things fire
    jobs.remove_all_jobs()  # PostgreSQL keeps the job table between tests
    yield jobs
    jobs.shutdown(wait=False)


def test_the_clock_mirrors_scheduled_campaigns_as_persistent_jobs(runtime, scheduler):
    at = make_campaign(runtime, name="at", send_at=datetime(2099, 1, 2, 10, 0))
    weekly = make_campaign(runtime, name="weekly", recurrence="0 10 * * fri")
    ny = make_campaign(runtime, name="ny", recurrence="0 10 * * *", timezone_name="America/New_York")
    assert clock.sync(scheduler) == {"added": 3, "removed": 0, "missed": 0}
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert jobs[f"campaign:{at}"].next_run_time == datetime(2099, 1, 2, 3, 0, tzinfo=UTC)
    assert jobs[f"campaign:{weekly}"].next_run_time.astimezone(JAKARTA).strftime("%a %H:%M") == "Fri 10:00"
    assert jobs[f"campaign:{ny}"].next_run_time.astimezone(NEW_YORK).hour == 10
    assert clock.sync(scheduler) == {"added": 0, "removed": 0, "missed": 0}  # idempotent
    # the store is persistent: a fresh scheduler on the same database sees the jobs
    again = SQLAlchemyJobStore(url=runtime.settings.database_url, tablename="apscheduler_jobs")
    again.start(scheduler, "default")
    assert {job.id for job in again.get_all_jobs()} >= {f"campaign:{at}", f"campaign:{weekly}"}
    with session_scope(runtime.engine) as session:
        campaign = session.get(Campaign, weekly)
        campaign.status = "paused"
        session.add(campaign)
    assert clock.sync(scheduler)["removed"] == 1


def test_a_recurring_fire_is_keyed_by_its_due_time_so_a_double_fire_sends_once(runtime, fake_line):
    seed(runtime.engine, line=3)
    weekly = make_campaign(runtime, name="weekly", recurrence="0 10 * * fri")
    friday = datetime(2026, 12, 4, 10, 0, 5, tzinfo=JAKARTA)
    key = clock.fire(weekly, now=friday)
    assert key == "2026-12-04T03:00:00+00:00"
    assert clock.fire(weekly, now=friday + timedelta(seconds=30)) == key  # the same due time
    assert set(fake_line.deliveries_per_user().values()) == {1}
    next_week = clock.fire(weekly, now=friday + timedelta(days=7))
    assert next_week == "2026-12-11T03:00:00+00:00"
    assert set(fake_line.deliveries_per_user().values()) == {2}
    with session_scope(runtime.engine) as session:
        assert session.get(Campaign, weekly).status == "scheduled"  # recurring: stays scheduled
        runs = len(session.execute(select(CampaignRun).where(CampaignRun.campaign_id == weekly)).all())
    assert runs == 2


def test_a_one_off_missed_beyond_the_grace_period_is_paused_not_sent_late(runtime, scheduler, fake_line):
    seed(runtime.engine, line=1)
    due = datetime.now(UTC) + timedelta(minutes=5)
    campaign_id = make_campaign(runtime, send_at=due)
    late = due + timedelta(seconds=runtime.settings.broadcasts.misfire_grace_seconds + 60)
    assert clock.sync(scheduler, now=late) == {"added": 0, "removed": 0, "missed": 1}
    with session_scope(runtime.engine) as session:
        campaign = session.get(Campaign, campaign_id)
    assert campaign.status == "paused" and "grace period" in campaign.notice
    assert not fake_line.calls("/v2/bot/message/multicast")


def test_a_one_off_within_grace_fires(runtime, fake_line):
    seed(runtime.engine, line=2)
    due = datetime.now(UTC) + timedelta(minutes=5)
    campaign_id = make_campaign(runtime, send_at=due)
    assert clock.fire(campaign_id, now=due + timedelta(seconds=10)) == due.isoformat()
    assert len(fake_line.deliveries_per_user()) == 2
    with session_scope(runtime.engine) as session:
        assert session.get(Campaign, campaign_id).status == "done"


def test_the_clock_process_registers_the_broadcast_jobs(runtime):
    from bot.clock import build_scheduler

    clock_scheduler = build_scheduler(runtime.settings, BackgroundScheduler)
    clock_scheduler.start(paused=True)
    try:
        ids = {job.id for job in clock_scheduler.get_jobs()}
        assert {"sweep-stale-work", "broadcasts-sync", "broadcasts-sweep", "broadcasts-ab-winners", "journeys-daily",
                "journeys-frequent", "wake-snoozed"} <= ids
        make_campaign(runtime, name="weekly", recurrence="0 10 * * fri")
        assert clock.sync()["added"] == 1  # the job function as the clock calls it (no arguments)
        assert clock.sweep() == 0
    finally:
        clock_scheduler.remove_all_jobs()
        clock_scheduler.shutdown(wait=False)


def test_an_ab_test_decides_itself_after_the_set_hours(runtime, fake_line):
    from tests.broadcasts.helpers import run_to_end, statuses

    seed(runtime.engine, line=200)
    variants = [{"name": "A", "message": {"text": "Versi A"}}, {"name": "B", "message": {"text": "Versi B"}}]
    campaign_id = make_campaign(runtime, variants=variants, message=None,
                                ab_test={"test_percent": 30, "metric": "clicked", "decide_after_hours": 2})
    run_to_end(runtime, campaign_id)
    assert statuses(runtime.engine, campaign_id)["held"] > 100
    assert clock.decide_ab_tests(now=datetime.now(UTC) + timedelta(hours=1)) == []  # too early
    decided = clock.decide_ab_tests(now=datetime.now(UTC) + timedelta(hours=3))
    assert [campaign for campaign, _winner in decided] == [campaign_id]
    assert statuses(runtime.engine, campaign_id) == {"sent": 200}  # the queue runs the rest at once in tests
    with session_scope(runtime.engine) as session:
        assert session.get(Campaign, campaign_id).winner == decided[0][1]
