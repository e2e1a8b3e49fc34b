"""Queue tasks: process stored events, (re)send an outbound batch."""

from __future__ import annotations

import logging
from pathlib import Path

from bot import pipeline
from broadcasts import figures as campaign_figures
from broadcasts import tasks as broadcast_tasks  # noqa: F401 - its tasks run on this queue too
from crm import (alert_emails, contact_uploads, cross_sell, customer_value, daily_figures, orders, outbound,
                 shop_settings, webhooks)
from core import after_commit
from core.db import session_scope, utcnow
from core.queue import huey
from core.runtime import get_runtime
from core.settings import get_settings

log = logging.getLogger(__name__)
_queue = get_settings().queue
RETRY = {"retries": _queue.retries, "retry_delay": _queue.retry_delay_seconds, "retry_backoff": _queue.retry_backoff}


EVENTS_PER_TASK = 16  # a backlog still spreads over every worker


@huey.task(context=True, priority=10, **RETRY)
def process_event_task(event_id: int, task=None) -> None:
    """Process one stored webhook event; retried with backoff, then marked failed."""
    _process_event(event_id, final_attempt=task is None or task.retries == 0)


@huey.task(priority=10)
def process_events_task(event_ids: list[int]) -> None:
    """Process stored events handed off together; one that fails is retried alone, with backoff."""
    for event_id in event_ids:
        try:
            _process_event(event_id, final_attempt=not _queue.retries)
        except Exception:  # noqa: BLE001 - logged and recorded on the event; the others go on
            if _queue.retries:
                # What Huey does after a first failed attempt: the rest of the retries, backing off.
                process_event_task.schedule((event_id,), delay=_queue.retry_delay_seconds, retries=_queue.retries - 1,
                                            retry_delay=_queue.retry_delay_seconds * (_queue.retry_backoff or 1))


def _process_event(event_id: int, final_attempt: bool) -> None:
    try:
        pipeline.process_event(get_runtime(), event_id, final_attempt=final_attempt)
    except outbound.RetryLater as exc:
        # The event is recorded and answered; only sending must be retried.
        send_batch_task.schedule((exc.batch_id,), delay=exc.delay or _queue.retry_delay_seconds)


@huey.task(context=True, priority=5, **RETRY)
def send_batch_task(batch_id: str, task=None) -> None:
    """Send the unsent messages of an outbound batch; retried with backoff, then marked failed."""
    try:
        outbound.deliver_batch(get_runtime(), batch_id)
    except outbound.RetryLater as exc:
        if task is not None and task.retries == 0:
            outbound.give_up_batch(get_runtime(), batch_id, str(exc))
            return
        if exc.delay:
            # Honour the platform's retry_after, keeping the remaining retry budget.
            remaining = (task.retries - 1) if task is not None else _queue.retries
            send_batch_task.schedule((batch_id,), delay=exc.delay, retries=remaining)
            return
        raise


def enqueue_events(event_ids: list[int]) -> None:
    """Queue the processing of stored events, EVENTS_PER_TASK to a task (a task costs the web ~20 µs)."""
    for i in range(0, len(event_ids), EVENTS_PER_TASK):
        process_events_task(event_ids[i:i + EVENTS_PER_TASK])


@huey.task(priority=5)
def send_alert_email_task(row_id: int) -> None:
    """Send one alert email; a failed attempt waits in its row for the clock's sweep (growing waits)."""
    alert_emails.deliver(get_runtime(), row_id)


@huey.task(priority=5)
def send_webhook_task(row_id: int) -> None:
    """POST one webhook delivery; a failed attempt waits in its row for the clock's sweep (growing waits)."""
    webhooks.deliver(get_runtime(), row_id)


@huey.task(**RETRY)
def import_contacts_task(root: str, token: str) -> None:
    """Import an uploaded contacts file; a retry (or a second run) continues from the last committed batch."""
    upload = contact_uploads.open_upload(root=Path(root), token=token)
    contact_uploads.run_import(engine=get_runtime().engine, upload=upload)


@huey.task(**RETRY)
def recompute_values_task() -> None:
    """The nightly customer-value run: RFM, CLV, churn model and figures for every contact."""
    runtime = get_runtime()
    with session_scope(runtime.engine) as session:
        tz = shop_settings.current_config(session, runtime.settings).tz
        params = customer_value.recompute_all(session=session, now=utcnow(), tz=tz)
        today = daily_figures.local_day(utcnow(), tz)  # the segments of the night's run, on the dashboard at once
        daily_figures.store(session=session, metrics=daily_figures.SNAPSHOT_METRICS, days=[today],
                            rows=daily_figures.snapshot_rows(session=session, day=today, tz=tz))
    log.info("customer values recomputed (churn model: %s on %s customers)", params["churn"]["kind"],
             params["churn"]["trained_on"])


@huey.task(**RETRY)
def recompute_cross_sell_task() -> None:
    """The nightly cross-sell run: the frequently-bought-together rules learned again from the orders."""
    runtime = get_runtime()
    with session_scope(runtime.engine) as session:
        summary = cross_sell.recompute(session=session, now=utcnow(), rules=runtime.settings.cross_sell)
    log.info("cross-sell rules recomputed: %s rules for %s products", summary["rules"], summary["products"])


@huey.task(**RETRY)
def refresh_figures_task() -> None:
    """The dashboards' daily rows: today and yesterday again, older days never computed, the campaign funnel."""
    runtime = get_runtime()
    with session_scope(runtime.engine) as session:
        config = shop_settings.current_config(session, runtime.settings)
        days = daily_figures.refresh_recent(session=session, tz=config.tz)
        campaigns = campaign_figures.refresh_funnel(session=session, tz=config.tz,
                                                    attribution_days=config.broadcasts.attribution_days)
    log.info("daily figures refreshed (%s days, %s campaigns)", days, campaigns)


@huey.task(priority=5, **RETRY)
def recompute_contact_value_task(contact_id: int) -> None:
    """One contact's value figures after an order of theirs was placed or changed."""
    runtime = get_runtime()
    with session_scope(runtime.engine) as session:
        tz = shop_settings.current_config(session, runtime.settings).tz
        customer_value.recompute_contact(session=session, contact_id=contact_id, now=utcnow(), tz=tz)


def enqueue_batch(batch_id: str) -> None:
    """Queue the sending of an outbound batch, an alert email ("email:<id>") or a webhook delivery ("webhook:<id>")."""
    row_id = alert_emails.email_id(batch_id)
    webhook_id = webhooks.delivery_id(batch_id)
    if row_id is not None:
        send_alert_email_task(row_id)
    elif webhook_id is not None:
        send_webhook_task(webhook_id)
    else:
        send_batch_task(batch_id)



# Batches written below bot/ for after their commit (alerts to staff phones, /r replies) go on this queue.
after_commit.use_sender(enqueue_batch)
after_commit.react(orders.ORDER_CHANGED, recompute_contact_value_task)
