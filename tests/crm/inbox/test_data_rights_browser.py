"""The data rights on a customer's panel in a real browser (Debian's Chromium): an admin downloads the zip,
then erases the customer after ticking the confirmation."""

from __future__ import annotations

import json
import zipfile

import pytest

from crm.data_rights import ERASED_NAME
from crm.models import Contact
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_an_admin_exports_then_erases_a_customer(open_page, server, line_chat, session):
    _, contact_id = line_chat
    page = open_page("admin")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{server}/inbox/contacts/{contact_id}")
    page.click("#data-rights summary")
    with page.expect_download() as download:
        page.click("#contact-export")
    with zipfile.ZipFile(download.value.path()) as archive:
        assert json.loads(archive.read("contact.json"))["contact"]["display_name"] == "Putri Customer"

    page.click("#erase-form button")  # not ticked: the browser refuses the form
    assert page.url.endswith(f"/inbox/contacts/{contact_id}")
    session.expire_all()
    assert session.get(Contact, contact_id).erased_at is None
    page.check("#erase-form input[name=confirm]")
    page.click("#erase-form button")
    page.locator(".pill.erased").wait_for()
    assert page.locator(".panel h2").inner_text().startswith(ERASED_NAME)
    assert page.locator("#erase-form").count() == 0
    session.expire_all()
    assert session.get(Contact, contact_id).erased_at is not None
