"""The customer simulator in a real browser (Playwright + Debian's Chromium): it behaves like
a chat app — one bubble per message however slow the network, the composer always in view,
the list (not the page) scrolling, a reload opening at the newest message — and has an icon.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.crm.inbox.test_browser import browser, server, settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 700}
DESKTOP = {"width": 1280, "height": 800}
SLOW_POLL_SECONDS = 1.6  # longer than the page's poll interval (1 s): polls would overlap


@pytest.fixture
def slow_polls(app):
    """Every history poll answers after SLOW_POLL_SECONDS with what it read at once (a stale
    answer, as on a slow network); counts how many were in flight together."""
    original = app.view_functions["simulator.messages"]
    seen = {"in_flight": 0, "most_in_flight": 0, "calls": 0}
    lock = threading.Lock()

    def slow_messages():
        with lock:
            seen["in_flight"] += 1
            seen["calls"] += 1
            seen["most_in_flight"] = max(seen["most_in_flight"], seen["in_flight"])
        try:
            response = original()
            time.sleep(SLOW_POLL_SECONDS)
            return response
        finally:
            with lock:
                seen["in_flight"] -= 1

    app.view_functions["simulator.messages"] = slow_messages
    return seen


@pytest.fixture
def open_simulator(browser, server):  # noqa: F811 - fixtures imported above
    """open_simulator(viewport) -> the simulator page in a fresh browser context (a new customer)."""
    contexts = []

    def make(viewport: dict):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        page = context.new_page()
        page.failed = []
        page.on("response", lambda response: response.status >= 400 and page.failed.append(response.url))
        page.on("console", lambda message: message.type == "error" and page.failed.append(message.text))
        page.goto(f"{server}/simulator/")
        page.wait_for_function("localStorage.getItem('sapa.sim.user') !== null")
        return page

    yield make
    for context in contexts:
        context.close()


def _bubble_ids(page) -> list[str]:
    return page.eval_on_selector_all("#chat > li", "items => items.map(item => item.dataset.id)")


def _type(page, text: str) -> None:
    page.fill("#text", text)
    page.click("#composer button[type=submit]")


def test_overlapping_slow_polls_show_each_message_once(open_simulator, slow_polls):
    page = open_simulator(DESKTOP)
    for text in ("halo", "mau lihat promo", "makasih"):
        _type(page, text)
    page.locator("#chat .msg.in", has_text="makasih").wait_for(timeout=15000)
    time.sleep(SLOW_POLL_SECONDS * 3)  # the polls that were out when the last answer came have landed
    ids = _bubble_ids(page)
    assert len(ids) >= 6 and len(ids) == len(set(ids)), ids
    assert [page.locator("#chat .msg.in", has_text=text).count() for text in ("halo", "mau lihat promo", "makasih")] \
        == [1, 1, 1]
    assert slow_polls["calls"] >= 4 and slow_polls["most_in_flight"] == 1


def _layout(page) -> dict:
    return page.evaluate("""() => {
        const chat = document.getElementById("chat"), composer = document.getElementById("composer");
        const last = chat.lastElementChild.getBoundingClientRect(), box = composer.getBoundingClientRect();
        return {pageScrolls: document.scrollingElement.scrollHeight > window.innerHeight + 1,
                listScrolls: chat.scrollHeight > chat.clientHeight,
                atEnd: chat.scrollHeight - chat.scrollTop - chat.clientHeight < 4,
                composerInView: box.top >= 0 && box.bottom <= window.innerHeight,
                lastInView: last.bottom <= chat.getBoundingClientRect().bottom + 1 && last.bottom > 0};
    }""")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_list_scrolls_the_composer_stays_and_a_reload_opens_at_the_newest(open_simulator, client, viewport):
    page = open_simulator(viewport)
    user = page.evaluate("localStorage.getItem('sapa.sim.user')")
    for number in range(14):
        sent = client.post("/simulator/api/send", json={"user": user, "kind": "text", "text": f"pesan ke-{number}"})
        assert sent.status_code == 200, sent.get_data(as_text=True)
    page.locator("#chat .msg.in", has_text="pesan ke-13").wait_for(timeout=15000)
    page.wait_for_function("document.querySelectorAll('#chat > li').length >= 28")
    page.wait_for_timeout(300)
    assert _layout(page) == {"pageScrolls": False, "listScrolls": True, "atEnd": True, "composerInView": True,
                             "lastInView": True}

    # Reading older messages: a new answer does not pull the customer down...
    page.eval_on_selector("#chat", "chat => { chat.scrollTop = 0; }")
    client.post("/simulator/api/send", json={"user": user, "kind": "text", "text": "pesan baru"})
    page.locator("#chat .msg.in", has_text="pesan baru").wait_for(state="attached", timeout=15000)
    assert page.eval_on_selector("#chat", "chat => chat.scrollTop") < 50
    # ...typing does, and the composer is still there to type in.
    _type(page, "satu lagi")
    page.locator("#chat .msg.in", has_text="satu lagi").wait_for(timeout=15000)
    page.wait_for_timeout(300)
    assert _layout(page)["atEnd"] and _layout(page)["composerInView"]

    page.reload()
    page.locator("#chat .msg.in", has_text="satu lagi").wait_for(timeout=15000)
    page.wait_for_timeout(300)
    layout = _layout(page)
    assert layout["atEnd"] and layout["lastInView"] and not layout["pageScrolls"]
    assert len(set(_bubble_ids(page))) == len(_bubble_ids(page))
    assert page.failed == []  # no 404 (favicon included), no console error


def test_the_favicon_is_served_and_linked(open_simulator, client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = open_simulator(PHONE)
    status = page.evaluate("fetch(document.querySelector('link[rel=icon]').href).then(r => r.status)")
    assert status == 200
    login = client.get("/inbox/login").get_data(as_text=True)
    assert '<link rel="icon" href="/favicon.ico">' in login


def test_a_customer_sends_a_photo_and_sees_it_in_the_chat(open_simulator, tmp_path):
    import io

    from PIL import Image

    photo = tmp_path / "bukti-transfer.jpg"
    out = io.BytesIO()
    Image.new("RGB", (60, 40), (20, 160, 90)).save(out, "JPEG")
    photo.write_bytes(out.getvalue())
    page = open_simulator(PHONE)
    page.set_input_files("#photo-file", str(photo))
    sent = page.locator("#chat .msg.in img.photo")
    sent.wait_for(timeout=15000)
    page.wait_for_function("document.querySelector('#chat .msg.in img.photo').naturalWidth === 60")
    page.locator("#chat .msg.out").first.wait_for(timeout=15000)  # and the bot answers it
    assert page.failed == []
