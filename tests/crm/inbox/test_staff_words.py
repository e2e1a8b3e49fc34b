"""What staff read must read like a product: human names for intents and channels, one date format per
language, the dashboard following its period (issues 19 and 20)."""

from __future__ import annotations

import html
import json
import re
from datetime import datetime

from core.localtime import format_day
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
