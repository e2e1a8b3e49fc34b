"""The inbox in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium).

The app runs under a real HTTP server thread; the simulated LINE customer posts signed
webhooks; the fake LINE API records what the app sends. With CI=true a missing Chromium
fails these tests instead of skipping them.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
from sqlmodel import select
from werkzeug.serving import make_server

from core.db import session_scope
from crm.alerts import StaffAlert
from crm.models import CannedResponse, Conversation, Note
from tests.conftest import make_settings, service_or_skip
from tests.factories import line_event, line_text
from tests.crm.inbox.conftest import LINE_USER, PASSWORD, ROLE_EMAILS

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
XSS_FLAG = "window.__xss"
PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "javascript:window.__xss=3",
    '<a href="javascript:window.__xss=4">klik</a>',
    '"><svg onload=window.__xss=5>',
]


@pytest.fixture
def settings(sqlite_url, fake_line, fake_telegram, nlu_model_path):
    """SQLite only (one browser session per test), short live streams."""
    return make_settings(sqlite_url, fake_line, fake_telegram, nlu={"model_path": nlu_model_path},
                         inbox={"live_stream_seconds": 20, "live_poll_seconds": 0.3})


@pytest.fixture
def server(app):
    """The app behind a real threaded HTTP server; its base URL."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright (never a downloaded browser)."""
    service_or_skip("Chromium", os.path.exists(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, server, staff):
    """open_page(role) -> a logged-in page in its own browser context; dialogs are recorded."""
    contexts = []

    def make(role: str):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{server}/inbox/login")
        page.fill("input[name=email]", ROLE_EMAILS[role])
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{server}/inbox/")
        return page

    yield make
    for context in contexts:
        context.close()


def _conversation_id(session) -> int:
    session.expire_all()
    return session.exec(select(Conversation).where(Conversation.external_chat_id == LINE_USER)).one().id


def test_agent_answers_a_line_customer_live(open_page, server, webhooks, session, runtime, fake_line, staff):
    with session_scope(runtime.engine) as s:
        s.add(CannedResponse(shortcut="halo", title="Salam", text="Halo {name}! Ada yang bisa dibantu?",
                             quick_replies=["Pesan", "Promo"]))
    fake_line.profiles[LINE_USER] = {"displayName": "Putri Customer", "userId": LINE_USER}
    page = open_page("agent")
    assert page.locator("#live-status[data-state=on]").wait_for(timeout=5000) is None

    # A simulated LINE customer writes: the conversation appears in the list without a reload.
    assert webhooks.line(line_text("halo kak mau pesan", user=LINE_USER)).status_code == 200
    page.locator(".conv", has_text="Putri Customer").wait_for(timeout=8000)
    page.click(".conv >> text=Putri Customer")
    page.wait_for_selector("#timeline")

    # A second message arrives live in the open conversation.
    webhooks.line(line_text("boleh minta menunya?", user=LINE_USER))
    page.locator("#timeline", has_text="boleh minta menunya?").wait_for(timeout=8000)

    # Reply with a canned response: its variables are filled in, LINE receives a push.
    fake_line.reset()
    canned = page.locator("#canned option", has_text="/halo").get_attribute("value")
    page.select_option("#canned", canned)
    assert page.input_value("#reply-text") == "Halo {name}! Ada yang bisa dibantu?"
    page.click("#send")
    pushes = fake_line.wait_for("/v2/bot/message/push", timeout=8)
    message = pushes[0].json["messages"][0]
    assert message["text"] == "Halo Putri Customer! Ada yang bisa dibantu?"
    assert [i["action"]["label"] for i in message["quickReply"]["items"]] == ["Pesan", "Promo"]
    assert pushes[0].headers.get("X-Line-Retry-Key")
    page.locator(".item.from-staff .delivery[data-status=sent]").wait_for(timeout=8000)

    # A private note, a label, then resolve.
    page.fill("#note-text", "Pelanggan baru, tawarkan promo member")
    page.click("#note-btn")
    page.locator(".item.note", has_text="tawarkan promo member").wait_for()
    page.click(".actions summary")
    page.fill("#labels-input", "vip, pesanan")
    page.click("#labels-btn")
    page.locator(".conv-head .pill.label", has_text="vip").wait_for()
    page.click(".actions summary")
    page.click("#status-resolved")
    page.locator(".conv-head .pill.status-resolved").wait_for()
    conversation = session.get(Conversation, _conversation_id(session))
    assert conversation.status == "resolved" and conversation.labels == ["pesanan", "vip"]
    assert session.exec(select(Note)).one().text == "Pelanggan baru, tawarkan promo member"
    assert page.dialogs == []


def test_a_line_complaint_raises_the_alert_count_and_panel_live_and_done_clears_it(open_page, webhooks, session,
                                                                                     fake_line, staff):
    fake_line.profiles[LINE_USER] = {"displayName": "Rina Kecewa", "userId": LINE_USER}
    assert webhooks.line(line_text("halo kak", user=LINE_USER)).status_code == 200  # the model is loaded by now
    page = open_page("agent")
    page.locator("#live-status[data-state=on]").wait_for(timeout=5000)
    assert page.inner_text("#alerts-count") == "0"
    page.click("#alerts-toggle")  # the panel is open while the complaint arrives
    page.locator("#alerts-panel .empty").wait_for(timeout=3000)

    started = time.monotonic()
    assert webhooks.line(line_text("kopinya tumpah semua, kecewa bgt", user=LINE_USER)).status_code == 200
    page.locator("#alerts-count[data-count='1']").wait_for(timeout=3000)
    item = page.locator("#alerts-panel .alert-item[data-kind=complaint]")
    item.wait_for(timeout=max(1, 3000 - (time.monotonic() - started) * 1000))
    assert time.monotonic() - started < 3, "the alert must show within 3 s"
    assert "Rina Kecewa" in item.inner_text() and item.get_attribute("data-status") == "new"
    page.locator(".conv.has-alert", has_text="Rina Kecewa").wait_for(timeout=3000)

    item.locator(".alert-done").click()
    page.locator("#alerts-count[data-count='0']").wait_for(timeout=3000)
    page.locator("#alerts-panel .empty").wait_for(timeout=3000)
    page.locator(".conv.has-alert").wait_for(state="detached", timeout=3000)
    session.expire_all()
    alert = session.exec(select(StaffAlert)).one()
    assert (alert.kind, alert.status, alert.done_by) == ("complaint", "done", staff["agent"])
    page.reload()
    assert page.inner_text("#alerts-count") == "0"
    assert page.dialogs == []


def test_customer_supplied_markup_stays_inert(open_page, webhooks, session, fake_line):
    hostile_name = '<img src=x onerror="window.__xss=9">Eve'
    fake_line.profiles[LINE_USER] = {"displayName": hostile_name, "userId": LINE_USER}
    webhooks.line(line_text(PAYLOADS[0], user=LINE_USER))
    webhooks.line(line_event("message", user=LINE_USER, message={
        "id": "7001", "type": "location", "title": '<script>window.__xss=6</script>Toko',
        "address": '<img src=x onerror="window.__xss=7">', "latitude": -6.2, "longitude": 106.8}))
    webhooks.line(line_event("message", user=LINE_USER, message={
        "id": "7002", "type": "file", "fileName": '<img src=x onerror="window.__xss=8">.pdf', "fileSize": 2048,
        "quoteToken": "q-f"}))
    page = open_page("agent")
    page.locator(".conv").first.wait_for()
    page.click(".conv >> nth=0")
    page.wait_for_selector("#timeline")
    # More payloads arrive live (inserted from server fragments, not only on page load).
    for payload in PAYLOADS[1:]:
        webhooks.line(line_text(payload, user=LINE_USER))
    page.locator("#timeline", has_text="klik</a>").wait_for(timeout=8000)
    page.wait_for_timeout(500)
    text = page.inner_text("body")
    for payload in PAYLOADS:
        assert payload in text  # shown as text...
    assert "window.__xss=6</script>Toko" in text and ".pdf" in text and "Eve" in text
    assert page.evaluate(f"typeof {XSS_FLAG}") == "undefined"  # ...never run
    assert page.locator("img[src=x], svg[onload], [onerror]").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator("script:not([src]):not([type='application/json'])").count() == 0
    page.click("text=Halaman pelanggan")
    page.wait_for_selector(".panel")
    assert page.evaluate(f"typeof {XSS_FLAG}") == "undefined"
    assert page.dialogs == []


def test_a_marketer_cannot_open_private_notes(open_page, server, webhooks, session, runtime, staff):
    webhooks.line(line_text("halo", user=LINE_USER))
    conversation_id = _conversation_id(session)
    contact_id = session.get(Conversation, conversation_id).contact_id
    with session_scope(runtime.engine) as s:
        s.add(Note(contact_id=contact_id, conversation_id=conversation_id, staff_user_id=staff["agent"],
                   text="RAHASIA: pelanggan minta diskon khusus"))
    page = open_page("marketer")
    page.goto(f"{server}/inbox/c/{conversation_id}")
    page.wait_for_selector("#timeline")
    assert "RAHASIA" not in page.content()
    assert page.locator("#note-text, #reply-form").count() == 0
    page.goto(f"{server}/inbox/contacts/{contact_id}")
    assert "RAHASIA" not in page.content()
    status = page.evaluate("""async (url) => {
        const token = document.querySelector('meta[name=csrf-token]').content;
        const body = new URLSearchParams({csrf_token: token, text: 'sneaky'});
        return (await fetch(url, {method: 'POST', body})).status;
    }""", f"{server}/inbox/c/{conversation_id}/note")
    assert status == 403
    agent = open_page("agent")
    agent.goto(f"{server}/inbox/c/{conversation_id}")
    assert "RAHASIA" in agent.content()


def test_two_agents_see_each_other_typing(open_page, server, webhooks, session):
    webhooks.line(line_text("halo", user=LINE_USER))
    conversation_id = _conversation_id(session)
    agent, admin = open_page("agent"), open_page("admin")
    agent.goto(f"{server}/inbox/c/{conversation_id}")
    admin.goto(f"{server}/inbox/c/{conversation_id}")
    admin.locator("#presence", has_text="Agent Test").wait_for(timeout=8000)
    agent.type("#reply-text", "sebentar ya")
    admin.locator("#presence .typing", has_text="Agent Test").wait_for(timeout=8000)
    agent.locator("#presence", has_text="Admin Test").wait_for(timeout=8000)


def test_the_inbox_fits_a_phone_screen(browser, server, staff, webhooks):
    webhooks.line(line_text("halo", user=LINE_USER))
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{server}/inbox/login")
    page.fill("input[name=email]", ROLE_EMAILS["agent"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click(".conv >> nth=0")
    page.wait_for_selector("#reply-text")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 380  # nothing wider than the screen
    assert page.locator(".list-pane").is_hidden()  # the open conversation replaces the list
    context.close()


def test_a_simulated_customer_typing_while_the_database_is_held_is_stored_once_and_answered(
        browser, server, settings, session):
    from crm.models import WebhookEvent
    from tests.bot.locks import database_write_lock_held

    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server}/simulator/")
    with database_write_lock_held(settings.database_url):
        page.fill("#text", "halo kak")
        page.press("#text", "Enter")
        # The store gives up after webhooks.store_timeout_seconds: the page says it sends again.
        page.wait_for_function("document.getElementById('status').textContent.includes('sending again')",
                               timeout=15000)
    page.wait_for_function("[...document.querySelectorAll('#chat li')].length >= 2", timeout=20000)
    bubbles = page.locator("#chat li").all_inner_texts()
    assert sum(bubble.startswith("halo kak") for bubble in bubbles) == 1, bubbles
    session.expire_all()
    texts = [e.payload for e in session.exec(select(WebhookEvent).where(WebhookEvent.channel == "simulator")).all()]
    assert len(texts) == 1 and "halo kak" in texts[0]
    context.close()


def test_the_dashboard_chart_names_the_shops_days_in_the_staff_language(open_page, server, webhooks, runtime):
    from datetime import datetime

    from core.localtime import format_day

    assert webhooks.line(line_text("halo kak", user=LINE_USER)).status_code == 200
    page = open_page("agent")
    page.goto(f"{server}/inbox/dashboard")
    labels = page.evaluate("window.Chart.getChart('chart-days').data.labels")
    counts = page.evaluate("window.Chart.getChart('chart-days').data.datasets[0].data")
    today = datetime.now(runtime.settings.tz).date()
    assert len(labels) == 30 and labels[-1] == format_day(today, "id")  # "7 Des 2026": WIB, in Indonesian
    assert counts[-1] == 1
    intents = page.evaluate("window.Chart.getChart('chart-intent').data.labels")
    assert intents and not any("_" in label or label.islower() for label in intents), intents  # names, not codes
    assert page.evaluate("window.Chart.getChart('chart-channel').data.labels") == ["LINE"]
    page.goto(f"{server}/inbox/dashboard?days=7")
    assert len(page.evaluate("window.Chart.getChart('chart-days').data.labels")) == 7
