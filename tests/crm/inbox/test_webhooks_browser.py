"""The webhooks page in a real browser: an owner adds an endpoint, copies its secret, test-sends and sees it sent."""

from __future__ import annotations

import pytest

from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - the browser fixtures
from tests.fakes.webhook_receiver import receiver  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def test_an_owner_adds_a_webhook_and_test_sends_it(open_page, receiver):  # noqa: F811
    owner = open_page("admin")
    owner.click(".nav-more summary")  # the shop's setup screens are under "Kelola toko"
    owner.click("nav >> text=Webhook")
    owner.set_viewport_size({"width": 390, "height": 844})  # the rest on a phone
    owner.fill("#webhook-add input[name=url]", receiver.url)
    owner.check("#webhook-add input[value='order.status_changed']")
    owner.check("#webhook-add input[value='complaint.created']")
    owner.click("#webhook-add button.primary")
    secret = owner.input_value("#webhook-secret")
    assert secret.startswith("whsec_")
    row = owner.locator("#endpoints tbody tr").first
    assert "order.status_changed, complaint.created" in row.inner_text()

    row.locator("text=Kirim tes").click()
    status = owner.locator("#webhook-deliveries .delivery-status").first
    status.wait_for()
    assert status.inner_text().strip() == "terkirim"
    [event] = receiver.events(secret)  # signed with the secret the page showed
    assert event["type"] == "webhook.test"
    assert event["id"] in owner.locator("#webhook-deliveries").inner_text()
