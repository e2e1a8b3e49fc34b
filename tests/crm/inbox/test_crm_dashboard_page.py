"""The CRM dashboard page: who may open it, its charts from the daily rows, a CSV per chart, the date range."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from core.db import session_scope, utcnow
from crm import daily_figures
from crm.inbox import crm_dashboard
from crm.models import Contact
from crm.cross_sell import CrossSellRule
from crm.orders import Order, OrderItem, Product


def seed_orders(runtime, names=("Es Kopi Susu", "=HYPERLINK(\"http://evil.example\")")) -> None:
    """Two customers' orders over the past weeks, then the clock's refresh of the daily rows."""
    now = utcnow()
    with session_scope(runtime.engine) as s:
        for n, channel in enumerate(("line", "telegram")):
            contact = Contact(display_name=f"Customer {n}")
            s.add(contact)
            s.flush()
            for week in range(4):
                order = Order(contact_id=contact.id, channel=channel, status="delivered", subtotal=30_000,
                              total=30_000, created_at=now - timedelta(days=7 * week, hours=1))
                s.add(order)
                s.flush()
                s.add(OrderItem(order_id=order.id, product_name=names[n], quantity=1, price=30_000))
    with session_scope(runtime.engine) as s:
        daily_figures.refresh_recent(session=s, tz=runtime.settings.tz)


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_admins_and_marketers_open_it_agents_do_not(as_role):
    for role, status in (("admin", 200), ("marketer", 200), ("agent", 403)):
        assert as_role(role).get("/inbox/dashboard/crm").status_code == status, role
    support = as_role("marketer").get("/inbox/dashboard").get_data(as_text=True)
    assert 'href="/inbox/dashboard/crm"' in support  # the tab beside the support dashboard
    assert 'href="/inbox/dashboard/crm"' not in as_role("agent").get("/inbox/dashboard").get_data(as_text=True)


def test_the_page_shows_every_chart(as_role, runtime):
    seed_orders(runtime)
    page = as_role("marketer").get("/inbox/dashboard/crm").get_data(as_text=True)
    for chart in crm_dashboard.CHARTS:
        assert f'id="chart-{chart.name}"' in page
    assert 'data-crm-chart="line"' in page and 'id="crm-orders_by_channel"' in page
    assert "Es Kopi Susu" in page


def test_the_cross_sell_card_compares_offers_with_orders_without_one(as_role, runtime):
    """Croissant offered twice, kept once (50 %); of the four orders with coffee and no offer, one had it (25 %)."""
    now = utcnow() - timedelta(hours=1)
    with session_scope(runtime.engine) as s:
        coffee, croissant = Product(sku="KOPI", name="Es Kopi Susu", price=20_000), \
            Product(sku="CROI", name="Croissant", price=18_000)
        contact = Contact(display_name="Customer")
        s.add_all([coffee, croissant, contact])
        s.flush()
        s.add(CrossSellRule(product_id=coffee.id, suggested_id=croissant.id, orders=5, support=.1, confidence=.3,
                            lift=1.5))
        for offered, kept, items in ((True, True, (coffee, croissant)), (True, False, (coffee,)),
                                     (False, False, (coffee, croissant)), (False, False, (coffee,)),
                                     (False, False, (coffee,)), (False, False, (coffee,))):
            order = Order(contact_id=contact.id, channel="line", status="new", subtotal=1, total=1, created_at=now,
                          cross_sell_product_id=croissant.id if offered else None, cross_sell_taken=kept)
            s.add(order)
            s.flush()
            s.add_all([OrderItem(order_id=order.id, product_id=p.id, product_name=p.name, quantity=1, price=p.price)
                       for p in items])
    with session_scope(runtime.engine) as s:
        daily_figures.refresh_recent(session=s, tz=runtime.settings.tz)
    marketer = as_role("marketer")
    rows = _csv(marketer.get("/inbox/dashboard/crm?chart=cross_sell&format=csv"))
    assert rows[1:] == [["*", "2", "1", "50.0", "25.0"], ["Croissant", "2", "1", "50.0", "25.0"]]
    page = marketer.get("/inbox/dashboard/crm").get_data(as_text=True)
    assert "Semua tawaran" in page and "Dibeli tanpa tawaran (%)" in page


def test_each_chart_downloads_as_csv_without_formulas(as_role, runtime):
    seed_orders(runtime)
    marketer = as_role("marketer")
    rows = _csv(marketer.get("/inbox/dashboard/crm?chart=orders_by_channel&format=csv"))
    assert rows[0] == ["Kanal", "Pesanan", "Omzet (Rp)"] or rows[0][1:] == ["Pesanan", "Omzet (Rp)"]
    assert sorted(rows[1:]) == [["line", "4", "120000"], ["telegram", "4", "120000"]]
    products = _csv(marketer.get("/inbox/dashboard/crm?chart=top_products&format=csv"))
    assert ["'=HYPERLINK(\"http://evil.example\")", "4", "120000"] in products  # text, not a formula
    week = (utcnow() - timedelta(days=3)).date().isoformat()
    recent = _csv(marketer.get(f"/inbox/dashboard/crm?chart=orders_by_channel&format=csv&from={week}"))
    assert sorted(r[1] for r in recent[1:]) == ["1", "1"]  # only this week's orders
    for chart in crm_dashboard.CHARTS:
        response = marketer.get(f"/inbox/dashboard/crm?chart={chart.name}&format=csv")
        assert response.status_code == 200, chart.name
    assert marketer.get("/inbox/dashboard/crm?chart=nope&format=csv").status_code == 404


def test_a_bad_range_is_refused_with_the_reason(as_role):
    marketer = as_role("marketer")
    for query, words in (("from=2026-13-01", "TTTT-BB-HH"), ("from=2026-03-10&to=2026-03-01", "sebelum"),
                         ("from=2024-01-01&to=2026-01-01", "366")):
        page = marketer.get(f"/inbox/dashboard/crm?{query}")
        assert page.status_code == 422 and words in page.get_data(as_text=True), query
        response = marketer.get(f"/inbox/dashboard/crm?{query}&chart=customers&format=csv")
        assert response.status_code == 422 and words in response.get_data(as_text=True)
    page = marketer.get("/inbox/dashboard/crm?from=2026-13-01").get_data(as_text=True)
    assert 'value="2026-13-01"' in page  # the form keeps what was typed


def test_the_range_is_in_the_shops_days(runtime):
    tz = runtime.settings.tz
    now = datetime(2026, 3, 1, 20, 0, tzinfo=timezone.utc)  # already 2 March, 03:00, in Jakarta
    p = crm_dashboard.period(first="", last="", tz=tz, now=now)
    assert (p.first.isoformat(), p.last.isoformat()) == ("2025-12-03", "2026-03-02")  # 90 days, today last
