"""Alerts in the inbox: the top bar's count on every page, the panel, the flagged chat, seen/done, live events."""

from __future__ import annotations

import json
import re

from sqlmodel import Session, select

from core.db import session_scope, utcnow
from crm.alerts import StaffAlert
from crm.inbox import live
from crm.models import Conversation
from tests.crm.inbox.conftest import LINE_USER
from tests.factories import line_text

COMPLAINT = "kopinya tumpah semua, kecewa bgt"


def _count(page: str) -> int:
    return int(re.search(r'id="alerts-count" data-count="(\d+)"', page).group(1))


def test_the_count_shows_on_every_staff_page_and_the_panel_links_the_chat(agent, as_role, webhooks, session,
                                                                           fake_line):
    fake_line.profiles[LINE_USER] = {"displayName": "Rina Kecewa", "userId": LINE_USER}
    assert _count(agent.get("/inbox/").get_data(as_text=True)) == 0
    webhooks.line(line_text(COMPLAINT, user=LINE_USER))
    conversation = session.exec(select(Conversation)).one()
    for path in ("/inbox/", "/inbox/orders", "/inbox/complaints", "/inbox/dashboard", "/inbox/agenda"):
        assert _count(agent.get(path).get_data(as_text=True)) == 1, path
    assert _count(as_role("marketer").get("/inbox/dashboard").get_data(as_text=True)) == 1
    panel = agent.get("/inbox/alerts/panel").get_data(as_text=True)
    assert 'data-kind="complaint"' in panel and "Rina Kecewa" in panel and "Keluhan" in panel
    assert f'href="/inbox/c/{conversation.id}"' in panel and 'class="alert-done"' in panel
    listing = agent.get("/inbox/list").get_data(as_text=True)
    assert re.search(rf'class="conv [^"]*has-alert[^"]*" data-id="{conversation.id}"', listing)


def test_seen_then_done_is_the_teams_and_clears_the_flag(agent, as_role, webhooks, session, staff):
    webhooks.line(line_text(COMPLAINT, user=LINE_USER))
    alert = session.exec(select(StaffAlert)).one()
    url = f"/inbox/alerts/{alert.id}/status"
    assert as_role("marketer").post(url, {"status": "done"}).status_code == 403
    assert agent.post(url, {"status": "seen", "next": "/inbox/orders"}).headers["Location"].endswith("/inbox/orders")
    admin = as_role("admin")
    assert _count(admin.get("/inbox/").get_data(as_text=True)) == 0  # seen by one is seen for all
    assert "alert-item st-seen" in admin.get("/inbox/alerts").get_data(as_text=True)
    refused = agent.client.post(url, json={"status": "new"}, headers={"X-CSRFToken": agent.token,
                                                                      "X-Requested-With": "fetch"})
    assert refused.status_code == 400 and "cannot become new" in refused.get_json()["error"]
    done = agent.client.post(url, json={"status": "done"}, headers={"X-CSRFToken": agent.token,
                                                                    "X-Requested-With": "fetch"})
    assert done.get_json() == {"status": "done", "new": 0}
    session.expire_all()
    row = session.get(StaffAlert, alert.id)
    assert (row.status, row.seen_by, row.done_by) == ("done", staff["agent"], staff["agent"])
    assert "has-alert" not in agent.get("/inbox/list").get_data(as_text=True)
    assert "Tidak ada peringatan terbuka." in agent.get("/inbox/alerts/panel").get_data(as_text=True)
    assert agent.post("/inbox/alerts/999999/status", {"status": "done"}).status_code == 404


def test_the_live_stream_reports_a_new_alert_once(runtime, webhooks, staff):
    webhooks.line(line_text("halo", user=LINE_USER))
    cursor = {"message": 10**9, "updated": utcnow()}

    def alert_events():
        with Session(runtime.engine) as db:
            frames = live.poll(session=db, cursor=cursor, conversation_id=None, staff_id=staff["agent"])
        return [json.loads(f.split("data: ", 1)[1]) for f in frames if f.startswith("event: alerts")]

    assert alert_events() == [{"new": 0, "open": 0, "kind": "", "severity": "", "label": "", "for_me": True}]
    assert alert_events() == []
    webhooks.line(line_text(COMPLAINT, user=LINE_USER))
    [event] = alert_events()
    assert event["new"] == 1 and event["kind"] == "complaint" and event["label"] == "Keluhan" and event["for_me"]
    assert alert_events() == []
    # Assigned to someone else: the count still moves, the sound and notification are theirs.
    with session_scope(runtime.engine) as s:
        conversation = s.exec(select(Conversation)).one()
        conversation.assignee_id = staff["admin"]
        s.add(conversation)
    webhooks.line(line_text("mau ngomong sama admin aja", user=LINE_USER))
    [event] = alert_events()
    assert event["new"] == 2 and event["kind"] == "handoff" and not event["for_me"]


def test_alert_lines_are_in_the_staff_members_language_and_the_api_keeps_english(agent, webhooks, session, runtime,
                                                                                   client, auth):
    from datetime import timedelta

    from crm import alerts, complaints

    webhooks.line(line_text(COMPLAINT, user=LINE_USER))
    webhooks.line(line_text("mau ngomong sama admin dong", user=LINE_USER))
    conversation = session.exec(select(Conversation)).one()
    with session_scope(runtime.engine) as s:
        complaint = s.exec(select(complaints.Complaint)).one()
        number = complaint.number
        complaint.sla_due_at = utcnow() - timedelta(minutes=1)
        alerts.alert_complaint_sla(session=s)
    panel = agent.get("/inbox/alerts/panel").get_data(as_text=True)
    assert f"Keluhan {number}: SLA terlewati" in panel and "SLA breached" not in panel
    assert "Pelanggan minta dibantu staf: mau ngomong sama admin dong" in panel
    assert f"Keluhan {number}: {COMPLAINT}" in panel and "Complaint" not in panel

    agent.post("/inbox/language", {"lang": "en", "next": "/inbox/"})
    panel = agent.get("/inbox/alerts/panel").get_data(as_text=True)
    assert f"Complaint {number}: SLA breached" in panel and "Customer asked for staff: mau ngomong" in panel

    items = client.get(f"/api/v1/alerts?kind=sla", headers=auth).get_json()["items"]
    assert [item["text"] for item in items] == [f"Complaint {number}: SLA breached"]
    assert "params" not in items[0] and items[0]["conversation_id"] == conversation.id


def test_an_order_alerts_amount_is_worded_in_each_readers_rupiah_format(agent, session, runtime):
    from crm import alerts

    with session_scope(runtime.engine) as s:
        alerts.raise_alert(session=s, kind="order_waiting", text="Order #10001 waits for confirmation (78,000 IDR)",
                           params={"line": "order_waiting", "number": "10001", "amount": 78_000})
    assert "Rp78.000" in agent.get("/inbox/alerts/panel").get_data(as_text=True)
    agent.post("/inbox/language", {"lang": "en", "next": "/inbox/"})
    assert "Rp78,000" in agent.get("/inbox/alerts/panel").get_data(as_text=True)
