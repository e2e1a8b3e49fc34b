"""The clock's side of broadcasts: APScheduler jobs that decide *when* a campaign runs.

The web app only writes campaigns; the clock (the one scheduler process, persistent job
store) mirrors every scheduled campaign as a job — a DateTrigger for "at a time", a
CronTrigger for a recurrence, both in the campaign's timezone — and removes the jobs of
paused or cancelled ones. A job only queues the run; workers do the sending. A run is keyed
by its due time, so a job that fires twice (a crash between firing and the job store
update) still sends once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from apscheduler.triggers.date import DateTrigger
from sqlmodel import Session, select

from broadcasts import campaigns as cmp
from broadcasts import delivery, results
from broadcasts import schedule as sched
from broadcasts.models import Campaign, CampaignRun
from broadcasts.tasks import enqueue_campaign, enqueue_run, requeue_stale_runs
from core.db import session_scope, utcnow
from core.queue import configure_queue
from core.runtime import Runtime, get_runtime

log = logging.getLogger(__name__)
PREFIX = "campaign:"
_scheduler = None


def register(scheduler, settings) -> None:
    """Add the standing broadcast jobs (schedule sync, stalled-run sweep, journeys) to the clock."""
    global _scheduler
    _scheduler = scheduler
    scheduler.add_job("broadcasts.scheduler:sync", "interval", seconds=settings.broadcasts.sync_seconds,
                      id="broadcasts-sync", replace_existing=True, next_run_time=datetime.now(timezone.utc))
    scheduler.add_job("broadcasts.scheduler:sweep", "interval", seconds=30, id="broadcasts-sweep",
                      replace_existing=True)
    scheduler.add_job("broadcasts.scheduler:decide_ab_tests", "interval", minutes=5, id="broadcasts-ab-winners",
                      replace_existing=True)
    scheduler.add_job("broadcasts.journeys:run_daily", "cron", hour=9, minute=0, id="journeys-daily",
                      replace_existing=True, timezone=settings.tz)
    scheduler.add_job("broadcasts.journeys:run_frequent", "interval", minutes=15, id="journeys-frequent",
                      replace_existing=True)


def clock_runtime() -> Runtime:
    """The process's runtime, with the queue pointed at its storage (a clock job queues work)."""
    runtime = get_runtime()
    configure_queue(runtime.settings.queue_url)
    return runtime


def fingerprint(campaign: Campaign) -> str:
    """What the job depends on: a change replaces the job."""
    send_at = campaign.send_at.isoformat() if campaign.send_at else ""
    return f"{send_at}|{campaign.recurrence or ''}|{campaign.timezone}"


def trigger_for(campaign: Campaign):
    """The APScheduler trigger of a scheduled campaign (shop timezone, DST-aware)."""
    tz = ZoneInfo(campaign.timezone)
    send_at = campaign.send_at
    if send_at is not None and send_at.tzinfo is None:
        send_at = send_at.replace(tzinfo=timezone.utc)
    if campaign.recurrence:
        return sched.cron_trigger(campaign.recurrence, tz, start=send_at)
    return DateTrigger(run_date=send_at.astimezone(tz), timezone=tz)


def sync(scheduler=None, now: datetime | None = None) -> dict[str, int]:
    """Make the job store match the scheduled campaigns; returns counts of added/removed/missed."""
    scheduler = scheduler or _scheduler
    runtime = clock_runtime()
    grace = runtime.settings.broadcasts.misfire_grace_seconds
    now = now or utcnow()
    counts = {"added": 0, "removed": 0, "missed": 0}
    jobs = {job.id: job for job in scheduler.get_jobs() if job.id.startswith(PREFIX)}
    with session_scope(runtime.engine) as session:
        scheduled = session.exec(select(Campaign).where(Campaign.status == "scheduled")).all()
        wanted = set()
        for campaign in scheduled:
            job_id = f"{PREFIX}{campaign.id}"
            mark = fingerprint(campaign)
            job = jobs.get(job_id)
            if job is not None and job.kwargs.get("fingerprint") == mark:
                wanted.add(job_id)
                continue
            if not campaign.recurrence:
                send_at = campaign.send_at.replace(tzinfo=campaign.send_at.tzinfo or timezone.utc)
                already = session.exec(select(CampaignRun.id).where(CampaignRun.campaign_id == campaign.id)).first()
                if already is not None:
                    continue
                if send_at < now - timedelta(seconds=grace):
                    # The clock was down past the grace period: do not surprise customers late.
                    campaign.status, campaign.updated_at = "paused", utcnow()
                    campaign.notice = (f"missed: due {send_at.isoformat()} while the scheduler was down for more "
                                       f"than the grace period ({grace} s); resume to send now")
                    session.add(campaign)
                    counts["missed"] += 1
                    continue
            scheduler.add_job("broadcasts.scheduler:fire", trigger_for(campaign), id=job_id, replace_existing=True,
                              kwargs={"campaign_id": campaign.id, "fingerprint": mark},
                              misfire_grace_time=grace, coalesce=True, max_instances=1)
            wanted.add(job_id)
            counts["added"] += 1
    for job_id in set(jobs) - wanted:
        scheduler.remove_job(job_id)
        counts["removed"] += 1
    return counts


def run_key(campaign: Campaign, now: datetime, grace_seconds: int) -> str | None:
    """The due time this firing stands for (ISO UTC): the same for a repeated fire."""
    if campaign.recurrence:
        due = sched.latest_fire_time(campaign.recurrence, ZoneInfo(campaign.timezone), now,
                                     timedelta(seconds=grace_seconds + 60))
        return due.astimezone(timezone.utc).isoformat() if due else None
    if campaign.send_at is None:
        return "now"
    return campaign.send_at.replace(tzinfo=campaign.send_at.tzinfo or timezone.utc).astimezone(timezone.utc).isoformat()


def fire(campaign_id: int, fingerprint: str | None = None, now: datetime | None = None) -> str | None:
    """A campaign is due: queue its run (keyed by the due time); the run key, or None if not due."""
    runtime = clock_runtime()
    with Session(runtime.engine) as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None or campaign.status != "scheduled":
            return None
        key = run_key(campaign, now or utcnow(), runtime.settings.broadcasts.misfire_grace_seconds)
    if key is None:
        return None
    log.info("campaign %s is due (%s)", campaign_id, key)
    enqueue_campaign(campaign_id, key)
    return key


def sweep() -> int:
    """Resume broadcast runs whose worker died mid-way."""
    clock_runtime()
    return requeue_stale_runs()


def decide_ab_tests(now: datetime | None = None) -> list[tuple[int, str]]:
    """A/B tests whose decision time has come: pick the winner by the test's metric and send it
    to the held rest of the audience; [(campaign id, winner)]."""
    runtime = clock_runtime()
    now = now or utcnow()
    decided = []
    with Session(runtime.engine) as session:
        candidates = session.exec(select(Campaign).where(Campaign.status == "sending",
                                                         Campaign.winner.is_(None))).all()
        due = []
        for campaign in candidates:
            hours = (campaign.ab_test or {}).get("decide_after_hours")
            run = cmp.open_run(session=session, campaign_id=campaign.id) if hours else None
            started = run.started_at.replace(tzinfo=run.started_at.tzinfo or timezone.utc) if run else None
            if run is not None and started + timedelta(hours=hours) <= now:
                due.append((campaign.id, run.id))
    for campaign_id, run_id in due:
        with Session(runtime.engine) as session:
            winner = results.choose_winner(session=session, campaign_id=campaign_id,
                                           attribution_days=runtime.settings.broadcasts.attribution_days)
        delivery.release_winner(runtime, campaign_id, winner)
        enqueue_run(run_id)
        log.info("campaign %s: variant %s won the A/B test", campaign_id, winner)
        decided.append((campaign_id, winner))
    return decided
