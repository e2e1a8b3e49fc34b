"""What staff read must read like a product: human names for intents and channels, one date format per
language, the dashboard following its period (issues 19 and 20)."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime

from core.db import session_scope
from core.localtime import format_day
from core.money import rupiah
from crm import orders as order_data
from crm.models import Message
from tests.crm.inbox.conftest import LINE_USER
from tests.factories import line_text


def chart_labels(page: str, canvas_id: str) -> list[str]:
    """The labels a dashboard chart shows (its data-labels attribute)."""
    match = re.search(rf'id="{canvas_id}"[^>]*data-labels="([^"]*)"', page)
    assert match, f"no labels on {canvas_id}"
    return json.loads(html.unescape(match.group(1)))


def switch_language(staff, language: str) -> None:
    assert staff.post("/inbox/language", {"lang": language}).status_code == 302


def test_the_daily_chart_follows_the_chosen_period(agent, line_chat, runtime):
    today = format_day(datetime.now(runtime.settings.tz).date(), "id")
    for days in (7, 30, 90):
        labels = chart_labels(agent.get(f"/inbox/dashboard?days={days}").get_data(as_text=True), "chart-days")
        assert len(labels) == days and labels[-1] == today


def test_intents_and_channels_have_human_names_in_the_staff_language(agent, line_chat, webhooks):
    conversation_id, _ = line_chat
    webhooks.line(line_text("mau bicara sama admin dong", user=LINE_USER))
    page = agent.get("/inbox/dashboard?days=7").get_data(as_text=True)
    assert "Minta admin" in chart_labels(page, "chart-intent") and chart_labels(page, "chart-channel") == ["LINE"]
    chat = agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    assert "human_handoff" not in chat.replace('value="human_handoff"', "") and "Minta admin" in chat
    assert '<span class="ch ch-line">LINE</span>' in chat
    switch_language(agent, "en")
    page = agent.get("/inbox/dashboard?days=7").get_data(as_text=True)
    assert "Asked for staff" in chart_labels(page, "chart-intent")
    assert "Asked for staff" in agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)


def test_a_refused_alert_schedule_keeps_what_was_typed_in_plain_words(as_role):
    admin = as_role("admin")
    typed = {"action": "alert_schedule", "hours_mode": "hours", "hours_mon": "08:00-17:00", "hours_tue": "9-17",
             "delivery": "digest", "digest_at": "19:30"}
    page = admin.post("/inbox/me", typed).get_data(as_text=True)
    assert "Selasa: Tulis jam seperti 08:00-17:00" in page and "phone_hours" not in page
    assert 'name="hours_mon" placeholder="08:00-17:00"\n      value="08:00-17:00"' in page
    assert 'value="9-17"' in page and 'value="19:30"' in page
    assert 'name="hours_mode" value="hours" checked' in page and 'name="delivery" value="digest" checked' in page
    switch_language(admin, "en")
    page = admin.post("/inbox/me", {**typed, "hours_tue": "10:00-10:00"}).get_data(as_text=True)
    assert "Tuesday: Opening and closing time cannot be the same." in page
    refused = admin.post("/inbox/me", {"action": "alerts", "kinds": ["complaint", "everything"]})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Choose alert kinds from the list." in page
    assert 'value="complaint" checked' in page and 'value="handoff" checked' not in page  # the ticks kept


def add_messages(runtime, conversation_id: int, contact_id: int, *rows: dict) -> None:
    """Store messages in the chat as the pipeline would have (postbacks, labelled and failed replies)."""
    with session_scope(runtime.engine) as s:
        for row in rows:
            s.add(Message(conversation_id=conversation_id, contact_id=contact_id, channel="line", **row))


def test_the_chat_shows_words_not_keys_buttons_errors_or_codes(agent, line_chat, runtime):
    conversation_id, contact_id = line_chat
    add_messages(runtime, conversation_id, contact_id,
                 {"direction": "in", "type": "postback", "text": None, "payload": {"postback_data": "order:confirm"}},
                 {"direction": "in", "type": "postback", "text": "order:fulfil:pickup",
                  "payload": {"postback_data": "order:fulfil:pickup"}},
                 {"direction": "in", "type": "postback", "text": None, "payload": {"postback_data": "intent=order_status"}},
                 {"direction": "in", "type": "text", "text": "mau promo dong", "intent": "opt_in"},
                 {"direction": "out", "sender": "bot", "type": "text", "text": "Maksudnya?", "intent": "unsure"},
                 {"direction": "out", "sender": "staff", "type": "text", "text": "Halo kak", "status": "failed",
                  "error": "channel 'line' is not configured (set its credentials in the environment)"})
    page = agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    for words in ("Menekan tombol: <strong>Mengonfirmasi pesanan</strong>", "<strong>Memilih ambil sendiri</strong>",
                  "<strong>Memilih menu: Cek pesanan</strong>", ">Mau terima promo<", ">Belum jelas<",
                  "Kanal LINE belum tersambung (admin belum mengisi kredensialnya), jadi pesan tidak terkirim."):
        assert words in page, words
    shown = re.sub(r'(title|value|data-[a-z-]+)="[^"]*"', "", page)  # what staff read, not attributes
    for raw in ("order:confirm", "order:fulfil", "intent=", "opt_in", "unsure", "is not configured", ">line<"):
        assert raw not in shown, raw
    switch_language(agent, "en")
    page = agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    assert "Pressed a button: <strong>Confirmed the order</strong>" in page and "LINE is not connected yet" in page


def test_one_rupiah_format_per_language_everywhere():
    assert (rupiah(78_000, "id"), rupiah(78_000, "en"), rupiah(0), rupiah(-5_000, "id")) == \
        ("Rp78.000", "Rp78,000", "Rp0", "-Rp5.000")
    assert rupiah(1_250_000, "en-US") == "Rp1,250,000"


def test_staff_screens_show_rupiah_and_dates_in_their_language(agent, line_chat, runtime):
    conversation_id, contact_id = line_chat
    with session_scope(runtime.engine) as s:
        product = order_data.Product(sku="T-KOP", name="Kopi Tubruk", price=39_000, aliases=["tubruk"])
        s.add(product)
        s.flush()
        order_data.place_order(session=s, contact_id=contact_id, conversation_id=conversation_id,
                               lines=[order_data.CartLine(product.id, 2)], address="Jl. Melati 1", channel="line")
    today = datetime.now(runtime.settings.tz).date()
    page = agent.get("/inbox/orders").get_data(as_text=True)
    assert "Rp78.000" in page and "Rp78,000" not in page
    assert f"· {format_day(today, 'id')}</h1>" in agent.get("/inbox/agenda").get_data(as_text=True)
    switch_language(agent, "en")
    page = agent.get("/inbox/orders").get_data(as_text=True)
    assert "Rp78,000" in page and "Rp78.000" not in page
    assert f"· {format_day(today, 'en')}</h1>" in agent.get("/inbox/agenda").get_data(as_text=True)


def test_bot_texts_use_the_customer_language_rupiah(webhooks, runtime, fake_line):
    with session_scope(runtime.engine) as s:
        s.add(order_data.Product(sku="T-CRO", name="Croissant", price=32_000, aliases=["croissant"]))
    webhooks.line(line_text("I want to order 1 croissant please", user=LINE_USER))
    said = " ".join(str(message.get("text", "")) + str(message.get("altText", "")) for _, message in fake_line.replied)
    assert "Rp32,000" in said and "Rp32.000" not in said


def test_chats_nobody_took_are_named_unassigned_in_the_agent_table(agent, line_chat):
    page = agent.get("/inbox/dashboard?days=7").get_data(as_text=True)
    names = re.findall(r'<td data-label="Agen">([^<]*)</td>', page)
    assert "Belum ditugaskan" in names and "—" not in names and "" not in names
