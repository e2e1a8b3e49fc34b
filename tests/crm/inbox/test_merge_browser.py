"""Merging two contacts in a real browser (Debian's Chromium): search the other, see the preview, merge, undo."""

from __future__ import annotations

import pytest

from tests.broadcasts.helpers import seed
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_an_agent_merges_two_contacts_with_a_preview_then_undoes_it(open_page, server, runtime):
    from core.db import session_scope
    from crm.models import Contact

    survivor, other = seed(runtime.engine, line=1, telegram=1)
    with session_scope(runtime.engine) as s:
        s.get(Contact, survivor).display_name = "Dewi Lestari"
        s.get(Contact, other).display_name = "Dewi di Telegram"
    page = open_page("agent")
    page.goto(f"{server}/inbox/contacts/{survivor}")
    page.click("#merge-link")
    page.fill("#merge-search input[name=q]", "Telegram")
    page.click("#merge-search button")
    page.click("#merge-candidates >> text=Dewi di Telegram")
    preview = page.locator("#merge-preview")
    preview.wait_for()
    assert "Dewi di Telegram" in preview.inner_text()
    assert "Akun chat: 1" in " ".join(page.locator("#merge-counts").inner_text().split())
    page.click("#merge-confirm")
    page.wait_for_url(f"{server}/inbox/contacts/{survivor}")
    identities = page.locator(".panel ul.plain").first.inner_text()
    assert "LINE" in identities and "Telegram" in identities
    page.click("form.merge-undo button")
    page.wait_for_url(f"{server}/inbox/contacts/{survivor}")
    assert "Telegram" not in page.locator(".panel ul.plain").first.inner_text()
