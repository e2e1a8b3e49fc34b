"""Layout in a real browser (Chromium under Playwright) at a laptop's 1366x768 and a phone's 390x844:
the admin navigation on one row, an open chat on a phone showing its latest message, the reply box and
the resolve button, the hours and alert forms without stretched radios or sideways scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.crm.inbox.conftest import LINE_USER
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - the browser fixtures
from tests.factories import line_text

pytestmark = pytest.mark.browser
LAPTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}


def in_viewport(page, selector: str) -> bool:
    """True when the element's box lies inside the visible window."""
    return page.eval_on_selector(selector, """e => { const r = e.getBoundingClientRect();
        return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight; }""")


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_admin_navigation_fits_one_row_at_1366(open_page, server, language):  # noqa: F811
    page = open_page("admin")
    page.set_viewport_size(LAPTOP)
    page.click(f"button[name=lang][value={language}]")
    tops = page.eval_on_selector_all(".nav > a, .nav-more summary",
                                     "links => links.map(a => Math.round(a.getBoundingClientRect().top))")
    assert len(tops) >= 11 and len(set(tops)) == 1, tops
    assert page.eval_on_selector(".topbar", "e => e.getBoundingClientRect().height") < 60
    nav_end = page.eval_on_selector(".nav", "e => e.getBoundingClientRect().right")
    assert nav_end <= page.eval_on_selector(".me", "e => e.getBoundingClientRect().left")  # nothing drawn over
    page.click(".nav-more summary")  # in one menu
    assert page.locator(".nav-menu a").count() == 10  # the shop's setup screens, the loyalty rules among them
    page.locator(".nav-menu a").last.click()
    expect(page.locator(".nav-more.active")).to_have_count(1)  # waits for the navigation the click starts
    assert page.locator(".nav a.active").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]


def test_a_long_chat_opens_at_its_latest_message_with_reply_and_resolve_on_a_phone(
        open_page, server, webhooks):  # noqa: F811
    for n in range(20):
        assert webhooks.line(line_text(f"pesan nomor {n}: mau tanya banyak hal ya kak", user=LINE_USER)).status_code == 200
    page = open_page("agent")
    page.set_viewport_size(PHONE)
    page.click(".conv >> nth=0")
    page.wait_for_selector("#timeline")
    page.wait_for_timeout(300)
    assert in_viewport(page, "#reply-text") and in_viewport(page, "#send")
    assert in_viewport(page, "#quick-resolve") and in_viewport(page, "#quick-assign")
    latest = page.locator("#timeline .item", has_text="pesan nomor 19").last
    assert latest.is_visible() and in_viewport(page, "#timeline") and latest.bounding_box()["y"] < PHONE["height"]
    page.click("#quick-resolve")
    page.locator(".flash").first.wait_for()
    assert "status-resolved" in page.inner_html(".conv-head")


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE])
def test_hours_and_alert_forms_are_laid_out(open_page, server, viewport):  # noqa: F811
    page = open_page("admin")
    page.set_viewport_size(viewport)
    for path in ("/inbox/hours", "/inbox/me"):
        page.goto(server + path)
        widths = page.eval_on_selector_all("input[type=radio], input[type=checkbox]",
                                           "inputs => inputs.map(i => i.getBoundingClientRect().width)")
        assert widths and max(widths) < 30, (path, widths)  # not stretched across the card
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], path
    page.goto(server + "/inbox/hours")
    assert page.locator("#add-exception label", has_text="Jam sendiri").count() == 1  # one field, one label
