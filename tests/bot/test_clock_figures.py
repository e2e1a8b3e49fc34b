"""The clock keeps the dashboards' daily rows (a Huey task), the campaign funnel among them; `sapa figures rebuild`."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import select

from bot import clock
from broadcasts import results
from core.db import session_scope
from crm import daily_figures, orders
from crm.daily_figures import DailyFigure
from crm.inbox import crm_dashboard
from tests.bot.test_cli import sapa  # noqa: F401 - fixture
from tests.broadcasts.helpers import line_id, seed
from tests.factories import Webhooks, line_text


def test_the_clock_schedules_the_refresh_and_its_task_writes_the_funnel_the_results_page_shows(
        client, auth, runtime, fake_line, session):
    scheduler = clock.build_scheduler(runtime.settings, BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("refresh-daily-figures")
        assert job is not None and job.trigger.interval.total_seconds() == clock.FIGURES_SECONDS
    finally:
        scheduler.remove_all_jobs()
        scheduler.shutdown(wait=False)

    ids = seed(runtime.engine, line=2)
    campaign = client.post("/api/v1/campaigns", headers=auth, json={"name": "Jumat hemat",
                                                                     "message": {"text": "Promo!"}}).get_json()
    Webhooks(client).line(line_text("mau pesan dong", user=line_id(0)))
    with session_scope(runtime.engine) as s:
        product = orders.Product(sku="KOPI", name="Es Kopi", price=20000)
        s.add(product)
        s.flush()
        orders.place_order(session=s, contact_id=ids[0], lines=[orders.CartLine(product.id, 2)], fulfilment="pickup")

    clock.refresh_figures()  # the job as the clock calls it; the test queue runs its task at once

    stats = results.stats(session=session, campaign_id=campaign["id"],
                          attribution_days=runtime.settings.broadcasts.attribution_days)
    assert stats["sent"] == 2 and stats["replied"] == 1 and stats["orders"] == 1
    today = daily_figures.local_day(daily_figures.utcnow(), runtime.settings.tz)
    period = crm_dashboard.period(first="", last="", tz=runtime.settings.tz, now=daily_figures.utcnow())
    funnel = crm_dashboard.campaign_funnel(session, period)
    assert funnel.rows == [["Jumat hemat", 2, 1, 1, 40000]]
    stored = {row.metric for row in session.exec(select(DailyFigure).where(DailyFigure.day == today))}
    assert {"messages_in", "orders", "products", "points_outstanding", "campaign_sent"} <= stored


def test_sapa_figures_rebuild_recomputes_a_range(sapa):
    code, output = sapa("figures", "rebuild", "--from", "2026-03-01", "--to", "2026-03-05")
    assert code == 0 and "5 days rebuilt (0 campaigns)" in output
    code, output = sapa("figures", "rebuild", "--from", "2026-03-05", "--to", "2026-03-01")
    assert code == 1 and "--from is after --to" in output
