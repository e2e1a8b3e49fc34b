"""Live updates: the database-backed event stream and presence."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import Session, select

from core.db import utcnow
from crm.inbox import live
from crm.models import Conversation, Message
from tests.factories import line_text
from tests.crm.inbox.conftest import LINE_USER


def _events(frames):
    out = []
    for frame in frames:
        lines = dict(line.split(": ", 1) for line in frame.strip().split("\n") if ": " in line and not line.startswith(":"))
        if "event" in lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_poll_reports_new_messages_conversation_changes_and_delivery_status(runtime, webhooks, agent, staff):
    with Session(runtime.engine) as db:
        cursor = {"message": live.latest_message_id(session=db), "updated": utcnow() - timedelta(seconds=1)}
    webhooks.line(line_text("halo", user=LINE_USER))
    with Session(runtime.engine) as db:
        conversation = db.exec(select(Conversation)).one()
        events = _events(live.poll(session=db, cursor=cursor, conversation_id=conversation.id, staff_id=staff["admin"]))
    kinds = [kind for kind, _ in events]
    assert kinds.count("message") == 2  # the customer's message and the bot's answer
    assert "conversation" in kinds
    assert events[0][1]["conversation_id"] == conversation.id and events[0][1]["direction"] == "in"
    assert ("status", ) == tuple(k for k in kinds if k == "status")[:1] or "status" in kinds  # bot reply: sent
    status = next(data for kind, data in events if kind == "status")
    assert status["status"] == "sent"
    with Session(runtime.engine) as db:
        assert _events(live.poll(session=db, cursor=cursor, conversation_id=conversation.id,
                                 staff_id=staff["admin"])) == []  # nothing new, nothing sent


def test_presence_is_shared_through_the_database(as_role, line_chat, runtime, staff):
    conversation_id, _ = line_chat
    agent, admin = as_role("agent"), as_role("admin")
    url = f"/inbox/c/{conversation_id}/presence"
    agent.client.post(url, json={"state": "typing"}, headers={"X-CSRFToken": agent.token})
    others = admin.client.post(url, json={"state": "viewing"}, headers={"X-CSRFToken": admin.token}).get_json()["others"]
    assert others == [{"staff_id": staff["agent"], "name": "Agent Test", "state": "typing"}]
    with Session(runtime.engine) as db:
        cursor = {"message": 10**9, "updated": utcnow()}
        events = _events(live.poll(session=db, cursor=cursor, conversation_id=conversation_id, staff_id=staff["admin"]))
    assert ("presence", others) in events


def test_the_stream_endpoint_speaks_server_sent_events(agent, app, line_chat, webhooks):
    conversation_id, _ = line_chat
    app.config["SAPA"].inbox.live_stream_seconds = 0.05
    app.config["SAPA"].inbox.live_poll_seconds = 0.01
    response = agent.get(f"/inbox/events?conversation={conversation_id}&after=0")
    assert response.mimetype == "text/event-stream" and response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    assert body.startswith("retry: 1000\nevent: hello")
    assert "event: message" in body and '"conversation_id":%d' % conversation_id in body
    assert "halo kak" not in body  # ids only: the page fetches escaped fragments


def test_message_fragments_for_live_appends(agent, line_chat, session):
    conversation_id, _ = line_chat
    first = session.exec(select(Message).order_by(Message.id)).first()
    fragment = agent.get(f"/inbox/c/{conversation_id}/messages?after={first.id}").get_data(as_text=True)
    assert "halo kak" not in fragment and 'data-id="' in fragment  # only what came after
    assert "halo kak" in agent.get(f"/inbox/c/{conversation_id}/messages?after=0").get_data(as_text=True)


def test_a_status_that_changed_before_the_stream_started_is_reported(agent, app, line_chat, session):
    conversation_id, _ = line_chat
    agent.post(f"/inbox/c/{conversation_id}/reply", {"text": "halo"})
    row = session.exec(select(Message).where(Message.sender == "staff")).one()  # already sent (inline queue)
    app.config["SAPA"].inbox.live_stream_seconds = 0.02
    body = agent.get(f"/inbox/events?conversation={conversation_id}&pending={row.id}").get_data(as_text=True)
    assert 'event: status\ndata: {"id":%d,"status":"sent"' % row.id in body


def test_streams_beyond_the_workers_limit_answer_at_once_and_reconnect_later(agent, app, line_chat):
    conversation_id, _ = line_chat
    settings = app.config["SAPA"].inbox
    settings.live_streams_per_worker, settings.live_busy_retry_seconds = 1, 4
    settings.live_stream_seconds, settings.live_poll_seconds = 30, 0.01
    url = f"/inbox/events?conversation={conversation_id}&after=0"
    held = agent.get(url, buffered=False)  # the one stream this worker allows, not read yet
    busy = agent.get(url).get_data(as_text=True)  # would take 30 s if it held a thread
    assert busy.startswith('retry: 4000\nevent: hello\ndata: {"cursor": ') and '"busy": true' in busy
    assert "event: message" in busy  # what is new comes at once
    held.close()  # the browser went away: its slot is free again
    settings.live_stream_seconds = 0.05
    again = agent.get(url).get_data(as_text=True)
    assert again.startswith("retry: 1000\nevent: hello") and '"busy": false' in again
