"""A customer's value on their panel in a real browser, on a phone: segment, CLV, churn risk and favourite."""

from __future__ import annotations

import pytest

from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - fixtures
from tests.crm.inbox.test_customer_value_page import order_pastries

pytestmark = pytest.mark.browser


def test_an_agent_reads_the_customer_value_on_a_phone(open_page, server, line_chat, runtime):
    _, contact_id = line_chat
    order_pastries(runtime, contact_id, count=3)
    page = open_page("agent")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{server}/inbox/contacts/{contact_id}")
    figures = page.locator("#customer-value")
    figures.wait_for()
    assert figures.locator(".favourite").inner_text() == "Pastry"
    assert figures.locator(".pill[class*=rfm-]").is_visible()
    assert "%" in figures.locator(".churn").inner_text()
    assert figures.locator(".clv").inner_text().startswith("Rp")
    box = figures.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # nothing sticks out of the phone's screen
