"""Webhooks: verify, store exactly once, answer; bad input gets a clear 4xx."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlmodel import select

from crm.models import ChannelIdentity, Contact, Message, WebhookEvent
from tests.bot.locks import database_write_lock_held
from tests.factories import (
    Webhooks,
    line_all_events,
    line_event,
    line_signature,
    line_text,
    tg_text,
    tg_update,
)


@pytest.fixture
def hooks(client) -> Webhooks:
    return Webhooks(client)


def events(session) -> list[WebhookEvent]:
    session.expire_all()
    return list(session.exec(select(WebhookEvent)).all())


def test_line_verify_request_is_accepted(hooks, session):
    response = hooks.line()
    assert response.status_code == 200
    assert events(session) == []


def test_line_text_is_stored_answered_and_in_history(hooks, session, fake_line):
    response = hooks.line(line_text("halo kak", user="Uaaaa", reply_token="tok-1"))
    assert response.status_code == 200
    stored = events(session)
    assert len(stored) == 1 and stored[0].status == "processed"
    replies = fake_line.calls("/v2/bot/message/reply")
    assert len(replies) == 1
    assert replies[0].json["replyToken"] == "tok-1"
    message = replies[0].json["messages"][0]
    assert message["type"] == "text" and len(message["quickReply"]["items"]) >= 4
    rows = session.exec(select(Message).order_by(Message.id)).all()
    assert [(r.direction, r.type, r.status) for r in rows] == [("in", "text", "received"), ("out", "text", "sent")]


def test_line_bad_or_missing_signature_is_400_and_nothing_stored(hooks, session):
    body = json.dumps({"events": [line_text("x")]}).encode()
    assert hooks.line(body=body, signature="AAAA").status_code == 400
    assert hooks.line(body=body, signature="").status_code == 400
    assert hooks.line(body=body, signature=line_signature(body, "other-secret")).status_code == 400
    assert events(session) == []


def test_line_redelivered_and_duplicated_events_are_stored_and_answered_once(hooks, session, fake_line):
    event = line_text("mau pesan", event_id="01HXDUPLICATE00000000000001")
    assert hooks.line(event, event).status_code == 200
    redelivery = dict(event, deliveryContext={"isRedelivery": True})
    assert hooks.line(redelivery).status_code == 200
    assert len(events(session)) == 1
    assert len(fake_line.calls("/v2/bot/message/reply")) == 1
    assert len(session.exec(select(Message).where(Message.direction == "in")).all()) == 1


def test_every_fixture_event_is_stored_with_raw_json(hooks, session):
    fixture_events = line_all_events()
    assert hooks.line(*fixture_events).status_code == 200
    stored = events(session)
    assert len(stored) == len(fixture_events)
    assert {e.event_type for e in stored} >= {"message", "follow", "unfollow", "join", "leave", "postback",
                                               "memberJoined", "memberLeft", "unsend", "messageEdited", "undefined"}
    undefined = next(e for e in stored if e.event_type == "undefined")
    assert json.loads(undefined.payload)["undefinedField"] == {"1": 1}
    assert all(e.status in ("processed", "ignored") for e in stored), [(e.event_type, e.status, e.error) for e in stored]


def test_telegram_text_is_stored_and_answered_with_inline_keyboard(hooks, session, fake_telegram):
    update = tg_text("halo", user_id=5_000_000_001)
    assert hooks.telegram(update).status_code == 200
    sent = fake_telegram.calls("sendMessage")
    assert len(sent) == 1
    assert sent[0].json["chat_id"] in (5_000_000_001, "5000000001")
    assert sent[0].json["reply_markup"]["inline_keyboard"]
    identity = session.exec(select(ChannelIdentity)).one()
    assert identity.external_id == "5000000001"


def test_telegram_wrong_or_missing_secret_is_403_and_nothing_stored(hooks, session):
    update = tg_text("halo")
    assert hooks.telegram(update, secret="wrong").status_code == 403
    assert hooks.telegram(update, secret=None).status_code == 403
    assert events(session) == []


def test_telegram_duplicate_update_is_answered_once(hooks, session, fake_telegram):
    update = tg_text("halo", update_id=777)
    assert hooks.telegram(update).status_code == 200
    assert hooks.telegram(update).status_code == 200
    assert len(events(session)) == 1
    assert len(fake_telegram.calls("sendMessage")) == 1


@pytest.mark.parametrize("body,content_type,status", [
    (b"{not json", "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b'{"events": "nope"}', "application/json", 400),
    (b'{"events": [1, 2]}', "application/json", 400),
    (b"[]", "application/json", 400),
    (b'{"events": []}', "text/plain", 415),
])
def test_line_malformed_bodies_get_4xx(hooks, session, body, content_type, status):
    response = hooks.line(body=body, content_type=content_type)
    assert response.status_code == status
    assert "error" in response.get_json()
    assert events(session) == []


@pytest.mark.parametrize("body,status", [
    (b"{", 400), (b"[]", 400), (b'{"update_id": "1"}', 400), (b'{"update_id": 1.5}', 400),
    (b'{"update_id": 5, "message": {"chat": 3}}', 400),
])
def test_telegram_malformed_bodies_get_4xx(hooks, session, body, status):
    assert hooks.telegram(body=body).status_code == status
    assert events(session) == []


def test_body_over_the_limit_is_413(hooks, session, app):
    limit = app.config["SAPA"].webhooks.max_body_bytes
    big = line_text("x" * (limit + 10))
    assert hooks.line(big).status_code == 413
    assert hooks.telegram(tg_text("y" * (limit + 10))).status_code == 413
    assert events(session) == []


def test_database_down_gives_503_so_the_platform_redelivers(hooks, app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import bot.webhooks as webhooks

    def broken(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("database is down"))

    monkeypatch.setattr(webhooks, "store_events", broken)
    assert hooks.line(line_text("halo")).status_code == 503
    assert hooks.telegram(tg_text("halo")).status_code == 503


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_healthz_503_when_database_unreachable(tmp_path, fake_line, fake_telegram):
    from bot.app import create_app
    from tests.conftest import make_settings

    settings = make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = create_app(settings).test_client().get("/healthz")
    assert response.status_code == 503


def test_unfollow_marks_contact_blocked_and_follow_unblocks(hooks, session, fake_line):
    user = "Ubbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    hooks.line(line_event("follow", user, follow={"isUnblocked": False}))
    hooks.line(line_event("unfollow", user))
    session.expire_all()
    contact = session.exec(select(Contact)).one()
    assert contact.status == "blocked"
    hooks.line(line_event("follow", user, follow={"isUnblocked": True}))
    session.expire_all()
    assert session.get(Contact, contact.id).status == "active"
    # two welcomes (follow + unblock), nothing for unfollow
    assert len(fake_line.calls("/v2/bot/message/reply")) == 2


def test_telegram_kicked_and_member_block_and_unblock(hooks, session):
    hooks.telegram(tg_update("my_chat_member_kicked"))
    session.expire_all()
    assert session.exec(select(Contact)).one().status == "blocked"
    hooks.telegram(tg_update("my_chat_member_unblocked"))
    session.expire_all()
    assert session.exec(select(Contact)).one().status == "active"


def test_nul_characters_never_reach_the_database(hooks, session):
    bad_key = line_text("halo", event_id="abc\x00def")
    assert hooks.line(bad_key).status_code == 400
    assert events(session) == []
    assert hooks.line(line_text("ha\x00lo", user="Unul")).status_code == 200
    inbound = session.exec(select(Message).where(Message.direction == "in")).one()
    assert inbound.text == "halo"
    weird = {"update_id": 4242, "odd\x00field": {"x": 1}}
    assert hooks.telegram(weird).status_code == 200
    assert {e.event_type for e in events(session)} >= {"oddfield"}


@pytest.mark.parametrize("content_type,status", [
    ("application/json; charset=utf-8", 200), ("Application/JSON", 200), ("application/json ;charset=UTF-8", 200),
    ("application/jsonx", 415), ("text/json", 415), ("", 415),
])
def test_line_content_type_is_json_whatever_its_parameters(hooks, content_type, status):
    assert hooks.line(line_text("halo"), content_type=content_type).status_code == status


def test_an_event_with_an_integer_beyond_64_bits_is_stored_as_sent(hooks, session):
    event = dict(line_text("halo"), unknownField=2**70)  # LINE adds fields; JSON ints have no size limit
    assert hooks.line(event).status_code == 200
    assert json.loads(events(session)[0].payload)["unknownField"] == 2**70


def _post_all_at_once(app, *deliveries) -> list[tuple[int, float]]:
    """Each (method name, payload) posted from its own thread and client: (status, seconds) in order."""
    results: list[tuple[int, float] | None] = [None] * len(deliveries)
    start = threading.Barrier(len(deliveries))

    def post(n: int, method: str, payload: dict) -> None:
        hooks = Webhooks(app.test_client())
        start.wait()
        began = time.monotonic()
        status = getattr(hooks, method)(payload).status_code
        results[n] = (status, time.monotonic() - began)

    threads = [threading.Thread(target=post, args=(n, *delivery)) for n, delivery in enumerate(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_held_write_lock_gets_503_within_the_store_timeout_then_redeliveries_are_answered_once(
        app, session, database_url, fake_line, fake_telegram):
    app.config["SAPA"].webhooks.store_timeout_seconds = 1.0
    deliveries = [("line", line_text(f"pesan {n}", user=f"U{n:032d}", reply_token=f"tok-{n}")) for n in range(6)]
    deliveries += [("telegram", tg_text("halo", user_id=5_000_000_000 + n, update_id=9000 + n)) for n in range(2)]
    with database_write_lock_held(database_url):
        during = _post_all_at_once(app, *deliveries)
    assert [status for status, _ in during] == [503] * len(deliveries)
    assert max(seconds for _, seconds in during) < 1.0 + 1.0, during  # at once, not after SQLite's 10 s
    assert events(session) == []  # nothing half-stored by the refused webhooks

    after = _post_all_at_once(app, *deliveries, *deliveries)  # redelivered, and twice at the same time
    assert [status for status, _ in after] == [200] * len(deliveries) * 2
    stored = events(session)
    assert len(stored) == len(deliveries) and {e.status for e in stored} == {"processed"}
    assert sorted(call.json["replyToken"] for call in fake_line.calls("/v2/bot/message/reply")) == \
        sorted(f"tok-{n}" for n in range(6))
    assert len(fake_telegram.calls("sendMessage")) == 2
