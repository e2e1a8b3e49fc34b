"""The webhooks page: admins add (secret once), test-send, replay and delete; bad input keeps the form; others get 403."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from core.db import session_scope
from crm import webhooks
from crm.models import AuditLog
from tests.fakes.webhook_receiver import receiver  # noqa: F401 - the fixture


def _endpoint(session) -> webhooks.WebhookEndpoint:
    session.expire_all()
    return session.exec(select(webhooks.WebhookEndpoint)).one()


def test_admin_adds_an_endpoint_sees_the_secret_once_and_test_sends(as_role, session, receiver):
    admin = as_role("admin")
    page = admin.post("/inbox/webhooks", data={"url": receiver.url, "events": ["order.created", "contact.updated"]})
    assert page.status_code == 201
    endpoint = _endpoint(session)
    html = page.get_data(as_text=True)
    assert endpoint.secret in html and endpoint.events == ["order.created", "contact.updated"]
    assert endpoint.created_by == f"staff:{admin.user_id}"
    listed = admin.get("/inbox/webhooks").get_data(as_text=True)
    assert receiver.url in listed and endpoint.secret not in listed  # shown once

    sent = admin.post(f"/inbox/webhooks/{endpoint.id}/test")
    assert sent.status_code == 303
    [event] = receiver.events(endpoint.secret)
    assert event["type"] == "webhook.test" and event["data"]["endpoint_id"] == endpoint.id
    listed = admin.get("/inbox/webhooks").get_data(as_text=True)
    assert re.search(r'class="delivery-status">terkirim', listed) and event["id"] in listed
    actions = [row.action for row in session.exec(select(AuditLog).order_by(AuditLog.id))]
    assert actions[-2:] == ["webhook.add", "webhook.test"]


@pytest.mark.parametrize(("form", "words"), [
    ({"url": "ftp://example.com/x", "events": ["order.created"]}, "URL harus berupa alamat http(s) lengkap"),
    ({"url": "http://127.0.0.1:9/x"}, "Pilih minimal satu kejadian"),
    ({"url": "http://127.0.0.1:9/x", "events": ["order.eaten"]}, "Ada kejadian yang tidak dikenal"),
])
def test_bad_input_keeps_the_form_and_says_why(as_role, session, form, words):
    page = as_role("admin").post("/inbox/webhooks", data=form)
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and words in html
    assert f'value="{form["url"]}"' in html
    assert session.exec(select(webhooks.WebhookEndpoint)).all() == []


def test_production_refuses_a_local_url_in_english_for_an_english_admin(as_role, session, app, monkeypatch):
    monkeypatch.setattr(app.config["SAPA"], "env", "production")
    admin = as_role("admin")
    assert admin.post("/inbox/language", data={"lang": "en"}).status_code in (302, 303)
    page = admin.post("/inbox/webhooks", data={"url": "https://192.168.1.9/hook", "events": ["order.created"]})
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "must point at a public server" in html
    assert re.search(r'value="order.created"\s+checked', html)


def test_replay_of_a_failed_delivery_and_delete(as_role, session, runtime, receiver):
    admin = as_role("admin")
    admin.post("/inbox/webhooks", data={"url": receiver.url, "events": ["order.created"]})
    endpoint = _endpoint(session)
    receiver.answers = [500]
    admin.post(f"/inbox/webhooks/{endpoint.id}/test")
    with session_scope(runtime.engine) as s:
        row = s.exec(select(webhooks.WebhookDelivery)).one()
        assert admin.post(f"/inbox/webhooks/deliveries/{row.id}/replay").status_code == 303  # not failed yet: refused
        row.status = "failed"
        s.add(row)
    assert "Kirim ulang" in admin.get("/inbox/webhooks").get_data(as_text=True)
    assert admin.post(f"/inbox/webhooks/deliveries/{row.id}/replay").status_code == 303
    ids = [event["id"] for event in receiver.events(endpoint.secret)]
    assert len(ids) == 2 and ids[0] == ids[1]
    session.expire_all()
    assert session.get(webhooks.WebhookDelivery, row.id).status == "sent"

    assert admin.post(f"/inbox/webhooks/{endpoint.id}/delete").status_code == 303
    assert session.exec(select(webhooks.WebhookEndpoint)).all() == []
    assert admin.post(f"/inbox/webhooks/{endpoint.id}/delete").status_code == 404


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_only_admins(as_role, role):
    staff = as_role(role)
    assert staff.get("/inbox/webhooks").status_code == 403
    assert staff.post("/inbox/webhooks", data={"url": "http://127.0.0.1:9/", "events": ["order.created"]}).status_code == 403
    assert "/inbox/webhooks" not in staff.get("/inbox/dashboard").get_data(as_text=True)


def test_the_menu_links_the_page_for_admins(as_role):
    assert "/inbox/webhooks" in as_role("admin").get("/inbox/dashboard").get_data(as_text=True)
