"""Conversation episodes: a reopened chat keeps its earlier figures; the dashboard counts the shop's days."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlmodel import select

from core.db import as_utc, session_scope
from core.localtime import format_day
from crm.inbox import shop_data
from crm.models import ConversationEpisode, Message
from tests.crm.inbox.conftest import LINE_USER
from tests.factories import line_text


def _episodes(session, conversation_id) -> list[ConversationEpisode]:
    session.expire_all()
    return list(session.exec(select(ConversationEpisode).where(ConversationEpisode.conversation_id == conversation_id)
                             .order_by(ConversationEpisode.id)).all())


def test_thanks_after_resolving_starts_a_new_episode_and_keeps_the_old_figures(agent, line_chat, webhooks, session,
                                                                               staff, client, auth):
    conversation_id, contact_id = line_chat
    agent.post(f"/inbox/c/{conversation_id}/reply", {"text": "Siap kak, kami cek"})
    agent.post(f"/inbox/c/{conversation_id}/status", {"status": "resolved"})
    webhooks.line(line_text("makasih kak", user=LINE_USER))

    first, second = _episodes(session, conversation_id)
    assert first.first_response_at and first.resolved_at and first.responder_id == first.resolver_id == staff["agent"]
    assert as_utc(first.opened_at) <= as_utc(first.first_response_at) <= as_utc(first.resolved_at)
    assert as_utc(second.opened_at) >= as_utc(first.resolved_at)
    assert second.first_response_at is None and second.resolved_at is None
    figures = shop_data.dashboard(session=session)
    assert figures["first_response_avg"] is not None and figures["resolution_avg"] is not None
    assert [a["name"] for a in figures["agents"] if a["first_response"] is not None] == ["Agent Test"]

    body = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth).get_json()
    assert set(body) == {"id", "contact_id", "channel", "kind", "status", "assignee", "labels", "bot_active",
                         "last_message_at", "episodes"}
    assert (body["id"], body["contact_id"], body["channel"], body["status"], body["assignee"]) == \
        (conversation_id, contact_id, "line", "open", None)
    assert [set(e) for e in body["episodes"]] == [{"opened_at", "first_response_at", "resolved_at"}] * 2
    old, new = body["episodes"]  # oldest first, the open one last
    assert old["first_response_at"] and old["resolved_at"] and old["opened_at"] < new["opened_at"]
    assert new["resolved_at"] is None and new["first_response_at"] is None
    assert old["resolved_at"].endswith("Z")


def test_an_unknown_conversation_is_a_404_with_the_api_error_body(client, auth):
    response = client.get("/api/v1/conversations/999999", headers=auth)
    assert response.status_code == 404 and response.get_json() == {"error": "conversation 999999 not found"}
    assert client.get("/api/v1/conversations/1").status_code == 401


def test_bot_replies_are_no_first_response(agent, line_chat, session, staff):
    conversation_id, _ = line_chat
    assert session.exec(select(Message).where(Message.conversation_id == conversation_id,
                                              Message.sender == "bot")).first() is not None  # the bot answered
    (episode,) = _episodes(session, conversation_id)
    assert episode.first_response_at is None
    assert shop_data.dashboard(session=session)["first_response_avg"] is None
    agent.post(f"/inbox/c/{conversation_id}/reply", {"text": "Halo kak"})
    agent.post(f"/inbox/c/{conversation_id}/reply", {"text": "Ada yang bisa dibantu?"})
    (episode,) = _episodes(session, conversation_id)
    staff_reply = session.exec(select(Message).where(Message.sender == "staff").order_by(Message.id)).first()
    assert episode.responder_id == staff["agent"]
    assert abs((as_utc(episode.first_response_at) - as_utc(staff_reply.created_at)).total_seconds()) < 5


def test_staff_reopening_a_resolved_chat_starts_a_new_episode(agent, line_chat, session):
    conversation_id, _ = line_chat
    agent.post(f"/inbox/c/{conversation_id}/status", {"status": "resolved"})
    agent.post(f"/inbox/c/{conversation_id}/status", {"status": "open"})
    first, second = _episodes(session, conversation_id)
    assert first.resolved_at is not None and second.resolved_at is None


def test_a_message_at_0430_wib_counts_on_that_wib_day(line_chat, session, runtime):
    conversation_id, contact_id = line_chat
    with session_scope(runtime.engine) as s:
        s.add(Message(conversation_id=conversation_id, contact_id=contact_id, channel="line", direction="in",
                      type="text", text="pagi kak", created_at=datetime(2026, 3, 1, 21, 30, tzinfo=timezone.utc)))
    figures = shop_data.dashboard(session=session, now=datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc),
                                  tz=ZoneInfo("Asia/Jakarta"))
    days = figures["messages_per_day"]
    assert len(days) == 30 and list(days)[-1] == "2026-03-02"  # the default period, 30 days
    assert days["2026-03-02"] == 1 and days["2026-03-01"] == 0  # 04:30 WIB on the 2nd, though 21:30 UTC on the 1st


def test_dates_are_shown_in_the_shop_timezone_one_format_per_language(app, agent, staff, runtime):
    moment = datetime(2026, 12, 6, 21, 30, tzinfo=timezone.utc)  # 7 December, 04:30 in Jakarta
    local, day = app.jinja_env.filters["local"], app.jinja_env.filters["day"]
    with app.test_request_context(headers={"Cookie": "lang=id"}):
        assert local(moment) == "7 Des 2026 04.30" and day("2026-12-07") == "7 Des 2026"
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        assert local(moment) == "Dec 7, 2026, 4:30\u202fAM" and day("2026-12-07") == "Dec 7, 2026"
    page = agent.get("/inbox/dashboard").get_data(as_text=True)  # chart days in the staff member's words
    today = datetime.now(runtime.settings.tz).date()
    assert "data-labels=" in page and format_day(today, "id") in page
