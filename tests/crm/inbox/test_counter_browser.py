"""The counter in a real browser (Debian's Chromium), on a phone-sized screen: a LINE customer asks for their member
card in chat, the agent types the code, records the purchase (its points arrive on LINE) and hands over a reward with
a double click that spends the points once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlmodel import Session

from core.db import session_scope
from crm import loyalty
from crm import orders as order_data
from tests.crm.inbox.conftest import LINE_USER
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - fixtures
from tests.factories import line_text

pytestmark = pytest.mark.browser


def test_an_agent_serves_a_customer_at_the_counter(open_page, webhooks, runtime, fake_line, line_chat):
    _, contact_id = line_chat
    with session_scope(runtime.engine) as session:
        session.add(order_data.Product(sku="KOPI", name="Es Kopi Susu", price=25_000, category="Kopi"))
    fake_line.reset()
    assert webhooks.line(line_text("kak kartu member aku mana ya?", user=LINE_USER)).status_code == 200
    replied = " ".join(m["text"] for call in fake_line.calls("/v2/bot/message/reply") for m in call.json["messages"])
    code = re.search(r"Kode member kakak: ([A-Z0-9]{7})", replied).group(1)

    page = open_page("agent")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(page.url.replace("/inbox/", "/inbox/counter"))
    page.locator("#counter-search input[name=q]").fill(f"{code[:3].lower()} {code[3:].lower()}")
    page.locator("#counter-search button").click()
    page.wait_for_url(f"**/inbox/counter/{contact_id}")
    card = page.locator("#counter-card")
    assert code in card.locator(".member-code").inner_text() and "Putri Customer" in card.inner_text()

    page.locator("#purchase-form input[aria-label='Jumlah Es Kopi Susu']").fill("2")
    page.locator("#purchase-form button").click()
    page.wait_for_url(f"**/inbox/counter/{contact_id}")
    assert "+50 poin" in page.locator(".flash").inner_text()
    expect(card.locator(".points-balance")).to_have_text("50")
    pushes = fake_line.wait_for("/v2/bot/message/push", timeout=8)
    assert any("+50 poin" in m["text"] for call in pushes for m in call.json["messages"])

    page.locator("#adjust-form input[name=points]").fill("60")
    page.locator("#adjust-form input[name=reason]").fill("struk kemarin")
    page.locator("#adjust-form button").click()
    page.wait_for_url(f"**/inbox/counter/{contact_id}")
    expect(card.locator(".points-balance")).to_have_text("110")

    page.locator(".redeem-form button").first.dblclick()  # a double click at a busy counter
    # the URL is already the card's, so wait for the balance itself: the redirect lands after the click returns
    expect(card.locator(".points-balance")).to_have_text("10")
    with Session(runtime.engine) as session:
        kinds = [entry.kind for entry in loyalty.entries(session=session, contact_id=contact_id)]
    assert kinds.count("redeem") == 1
    box = page.locator("#counter-search button").bounding_box()
    assert box["x"] + box["width"] <= 390  # the search fits a phone
