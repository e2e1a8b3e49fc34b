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
