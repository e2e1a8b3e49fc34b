"""The clock process: APScheduler with a persistent job store, deciding *when* work is due.

Exactly one clock runs per install (never inside the web app). Jobs only enqueue tasks;
workers do the work.
"""

from __future__ import annotations

import logging

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.settings import Settings

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30
WAKE_SECONDS = 60


def sweep() -> int:
    """Queue again the events and outbound batches left behind by a crash or a lost task."""
    from bot import pipeline, tasks
    from bot.queue import configure_queue
    from bot.runtime import get_runtime

    runtime = get_runtime()
    configure_queue(runtime.settings.queue_url)
    return pipeline.requeue_stale(runtime, tasks.enqueue_events, tasks.enqueue_batch)


def wake_snoozed() -> int:
    """Reopen snoozed conversations whose snooze time has passed (the inbox shows them live)."""
    from bot.runtime import get_runtime
    from crm.db import session_scope
    from crm.inbox.data import wake_snoozed as wake

    with session_scope(get_runtime().engine) as session:
        return wake(session=session)


def build_scheduler(settings: Settings, scheduler_class=BlockingScheduler):
    """A scheduler with the database job store and the standing jobs registered."""
    scheduler = scheduler_class(
        jobstores={"default": SQLAlchemyJobStore(url=settings.database_url, tablename="apscheduler_jobs")},
        timezone=settings.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    scheduler.add_job("bot.clock:sweep", "interval", seconds=SWEEP_SECONDS, id="sweep-stale-work",
                      replace_existing=True)
    scheduler.add_job("bot.clock:wake_snoozed", "interval", seconds=WAKE_SECONDS, id="wake-snoozed",
                      replace_existing=True)
    from broadcasts.scheduler import register

    register(scheduler, settings)  # campaign schedules, stalled-run sweep, journeys
    return scheduler


def run_clock(settings: Settings) -> None:
    """Run the scheduler until interrupted."""
    scheduler = build_scheduler(settings)
    log.info("clock started (timezone %s)", settings.timezone)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
