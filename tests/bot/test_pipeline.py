"""The flow of an event: history, groups, profiles, outbound statuses and platform errors."""

from __future__ import annotations

from datetime import timedelta
import threading

import pytest
from sqlmodel import select

from bot import events, pipeline
from core import messages as m
from crm import contacts, history, outbound
from core.db import session_scope, utcnow
from crm.models import ChannelIdentity, Contact, Conversation, ConversationMember, Message, WebhookEvent
from tests.factories import Webhooks, line_event, line_text, store_unprocessed, tg_text, tg_update

USER = "U2222222222222222222222222222222b"
GROUP = {"type": "group", "groupId": "Cgroup0000000000000000000000000001", "userId": USER}


@pytest.fixture
def hooks(client) -> Webhooks:
    return Webhooks(client)


def rows(session, *where):
    session.expire_all()
    return list(session.exec(select(Message).where(*where).order_by(Message.id)).all())


def store(runtime, channel: str, payload: dict, key: str) -> int:
    return store_unprocessed(runtime.engine, channel, payload, key)


# --- history and contacts --------------------------------------------------------------


def test_line_profile_is_fetched_once_per_contact(hooks, session, fake_line):
    fake_line.profiles[USER] = {"displayName": "Dewi Lestari", "language": "en"}
    hooks.line(line_text("halo", user=USER))
    hooks.line(line_text("good morning, I need some help please", user=USER))
    assert fake_line.profile_calls[USER] == 1
    contact = session.exec(select(Contact)).one()
    assert contact.display_name == "Dewi Lestari" and contact.language == "en"
    # replies use the profile's name, in the language the customer writes
    replies = [call.json["messages"][0]["text"] for call in fake_line.calls("/v2/bot/message/reply")]
    assert "Dewi Lestari" in replies[0]
    assert "Halo" not in replies[1] and any(word in replies[1] for word in ("Sorry", "Hi", "help"))


def test_group_message_stored_but_answered_only_when_the_bot_is_mentioned(hooks, session, fake_line):
    hooks.line(line_text("ada yang tau jam buka?", source=GROUP))
    assert fake_line.calls("/v2/bot/message/reply") == []
    hooks.line(line_text("@Sapa jam buka?", source=GROUP, mention_self=True))
    assert len(fake_line.calls("/v2/bot/message/reply")) == 1
    conversation = session.exec(select(Conversation)).one()
    assert conversation.kind == "group" and conversation.contact_id is None
    members = session.exec(select(ConversationMember)).all()
    assert len(members) == 1
    assert len(rows(session, Message.direction == "in")) == 2


def test_member_joined_and_left_are_tracked(hooks, session):
    source = {"type": "group", "groupId": "Cgroup0000000000000000000000000002"}
    joined = {"members": [{"type": "user", "userId": "Um1"}, {"type": "user", "userId": "Um2"}]}
    hooks.line(line_event("memberJoined", source=source, joined=joined))
    hooks.line(line_event("memberLeft", source=source, left={"members": [{"type": "user", "userId": "Um1"}]},
                          reply_token=False))
    session.expire_all()
    members = {m.contact_id: m.left_at for m in session.exec(select(ConversationMember)).all()}
    assert len(members) == 2 and sorted(v is None for v in members.values()) == [False, True]


def test_unsend_hides_the_message_and_edit_keeps_history(hooks, session, client, api_token):
    hooks.line(line_text("nomorku 0812xxx", user=USER, message_id="9001"))
    hooks.line(line_event("unsend", USER, unsend={"messageId": "9001"}, reply_token=False))
    hooks.line(line_text("pesan 1 kopi", user=USER, message_id="9002"))
    edited = line_text("pesan 2 kopi", user=USER, message_id="9002")
    edited["type"] = "messageEdited"
    hooks.line(edited)
    original = rows(session, Message.platform_message_id == "9001", Message.type == "text")[0]
    assert original.hidden
    changed = rows(session, Message.platform_message_id == "9002", Message.type == "text")[0]
    assert changed.text == "pesan 2 kopi" and changed.payload["edits"][0]["text"] == "pesan 1 kopi"
    contact_id = original.contact_id
    items = client.get(f"/api/v1/contacts/{contact_id}/messages",
                       headers={"Authorization": f"Bearer {api_token}"}).get_json()["items"]
    hidden = next(i for i in items if i["id"] == original.id)
    assert hidden["hidden"] is True and hidden["text"] is None


def test_postback_with_datetime_params_is_stored_and_routed(hooks, session, fake_line):
    hooks.line(line_event("postback", USER, postback={"data": "intent=order", "params": {"datetime": "2026-12-01T10:00"}}))
    postback = rows(session, Message.type == "postback")[0]
    # A rich-menu tap (no bot message carried the button): staff read the menu's words, not the data.
    assert postback.text == "🛒 Pesan" and postback.payload["postback_data"] == "intent=order"
    assert postback.payload["params"] == {"datetime": "2026-12-01T10:00"}
    assert postback.intent == "order"
    assert len(fake_line.calls("/v2/bot/message/reply")) == 1


def test_a_tapped_button_is_stored_with_its_words_not_its_data(hooks, session, runtime):
    hooks.line(line_text("halo", user=USER))
    conversation = session.exec(select(Conversation)).one()
    card = m.Card(title="Kopi Susu Aren · Rp25.000", buttons=(m.Choice("Pesan 1", data="order:add:3"),))
    with session_scope(runtime.engine) as s:
        history.record_outbound(session=s, conversation=s.get(Conversation, conversation.id), batch_id="b-menu",
                                replies=[m.Reply(text="Menu", cards=(card,),
                                                 choices=(m.Choice("Bisa bayar pakai QRIS?", data="faq:9"),))])
    hooks.line(line_event("postback", USER, postback={"data": "order:add:3"}))
    hooks.line(line_event("postback", USER, postback={"data": "faq:9"}))
    hooks.line(line_event("postback", USER, postback={"data": "bc:1::0"}))  # from no message we know
    tapped = rows(session, Message.type == "postback")
    assert [row.text for row in tapped] == ["Pesan 1 · Kopi Susu Aren · Rp25.000", "Bisa bayar pakai QRIS?", None]
    assert [row.payload["postback_data"] for row in tapped] == ["order:add:3", "faq:9", "bc:1::0"]


def test_location_is_kept_on_the_contact(hooks, session):
    location = line_event("message", USER, message={"id": "77", "type": "location", "title": "Kantor",
                                                      "address": "Jl. Sudirman", "latitude": -6.2, "longitude": 106.8})
    hooks.line(location)
    contact = session.exec(select(Contact)).one()
    assert (contact.last_lat, contact.last_lon) == (-6.2, 106.8)


def test_find_or_create_is_idempotent_under_concurrent_delivery(runtime):
    errors, barrier = [], threading.Barrier(8)

    def create() -> None:
        try:
            barrier.wait()
            with session_scope(runtime.engine) as session:
                contacts.get_or_create_identity(session=session, channel="telegram", external_id="9000000000001")
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope(runtime.engine) as session:
        assert len(session.exec(select(ChannelIdentity)).all()) == 1
        assert len(session.exec(select(Contact)).all()) == 1


# --- LINE outbound ---------------------------------------------------------------------


def test_expired_reply_token_falls_back_to_push_with_retry_key(hooks, session, fake_line):
    fake_line.expire_reply_token("old-token")
    hooks.line(line_text("halo", user=USER, reply_token="old-token"))
    pushes = fake_line.calls("/v2/bot/message/push")
    assert len(pushes) == 1 and pushes[0].json["to"] == USER
    assert len(pushes[0].headers.get("X-Line-Retry-Key", "")) == 36
    assert rows(session, Message.direction == "out")[0].status == "sent"


def test_push_429_is_retried_with_the_same_retry_key_and_delivered_once(runtime, fake_line, session):
    fake_line.fail_next("/v2/bot/message/push", 429, {"message": "Too Many Requests"})
    event_id = store(runtime, "line", line_text("halo", user=USER, reply_token=False), "e-429")
    with pytest.raises(outbound.RetryLater) as raised:
        pipeline.process_event(runtime, event_id)
    out = rows(session, Message.direction == "out")[0]
    assert out.status == "queued" and "429" in out.error
    outbound.deliver_batch(runtime, raised.value.batch_id)
    pushes = fake_line.calls("/v2/bot/message/push")
    assert len(pushes) == 2
    assert pushes[0].headers["X-Line-Retry-Key"] == pushes[1].headers["X-Line-Retry-Key"]
    assert rows(session, Message.direction == "out")[0].status == "sent"
    assert len(fake_line.delivered_to(USER)) == 1
    # processing finished even though sending needed a retry
    assert session.get(WebhookEvent, event_id).status == "processed"


def test_push_accepted_before_a_crash_is_not_sent_twice(runtime, fake_line, session):
    event_id = store(runtime, "line", line_text("halo", user=USER, reply_token=False), "e-409")
    pipeline.process_event(runtime, event_id)
    batch = f"event:{event_id}"
    with session_scope(runtime.engine) as s:  # pretend the worker died before recording "sent"
        for row in s.exec(select(Message).where(Message.batch_id == batch)).all():
            row.status = "sending"
            s.add(row)
    outbound.deliver_batch(runtime, batch)
    assert fake_line.calls("/v2/bot/message/push")[-1].status == 409
    assert len(fake_line.delivered_to(USER)) == 1
    assert rows(session, Message.batch_id == batch)[0].status == "sent"


def test_reply_accepted_before_a_crash_is_not_pushed_again(runtime, fake_line, session):
    event_id = store(runtime, "line", line_text("halo", user=USER, reply_token="tok-crash"), "e-crash")
    pipeline.process_event(runtime, event_id)
    batch = f"event:{event_id}"
    with session_scope(runtime.engine) as s:  # the worker died after LINE took the reply, before "sent" was written
        for row in s.exec(select(Message).where(Message.batch_id == batch)).all():
            row.status = "sending"
            s.add(row)
    outbound.deliver_batch(runtime, batch)
    assert [call.status for call in fake_line.calls("/v2/bot/message/reply")] == [200, 400]
    assert fake_line.calls("/v2/bot/message/push") == []
    assert rows(session, Message.batch_id == batch)[0].status == "unknown"


def test_an_outcome_meeting_a_dropped_connection_is_written_again(runtime, fake_line, session):
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    dropped = []

    def drop_once(_conn, _cursor, statement, _params, _context, _many):
        if not dropped and statement.lstrip().upper().startswith("UPDATE MESSAGE SET STATUS"):
            dropped.append(statement)
            raise OperationalError(statement, None, Exception("server closed the connection unexpectedly"),
                                   connection_invalidated=True)

    event.listen(runtime.engine, "before_cursor_execute", drop_once)
    try:
        event_id = store(runtime, "line", line_text("halo", user=USER, reply_token="tok-drop"), "e-drop")
        pipeline.process_event(runtime, event_id)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", drop_once)
    assert dropped, "the outcome was never written"
    assert [call.status for call in fake_line.calls("/v2/bot/message/reply")] == [200]
    assert rows(session, Message.direction == "out")[0].status == "sent"
    assert session.get(WebhookEvent, event_id).status == "processed"


def test_reply_5xx_then_token_rejected_is_unknown_not_pushed(runtime, fake_line, session):
    fake_line.fail_next("/v2/bot/message/reply", 500)
    event_id = store(runtime, "line", line_text("halo", user=USER, reply_token="tok-5xx"), "e-5xx")
    with pytest.raises(outbound.RetryLater):
        pipeline.process_event(runtime, event_id)
    fake_line.expire_reply_token("tok-5xx")
    # the retry pushes only if the first attempt certainly failed; a 5xx is uncertain
    outbound.deliver_batch(runtime, f"event:{event_id}")
    out = rows(session, Message.direction == "out")[0]
    assert out.status == "unknown" and "uncertain" in out.error
    assert fake_line.calls("/v2/bot/message/push") == []


def test_reply_429_is_retried_with_the_same_token(runtime, fake_line, session):
    fake_line.fail_next("/v2/bot/message/reply", 429)
    event_id = store(runtime, "line", line_text("halo", user=USER, reply_token="tok-429"), "e-r429")
    with pytest.raises(outbound.RetryLater):
        pipeline.process_event(runtime, event_id)
    outbound.deliver_batch(runtime, f"event:{event_id}")
    assert [c.json["replyToken"] for c in fake_line.calls("/v2/bot/message/reply")] == ["tok-429", "tok-429"]
    assert rows(session, Message.direction == "out")[0].status == "sent"
    assert fake_line.calls("/v2/bot/message/push") == []


def test_line_monthly_limit_is_a_recorded_failure(runtime, fake_line, session):
    fake_line.fail_next("/v2/bot/message/push", 429, {"message": "You have reached your monthly limit."})
    event_id = store(runtime, "line", line_text("halo", user=USER, reply_token=False), "e-quota")
    pipeline.process_event(runtime, event_id)
    out = rows(session, Message.direction == "out")[0]
    assert out.status == "failed" and "monthly limit" in out.error


# --- Telegram outbound -----------------------------------------------------------------


def test_telegram_403_blocked_marks_contact_and_records_error(hooks, session, fake_telegram):
    fake_telegram.blocked_chats.add(6_000_000_001)
    hooks.telegram(tg_text("halo", user_id=6_000_000_001))
    out = rows(session, Message.direction == "out")[0]
    assert out.status == "failed" and "blocked" in out.error
    assert session.exec(select(Contact)).one().status == "blocked"


def test_telegram_429_retry_after_is_honoured(runtime, fake_telegram, session):
    fake_telegram.fail_next("sendMessage", 429, {"ok": False, "error_code": 429,
                                                 "description": "Too Many Requests: retry after 7",
                                                 "parameters": {"retry_after": 7}})
    event_id = store(runtime, "telegram", tg_text("halo", user_id=6_000_000_002), "7001")
    with pytest.raises(outbound.RetryLater) as raised:
        pipeline.process_event(runtime, event_id)
    assert raised.value.delay == 7
    outbound.deliver_batch(runtime, raised.value.batch_id)
    assert rows(session, Message.direction == "out")[0].status == "sent"


def test_telegram_message_caught_mid_send_is_marked_unknown_not_resent(runtime, fake_telegram, session):
    event_id = store(runtime, "telegram", tg_text("halo", user_id=6_000_000_003), "7002")
    pipeline.process_event(runtime, event_id)
    batch = f"event:{event_id}"
    with session_scope(runtime.engine) as s:
        for row in s.exec(select(Message).where(Message.batch_id == batch)).all():
            row.status = "sending"
            s.add(row)
    outbound.deliver_batch(runtime, batch)
    assert len(fake_telegram.calls("sendMessage")) == 1
    assert rows(session, Message.batch_id == batch)[0].status == "unknown"


def test_telegram_callback_query_is_answered_and_routed(hooks, session, fake_telegram):
    hooks.telegram(tg_update("callback_query"))
    assert len(fake_telegram.calls("answerCallbackQuery")) == 1
    postback = rows(session, Message.type == "postback")[0]
    assert postback.text == "Book" and postback.payload["postback_data"] == "menu:book:2025-01-01"
    assert len(fake_telegram.calls("sendMessage")) == 1


def test_a_telegram_say_this_button_arrives_as_typed_text(hooks, session, fake_telegram):
    update = tg_update("callback_query")
    update["callback_query"]["data"] = "text:Sudah cukup"
    hooks.telegram(update)
    assert len(fake_telegram.calls("answerCallbackQuery")) == 1
    assert rows(session, Message.type == "postback") == []
    typed, = rows(session, Message.direction == "in")
    assert typed.type == "text" and typed.text == "Sudah cukup"


def test_telegram_group_answers_only_when_addressed(hooks, session, fake_telegram):
    chat = {"id": -1001234567890, "title": "VIP", "type": "supergroup"}
    hooks.telegram(tg_text("ada yang tau jam buka", user_id=6_000_000_004, chat=chat))
    assert fake_telegram.calls("sendMessage") == []
    username = fake_telegram.calls("getMe") and "sapa_test_bot"
    mention = f"@{username} jam buka?"
    hooks.telegram(tg_text(mention, user_id=6_000_000_004, chat=chat,
                           entities=[{"offset": 0, "length": len(username) + 1, "type": "mention"}]))
    assert len(fake_telegram.calls("sendMessage")) == 1


def test_telegram_start_command_gets_the_welcome(hooks, fake_telegram):
    hooks.telegram(tg_update("command_start"))
    text = fake_telegram.calls("sendMessage")[0].json["text"]
    assert "Welcome" in text or "Selamat datang" in text


# --- failures and recovery --------------------------------------------------------------


def test_failing_processing_is_retried_then_visible_as_failed(runtime, session, monkeypatch):
    event_id = store(runtime, "line", line_text("halo", user=USER), "e-fail")

    def boom(*_args, **_kwargs):
        raise RuntimeError("handler exploded")

    monkeypatch.setattr(runtime.router, "route", boom)
    with pytest.raises(RuntimeError):
        pipeline.process_event(runtime, event_id, final_attempt=False)
    session.expire_all()
    event = session.get(WebhookEvent, event_id)
    assert event.status == "retrying" and "handler exploded" in event.error and event.attempts == 1
    with pytest.raises(RuntimeError):
        pipeline.process_event(runtime, event_id, final_attempt=True)
    session.expire_all()
    assert session.get(WebhookEvent, event_id).status == "failed"
    # the inbound message was kept, once, despite two attempts
    assert len(rows(session, Message.direction == "in")) == 1


def test_a_failing_nlu_keeps_the_message_and_retries_the_event(runtime, session, monkeypatch):
    # The NLU first runs before the write lock; its failure must still leave the message recorded.
    event_id = store(runtime, "line", line_text("mau pesan kopi", user=USER), "e-nlu")

    def broken(_text, _ctx):
        raise RuntimeError("model file unreadable")

    monkeypatch.setattr(runtime.router, "understand", broken)
    with pytest.raises(RuntimeError):
        pipeline.process_event(runtime, event_id, final_attempt=False)
    session.expire_all()
    event = session.get(WebhookEvent, event_id)
    assert event.status == "retrying" and "model file unreadable" in event.error and event.attempts == 1
    assert [m.text for m in rows(session, Message.direction == "in")] == ["mau pesan kopi"]


def test_last_seen_is_refreshed_at_most_once_a_minute(hooks, session):
    hooks.line(line_text("halo", user=USER))
    contact = session.exec(select(Contact)).one()
    first = contact.last_seen_at
    hooks.line(line_text("ada promo?", user=USER))
    session.expire_all()
    assert session.get(Contact, contact.id).last_seen_at == first  # same burst: no update
    with session_scope(session.get_bind()) as s:
        stale = s.get(Contact, contact.id)
        stale.last_seen_at = first - history.LAST_SEEN_RESOLUTION - timedelta(seconds=1)
        s.add(stale)
    hooks.line(line_text("terima kasih", user=USER))
    session.expire_all()
    assert session.get(Contact, contact.id).last_seen_at > first


def test_processing_twice_records_and_answers_once(runtime, fake_line, session):
    event_id = store(runtime, "line", line_text("halo", user=USER), "e-twice")
    pipeline.process_event(runtime, event_id)
    with session_scope(runtime.engine) as s:  # a duplicate task after a crash
        event = s.get(WebhookEvent, event_id)
        event.status = "received"
        s.add(event)
    pipeline.process_event(runtime, event_id)
    assert len(fake_line.calls("/v2/bot/message/reply")) == 1
    assert len(rows(session, Message.direction == "in")) == 1


def test_stale_events_are_requeued_by_the_sweep(runtime, session):
    event_id = store(runtime, "line", line_text("halo", user=USER), "e-stale")
    with session_scope(runtime.engine) as s:
        event = s.get(WebhookEvent, event_id)
        event.received_at = utcnow().replace(year=2020)
        s.add(event)
    queued: list[list[int]] = []
    assert events.requeue_stale(runtime, queued.append, lambda batch: None) == 1
    assert queued == [[event_id]]


def test_a_retry_whose_task_was_lost_is_requeued_by_the_sweep_once_its_wait_is_over(runtime, session):
    queue = runtime.settings.queue
    longest_wait = queue.retry_delay_seconds * queue.retry_backoff ** (queue.retries - 1)
    waiting, lost = (store(runtime, "line", line_text("halo", user=USER), key) for key in ("e-wait", "e-lost"))
    with session_scope(runtime.engine) as s:
        for event_id, age in ((waiting, queue.stale_event_seconds), (lost, queue.stale_event_seconds + longest_wait)):
            event = s.get(WebhookEvent, event_id)
            event.status, event.claimed_at = "retrying", utcnow() - timedelta(seconds=age + 1)
            s.add(event)
    queued: list[list[int]] = []
    assert events.requeue_stale(runtime, queued.append, lambda batch: None) == 1
    assert queued == [[lost]]  # the other one's retry may still be on its way


# --- answering before the write lock -----------------------------------------------------


@pytest.fixture
def known_customer(runtime, hooks):
    """A customer who has written before (contact, profile and chat exist)."""
    hooks.line(line_text("halo", user=USER))
    return USER


def spy_answers(monkeypatch) -> list:
    """What each try at answering before the lock returned ('ok', 'skipped' or None = under the lock)."""
    outcomes: list = []
    real = pipeline._answer_before_lock

    def spy(*args, **kwargs):
        result = real(*args, **kwargs)
        outcomes.append(None if result is None else "skipped" if result is pipeline.SKIPPED else "ok")
        return result

    monkeypatch.setattr(pipeline, "_answer_before_lock", spy)
    return outcomes


def test_a_message_answered_before_the_lock_is_recorded_and_answered_once(known_customer, runtime, session,
                                                                           fake_line, monkeypatch):
    outcomes = spy_answers(monkeypatch)
    event_id = store(runtime, "line", line_text("ada promo?", user=USER), "e-early")
    assert pipeline.process_event(runtime, event_id).status == "processed"
    assert outcomes == ["ok"]
    inbound = rows(session, Message.direction == "in")[-1]
    assert inbound.text == "ada promo?" and inbound.event_id == event_id and inbound.intent == "promotion"
    replies = rows(session, Message.direction == "out", Message.batch_id == f"event:{event_id}")
    assert [r.status for r in replies] == ["sent"] and len(fake_line.calls("/v2/bot/message/reply")) == 2
    conversation = session.get(Conversation, inbound.conversation_id)
    assert conversation.unread_count == 2 and conversation.last_intent == "promotion" and conversation.waiting_since is None
    assert session.get(WebhookEvent, event_id).status == "processed"


def test_a_chat_changed_meanwhile_is_answered_again_under_the_lock(known_customer, runtime, session,
                                                                   fake_line, monkeypatch):
    # Staff open the chat (read: unread 0) while the worker routes from what it read (unread 1).
    outcomes = spy_answers(monkeypatch)
    real_route = runtime.router.route
    routed: list[str] = []

    def route_while_staff_write(inbound, ctx):
        if not routed:
            with session_scope(runtime.engine) as s:
                chat = s.exec(select(Conversation)).one()
                chat.unread_count, chat.labels = 0, ["vip"]
                s.add(chat)
        routed.append(inbound.text)
        return real_route(inbound, ctx)

    monkeypatch.setattr(runtime.router, "route", route_while_staff_write)
    event_id = store(runtime, "line", line_text("ada promo?", user=USER), "e-changed")
    pipeline.process_event(runtime, event_id)
    assert outcomes == [None] and routed == ["ada promo?", "ada promo?"]
    session.expire_all()
    conversation = session.exec(select(Conversation)).one()
    assert conversation.labels == ["vip"] and conversation.unread_count == 1 and conversation.last_intent == "promotion"
    assert [m.text for m in rows(session, Message.direction == "in")] == ["halo", "ada promo?"]
    assert len(fake_line.calls("/v2/bot/message/reply")) == 2


def test_a_handlers_effects_are_written_with_the_message_before_the_lock(known_customer, runtime, session,
                                                                         fake_line, monkeypatch):
    from crm.alerts import StaffAlert
    from crm.complaints import Complaint

    outcomes = spy_answers(monkeypatch)
    event_id = store(runtime, "line", line_text("kopinya tumpah semua, kecewa bgt", user=USER), "e-writes")
    pipeline.process_event(runtime, event_id)
    assert outcomes == ["ok"]  # the handler only decided; its effect was applied under the lock
    complaint = session.exec(select(Complaint)).one()
    inbound = rows(session, Message.direction == "in")[-1]
    assert complaint.message_id == inbound.id and inbound.event_id == event_id  # linked to the stored message
    assert [a.kind for a in session.exec(select(StaffAlert)).all()] == ["complaint"]
    assert complaint.number in fake_line.replied[-1][1]["text"]  # worded once the ticket exists


def add_product(runtime, stock: int) -> int:
    from crm.orders import Product

    with session_scope(runtime.engine) as s:
        product = Product(sku="KOPI-1", name="Kopi Susu", price=25_000, stock=stock)
        s.add(product)
        s.flush()
        return product.id


def test_an_effect_refused_since_the_reads_is_decided_again_under_the_lock(known_customer, runtime, session,
                                                                           hooks, fake_line, monkeypatch):
    from crm.orders import Order, Product

    product_id = add_product(runtime, stock=1)
    for data in (f"order:add:{product_id}", "order:fulfil:delivery"):
        hooks.line(line_event("postback", USER, postback={"data": data}))
    hooks.line(line_text("Jl. Kemang Raya 1", user=USER))
    hooks.line(line_text("0812 3456 7890", user=USER))
    hooks.line(line_event("postback", USER, postback={"data": "order:pay:qris"}))  # the summary is next
    outcomes = spy_answers(monkeypatch)
    real_route = runtime.router.route
    routed: list[str] = []

    def route_while_another_customer_buys(inbound, ctx):
        answer = real_route(inbound, ctx)
        if not routed:
            with session_scope(runtime.engine) as s:
                product = s.get(Product, product_id)
                product.stock = 0
                s.add(product)
        routed.append(inbound.postback_data)
        return answer

    monkeypatch.setattr(runtime.router, "route", route_while_another_customer_buys)
    event_id = store(runtime, "line", line_event("postback", USER, postback={"data": "order:confirm"}), "e-sold")
    assert pipeline.process_event(runtime, event_id).status == "processed"
    assert outcomes == [None] and routed == ["order:confirm", "order:confirm"]
    assert session.exec(select(Order)).all() == []
    replies = [r.text for r in rows(session, Message.direction == "out", Message.batch_id == f"event:{event_id}")]
    assert "Kopi Susu sedang habis" in replies[0]  # told, from the reads under the lock


def test_effects_are_applied_once_when_an_event_is_processed_again(known_customer, runtime, session, fake_line):
    from crm.alerts import StaffAlert
    from crm.complaints import Complaint

    event_id = store(runtime, "line", line_text("kopinya tumpah semua, kecewa bgt", user=USER), "e-again")
    pipeline.process_event(runtime, event_id)
    with session_scope(runtime.engine) as s:  # a duplicate task after a crash
        event = s.get(WebhookEvent, event_id)
        event.status = "received"
        s.add(event)
    pipeline.process_event(runtime, event_id)
    assert len(session.exec(select(Complaint)).all()) == 1
    assert len(session.exec(select(StaffAlert)).all()) == 1
    assert len(rows(session, Message.direction == "out", Message.batch_id == f"event:{event_id}")) == 1


def test_effects_are_applied_once_when_an_event_is_retried_after_a_failure(known_customer, runtime, session,
                                                                           fake_line, monkeypatch):
    from crm.alerts import StaffAlert
    from crm.complaints import Complaint

    real_record_outbound = history.record_outbound
    calls: list[int] = []

    def fail_first_twice(**kwargs):  # the try before the lock, then the one under it
        calls.append(1)
        if len(calls) <= 2:
            raise RuntimeError("disk full")
        return real_record_outbound(**kwargs)

    monkeypatch.setattr(history, "record_outbound", fail_first_twice)
    event_id = store(runtime, "line", line_text("kopinya tumpah semua, kecewa bgt", user=USER), "e-retried")
    with pytest.raises(RuntimeError):
        pipeline.process_event(runtime, event_id, final_attempt=False)
    session.expire_all()
    assert session.exec(select(Complaint)).all() == []  # rolled back with the failed answer
    assert session.get(WebhookEvent, event_id).status == "retrying"
    assert pipeline.process_event(runtime, event_id).status == "processed"
    session.expire_all()
    assert len(session.exec(select(Complaint)).all()) == 1
    assert len(session.exec(select(StaffAlert)).all()) == 1
    assert [m.text for m in rows(session, Message.direction == "in")][-1] == "kopinya tumpah semua, kecewa bgt"
    assert len(rows(session, Message.direction == "in", Message.event_id == event_id)) == 1


def test_an_event_taken_by_another_worker_meanwhile_is_skipped(known_customer, runtime, session, fake_line,
                                                               monkeypatch):
    outcomes = spy_answers(monkeypatch)
    real_route = runtime.router.route
    event_id = store(runtime, "line", line_text("ada promo?", user=USER), "e-taken")

    def route_while_another_worker_claims(inbound, ctx):
        with session_scope(runtime.engine) as s:
            event = s.get(WebhookEvent, event_id)
            event.status, event.claimed_at, event.attempts = "processing", utcnow(), 1
            s.add(event)
        return real_route(inbound, ctx)

    monkeypatch.setattr(runtime.router, "route", route_while_another_worker_claims)
    assert pipeline.process_event(runtime, event_id).status == "skipped"
    assert outcomes == ["skipped"]
    assert [m.text for m in rows(session, Message.direction == "in")] == ["halo"]
    assert len(fake_line.calls("/v2/bot/message/reply")) == 1


def test_a_message_the_bot_leaves_to_staff_is_still_labelled_with_its_intent(known_customer, runtime, session,
                                                                              fake_line, monkeypatch):
    outcomes = spy_answers(monkeypatch)
    with session_scope(runtime.engine) as s:
        chat = s.exec(select(Conversation)).one()
        chat.bot_active, chat.handoff_until = False, utcnow() + timedelta(minutes=30)  # staff took over
        s.add(chat)
    fake_line.reset()
    event_id = store(runtime, "line", line_text("ada promo?", user=USER), "e-quiet")
    assert pipeline.process_event(runtime, event_id).status == "processed"
    assert outcomes == ["ok"] and not fake_line.calls("/v2/bot/message/reply")  # the bot stays quiet
    inbound = rows(session, Message.direction == "in")[-1]
    assert inbound.text == "ada promo?" and inbound.intent == "promotion" and inbound.confidence > 0.5
    conversation = session.get(Conversation, inbound.conversation_id)
    session.refresh(conversation)
    assert conversation.last_intent == "promotion" and not conversation.bot_active


def test_a_staff_link_code_is_recognised_in_a_chat_staff_have_taken_over(known_customer, runtime, session,
                                                                         fake_line):
    from crm import staff_links
    from crm.models import StaffChatLink
    from crm.staff import create_user

    with session_scope(runtime.engine) as s:
        chat = s.exec(select(Conversation)).one()
        chat.bot_active, chat.handoff_until = False, utcnow() + timedelta(minutes=30)  # staff took over
        s.add(chat)
        rina = create_user(session=s, email="rina@toko.example", password="kopi-susu-gula-aren", role="marketer",
                           display_name="Rina")
        code, _ = staff_links.new_code(session=s, staff_user_id=rina.id)
        rina_id = rina.id
    fake_line.reset()
    event_id = store(runtime, "line", line_text(code, user=USER, reply_token="tok-code"), "e-code")
    assert pipeline.process_event(runtime, event_id).status == "processed"
    link = session.exec(select(StaffChatLink)).one()
    assert (link.staff_user_id, link.channel, link.external_id) == (rina_id, "line", USER)
    assert "terhubung" in fake_line.replied[-1][1]["text"]
    # the bot still leaves the rest of the chat to staff
    fake_line.reset()
    event_id = store(runtime, "line", line_text("ada promo?", user=USER), "e-after-code")
    pipeline.process_event(runtime, event_id)
    assert not fake_line.calls("/v2/bot/message/reply") and not fake_line.calls("/v2/bot/message/push")
    session.expire_all()
    assert not session.exec(select(Conversation)).one().bot_active


def test_stop_opts_out_of_marketing_in_a_chat_staff_have_taken_over(known_customer, runtime, session, fake_line):
    from broadcasts.models import ChannelConsent

    with session_scope(runtime.engine) as s:
        chat = s.exec(select(Conversation)).one()
        chat.bot_active, chat.handoff_until = False, utcnow() + timedelta(minutes=30)  # staff took over
        s.add(chat)
    fake_line.reset()
    event_id = store(runtime, "line", line_text("berhenti", user=USER, reply_token="tok-stop"), "e-stop")
    assert pipeline.process_event(runtime, event_id).status == "processed"
    assert session.exec(select(ChannelConsent)).one().opted_out
    assert "promo" in fake_line.replied[-1][1]["text"]
    session.expire_all()
    assert not session.exec(select(Conversation)).one().bot_active  # still with staff


def test_a_silent_answers_effect_is_applied_once_when_the_event_is_processed_again(known_customer, runtime, session,
                                                                                   fake_line):
    from broadcasts.models import CampaignClick
    from tests.broadcasts.helpers import make_campaign

    campaign_id = make_campaign(runtime, message={"text": "Diskon!", "buttons": [
        {"label": "Lihat", "url": "https://example.com/menu"}]})  # a button with no answer: the bot stays silent
    fake_line.reset()
    event_id = store(runtime, "line", line_event("postback", USER, postback={"data": f"bc:{campaign_id}::0"}), "e-bc")
    pipeline.process_event(runtime, event_id)
    with session_scope(runtime.engine) as s:  # a duplicate task after a crash
        event = s.get(WebhookEvent, event_id)
        event.status = "received"
        s.add(event)
    pipeline.process_event(runtime, event_id)
    assert len(session.exec(select(CampaignClick)).all()) == 1
    assert not fake_line.calls("/v2/bot/message/reply")
