"""The CRM dashboard in a real browser: a marketer opens it and Chart.js draws every chart from the daily rows."""

from __future__ import annotations

import pytest

from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - fixtures
from tests.crm.inbox.test_crm_dashboard_page import seed_orders

pytestmark = pytest.mark.browser


def test_a_marketer_sees_the_crm_charts_drawn(open_page, server, runtime):
    seed_orders(runtime)
    page = open_page("marketer")
    page.goto(f"{server}/inbox/dashboard")
    page.click("a[href='/inbox/dashboard/crm']")  # the tab beside the support dashboard
    page.wait_for_url(f"{server}/inbox/dashboard/crm")
    for name in ("customers", "orders_by_channel", "top_products"):  # no campaign was sent: no funnel to draw
        canvas = page.locator(f"#chart-{name} canvas")
        assert canvas.get_attribute("data-drawn") == "1", name
        box = canvas.bounding_box()
        assert box["width"] > 100 and box["height"] > 100, name
    channels = page.evaluate("window.Chart.getChart(document.querySelector('#chart-orders_by_channel canvas'))"
                             ".data.labels")
    assert sorted(channels) == ["LINE", "Telegram"]
    revenue = page.evaluate("window.Chart.getChart(document.querySelector('#chart-orders_by_channel canvas'))"
                            ".data.datasets[0].data")
    assert revenue == [120000, 120000]
    assert page.locator("#chart-campaign_funnel canvas").count() == 0
    assert page.locator("#chart-cohorts table").is_visible() and page.locator("#chart-rfm table.rfm-grid").is_visible()
    assert "Belum ada angka" in page.locator("#chart-cross_sell").inner_text()  # no offers made in the seeded orders
