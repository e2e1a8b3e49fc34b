"""REST API v1: tokens, contacts, history, conversations; responses match the OpenAPI document."""

from __future__ import annotations

import pytest

from tests.factories import Webhooks, line_text, tg_text
from tests.openapi import check

LINE_USER = "U3333333333333333333333333333333c"


@pytest.fixture
def two_contacts(client):
    hooks = Webhooks(client)
    hooks.line(line_text("kak mau pesan kopi", user=LINE_USER))
    hooks.telegram(tg_text("halo min", user_id=8_000_000_000_001, first_name="Bambang"))


def test_requests_without_or_with_a_bad_token_are_401(client):
    assert client.get("/api/v1/contacts").status_code == 401
    assert client.get("/api/v1/contacts", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/contacts", headers={"Authorization": "Basic abc"}).status_code == 401


def test_tokens_are_stored_hashed(api_token, session):
    from sqlmodel import select

    from crm.models import ApiToken

    row = session.exec(select(ApiToken)).one()
    assert api_token not in row.token_hash and len(row.token_hash) == 64


def test_contacts_list_search_and_detail(client, auth, spec, two_contacts):
    body = check(spec, "/contacts", "get", client.get("/api/v1/contacts", headers=auth))
    assert len(body["items"]) == 2
    telegram = check(spec, "/contacts", "get", client.get("/api/v1/contacts?channel=telegram", headers=auth))["items"]
    assert [i["identities"][0]["external_id"] for i in telegram] == ["8000000000001"]
    assert telegram[0]["display_name"] == "Bambang" and telegram[0]["status"] == "active"
    found = client.get("/api/v1/contacts?q=bamb", headers=auth).get_json()["items"]
    assert [c["display_name"] for c in found] == ["Bambang"]
    one = check(spec, "/contacts/{contact_id}", "get", client.get(f"/api/v1/contacts/{found[0]['id']}", headers=auth))
    assert set(one) >= {"id", "display_name", "identities", "tags", "status", "created_at", "last_seen_at"}
    assert one["created_at"].endswith("Z")


def test_contact_messages_oldest_first_both_directions(client, auth, spec, two_contacts):
    contact = client.get("/api/v1/contacts?channel=line", headers=auth).get_json()["items"][0]
    body = check(spec, "/contacts/{contact_id}/messages", "get",
                 client.get(f"/api/v1/contacts/{contact['id']}/messages", headers=auth))
    items = body["items"]
    assert [(i["direction"], i["channel"]) for i in items] == [("in", "line"), ("out", "line")]
    assert items[0]["text"] == "kak mau pesan kopi" and items[1]["status"] == "sent"
    assert set(items[0]) >= {"id", "channel", "direction", "type", "text", "intent", "status", "created_at"}
    assert "reply_token" not in items[1]["payload"]


def test_patch_contact_tags_and_bad_input(client, auth, spec, two_contacts):
    contact = client.get("/api/v1/contacts", headers=auth).get_json()["items"][0]
    url = f"/api/v1/contacts/{contact['id']}"
    ok = client.patch(url, json={"tags": ["vip", "vip", "kopi"]}, headers=auth)
    assert check(spec, "/contacts/{contact_id}", "patch", ok)["tags"] == ["kopi", "vip"]
    bad_field = client.patch(url, json={"status": "blocked"}, headers=auth)
    assert bad_field.status_code == 422 and bad_field.get_json()["details"][0]["field"] == "status"
    assert client.patch(url, json={"tags": "vip"}, headers=auth).status_code == 422
    assert client.patch(url, data="nope", headers=auth, content_type="text/plain").status_code == 415
    assert client.patch(url, data="[1]", headers=auth, content_type="application/json").status_code == 400
    assert client.patch("/api/v1/contacts/999999", json={"tags": []}, headers=auth).status_code == 404
    assert client.get(url, headers=auth).get_json()["tags"] == ["kopi", "vip"]


def test_conversations_filter(client, auth, spec, two_contacts):
    body = check(spec, "/conversations", "get", client.get("/api/v1/conversations?status=open", headers=auth))
    assert len(body["items"]) == 2 and all(c["bot_active"] for c in body["items"])
    assert client.get("/api/v1/conversations?status=nope", headers=auth).status_code == 400
    contact_id = body["items"][0]["contact_id"]
    only = client.get(f"/api/v1/conversations?contact_id={contact_id}", headers=auth).get_json()["items"]
    assert [c["contact_id"] for c in only] == [contact_id]


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=100000", "channel=whatsapp"])
def test_bad_query_parameters_are_400(client, auth, query):
    response = client.get(f"/api/v1/contacts?{query}", headers=auth)
    assert response.status_code == 400 and "error" in response.get_json()


def test_unknown_api_path_is_json_404(client, auth):
    response = client.get("/api/v1/nothing", headers=auth)
    assert response.status_code == 404 and "error" in response.get_json()


def test_media_content_is_fetched_lazily_from_line(client, auth, fake_line, session):
    from sqlmodel import select

    from crm.models import Message
    from tests.factories import line_event

    fake_line.contents["55501"] = (b"\x89PNG-bytes", "image/png")
    Webhooks(client).line(line_event("message", LINE_USER, message={
        "id": "55501", "type": "image", "contentProvider": {"type": "line"}, "quoteToken": "q"}))
    assert fake_line.calls("/v2/bot/message/55501/content") == []  # not fetched at ingestion
    image = session.exec(select(Message).where(Message.type == "image")).one()
    response = client.get(f"/api/v1/messages/{image.id}/content", headers=auth)
    assert response.status_code == 200 and response.data == b"\x89PNG-bytes"
    assert response.mimetype == "image/png"
    text = session.exec(select(Message).where(Message.direction == "out")).first()
    assert client.get(f"/api/v1/messages/{text.id}/content", headers=auth).status_code == 404


def test_media_content_is_fetched_from_telegram(client, auth, fake_telegram, session):
    from sqlmodel import select

    from crm.models import Message
    from tests.factories import tg_update

    update = tg_update("photo_message")
    file_id = update["message"]["photo"][-1]["file_id"]
    fake_telegram.set_file(file_id, b"jpeg-bytes")
    Webhooks(client).telegram(update)
    photo = session.exec(select(Message).where(Message.type == "image")).one()
    response = client.get(f"/api/v1/messages/{photo.id}/content", headers=auth)
    assert response.status_code == 200 and response.data == b"jpeg-bytes"
