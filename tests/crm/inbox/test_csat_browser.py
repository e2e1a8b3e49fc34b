"""The dashboard's CSAT block in a real browser (Debian's Chromium): Chart.js draws its charts under the
Content-Security-Policy, with a score a LINE customer tapped after staff resolved their chat."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot import clock
from crm.csat import CsatSurvey
from tests.crm.inbox.conftest import LINE_USER
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - fixtures
from tests.factories import line_event

pytestmark = pytest.mark.browser


def test_the_csat_block_draws_its_charts(open_page, agent, line_chat, webhooks, session):
    conversation_id, contact_id = line_chat
    agent.post(f"/inbox/c/{conversation_id}/status", {"status": "resolved"})
    assert clock.send_surveys() == 1
    survey = session.exec(select(CsatSurvey).where(CsatSurvey.contact_id == contact_id)).one()
    webhooks.line(line_event("postback", LINE_USER, postback={"data": f"csat:{survey.id}:4"}))

    page = open_page("admin")
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(page.url.replace("/inbox/", "/inbox/dashboard"))
    block = page.locator("#csat")
    block.wait_for()
    assert "100.0%" in block.locator(".kpi").first.inner_text()
    for chart in ("chart-csat-trend", "chart-csat-channel", "chart-csat-scores"):
        drawn = page.evaluate("id => !!window.Chart.getChart(document.getElementById(id))", chart)
        assert drawn, f"{chart} not drawn"
    assert page.evaluate("window.Chart.getChart(document.getElementById('chart-csat-trend')).options.scales.y.max") \
        == 100
    assert "Agent Test" in block.locator("table").inner_text()
    assert errors == []
