"""The clock process: APScheduler with a persistent job store, deciding *when* work is due.

Exactly one clock runs per install (never inside the web app). Jobs only enqueue tasks;
workers do the work.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from bot import events, tasks
from broadcasts import consent
from broadcasts.scheduler import register as register_campaign_jobs
from core.db import get_engine, is_transient_db_error, session_scope, short_reason, utcnow
from core.queue import configure_queue
from core.runtime import get_runtime
from core.settings import Settings
from core.texts import text
from broadcasts.schedule import quiet_until
from crm import alerts, csat, history, loyalty, shop, shop_settings
from crm.models import Contact
from crm.inbox.data import wake_snoozed as wake

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30
WAKE_SECONDS = 60
EXPIRE_POINTS_SECONDS = 3600  # expiry counts in months: an hour late is nothing
BIRTHDAY_SECONDS = 3600  # a birthday greeting an hour after quiet hours end is still on the day
FIGURES_SECONDS = 300  # the dashboards' daily rows of today and yesterday: five minutes behind at most
VALUES_HOUR = 3  # the nightly customer-value run, in the shop's timezone: after the day's last orders
# A job meeting a transient database error tries again after 1 s and 2 s, then leaves it to
# its next run (an interval job) or to the next schedule sync (a campaign's one-off job).
JOB_ATTEMPTS = 3
# The job store waits out a transient error (a held SQLite lock, PostgreSQL restarting),
# backing off up to this many seconds between tries, for as long as it lasts.
JOB_STORE_MAX_WAIT = 30


def _log_retry(what: str):
    def before_sleep(state) -> None:
        log.warning("%s: database unavailable (%s); attempt %d failed, retrying in %.1f s", what,
                    short_reason(state.outcome.exception()), state.attempt_number, state.next_action.sleep)
    return before_sleep


def _retried(method: str, what: str):
    """The job store's `method`, waiting out transient database errors with a growing backoff."""

    def call(self, *args):
        retrying = Retrying(retry=retry_if_exception(is_transient_db_error), reraise=True,
                            wait=wait_exponential(multiplier=0.5, max=JOB_STORE_MAX_WAIT),
                            before_sleep=_log_retry(f"job store {what}"))
        return retrying(getattr(super(RetryingJobStore, self), method), *args)

    return call


class RetryingJobStore(SQLAlchemyJobStore):
    """APScheduler's database job store, whose every operation waits out a transient database error.

    APScheduler lets an error from most job store calls end its main loop, so a held
    SQLite lock used to stop the clock (and with it `sapa run`).
    """

    start = _retried("start", "start")
    lookup_job = _retried("lookup_job", "lookup")
    get_due_jobs = _retried("get_due_jobs", "read of due jobs")
    get_next_run_time = _retried("get_next_run_time", "read of the next run time")
    get_all_jobs = _retried("get_all_jobs", "read of all jobs")
    add_job = _retried("add_job", "add")
    update_job = _retried("update_job", "update")
    remove_job = _retried("remove_job", "remove")
    remove_all_jobs = _retried("remove_all_jobs", "remove all")


class _RetryingJob:
    """A job as the executor runs it: its function retries transient database errors, then logs one line."""

    def __init__(self, job) -> None:
        self._job = job

    def __getattr__(self, name):
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)

    @property
    def func(self):
        job = self._job

        @functools.wraps(job.func)
        def run(*args, **kwargs):
            try:
                return Retrying(retry=retry_if_exception(is_transient_db_error), reraise=True,
                                stop=stop_after_attempt(JOB_ATTEMPTS), wait=wait_exponential(multiplier=1, max=4),
                                before_sleep=_log_retry(f"job {job.id}"))(job.func, *args, **kwargs)
            except Exception as exc:
                if not is_transient_db_error(exc):
                    raise  # APScheduler logs it with its traceback
                log.warning("job %s: database unavailable (%s) after %d attempts; its next run retries",
                            job.id, short_reason(exc), JOB_ATTEMPTS)
        return run


class RetryingExecutor(ThreadPoolExecutor):
    """APScheduler's thread pool, running each job through `_RetryingJob`."""

    def _do_submit_job(self, job, run_times):
        return super()._do_submit_job(_RetryingJob(job), run_times)


def sweep() -> int:
    """Queue again the events and outbound batches left behind by a crash or a lost task."""
    runtime = get_runtime()
    configure_queue(runtime.settings.queue_url)
    return events.requeue_stale(runtime, tasks.enqueue_events, tasks.enqueue_batch)


def wake_snoozed() -> int:
    """Reopen snoozed conversations whose snooze time has passed (the inbox shows them live)."""
    with session_scope(get_runtime().engine) as session:
        return wake(session=session)


def watch_complaint_sla() -> int:
    """Alert staff on complaints about to breach their SLA, and on breached ones."""
    with session_scope(get_runtime().engine) as session:
        return alerts.alert_complaint_sla(session=session, now=utcnow())


def give_back_unanswered() -> int:
    """Handoffs no staff member answered in time: the bot tells the customer and answers again."""
    runtime = get_runtime()
    configure_queue(runtime.settings.queue_url)
    with session_scope(runtime.engine) as session:
        batches = shop.give_back_unanswered(session=session, now=utcnow(),
                                            words=lambda language: text("staff_late", language))
    for batch_id in batches:
        tasks.enqueue_batch(batch_id)
    return len(batches)


def release_phone_alerts(now: datetime | None = None) -> int:
    """Alerts held for staff hours or a daily digest: sent to the staff phones once due, once."""
    runtime = get_runtime()
    configure_queue(runtime.settings.queue_url)
    with session_scope(runtime.engine) as session:
        tz = shop_settings.current_config(session, runtime.settings).tz  # the timezone staff set last
        batches = alerts.release_phone_alerts(session=session, now=now or utcnow(), tz=tz)
    for batch_id in batches:
        tasks.enqueue_batch(batch_id)
    return len(batches)


def send_surveys() -> int:
    """Satisfaction surveys that are due go out (customers who opted out of marketing on that chat get none)."""
    runtime = get_runtime()
    configure_queue(runtime.settings.queue_url)
    with session_scope(runtime.engine) as session:
        idle = shop_settings.current_config(session, runtime.settings).bot.conversation_idle_minutes
        return len(csat.send_due(session=session, now=utcnow(), rules=runtime.settings.csat, idle_minutes=idle,
                                 opted_out=_opted_out))


def expire_points(now: datetime | None = None) -> int:
    """Balances of customers who earned no points for `loyalty.expiry_months` expire (nothing when it is unset)."""
    with session_scope(get_runtime().engine) as session:
        rules = shop_settings.current_config(session, get_runtime().settings).loyalty
        return loyalty.expire_idle(session=session, rules=rules, now=now or utcnow())


def grant_birthday_points(now: datetime | None = None) -> int:
    """Today's birthday customers get `loyalty.birthday_points` once this year, told in chat; how many got them.

    Hourly, outside the shop's quiet hours (the greeting is a proactive message); the ledger's
    unique key gives each customer one bonus a year however often or concurrently this runs.
    """
    runtime, now = get_runtime(), now or utcnow()
    configure_queue(runtime.settings.queue_url)
    with session_scope(runtime.engine) as session:
        config = shop_settings.current_config(session, runtime.settings)
        points = config.loyalty.birthday_points
        if not points or quiet_until(config.broadcasts.quiet_hours, config.tz, now) is not None:
            return 0
        today = now.astimezone(config.tz).date()
        batches, granted = [], 0
        for contact_id in loyalty.birthday_contacts(session=session, day=today, ungranted=True):
            entry = loyalty.grant_birthday(session=session, contact_id=contact_id, points=points, year=today.year,
                                           now=now)
            if entry is None:
                continue
            granted += 1
            if session.get(Contact, contact_id).status != "active":  # blocked the account: nothing can reach them
                continue
            balance = loyalty.balance(session=session, contact_id=contact_id)
            batch = history.notify_customer(
                session=session, contact_id=contact_id, conversation_id=None, intent="loyalty",
                words=lambda language: text("points_birthday", language, points=str(points), balance=str(balance)),
                batch_id=f"birthday:{contact_id}:{today.year}")
            if batch:
                batches.append(batch)
    for batch_id in batches:  # after the commit: the messages are rows before they are sent
        tasks.enqueue_batch(batch_id)
    return granted


def _opted_out(session, contact_id: int, channel: str) -> bool:
    return channel in consent.opted_out_channels(session=session, contact_id=contact_id)


def recompute_customer_values() -> None:
    """Queue the nightly customer-value run (RFM, CLV, churn) for a worker."""
    configure_queue(get_runtime().settings.queue_url)
    tasks.recompute_values_task()


def recompute_cross_sell() -> None:
    """Queue the nightly cross-sell run (frequently bought together) for a worker."""
    configure_queue(get_runtime().settings.queue_url)
    tasks.recompute_cross_sell_task()


ANALYSIS_LIMIT = 400  # rows SQLite samples per index (its documentation's advice): 0.06 s warm at 2M messages


def refresh_statistics() -> None:
    """Refresh SQLite's planner statistics (PostgreSQL's autovacuum keeps its own)."""
    engine = get_runtime().engine
    if engine.dialect.name != "sqlite":
        return
    # Without sqlite_stat1 the planner guesses: it walked the whole `last_seen_at` index for a phone number at
    # 100k contacts, where an index lookup takes a millisecond (bench/inbox.py runs ANALYZE after seeding too).
    with engine.connect() as connection:
        connection.exec_driver_sql(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def refresh_figures() -> None:
    """Queue the refresh of the dashboards' daily rows for a worker."""
    configure_queue(get_runtime().settings.queue_url)
    tasks.refresh_figures_task()


def build_scheduler(settings: Settings, scheduler_class=BlockingScheduler):
    """A scheduler with the database job store and the standing jobs registered."""
    # The product's engine: its SQLite busy timeout, its PostgreSQL pre-ping (a dropped
    # connection is replaced before use).
    scheduler = scheduler_class(
        jobstores={"default": RetryingJobStore(engine=get_engine(settings.database_url), tablename="apscheduler_jobs")},
        executors={"default": RetryingExecutor()},
        timezone=settings.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    scheduler.add_job("bot.clock:sweep", "interval", seconds=SWEEP_SECONDS, id="sweep-stale-work",
                      replace_existing=True)
    scheduler.add_job("bot.clock:wake_snoozed", "interval", seconds=WAKE_SECONDS, id="wake-snoozed",
                      replace_existing=True)
    scheduler.add_job("bot.clock:watch_complaint_sla", "interval", seconds=WAKE_SECONDS, id="watch-complaint-sla",
                      replace_existing=True)
    scheduler.add_job("bot.clock:give_back_unanswered", "interval", seconds=WAKE_SECONDS, id="give-back-unanswered",
                      replace_existing=True)
    scheduler.add_job("bot.clock:release_phone_alerts", "interval", seconds=WAKE_SECONDS, id="release-phone-alerts",
                      replace_existing=True)
    scheduler.add_job("bot.clock:send_surveys", "interval", seconds=WAKE_SECONDS, id="send-surveys",
                      replace_existing=True)
    scheduler.add_job("bot.clock:expire_points", "interval", seconds=EXPIRE_POINTS_SECONDS, id="expire-points",
                      replace_existing=True)
    scheduler.add_job("bot.clock:grant_birthday_points", "interval", seconds=BIRTHDAY_SECONDS, id="birthday-points",
                      replace_existing=True)
    scheduler.add_job("bot.clock:refresh_figures", "interval", seconds=FIGURES_SECONDS, id="refresh-daily-figures",
                      replace_existing=True)
    scheduler.add_job("bot.clock:recompute_customer_values", "cron", hour=VALUES_HOUR, minute=0,
                      id="recompute-customer-values", replace_existing=True)
    scheduler.add_job("bot.clock:recompute_cross_sell", "cron", hour=VALUES_HOUR, minute=30,
                      id="recompute-cross-sell", replace_existing=True)
    scheduler.add_job("bot.clock:refresh_statistics", "cron", hour=VALUES_HOUR, minute=45,
                      id="refresh-statistics", replace_existing=True)
    register_campaign_jobs(scheduler, settings)  # campaign schedules, stalled-run sweep, journeys
    return scheduler


def run_clock(settings: Settings) -> None:
    """Run the scheduler until interrupted."""
    scheduler = build_scheduler(settings)
    log.info("clock started (timezone %s)", settings.timezone)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
