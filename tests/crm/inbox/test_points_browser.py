"""The customer panel's loyalty points in a real browser (Debian's Chromium), on a phone-sized screen: an agent
sees a delivered order's points and adds a purchase made at the counter with its reason."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.db import session_scope
from crm import orders as order_data
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_an_agent_sees_the_balance_and_adjusts_it(open_page, line_chat, runtime):
    _, contact_id = line_chat
    with session_scope(runtime.engine) as session:
        coffee = order_data.Product(sku="KOPI", name="Es Kopi Susu", price=25_000)
        session.add(coffee)
        session.flush()
        order = order_data.place_order(session=session, contact_id=contact_id, lines=[order_data.CartLine(coffee.id, 2)],
                                       fulfilment="pickup")
        for status in order_data.steps_to("delivered"):
            order_data.change_status(session=session, order=order, status=status, by="staff:1")

    page = open_page("agent")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.url.replace("/inbox/", f"/inbox/contacts/{contact_id}"))
    points = page.locator("#points")
    assert points.locator(".points-balance").inner_text() == "50"
    assert "Silver" in points.inner_text() and "Didapat" in points.inner_text()

    points.locator("input[name=points]").fill("-80")
    points.locator("input[name=reason]").fill("tukar hadiah di kasir")
    points.locator("button").click()
    expect(page.locator("body")).to_contain_text("Poin pelanggan hanya 50")  # refused, the form kept
    assert page.locator("#points input[name=reason]").input_value() == "tukar hadiah di kasir"

    page.locator("#points input[name=points]").fill("30")
    page.locator("#points input[name=reason]").fill("beli di kasir")
    page.locator("#points button").click()
    # the URL is the contact's before and after the post: wait for the new balance, not the URL
    expect(page.locator("#points .points-balance")).to_have_text("80")
    assert "beli di kasir" in page.locator("#points .points-ledger").inner_text()
    box = page.locator("#points button").bounding_box()
    assert box["x"] + box["width"] <= 390  # the form fits a phone
