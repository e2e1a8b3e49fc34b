"""Queue tasks of broadcasts, below bot and staff replies (priority 10 and 5) in the queue."""

from __future__ import annotations

import logging

from core.queue import huey
from core.runtime import get_runtime
from core.settings import get_settings
from broadcasts import delivery, runs
from crm.outbound import RetryLater

log = logging.getLogger(__name__)
PRIORITY = 1  # lower than the bot's event tasks (10) and send_batch_task (5)
_queue = get_settings().queue
RETRY = {"retries": _queue.retries, "retry_delay": _queue.retry_delay_seconds, "retry_backoff": _queue.retry_backoff}


@huey.task(priority=PRIORITY, **RETRY)
def start_run_task(campaign_id: int, run_key: str) -> None:
    """Open a campaign's run for one due time (once, whatever fires twice) and drive it."""
    run_id = runs.open_run(get_runtime(), campaign_id, run_key)
    if run_id is not None:
        drive(run_id)


@huey.task(priority=PRIORITY, **RETRY)
def drive_run_task(run_id: int) -> None:
    """Resolve, guard and dispatch a run (resumable: each step skips what is done)."""
    drive(run_id)


def drive(run_id: int) -> runs.Plan:
    """Resolve the audience, check the LINE quota, then queue the sends."""
    rt = get_runtime()
    runs.resolve(rt, run_id)
    runs.check_quota(rt, run_id)
    plan = runs.dispatch(rt, run_id)
    if plan.wait_until is not None:
        drive_run_task.schedule((run_id,), eta=plan.wait_until)
        return plan
    for chunk in plan.chunks:  # LINE first: a multicast reaches 500 people per request
        send_chunk_task(run_id, chunk)
    if plan.direct:
        for first, last in runs.iter_ranges(rt, run_id, rt.settings.broadcasts.send_batch):
            send_range_task(run_id, first, last)
    return plan


@huey.task(context=True, priority=PRIORITY, **RETRY)
def send_chunk_task(run_id: int, chunk: int, task=None) -> None:
    """Multicast one LINE chunk; a retry repeats its X-Line-Retry-Key."""
    try:
        delivery.send_chunk(get_runtime(), run_id, chunk)
    except RetryLater as exc:
        _later(send_chunk_task, (run_id, chunk), exc, task)


@huey.task(context=True, priority=PRIORITY, **RETRY)
def send_range_task(run_id: int, first: int, last: int, task=None) -> None:
    """Send the one-by-one rows (Telegram, personalised LINE) with ids in [first, last]."""
    try:
        delivery.send_range(get_runtime(), run_id, first, last)
    except RetryLater as exc:
        _later(send_range_task, (run_id, first, last), exc, task)


def _later(task_fn, args: tuple, exc: RetryLater, task) -> None:
    if exc.delay and exc.delay > 0:
        # Honour retry_after / the end of quiet hours, keeping the remaining retry budget.
        remaining = (task.retries if task is not None else _queue.retries)
        if exc.reason == delivery.QUIET:
            remaining = _queue.retries
        if remaining <= 0 and exc.reason != delivery.QUIET:
            log.warning("giving up %s%s: %s (the clock resumes the run later)", task_fn.name, args, exc)
            return
        task_fn.schedule(args, delay=exc.delay, retries=max(remaining - 1, 0))
        return
    raise exc


def enqueue_campaign(campaign_id: int, run_key: str = "now") -> None:
    """Queue a campaign's run (the web app calls this for "send now"; the clock for schedules)."""
    start_run_task(campaign_id, run_key)


def enqueue_run(run_id: int) -> None:
    """Queue the driving of an existing run (resume, A/B winner)."""
    drive_run_task(run_id)


def requeue_stale_runs() -> int:
    """Resume runs whose task died with a worker; returns how many."""
    stale = runs.stale_runs(get_runtime())
    for run_id in stale:
        runs.touch_run(get_runtime(), run_id)  # one requeue per stale period, not one per sweep
        drive_run_task(run_id)
    if stale:
        log.info("resumed %d stalled broadcast run(s)", len(stale))
    return len(stale)
