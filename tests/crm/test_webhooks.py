"""Signed outbound webhooks: a local receiver gets signed events after the change commits, retries, replays; the API."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from sqlmodel import select

from bot import events
from core.db import session_scope, utcnow
from crm import webhooks
from crm.inbox.data import wake_snoozed
from crm.complaints import open_complaint
from crm.models import Contact, Conversation
from crm.orders import CartLine, Order, Product, change_status, place_order
from crm.tokens import create_token
from tests.broadcasts.helpers import make_campaign, run_to_end, seed
from tests.factories import Webhooks, line_text
from tests.fakes.webhook_receiver import receiver  # noqa: F401 - the fixture
from tests.openapi import check

LINE_USER = "U4444444444444444444444444444444d"


def register(client, auth, url: str, events: list[str]) -> dict:
    response = client.post("/api/v1/webhooks", json={"url": url, "events": events}, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def shop(runtime):
    """A contact with a coffee on the menu: (contact id, product id)."""
    with session_scope(runtime.engine) as session:
        contact, coffee = Contact(display_name="Budi"), Product(sku="KOPI", name="Kopi", price=20_000)
        session.add_all([contact, coffee])
        session.flush()
        return contact.id, coffee.id


def new_order(runtime, shop) -> int:
    with session_scope(runtime.engine) as session:
        return place_order(session=session, contact_id=shop[0], lines=[CartLine(shop[1], 2)], fulfilment="pickup").id


def test_order_status_change_is_signed_retried_with_the_same_id(client, auth, spec, runtime, shop, receiver):
    hook = check(spec, "/webhooks", "post", client.post("/api/v1/webhooks", json={
        "url": receiver.url, "events": ["order.status_changed"]}, headers=auth))
    assert hook["secret"].startswith("whsec_") and hook["events"] == ["order.status_changed"]
    order_id = new_order(runtime, shop)
    assert receiver.received == []  # order.created was not chosen
    receiver.answers = [500]
    assert client.patch(f"/api/v1/orders/{order_id}", json={"status": "confirmed"}, headers=auth).status_code == 200

    first = receiver.events(hook["secret"])
    assert len(first) == 1 and first[0]["type"] == "order.status_changed"
    shown = client.get(f"/api/v1/orders/{order_id}", headers=auth).get_json()
    assert first[0]["data"] == {**shown, "previous_status": "new"}
    assert first[0]["id"].startswith("evt_") and first[0]["created_at"].endswith("Z")
    with session_scope(runtime.engine) as session:
        row = session.exec(select(webhooks.WebhookDelivery)).one()
        assert (row.status, row.status_code, row.attempts) == ("queued", 500, 1)
        assert row.next_attempt_at - utcnow() <= timedelta(seconds=60)  # the first retry within a minute

    # The clock's sweep finds it due and sends it again: the same event, the same bytes.
    assert webhooks.due(runtime, utcnow()) == []
    due = webhooks.due(runtime, utcnow() + timedelta(seconds=61))
    assert due == [f"webhook:{row.id}"]
    assert webhooks.deliver(runtime, webhooks.delivery_id(due[0])) == "sent"
    assert [event["id"] for event in receiver.events(hook["secret"])] == [first[0]["id"]] * 2
    assert receiver.received[0][1] == receiver.received[1][1]
    detail = check(spec, "/webhooks/{id}", "get", client.get(f"/api/v1/webhooks/{hook['id']}", headers=auth))
    assert [(d["status"], d["status_code"], d["attempts"]) for d in detail["deliveries"]] == [("sent", 200, 2)]
    assert webhooks.deliver(runtime, row.id) is None  # a sent row is never sent again


def test_a_rolled_back_change_writes_no_event_and_sends_nothing(client, auth, runtime, shop, receiver):
    hook = register(client, auth, receiver.url, ["order.created", "order.status_changed"])
    order_id = new_order(runtime, shop)
    with pytest.raises(RuntimeError):
        with session_scope(runtime.engine) as session:
            change_status(session=session, order=session.get(Order, order_id), status="confirmed", by="test")
            raise RuntimeError("the request failed after the status was changed")
    with session_scope(runtime.engine) as session:
        assert [row.type for row in session.exec(select(webhooks.WebhookDelivery))] == ["order.created"]
        assert session.get(Order, order_id).status == "new"
    events = receiver.events(hook["secret"])
    assert [e["type"] for e in events] == ["order.created"] and events[0]["data"]["id"] == order_id


def test_failed_after_a_day_then_replayed_with_the_same_id(client, auth, runtime, shop, receiver):
    hook = register(client, auth, receiver.url, ["order.created"])
    receiver.answers = [503]
    new_order(runtime, shop)
    with session_scope(runtime.engine) as session:
        row = session.exec(select(webhooks.WebhookDelivery)).one()
    receiver.answers = [503]
    assert webhooks.deliver(runtime, row.id, now=utcnow() + timedelta(hours=24)) == "failed"
    assert webhooks.due(runtime, utcnow() + timedelta(days=2)) == []
    receiver.answers = []
    with session_scope(runtime.engine) as session:
        assert webhooks.replay(session=session, delivery=session.get(webhooks.WebhookDelivery, row.id))
    ids = {event["id"] for event in receiver.events(hook["secret"])}
    assert len(receiver.received) == 3 and len(ids) == 1
    with session_scope(runtime.engine) as session:
        assert session.get(webhooks.WebhookDelivery, row.id).status == "sent"
        assert not webhooks.replay(session=session, delivery=session.get(webhooks.WebhookDelivery, row.id))


def test_a_connection_error_is_retried(client, auth, runtime, shop, receiver):
    register(client, auth, receiver.url, ["order.created"])
    receiver.close()  # nobody listens any more
    new_order(runtime, shop)
    with session_scope(runtime.engine) as session:
        row = session.exec(select(webhooks.WebhookDelivery)).one()
    assert row.status == "queued" and row.status_code is None and "Connect" in row.error


def test_messages_conversation_status_complaints_and_contacts_are_told(client, auth, runtime, receiver):
    hook = register(client, auth, receiver.url, ["message.created", "conversation.status_changed",
                                                 "complaint.created", "contact.updated"])
    Webhooks(client).line(line_text("halo kak", user=LINE_USER))
    events = receiver.events(hook["secret"])
    # The LINE profile, read after the first message, names the new contact: an update too.
    assert [(e["type"], e["data"].get("direction")) for e in events] == [
        ("message.created", "in"), ("contact.updated", None), ("message.created", "out")]
    assert events[0]["data"]["text"] == "halo kak" and events[0]["data"]["contact_id"]
    assert events[1]["data"]["display_name"] == "User 444d" and events[2]["data"]["sender"] == "bot"
    contact_id = events[0]["data"]["contact_id"]
    receiver.received.clear()

    assert client.patch(f"/api/v1/contacts/{contact_id}", json={"tags": ["vip"]}, headers=auth).status_code == 200
    with session_scope(runtime.engine) as session:
        conversation = session.exec(select(Conversation)).one()
        conversation.status = "resolved"
        session.add(conversation)
        open_complaint(session=session, contact_id=contact_id, text="kopinya tumpah", negative_score=0.9)
    events = receiver.events(hook["secret"])
    assert [e["type"] for e in events] == ["contact.updated", "conversation.status_changed", "complaint.created"]
    assert events[0]["data"]["tags"] == ["vip"] and events[0]["data"]["identities"][0]["external_id"] == LINE_USER
    assert (events[1]["data"]["status"], events[1]["data"]["previous_status"]) == ("resolved", "open")
    assert events[2]["data"]["number"].startswith("C") and events[2]["data"]["severity"] == "high"


def test_only_chosen_events_and_active_endpoints_get_rows(runtime, shop):
    with session_scope(runtime.engine) as session:
        chosen = webhooks.create_endpoint(session=session, url="http://127.0.0.1:9/a", events=["order.created"],
                                          created_by="test", production=False)
        webhooks.create_endpoint(session=session, url="http://127.0.0.1:9/b", events=["contact.updated"],
                                 created_by="test", production=False)
        off = webhooks.create_endpoint(session=session, url="http://127.0.0.1:9/c", events=["order.created"],
                                       created_by="test", production=False)
        off.active = False
        ids = (chosen.id,)
    with session_scope(runtime.engine) as session:
        assert webhooks.emit(session, "order.created", lambda: {"id": 1}) is not None
        assert webhooks.emit(session, "campaign.finished", lambda: pytest.fail("nobody listens")) is None
        with pytest.raises(ValueError):
            webhooks.emit(session, "order.eaten", {})
        rows = session.exec(select(webhooks.WebhookDelivery)).all()
        assert tuple(row.endpoint_id for row in rows) == ids


def test_signature_is_hmac_sha256_of_timestamp_dot_body():
    digest = hmac.new(b"whsec_x", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert webhooks.signature("whsec_x", 1700000000, b"{}") == f"t=1700000000,v1={digest}"


@pytest.mark.parametrize(("url", "production", "code"), [
    ("http://shop.example.com/hook", True, "url_https"),
    ("https://127.0.0.1/hook", True, "url_public"),
    ("https://localhost:8443/hook", True, "url_public"),
    ("https://10.1.2.3/hook", True, "url_public"),
    ("https://printer.local/hook", True, "url_public"),
    ("ftp://shop.example.com/", False, "url_invalid"),
    ("https://user:pw@shop.example.com/", False, "url_invalid"),
    ("http://", False, "url_invalid"),
])
def test_url_rules(url, production, code):
    with pytest.raises(webhooks.WebhookError) as refused:
        webhooks.check_url(url, production=production)
    assert refused.value.code == code


def test_url_rules_allow():
    assert webhooks.check_url(" https://hooks.example.com/sapa ", production=True) == "https://hooks.example.com/sapa"
    assert webhooks.check_url("http://127.0.0.1:8000/x", production=False) == "http://127.0.0.1:8000/x"


def test_api_list_get_delete_and_refusals(client, auth, spec, runtime):
    created = register(client, auth, "http://127.0.0.1:9/hook", ["order.created", "message.created"])
    assert created["events"] == ["message.created", "order.created"]  # the known order
    listed = check(spec, "/webhooks", "get", client.get("/api/v1/webhooks", headers=auth))["items"]
    assert [item["id"] for item in listed] == [created["id"]] and "secret" not in listed[0]
    one = check(spec, "/webhooks/{id}", "get", client.get(f"/api/v1/webhooks/{created['id']}", headers=auth))
    assert "secret" not in one and one["deliveries"] == []
    for body in ({"url": "http://127.0.0.1:9/", "events": ["order.eaten"]},
                 {"url": "http://127.0.0.1:9/", "events": []},
                 {"url": "ftp://x/", "events": ["order.created"]},
                 {"url": "http://127.0.0.1:9/"}):
        response = client.post("/api/v1/webhooks", json=body, headers=auth)
        assert response.status_code == 422 and check(spec, "/webhooks", "post", response)["details"]
    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=auth).status_code == 204
    assert client.get(f"/api/v1/webhooks/{created['id']}", headers=auth).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{created['id']}", headers=auth).status_code == 404


def test_api_production_wants_https_and_a_public_host(client, auth, runtime, monkeypatch):
    monkeypatch.setattr(runtime.settings, "env", "production")
    response = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["order.created"]},
                           headers=auth)
    assert response.status_code == 422 and "https" in response.get_json()["error"]
    response = client.post("/api/v1/webhooks", json={"url": "https://192.168.1.5/", "events": ["order.created"]},
                           headers=auth)
    assert response.status_code == 422 and "public" in response.get_json()["error"]


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_api_needs_an_admin_token(client, runtime, role):
    with session_scope(runtime.engine) as session:
        token = create_token(session=session, name=role, role=role)
    limited = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/webhooks", headers=limited).status_code == 403
    assert client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/", "events": ["order.created"]},
                       headers=limited).status_code == 403
    with session_scope(runtime.engine) as session:
        admin = create_token(session=session, name="boss", role="admin")
    assert client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {admin}"}).status_code == 200


def test_deleted_endpoint_gets_nothing_more(client, auth, runtime, shop, receiver):
    hook = register(client, auth, receiver.url, ["order.created"])
    receiver.answers = [500]
    new_order(runtime, shop)
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=auth).status_code == 204
    assert webhooks.due(runtime, utcnow() + timedelta(hours=2)) == []
    with session_scope(runtime.engine) as session:
        assert session.exec(select(webhooks.WebhookDelivery)).all() == []


def test_a_finished_campaign_is_told_once_with_its_stats(client, auth, runtime, fake_line, receiver):
    hook = register(client, auth, receiver.url, ["campaign.finished"])
    seed(runtime.engine, line=3)
    campaign_id = make_campaign(runtime)
    run_to_end(runtime, campaign_id)
    run_to_end(runtime, campaign_id)  # nothing left: no second event
    [event] = receiver.events(hook["secret"])
    assert event["type"] == "campaign.finished" and event["data"]["id"] == campaign_id
    assert event["data"]["status"] == "done"
    assert (event["data"]["stats"]["targeted"], event["data"]["stats"]["sent"]) == (3, 3)


def test_a_snoozed_chat_that_wakes_is_a_status_change(client, auth, runtime, receiver):
    Webhooks(client).line(line_text("halo kak", user=LINE_USER))
    hook = register(client, auth, receiver.url, ["conversation.status_changed"])
    with session_scope(runtime.engine) as session:
        conversation = session.exec(select(Conversation)).one()
        conversation.status, conversation.snoozed_until = "snoozed", utcnow() - timedelta(minutes=1)
        session.add(conversation)
    with session_scope(runtime.engine) as session:
        assert wake_snoozed(session=session) == 1
    events = receiver.events(hook["secret"])
    assert [(e["data"]["previous_status"], e["data"]["status"]) for e in events] == [("open", "snoozed"), ("snoozed", "open")]


def test_the_clock_sweep_queues_what_is_due(client, auth, runtime, shop, receiver):
    register(client, auth, receiver.url, ["order.created"])
    receiver.answers = [500]
    new_order(runtime, shop)
    with session_scope(runtime.engine) as session:
        row = session.exec(select(webhooks.WebhookDelivery)).one()
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        session.add(row)
    queued = []
    assert events.requeue_stale(runtime, lambda ids: None, queued.append) == 1
    assert queued == [f"webhook:{row.id}"]


def test_production_refuses_to_post_to_a_name_that_points_inside(runtime, shop, monkeypatch):
    with session_scope(runtime.engine) as session:
        webhooks.create_endpoint(session=session, url="https://hooks.example.com/x", events=["order.created"],
                                 created_by="test", production=True)
    monkeypatch.setattr(runtime.settings, "env", "production")
    monkeypatch.setattr(webhooks.socket, "getaddrinfo", lambda host, *a, **k: [(2, 1, 6, "", ("10.0.0.7", 0))])
    monkeypatch.setattr(webhooks, "post", lambda *args: pytest.fail("posted to a private address"))
    new_order(runtime, shop)
    with session_scope(runtime.engine) as session:
        row = session.exec(select(webhooks.WebhookDelivery)).one()
    assert row.status == "failed" and "private address" in row.error


def test_points_earned_on_delivery_and_a_merge_are_told_with_the_balance_they_left(client, auth, runtime, shop,
                                                                                   receiver):
    from crm import merge

    hook = register(client, auth, receiver.url, ["points.changed", "contact.merged"])
    order_id = new_order(runtime, shop)  # Rp40.000: 40 points at the default rate
    for status in ("confirmed", "preparing", "shipped", "delivered"):
        assert client.patch(f"/api/v1/orders/{order_id}", json={"status": status}, headers=auth).status_code == 200
    [other] = seed(runtime.engine, telegram=1)
    with session_scope(runtime.engine) as session:
        merge_id = merge.merge(session=session, survivor_id=shop[0], merged_id=other).id
    events = receiver.events(hook["secret"])
    assert [e["type"] for e in events] == ["points.changed", "contact.merged"]
    assert events[0]["data"] == {"contact_id": shop[0], "balance": 40, "delta": 40, "kind": "earn",
                                 "order_id": order_id}
    assert events[1]["data"] == {"survivor_id": shop[0], "merged_id": other, "merge_id": merge_id}
