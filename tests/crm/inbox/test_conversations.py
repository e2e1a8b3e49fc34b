"""Conversation list, view, staff replies through the sender, notes and conversation actions."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.db import session_scope
from crm.alerts import StaffAlert
from crm.models import AuditLog, Conversation, Message, Note
from tests.factories import line_text, tg_text
from tests.crm.inbox.conftest import LINE_USER


def _conversation(session, conversation_id) -> Conversation:
    session.expire_all()
    return session.get(Conversation, conversation_id)


def test_a_customer_message_shows_in_the_list_unread_and_waiting(agent, line_chat, session):
    conversation_id, _ = line_chat
    conversation = _conversation(session, conversation_id)
    assert conversation.unread_count == 1
    page = agent.get("/inbox/").get_data(as_text=True)
    assert "Putri Customer" in page and 'class="badge">1<' in page
    agent.get(f"/inbox/c/{conversation_id}")
    assert _conversation(session, conversation_id).unread_count == 0  # opened = read for the team


def test_staff_reply_goes_through_the_line_sender_as_a_push_with_retry_key(agent, line_chat, session, fake_line, staff):
    conversation_id, _ = line_chat
    fake_line.reset()
    response = agent.post(f"/inbox/c/{conversation_id}/reply", {"text": "Halo {name}, ini {agent} 😊",
                                                                 "quick_replies": "Ya, Tidak"})
    assert response.status_code == 303
    pushes = fake_line.calls("/v2/bot/message/push")
    assert len(pushes) == 1 and pushes[0].json["to"] == LINE_USER
    assert len(pushes[0].headers.get("X-Line-Retry-Key", "")) == 36
    sent = pushes[0].json["messages"][0]
    assert sent["text"] == "Halo Putri Customer, ini Agent Test 😊"
    assert [item["action"]["label"] for item in sent["quickReply"]["items"]] == ["Ya", "Tidak"]
    assert not fake_line.calls("/v2/bot/message/reply")  # staff replies have no reply token
    row = session.exec(select(Message).where(Message.sender == "staff")).one()
    assert (row.staff_user_id, row.status, row.direction, row.batch_id.startswith("staff:")) == \
        (staff["agent"], "sent", "out", True)
    conversation = _conversation(session, conversation_id)
    assert conversation.bot_active is False and conversation.waiting_since is None
    assert conversation.first_response_at is not None
    page = agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    assert "Halo Putri Customer" in page and "terkirim" in page
    assert session.exec(select(AuditLog).where(AuditLog.action == "conversation.reply")).one().staff_user_id == staff["agent"]


def test_a_platform_error_is_shown_to_the_agent(agent, line_chat, session, fake_line):
    conversation_id, _ = line_chat
    fake_line.fail_next("/v2/bot/message/push", 400, {"message": "The request body has 1 error(s)"})
    agent.post(f"/inbox/c/{conversation_id}/reply", {"text": "hello"})
    row = session.exec(select(Message).where(Message.sender == "staff")).one()
    assert row.status == "failed" and row.error
    page = agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    assert "gagal" in page and "error-text" in page
    # A person's reply that did not arrive is an alert for the team, linked to the chat.
    alert = session.exec(select(StaffAlert).where(StaffAlert.kind == "send_failed")).one()
    assert (alert.conversation_id, alert.message_id, alert.status) == (conversation_id, row.id, "new")


def test_staff_reply_on_telegram(agent, webhooks, session, fake_telegram):
    assert webhooks.telegram(tg_text("halo", user_id=424242, first_name="Tono")).status_code == 200
    conversation = session.exec(select(Conversation).where(Conversation.channel == "telegram")).one()
    agent.post(f"/inbox/c/{conversation.id}/reply", {"text": "Halo {first_name}!"})
    sends = [c for c in fake_telegram.calls("sendMessage") if c.json.get("text") == "Halo Tono!"]
    assert len(sends) == 1 and str(sends[0].json["chat_id"]) == "424242"


def test_image_and_location_replies(agent, line_chat, fake_line):
    conversation_id, _ = line_chat
    fake_line.reset()
    agent.post(f"/inbox/c/{conversation_id}/reply", {"image_url": "https://shop.example/menu.png",
                                                      "loc_title": "Sapa Coffee Sudirman", "loc_lat": "-6.2",
                                                      "loc_lon": "106.8", "text": "Ini menu dan lokasi kami"})
    types = [m["type"] for m in fake_line.calls("/v2/bot/message/push")[0].json["messages"]]
    assert types == ["image", "location", "text"]


def test_bad_replies_are_refused_with_a_reason_and_nothing_is_sent(agent, line_chat, session, fake_line):
    conversation_id, _ = line_chat
    fake_line.reset()
    cases = [({"text": ""}, "Balasan kosong"), ({"text": "x" * 5001}, "Teks terlalu panjang"),
             ({"text": "hi", "image_url": "javascript:alert(1)"}, "https://"),
             ({"text": "hi", "quick_replies": ",".join(str(i) for i in range(14))}, "Maks. 13 tombol"),
             ({"text": "hi", "loc_title": "x", "loc_lat": "91", "loc_lon": "0"}, "Lokasi perlu")]
    for form, reason in cases:
        response = agent.post(f"/inbox/c/{conversation_id}/reply", form)
        assert response.status_code == 400, form
        assert reason in response.get_data(as_text=True), form
    assert session.exec(select(Message).where(Message.sender == "staff")).all() == []
    assert not fake_line.calls("/v2/bot/message/push")


def test_notes_are_private_and_audited(agent, line_chat, session, fake_line, staff):
    conversation_id, contact_id = line_chat
    fake_line.reset()
    agent.post(f"/inbox/c/{conversation_id}/note", {"text": "Suka kopi tanpa gula"})
    note = session.exec(select(Note)).one()
    assert (note.contact_id, note.staff_user_id) == (contact_id, staff["agent"])
    assert not fake_line.calls()  # a note is never sent
    assert "Suka kopi tanpa gula" in agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    assert agent.post(f"/inbox/c/{conversation_id}/note", {"text": "  "}).status_code == 400
    assert session.exec(select(AuditLog).where(AuditLog.action == "note.add")).one().target_id == contact_id


def test_assign_label_snooze_resolve_take_over_and_hand_back(agent, line_chat, session, staff):
    conversation_id, _ = line_chat
    base = f"/inbox/c/{conversation_id}"
    assert agent.post(f"{base}/assign", {"assignee_id": str(staff["admin"])}).status_code == 303
    assert _conversation(session, conversation_id).assignee_id == staff["admin"]
    assert agent.post(f"{base}/assign", {"assignee_id": str(staff["marketer"])}).status_code == 400
    agent.post(f"{base}/labels", {"labels": "vip, telat, vip"})
    assert _conversation(session, conversation_id).labels == ["telat", "vip"]
    assert agent.post(f"{base}/labels", {"labels": 'bad"label'}).status_code == 400
    agent.post(f"{base}/status", {"status": "snoozed", "hours": "2"})
    conversation = _conversation(session, conversation_id)
    assert conversation.status == "snoozed" and conversation.snoozed_until is not None
    agent.post(f"{base}/bot", {"active": "0"})
    assert _conversation(session, conversation_id).bot_active is False
    agent.post(f"{base}/status", {"status": "resolved"})
    conversation = _conversation(session, conversation_id)
    assert conversation.status == "resolved" and conversation.bot_active is True and conversation.resolved_at
    assert agent.post(f"{base}/status", {"status": "closed-ish"}).status_code == 400
    actions = [a.action for a in session.exec(select(AuditLog).where(AuditLog.target_id == conversation_id)).all()]
    assert {"conversation.assign", "conversation.labels", "conversation.status", "conversation.take_over"} <= set(actions)


def test_a_new_customer_message_reopens_a_resolved_conversation(agent, line_chat, webhooks, session):
    conversation_id, _ = line_chat
    agent.post(f"/inbox/c/{conversation_id}/status", {"status": "resolved"})
    webhooks.line(line_text("kak satu lagi", user=LINE_USER))
    conversation = _conversation(session, conversation_id)
    assert conversation.status == "open" and conversation.unread_count == 2 and conversation.resolved_at is None


def test_filters_counts_and_sorting_by_waiting_time(agent, webhooks, session, runtime, staff):
    for user, text in (("U" + "a" * 32, "pesan es kopi"), ("U" + "b" * 32, "promo apa"), ("U" + "c" * 32, "halo")):
        webhooks.line(line_text(text, user=user))
    rows = session.exec(select(Conversation).order_by(Conversation.id)).all()
    with session_scope(runtime.engine) as s:
        first, second, third = (s.get(Conversation, r.id) for r in rows)
        first.assignee_id, second.labels, third.status = staff["agent"], ["vip"], "pending"
        from datetime import timedelta

        from core.db import utcnow
        first.waiting_since = utcnow() - timedelta(hours=2)
        second.waiting_since = utcnow() - timedelta(hours=5)
    page = agent.get("/inbox/").get_data(as_text=True)
    assert page.index(f'data-id="{rows[1].id}"') < page.index(f'data-id="{rows[0].id}"')  # longest waiting first
    assert 'data-count="open">Terbuka <b>2</b>' in page and 'data-count="pending">Menunggu <b>1</b>' in page
    mine = agent.get("/inbox/?scope=mine").get_data(as_text=True)
    assert f'data-id="{rows[0].id}"' in mine and f'data-id="{rows[1].id}"' not in mine
    labelled = agent.get("/inbox/?label=vip").get_data(as_text=True)
    assert f'data-id="{rows[1].id}"' in labelled and f'data-id="{rows[0].id}"' not in labelled
    agent.post(f"/inbox/c/{rows[0].id}/labels", {"labels": "pelanggan_setia, kafé"})
    for label in ("kafé", "pelanggan_setia"):
        found = agent.get("/inbox/", query_string={"label": label}).get_data(as_text=True)
        assert f'data-id="{rows[0].id}"' in found and f'data-id="{rows[1].id}"' not in found, label
    assert f'data-id="{rows[0].id}"' not in agent.get("/inbox/?label=pelanggan%25").get_data(as_text=True)
    unassigned = agent.get("/inbox/?scope=unassigned&status=any").get_data(as_text=True)
    assert f'data-id="{rows[2].id}"' in unassigned and f'data-id="{rows[0].id}"' not in unassigned
    assert "line" in agent.get("/inbox/?channel=line").get_data(as_text=True)
    assert "conv-list" in agent.get("/inbox/?unread=1&intent=order").get_data(as_text=True)


def test_search_by_name_message_text_order_number_and_product(agent, webhooks, session, runtime):
    from crm import orders
    from crm.orders import Product

    webhooks.line(line_text("ada yang rasa pandan?", user="U" + "d" * 32))
    webhooks.line(line_text("halo", user="U" + "e" * 32))
    convs = session.exec(select(Conversation).order_by(Conversation.id)).all()
    with session_scope(runtime.engine) as s:
        product = Product(sku="T-1", name="Kue Lumpur", price=5000)
        s.add(product)
        s.flush()
        order = orders.place_order(session=s, contact_id=convs[1].contact_id, lines=[orders.CartLine(product.id, 2)],
                                   fulfilment="pickup")
        number = order.number
    def hits(q):
        page = agent.get("/inbox/", query_string={"q": q, "status": "any"}).get_data(as_text=True)
        return {c.id for c in convs if f'data-id="{c.id}"' in page}
    assert hits("pandan") == {convs[0].id}
    assert hits(f"#{number}") == {convs[1].id}
    assert hits("kue lumpur") == {convs[1].id}
    assert hits("tidak-ada-ini") == set()


def test_the_timeline_shows_every_kind_of_event(agent, webhooks, session, fake_line):
    from tests.factories import line_event

    user = "U" + "f" * 32
    webhooks.line(line_event("follow", user=user, follow={"isUnblocked": False}))
    webhooks.line(line_text("halo", user=user))
    webhooks.line(line_event("message", user=user, message={"id": "9001", "type": "sticker", "packageId": "1",
                                                            "stickerId": "2", "stickerResourceType": "STATIC",
                                                            "keywords": ["happy"], "quoteToken": "q-s"}))
    webhooks.line(line_event("message", user=user, message={"id": "9002", "type": "location", "title": "Kantor",
                                                            "address": "Jl. Sudirman", "latitude": -6.2,
                                                            "longitude": 106.8}))
    webhooks.line(line_event("message", user=user, message={"id": "9003", "type": "image",
                                                            "contentProvider": {"type": "line"}, "quoteToken": "q-i"}))
    webhooks.line(line_event("postback", user=user, postback={"data": "intent=promotion"}))
    webhooks.line(line_event("unfollow", user=user))
    conversation = session.exec(select(Conversation).where(Conversation.external_chat_id == user)).one()
    page = agent.get(f"/inbox/c/{conversation.id}").get_data(as_text=True)
    for expected in ("Pelanggan mengikuti akun", "Stiker", "Kantor", "-6.20000, 106.80000", "openstreetmap.org",
                     f"/inbox/media/", "Menekan tombol: <strong>🎁 Promo</strong>", "Pelanggan memblokir akun", "from-bot"):
        assert expected in page, expected
    assert "intent=promotion" not in page  # staff read the button, never its data
    image = session.exec(select(Message).where(Message.type == "image")).one()
    media = agent.get(f"/inbox/media/{image.id}")
    assert media.status_code == 200 and media.mimetype == "image/png"
    assert media.headers["X-Content-Type-Options"] == "nosniff"


def test_a_snooze_that_ran_out_reopens_the_conversation(agent, line_chat, session, runtime):
    from datetime import timedelta

    from core.db import utcnow

    conversation_id, _ = line_chat
    agent.post(f"/inbox/c/{conversation_id}/status", {"status": "snoozed", "hours": "1"})
    assert _conversation(session, conversation_id).status == "snoozed"
    with session_scope(runtime.engine) as s:
        s.get(Conversation, conversation_id).snoozed_until = utcnow() - timedelta(minutes=1)
    assert f'data-id="{conversation_id}"' in agent.get("/inbox/").get_data(as_text=True)
    assert _conversation(session, conversation_id).status == "open"


def test_a_temporary_platform_error_is_retried_with_the_same_retry_key(agent, line_chat, session, fake_line,
                                                                      runtime):
    from crm import outbound

    conversation_id, _ = line_chat
    fake_line.reset()
    fake_line.fail_next("/v2/bot/message/push", 500, {"message": "Internal server error"})
    response = agent.post(f"/inbox/c/{conversation_id}/reply", {"text": "coba lagi"})
    assert response.status_code == 303  # the agent is never shown a 500
    row = session.exec(select(Message).where(Message.sender == "staff")).one()
    assert row.status == "queued" and "500" in row.error  # waiting for the queue's retry, with the reason
    page = agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)
    assert "antre" in page and "error-text" in page
    outbound.deliver_batch(runtime, row.batch_id)  # what the queue's retry runs
    pushes = fake_line.calls("/v2/bot/message/push")
    assert len(pushes) == 2 and pushes[0].headers["X-Line-Retry-Key"] == pushes[1].headers["X-Line-Retry-Key"]
    session.expire_all()
    assert session.get(Message, row.id).status == "sent"


def test_the_clock_reopens_a_snooze_that_ran_out_without_anyone_looking(agent, line_chat, session, runtime):
    from datetime import timedelta

    from bot import clock
    from core.db import utcnow

    conversation_id, _ = line_chat
    agent.post(f"/inbox/c/{conversation_id}/status", {"status": "snoozed", "hours": "1"})
    assert clock.wake_snoozed() == 0  # not due yet
    with session_scope(runtime.engine) as s:
        s.get(Conversation, conversation_id).snoozed_until = utcnow() - timedelta(minutes=1)
    assert clock.wake_snoozed() == 1
    assert _conversation(session, conversation_id).status == "open"


def test_the_history_holds_the_customers_other_chats_and_keeps_the_newest(runtime):
    """A contact's LINE and Telegram chats and a message of theirs in a group: one history, the newest `limit`."""
    from crm.inbox import data
    from crm.models import Contact

    with session_scope(runtime.engine) as s:
        contact, stranger = Contact(display_name="Putri"), Contact(display_name="Other")
        s.add_all([contact, stranger])
        s.flush()
        kinds = (("line", "direct", contact), ("telegram", "direct", contact), ("telegram", "group", contact),
                 ("line", "direct", stranger))
        chats = [Conversation(channel=channel, external_chat_id=f"chat-{n}", kind=kind,
                              contact_id=None if kind == "group" else who.id)
                 for n, (channel, kind, who) in enumerate(kinds)]
        s.add_all(chats)
        s.flush()
        for n in range(8):  # interleaved: line, telegram, group (written by the contact), the stranger's
            chat = chats[n % 4]
            s.add(Message(conversation_id=chat.id, contact_id=contact.id if n % 4 < 3 else stranger.id,
                          channel=chat.channel, direction="in", type="text", text=f"m{n}"))
        s.flush()
        texts = [item.message.text for item in data.timeline(session=s, conversation=chats[0], with_notes=False)]
        assert texts == ["m0", "m1", "m2", "m4", "m5", "m6"]
        newest = data.timeline(session=s, conversation=chats[1], with_notes=False, limit=4)
        assert [item.message.text for item in newest] == ["m2", "m4", "m5", "m6"]
        first_id = newest[0].message.id
        later = data.timeline(session=s, conversation=chats[1], with_notes=False, after_id=first_id)
        assert [item.message.text for item in later] == ["m4", "m5", "m6"]


def test_the_tab_counts_are_what_each_tab_would_list(runtime, staff):
    """Every status and scope tab and the unread count, under every mix of filters, equal a count of the rows."""
    import itertools

    from crm.inbox import data
    from crm.models import StaffUser

    mixes = list(itertools.product(data.STATUSES, (staff["agent"], staff["admin"], None), (0, 2), ([], ["vip"])))
    with session_scope(runtime.engine) as s:
        s.add_all([Conversation(channel="line" if n % 2 else "telegram", external_chat_id=f"tab-{n}", status=status,
                                assignee_id=assignee, unread_count=unread, labels=labels)
                   for n, (status, assignee, unread, labels) in enumerate(mixes)])
    with session_scope(runtime.engine) as s:
        agent = s.get(StaffUser, staff["agent"])
        rows = s.exec(select(Conversation)).all()
        for status, scope, unread, label, channel in itertools.product(
                (*data.STATUSES, "any"), ("all", "mine", "unassigned"), (False, True), ("", "vip"), ("", "line")):
            filters = data.Filters(status=status, scope=scope, unread=unread, label=label, channel=channel)

            def shown(row, status=status, scope=scope, unread=unread):
                return (status in ("any", row.status) and (row.unread_count > 0 or not unread)
                        and (scope == "all" or row.assignee_id == (agent.id if scope == "mine" else None)))
            kept = [r for r in rows if (not label or label in r.labels) and (not channel or r.channel == channel)]
            expected = {tab: sum(shown(r, status=tab) for r in kept) for tab in data.STATUSES}
            expected["any"] = sum(expected[tab] for tab in data.STATUSES)
            expected.update({tab: sum(shown(r, scope=tab) for r in kept) for tab in ("all", "mine", "unassigned")})
            expected["unread"] = sum(shown(r, unread=True) for r in kept)
            assert data.filter_counts(session=s, staff=agent, filters=filters) == expected, filters


@pytest.mark.postgres
def test_postgresql_knows_how_many_chats_a_label_keeps(postgres_schema):
    """After ANALYZE the planner's estimate for a label filter is near the truth (migration 0038's statistics),
    so a common label walks the list's index and stops at a page instead of sorting every chat."""
    from sqlalchemy import text

    from core.db import get_engine

    engine = get_engine(postgres_schema)
    with engine.begin() as connection:
        connection.execute(text('TRUNCATE conversation RESTART IDENTITY CASCADE'))
        connection.execute(text("""INSERT INTO conversation (channel, external_chat_id, kind, status, labels, bot_active,
                                       bot_member, state, created_at, unread_count)
                                   SELECT 'line', 'stat-' || n, 'user', 'open',
                                          CAST(CASE WHEN n % 5 < 2 THEN '["vip"]' ELSE '[]' END AS json),
                                          true, false, CAST('{}' AS json), now(), 0
                                   FROM generate_series(1, 5000) AS n"""))
        connection.execute(text("ANALYZE conversation"))
        plan = connection.execute(text("""EXPLAIN (FORMAT JSON) SELECT id FROM conversation
                                          WHERE CAST(labels AS TEXT) LIKE '%"vip"%'""")).scalar_one()
        connection.execute(text('TRUNCATE conversation RESTART IDENTITY CASCADE'))
    assert 1000 <= plan[0]["Plan"]["Plan Rows"] <= 3000  # 2000 are vip; without the statistics it guessed 8
