"""The cross-sell rules are learned again by the clock's nightly job (a worker task) and by `sapa cross-sell`."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from click.testing import CliRunner
from sqlmodel import Session, select

from bot import clock
from bot.cli import main
from core.db import session_scope
from core.settings import get_settings
from crm.cross_sell import CrossSellRule
from crm.orders import Product
from tests.crm.test_cross_sell import known_history


def _history(runtime, times: int = 3) -> dict[str, int]:
    """The known history `times` over (105 orders: above the default min_orders of 100)."""
    with session_scope(runtime.engine) as session:
        products = {name: Product(sku=name.upper(), name=name.title(), price=20_000)
                    for name in ("kopi", "croissant", "teh")}
        session.add_all(products.values())
        session.flush()
        ids = {name: product.id for name, product in products.items()}
        for _ in range(times):
            known_history(session, ids)
    return ids


def _rules(runtime) -> set[tuple[int, int]]:
    with Session(runtime.engine) as session:
        return {(rule.product_id, rule.suggested_id) for rule in session.exec(select(CrossSellRule))}


def test_the_nightly_job_learns_the_rules_with_the_configured_thresholds(runtime):
    ids = _history(runtime)
    clock.recompute_cross_sell()  # the queue runs the task inline in tests
    assert _rules(runtime) == {(ids["kopi"], ids["croissant"]), (ids["croissant"], ids["kopi"])}


def test_the_job_runs_each_night_after_the_customer_values(runtime):
    scheduler = clock.build_scheduler(runtime.settings, BackgroundScheduler)
    trigger = str(scheduler.get_job("recompute-cross-sell").trigger)
    assert "hour='3'" in trigger and "minute='30'" in trigger, trigger


def test_the_command_recomputes_and_lists_the_rules(runtime, monkeypatch):
    monkeypatch.setenv("SAPA_DATABASE_URL", runtime.settings.database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        empty = runner.invoke(main, ["cross-sell", "list"], catch_exceptions=False)
        assert "no rules yet" in empty.output
        ids = _history(runtime, times=2)  # 70 orders: too few by default
        few = runner.invoke(main, ["cross-sell", "recompute"], catch_exceptions=False)
        assert few.exit_code == 0 and "0 rules" in few.output and "fewer than 100 orders" in few.output
        monkeypatch.setenv("SAPA_CROSS_SELL__MIN_ORDERS", "70")
        get_settings.cache_clear()
        done = runner.invoke(main, ["cross-sell", "recompute"], catch_exceptions=False)
        assert done.exit_code == 0 and "2 rules for 2 products" in done.output
        listed = runner.invoke(main, ["cross-sell", "list"], catch_exceptions=False).output
        assert "Kopi → Croissant  orders 16" in listed and "confidence 0.80" in listed
        assert _rules(runtime) == {(ids["kopi"], ids["croissant"]), (ids["croissant"], ids["kopi"])}
    finally:
        get_settings.cache_clear()
