"""Satisfaction surveys end to end: staff resolve a chat (or an order is delivered), the clock sends the
survey with native score buttons, the customer taps or types a score and a comment; real webhooks
against the fake LINE and Telegram APIs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot import clock
from core.db import session_scope, utcnow
from core.localtime import format_day
from crm import orders
from crm.alerts import StaffAlert
from crm.csat import CsatSurvey
from crm.models import Contact, Conversation, Message
from tests.crm.inbox.conftest import LINE_USER
from tests.factories import line_event, line_text, tg_text

TG_USER = 7_700_000_555


def resolve(agent, conversation_id: int) -> None:
    """Staff resolve the chat in the inbox."""
    response = agent.post(f"/inbox/c/{conversation_id}/status", {"status": "resolved"})
    assert response.status_code == 303, response.get_data(as_text=True)[:300]


def survey_of(session, contact_id: int) -> CsatSurvey:
    session.expire_all()
    return session.execute(select(CsatSurvey).where(CsatSurvey.contact_id == contact_id)
                           .order_by(CsatSurvey.id.desc())).scalars().first()


def line_texts(fake_line, user: str = LINE_USER) -> list[str]:
    return [message.get("text", "") for message in fake_line.delivered_to(user)]


def quick_replies(message: dict) -> list[tuple[str, str, str]]:
    """The LINE quick-reply buttons of a message: (action type, label, postback data)."""
    return [(item["action"]["type"], item["action"]["label"], item["action"].get("data", ""))
            for item in message.get("quickReply", {}).get("items", [])]


def alerts_of(session, kind: str = "low_rating") -> list[StaffAlert]:
    session.expire_all()
    return list(session.execute(select(StaffAlert).where(StaffAlert.kind == kind)).scalars())


@pytest.fixture
def telegram_chat(webhooks, session):
    """A Telegram customer who wrote once; returns (conversation_id, contact_id)."""
    assert webhooks.telegram(tg_text("halo kak", user_id=TG_USER, first_name="Tono")).status_code == 200
    conversation = session.execute(select(Conversation).where(
        Conversation.external_chat_id == str(TG_USER))).scalars().one()
    return conversation.id, conversation.contact_id


def test_line_resolve_sends_the_survey_with_buttons_and_a_tap_is_stored_then_a_comment(
        runtime, agent, webhooks, line_chat, session, fake_line, client, auth):
    conversation_id, contact_id = line_chat
    resolve(agent, conversation_id)
    assert survey_of(session, contact_id).status == "due"
    assert clock.send_surveys() == 1
    question = fake_line.delivered_to(LINE_USER)[-1]
    assert question["text"].startswith("Makasih sudah ngobrol sama kami, kak Putri!")
    survey = survey_of(session, contact_id)
    assert quick_replies(question) == [("postback", f"{n} {face}", f"csat:{survey.id}:{n}")
                                       for n, face in zip(range(1, 6), "😞🙁😐🙂😊")]
    # The survey is a message row of the chat, sent by the outbound path (a push with a retry key).
    row = session.execute(select(Message).where(Message.batch_id == f"csat:{survey.id}")).scalars().one()
    assert (row.direction, row.sender, row.status) == ("out", "system", "sent")
    assert clock.send_surveys() == 0 and len(fake_line.calls("/v2/bot/message/push")) == 1  # never twice

    webhooks.line(line_event("postback", LINE_USER, postback={"data": f"csat:{survey.id}:5"}))
    survey = survey_of(session, contact_id)
    assert (survey.status, survey.score, survey.channel) == ("rated", 5, "line")
    thanks = fake_line.replied[-1][1]
    assert thanks["text"].startswith("Makasih banyak atas nilainya") and \
        quick_replies(thanks) == [("postback", "Lewati", f"csat:{survey.id}:skip")]
    webhooks.line(line_text("kopinya enak, kurirnya juga ramah", user=LINE_USER))
    assert survey_of(session, contact_id).comment == "kopinya enak, kurirnya juga ramah"
    assert fake_line.replied[-1][1]["text"].startswith("Siap, masukannya sudah kami catat")
    assert alerts_of(session) == []

    body = client.get(f"/api/v1/contacts/{contact_id}", headers=auth).get_json()
    [rating] = body["csat"]
    assert rating["score"] == 5 and rating["comment"] == "kopinya enak, kurirnya juga ramah" and rating["at"]


def test_telegram_typed_low_score_alerts_staff_and_a_comment_follows(
        runtime, agent, webhooks, telegram_chat, session, fake_telegram, client, auth):
    conversation_id, contact_id = telegram_chat
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 1
    [(_, question)] = [sent for sent in fake_telegram.sent_to(TG_USER) if "nilai 1–5" in sent[1].get("text", "")]
    survey = survey_of(session, contact_id)
    keyboard = question["reply_markup"]["inline_keyboard"]
    assert [button["callback_data"] for row in keyboard for button in row] == \
        [f"csat:{survey.id}:{n}" for n in range(1, 6)]

    webhooks.telegram(tg_text("jelek", user_id=TG_USER, first_name="Tono"))
    survey = survey_of(session, contact_id)
    assert (survey.score, survey.comment) == (2, None)
    assert fake_telegram.texts_to(TG_USER)[-1].startswith("Makasih sudah jujur, kak")
    [alert] = alerts_of(session)
    assert (alert.conversation_id, alert.contact_id, alert.status) == (conversation_id, contact_id, "new")
    assert alert.text == "Rating 2/5"
    webhooks.telegram(tg_text("kopinya dingin pas nyampe", user_id=TG_USER, first_name="Tono"))
    assert survey_of(session, contact_id).comment == "kopinya dingin pas nyampe"
    [alert] = alerts_of(session)
    assert alert.text == "Rating 2/5: kopinya dingin pas nyampe"
    listed = client.get("/api/v1/alerts?kind=low_rating", headers=auth).get_json()["items"]
    assert [a["conversation_id"] for a in listed] == [conversation_id]


def test_telegram_button_press_is_a_callback_query_and_counts_once(
        runtime, agent, webhooks, telegram_chat, session, fake_telegram):
    conversation_id, contact_id = telegram_chat
    resolve(agent, conversation_id)
    clock.send_surveys()
    survey = survey_of(session, contact_id)
    for _ in range(2):
        webhooks.telegram(tg_callback(f"csat:{survey.id}:1", TG_USER))
    survey = survey_of(session, contact_id)
    assert survey.score == 1
    texts = fake_telegram.texts_to(TG_USER)
    assert texts[-2].startswith("Makasih sudah jujur") and texts[-1].startswith("Nilai dari kakak sudah kami catat")
    [alert] = alerts_of(session)
    assert alert.severity == "high"


def tg_callback(data: str, user_id: int) -> dict:
    """A Telegram callback_query update: a press on an inline keyboard button."""
    from tests.factories import tg_update

    update = tg_update("callback_query")
    query = update["callback_query"]
    query["id"] = f"cb-{update['update_id']}"
    query["data"] = data
    query["from"] = {**query["from"], "id": user_id, "language_code": "id"}
    query["message"]["chat"] = {**query["message"]["chat"], "id": user_id}
    return update


@pytest.mark.parametrize("typed, score, comment", [
    ("5", 5, None), ("bagus banget", 5, None), ("4 mantap", 4, None), ("4, kurirnya ramah", 4, "kurirnya ramah"),
    ("😊", 5, None),
    ("great service, thanks!", 5, None), ("not good", 2, None),
])
def test_typed_answers_on_line_are_stored(runtime, agent, webhooks, line_chat, session, fake_line,
                                          typed, score, comment):
    conversation_id, contact_id = line_chat
    resolve(agent, conversation_id)
    clock.send_surveys()
    webhooks.line(line_text(typed, user=LINE_USER))
    survey = survey_of(session, contact_id)
    assert (survey.score, survey.comment) == (score, comment)


def test_a_message_that_is_no_answer_goes_on_and_drops_the_survey(
        runtime, agent, webhooks, line_chat, session, fake_line):
    conversation_id, contact_id = line_chat
    resolve(agent, conversation_id)
    clock.send_surveys()
    webhooks.line(line_text("jam berapa tutup kak?", user=LINE_USER))
    assert "nilai" not in fake_line.replied[-1][1]["text"].lower()
    webhooks.line(line_text("5", user=LINE_USER))  # no longer an answer: the survey was dropped
    assert survey_of(session, contact_id).score is None
    session.expire_all()
    assert "csat" not in (session.get(Conversation, conversation_id).state or {})


def test_one_survey_per_min_days_between_and_none_when_opted_out(
        runtime, agent, webhooks, line_chat, session, fake_line):
    conversation_id, contact_id = line_chat
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 1
    webhooks.line(line_text("makasih kak", user=LINE_USER))  # reopens the chat
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 0
    assert (survey_of(session, contact_id).status, survey_of(session, contact_id).skip_reason) == \
        ("skipped", "too_soon")
    # Fifteen days later (min_days_between is 14): a survey again.
    with session_scope(runtime.engine) as s:
        s.execute(update(CsatSurvey).values(sent_at=utcnow() - timedelta(days=15)))
    webhooks.line(line_text("halo lagi", user=LINE_USER))
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 1

    # Opted out ("stop"): no survey, whatever the days.
    with session_scope(runtime.engine) as s:
        s.execute(update(CsatSurvey).values(sent_at=utcnow() - timedelta(days=30)))
    webhooks.line(line_text("stop", user=LINE_USER))
    before = len(fake_line.delivered_to(LINE_USER))
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 0
    assert (survey_of(session, contact_id).status, survey_of(session, contact_id).skip_reason) == \
        ("skipped", "opted_out")
    assert len(fake_line.delivered_to(LINE_USER)) == before


def test_min_days_between_is_configurable(runtime, agent, webhooks, line_chat, session, fake_line, monkeypatch):
    conversation_id, contact_id = line_chat
    monkeypatch.setattr(runtime.settings.csat, "min_days_between", 0)
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 1
    webhooks.line(line_text("makasih kak", user=LINE_USER))
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 1


def test_a_contact_without_marketing_consent_gets_no_survey(runtime, agent, line_chat, session):
    conversation_id, contact_id = line_chat
    with session_scope(runtime.engine) as s:
        s.get(Contact, contact_id).marketing_consent = False
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 0
    assert survey_of(session, contact_id).skip_reason == "opted_out"


def test_a_delivered_order_gets_its_survey_after_the_delay(runtime, webhooks, line_chat, session, fake_line,
                                                           client, auth):
    conversation_id, contact_id = line_chat
    with session_scope(runtime.engine) as s:
        from crm import demo

        demo.load_products(s)
        product = s.execute(select(orders.Product)).scalars().first()
        order = orders.place_order(session=s, contact_id=contact_id, conversation_id=conversation_id, channel="line",
                                   lines=[orders.CartLine(product.id, 1)], fulfilment="pickup")
        order_id, number = order.id, order.number
    for status in ("confirmed", "preparing", "shipped", "delivered"):
        assert client.patch(f"/api/v1/orders/{order_id}", json={"status": status}, headers=auth).status_code == 200
    assert clock.send_surveys() == 0  # delivered just now: after_delivery_minutes (120) have not passed
    with session_scope(runtime.engine) as s:  # two hours pass
        s.execute(update(CsatSurvey).values(ready_at=utcnow() - timedelta(minutes=121)))
    assert clock.send_surveys() == 1
    assert line_texts(fake_line)[-1].startswith(f"Pesanan #{number} sudah sampai ya, kak Putri")
    assert clock.send_surveys() == 0  # once per order
    webhooks.line(line_text("4", user=LINE_USER))
    survey = survey_of(session, contact_id)
    assert (survey.order_id, survey.score, survey.trigger) == (order_id, 4, "delivered")


def test_the_dashboard_shows_csat_per_day_agent_and_channel_and_the_customer_panel_the_scores(
        runtime, as_role, staff, webhooks, line_chat, telegram_chat, session, fake_line, fake_telegram):
    agent, admin = as_role("agent"), as_role("admin")
    resolve(agent, line_chat[0])
    resolve(admin, telegram_chat[0])
    assert clock.send_surveys() == 2
    line_survey, tg_survey = survey_of(session, line_chat[1]), survey_of(session, telegram_chat[1])
    webhooks.line(line_event("postback", LINE_USER, postback={"data": f"csat:{line_survey.id}:5"}))
    webhooks.telegram(tg_text("jelek", user_id=TG_USER, first_name="Tono"))

    page = agent.get("/inbox/dashboard?days=7").get_data(as_text=True)
    assert "Kepuasan pelanggan (CSAT)" in page and 'id="csat-data"' in page
    assert "<b>50.0%</b>" in page and "<b>100.0%</b>" in page  # CSAT (4-5 of 2 ratings), surveys answered
    from crm import csat
    from crm.inbox.data import staff_names

    figures = csat.figures(session=session, days=7, tz=runtime.settings.tz, names=staff_names(session=session))
    assert (figures["csat"], figures["ratings"], figures["average"], figures["sent"]) == (50.0, 2, 3.5, 2)
    assert figures["by_channel"] == {"line": 100.0, "telegram": 0.0}
    assert [(a["name"], a["ratings"], a["csat"]) for a in figures["agents"]] == \
        [("Admin Test", 1, 0.0), ("Agent Test", 1, 100.0)]
    assert list(figures["trend"].values()) == [None] * 6 + [50.0]  # seven days, today last
    assert figures["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert '<td data-label="Agen">Admin Test</td><td data-label="Penilaian">1</td>' in page
    from tests.crm.inbox.test_staff_words import chart_labels

    today = datetime.now(runtime.settings.tz).date()
    assert chart_labels(page, "chart-csat-trend") == [format_day(today - timedelta(days=back), "id")
                                                      for back in range(6, -1, -1)]  # "7 Des 2026", not ISO
    assert chart_labels(page, "chart-csat-channel") == ["LINE", "Telegram"]

    panel = agent.get(f"/inbox/contacts/{telegram_chat[1]}").get_data(as_text=True)
    assert "Penilaian kepuasan" in panel and 'csat-low">2/5</span>' in panel and "setelah chat" in panel


def test_no_ratings_yet_says_so_on_the_dashboard(agent):
    page = agent.get("/inbox/dashboard").get_data(as_text=True)
    assert "Belum ada penilaian di periode ini." in page and "chart-csat-trend" not in page


def test_a_survey_waits_while_staff_have_the_chat_and_is_dropped_after_send_within_hours(
        runtime, agent, line_chat, session, fake_line):
    conversation_id, contact_id = line_chat
    resolve(agent, conversation_id)
    assert agent.post(f"/inbox/c/{conversation_id}/bot", {"active": "0"}).status_code == 303  # staff take it over
    assert clock.send_surveys() == 0
    assert survey_of(session, contact_id).status == "due"
    with session_scope(runtime.engine) as s:  # two days pass
        s.execute(update(CsatSurvey).values(ready_at=utcnow() - timedelta(hours=49)))
    assert clock.send_surveys() == 0
    assert (survey_of(session, contact_id).status, survey_of(session, contact_id).skip_reason) == \
        ("skipped", "expired")
    assert not any("nilai 1–5" in text for text in line_texts(fake_line))


def test_answering_the_survey_leaves_the_resolved_chat_resolved_with_one_episode(
        runtime, agent, webhooks, line_chat, session, fake_line, client, auth):
    conversation_id, contact_id = line_chat
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 1
    survey = survey_of(session, contact_id)

    def chat() -> tuple[str, int, list]:
        body = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth).get_json()
        return body["status"], len(body["episodes"]), body["episodes"][-1]["resolved_at"]

    status, episodes, resolved_at = chat()
    assert (status, episodes) == ("resolved", 1) and resolved_at
    webhooks.line(line_event("postback", LINE_USER, postback={"data": f"csat:{survey.id}:4"}))
    assert chat() == ("resolved", 1, resolved_at)  # a score is no new question for staff
    webhooks.line(line_text("mantap, cepet banget", user=LINE_USER))
    assert survey_of(session, contact_id).comment == "mantap, cepet banget"
    assert chat() == ("resolved", 1, resolved_at)
    webhooks.line(line_text("kak, mau tanya ada promo ga?", user=LINE_USER))  # a new question opens a new episode
    assert chat()[:2] == ("open", 2)


def test_skipping_the_comment_leaves_the_resolved_chat_resolved(runtime, agent, webhooks, line_chat, session,
                                                               fake_line, client, auth):
    conversation_id, contact_id = line_chat
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 1
    survey = survey_of(session, contact_id)
    webhooks.line(line_text("5", user=LINE_USER))
    webhooks.line(line_text("ga ada kak", user=LINE_USER))
    body = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth).get_json()
    assert survey_of(session, contact_id).score == 5 and survey.id == survey_of(session, contact_id).id
    assert (body["status"], len(body["episodes"])) == ("resolved", 1)


def test_a_comment_about_the_admin_is_the_comment_not_a_request_for_staff(
        runtime, agent, webhooks, line_chat, session, fake_line, client, auth):
    conversation_id, contact_id = line_chat
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 1
    webhooks.line(line_text("5", user=LINE_USER))
    webhooks.line(line_text("adminnya ramah bgt, fast respon", user=LINE_USER))  # not a request for a person
    assert survey_of(session, contact_id).comment == "adminnya ramah bgt, fast respon"
    body = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth).get_json()
    assert body["status"] == "resolved" and alerts_of(session, "handoff") == []



def test_a_low_score_and_its_angry_comment_raise_one_alert(runtime, agent, webhooks, line_chat, session, fake_line):
    conversation_id, contact_id = line_chat
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 1
    webhooks.line(line_text("jelek bgt", user=LINE_USER))
    webhooks.line(line_text("pesanan dateng telat sejam, kopinya dingin, kecewa parah", user=LINE_USER))
    assert survey_of(session, contact_id).score == 1
    assert len(alerts_of(session)) == 1 and alerts_of(session, "negative") == []  # one alert for one answer
    assert alerts_of(session, "complaint") == []


def test_a_survey_answer_keeps_the_chat_s_intent(runtime, agent, webhooks, line_chat, session, fake_line):
    conversation_id, contact_id = line_chat
    webhooks.line(line_text("pesanan saya sudah sampai mana ya?", user=LINE_USER))
    session.expire_all()
    topic = session.get(Conversation, conversation_id).last_intent
    assert topic == "order_status"
    resolve(agent, conversation_id)
    assert clock.send_surveys() == 1
    survey = survey_of(session, contact_id)
    webhooks.line(line_event("postback", LINE_USER, postback={"data": f"csat:{survey.id}:5"}))
    webhooks.line(line_text("mantap, cepet banget", user=LINE_USER))
    assert survey_of(session, contact_id).comment == "mantap, cepet banget"
    session.expire_all()
    assert session.get(Conversation, conversation_id).last_intent == topic
