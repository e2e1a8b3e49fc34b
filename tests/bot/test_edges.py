"""Hostile input at the edges: JSON nested too deeply, NUL characters (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from crm.models import ChannelIdentity, Contact, Message, WebhookEvent
from tests.factories import Webhooks, line_signature, line_text, tg_text

DEEP = b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"  # RecursionError for Python's json


@pytest.fixture
def hooks(client) -> Webhooks:
    return Webhooks(client)


def _stored(session) -> list[WebhookEvent]:
    session.expire_all()
    return list(session.exec(select(WebhookEvent)).all())


def test_deep_json_to_the_line_webhook_is_refused_by_its_signature_before_it_is_parsed(hooks, session):
    response = hooks.line(body=DEEP, signature=line_signature(DEEP, "not-our-secret"))
    assert response.status_code == 400 and response.get_json()["error"] == "invalid signature"
    assert _stored(session) == []


def test_deep_json_to_the_line_webhook_with_a_good_signature_is_400_not_500(hooks, session):
    response = hooks.line(body=DEEP)
    assert response.status_code == 400 and "nested more than 200 levels" in response.get_json()["error"]
    assert _stored(session) == []


def test_deep_json_to_the_telegram_webhook_is_refused_by_its_secret_first_then_400(hooks, session):
    assert hooks.telegram(body=DEEP, secret="wrong").status_code == 403
    response = hooks.telegram(body=DEEP)
    assert response.status_code == 400 and "nested more than 200 levels" in response.get_json()["error"]
    assert _stored(session) == []


def test_json_nested_as_deep_as_allowed_is_still_accepted(hooks, session):
    event = dict(line_text("halo"), extra=json.loads("[" * 150 + "]" * 150))
    assert hooks.line(event).status_code == 200
    assert len(_stored(session)) == 1


def test_deep_json_to_the_simulator_and_the_api_is_400_with_a_clear_error(client, auth):
    for path, headers in (("/simulator/api/send", {}), ("/api/v1/segments/preview", auth)):
        response = client.post(path, data=DEEP, content_type="application/json", headers=headers)
        assert response.status_code == 400, path
        assert "nested more than 200 levels" in response.get_json()["error"], path


def test_nul_in_a_query_string_is_400(client, auth):
    for path in ("/api/v1/contacts?q=a%00b", "/api/v1/contacts?q%00=a", "/simulator/api/messages?user=ab%00c"):
        response = client.get(path, headers=auth)
        assert response.status_code == 400 and "NUL" in response.get_json()["error"], path


def test_nul_in_a_json_field_a_person_typed_is_400_and_nothing_stored(client, auth, session):
    rules = {"rules": {"field": "tag", "op": "eq", "value": "vip\u0000"}}
    response = client.post("/api/v1/segments/preview", json=rules, headers=auth)
    assert response.status_code == 400 and "NUL" in response.get_json()["error"]
    simulated = {"user": "nul-user", "kind": "text", "text": "halo\u0000"}
    assert client.post("/simulator/api/send", json=simulated).status_code == 400
    assert _stored(session) == []
    # An escaped backslash followed by "u0000" is no NUL: accepted.
    assert client.post("/simulator/api/send", json={**simulated, "text": "halo \\u0000"}).status_code == 200


def test_nul_in_a_form_field_is_400(client):
    response = client.post("/inbox/login", data={"email": "a\x00@example.com", "password": "x"})
    assert response.status_code == 400 and "NUL" in response.get_json()["error"]


def test_a_telegram_customer_with_nul_in_the_name_is_stored_without_it_and_answered(hooks, session, fake_telegram):
    for update_id, text in ((31, "halo"), (32, "mau pesan kopi\u0000")):
        update = tg_text(text, user_id=6_000_000_001, update_id=update_id, first_name="Bu\u0000di")
        assert hooks.telegram(update).status_code == 200
    session.expire_all()
    assert {e.status for e in _stored(session)} == {"processed"}
    assert session.exec(select(Contact)).one().display_name == "Budi"
    assert session.exec(select(ChannelIdentity)).one().display_name == "Budi"
    texts = [m.text for m in session.exec(select(Message).where(Message.direction == "in").order_by(Message.id))]
    assert texts == ["halo", "mau pesan kopi"]
    assert len(fake_telegram.calls("sendMessage")) == 2


def test_a_line_event_with_nul_in_its_fields_is_processed_without_them(hooks, session, fake_line):
    event = line_text("ha\u0000lo", user="Unul00000000000000000000000000000")
    event["message"]["emojis"] = [{"index": 0, "productId": "5ac\u00001bf", "emojiId": "001", "length": 2}]
    assert hooks.line(event).status_code == 200
    assert {e.status for e in _stored(session)} == {"processed"}
    assert session.exec(select(Message).where(Message.direction == "in")).one().text == "halo"


def test_a_simulated_action_sent_again_under_its_id_is_stored_once(client, session):
    action = {"user": "sim-retry", "kind": "text", "text": "halo", "event_id": "k1x2-abcdef12"}
    first, again = (client.post("/simulator/api/send", json=action).get_json() for _ in range(2))
    assert (first["stored"], again["stored"], again["duplicates"]) == (1, 0, 1)
    assert len(_stored(session)) == 1
    assert client.post("/simulator/api/send", json={**action, "event_id": "bad id!"}).status_code == 400
