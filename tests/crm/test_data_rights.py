"""The customer's data rights over the API: export as a zip, erasure that keeps the books, the consent log."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from sqlmodel import select

from core.db import session_scope
from crm import complaints, consent_log, data_rights, member_codes
from crm.models import AuditLog, ChannelIdentity, ConsentChange, Contact, Conversation, Message, WebhookEvent
from crm.contact_import import import_contacts
from crm.orders import CartLine, Order, Product, place_order
from crm.tokens import create_token
from tests.factories import Webhooks, line_text
from tests.openapi import check

LINE_USER = "U5555555555555555555555555555555e"
PHOTO = "AbCdEfGhIjKlMnOpQrStUv.jpg"  # a name as crm.media gives an upload


@pytest.fixture
def customer(client, runtime, settings, tmp_path):
    """A LINE customer with a profile, custom field, tags, an order, a complaint, a photo and a "stop"; their id."""
    hooks = Webhooks(client)
    assert hooks.line(line_text("halo kak mau pesan kopi", user=LINE_USER)).status_code == 200
    assert hooks.line(line_text("stop", user=LINE_USER)).status_code == 200
    with session_scope(runtime.engine) as session:
        contact = session.exec(select(Contact)).one()
        contact.display_name, contact.phone, contact.email = '=HYPERLINK("http://evil.example")', "+6281234567", "p@x.id"
        contact.tags, contact.attributes = ["vip"], {"favourite": "kopi susu"}
        session.add(contact)
        product = Product(sku="KOPI", name="Kopi Susu", price=18000)
        session.add(product)
        session.flush()
        conversation = session.exec(select(Conversation)).one()
        place_order(session=session, contact_id=contact.id, lines=[CartLine(product.id, 2)], address="Jl. Mawar 5",
                    phone="+6281234567", note="pagar hijau", delivery_fee=10000, conversation_id=conversation.id)
        complaints.open_complaint(session=session, contact_id=contact.id, text="kopinya tumpah", negative_score=0.9)
        session.add(Message(conversation_id=conversation.id, contact_id=contact.id, channel="line", direction="in",
                            type="image", payload={"media": PHOTO}))
        member_codes.ensure_code(session=session, contact_id=contact.id)
        contact_id = contact.id
    (tmp_path / "media").mkdir(exist_ok=True)
    runtime.settings.media_dir = str(tmp_path / "media")
    (tmp_path / "media" / PHOTO).write_bytes(b"jpeg")
    return contact_id


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200 and response.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.data))


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_the_export_holds_everything_about_the_contact(client, auth, customer):
    archive = _zip(client.get(f"/api/v1/contacts/{customer}/export", headers=auth))
    assert {"contact.json", "messages.csv", "orders.csv", "order_items.csv", "complaints.csv", "consents.csv",
            "identities.csv", "csat.csv", "profile.csv"} <= set(archive.namelist())
    contact = json.loads(archive.read("contact.json"))["contact"]
    assert contact["id"] == customer and contact["phone"] == "+6281234567" and contact["email"] == "p@x.id"
    assert contact["tags"] == ["vip"] and contact["custom_fields"] == {"favourite": "kopi susu"}
    assert [i["external_id"] for i in contact["identities"]] == [LINE_USER]
    assert [(c["opt_in"], c["source"], c["channel"]) for c in contact["consents"]] == [(False, "chat", "line")]
    [order] = contact["orders"]
    assert order["total"] == 46000 and order["address"] == "Jl. Mawar 5"
    assert [(i["product_name"], i["quantity"]) for i in order["items"]] == [("Kopi Susu", 2)]
    assert [c["text"] for c in contact["complaints"]] == ["kopinya tumpah"]
    texts = [m["text"] for m in contact["messages"]]
    assert "halo kak mau pesan kopi" in texts and "stop" in texts
    assert all("reply_token" not in m["payload"] for m in contact["messages"])
    assert [r["text"] for r in _csv(archive, "messages.csv")] == [text or "" for text in texts]
    assert _csv(archive, "orders.csv")[0]["total"] == "46000"
    assert _csv(archive, "order_items.csv")[0]["product_name"] == "Kopi Susu"
    # Formula-safe: the name that would run as a formula in a spreadsheet is text in the CSV, as it is in the JSON.
    [profile] = _csv(archive, "profile.csv")
    assert profile["display_name"] == "'" + contact["display_name"] and contact["display_name"].startswith("=")
    assert json.loads(profile["attributes"]) == {"favourite": "kopi susu"}
    assert profile["member_code"] == contact["member_code"] and len(contact["member_code"]) == 7  # shown at the counter


def test_erase_anonymises_and_keeps_the_books(client, auth, spec, customer, session, tmp_path):
    response = client.post(f"/api/v1/contacts/{customer}/erase", headers=auth)
    body = check(spec, "/contacts/{contact_id}/erase", "post", response)
    assert response.status_code == 202 and body["status"] == "erased" and body["already_erased"] is False
    contact = check(spec, "/contacts/{contact_id}", "get", client.get(f"/api/v1/contacts/{customer}", headers=auth))
    assert contact["display_name"] == data_rights.ERASED_NAME and contact["erased_at"]
    assert (contact["phone"], contact["email"], contact["birthday"], contact["address"]) == (None, None, None, None)
    assert contact["tags"] == [] and contact["attributes"] == {} and contact["identities"] == []
    assert contact["marketing_consent"] is False
    messages = client.get(f"/api/v1/contacts/{customer}/messages", headers=auth).get_json()["items"]
    assert messages and all(m["text"] in (None, data_rights.ERASED_TEXT) for m in messages)
    assert all(m["payload"] == {} for m in messages)
    [order] = client.get(f"/api/v1/orders?contact_id={customer}", headers=auth).get_json()["items"]
    assert order["total"] == 46000 and [i["quantity"] for i in order["items"]] == [2]
    stored = session.exec(select(Order)).one()
    assert (stored.address, stored.phone, stored.note) == (None, None, None)
    assert not (tmp_path / "media" / PHOTO).exists()
    assert all(LINE_USER not in e.payload for e in session.exec(select(WebhookEvent)).all())
    chat = session.exec(select(Conversation)).one()
    assert chat.external_chat_id.startswith("erased-") and chat.status == "resolved"  # off the open list
    [audit] = session.exec(select(AuditLog).where(AuditLog.action == "contact.erase")).all()
    assert audit.target_id == customer and audit.details == {"by": "api:tests"}
    assert [(c.opt_in, c.source) for c in consent_log.history(session=session, contact_id=customer)][0] \
        == (False, "erasure")


def test_erasing_twice_is_fine(client, auth, customer, session):
    first = client.post(f"/api/v1/contacts/{customer}/erase", headers=auth).get_json()
    second = client.post(f"/api/v1/contacts/{customer}/erase", headers=auth)
    assert second.status_code == 202 and second.get_json()["already_erased"] is True
    assert second.get_json()["erased_at"] == first["erased_at"]
    assert len(session.exec(select(AuditLog).where(AuditLog.action == "contact.erase")).all()) == 1


def test_the_same_line_user_writing_after_erasure_is_a_new_contact(client, auth, customer, session):
    client.post(f"/api/v1/contacts/{customer}/erase", headers=auth)
    assert Webhooks(client).line(line_text("halo lagi", user=LINE_USER)).status_code == 200
    identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.external_id == LINE_USER)).one()
    assert identity.contact_id != customer
    fresh = client.get(f"/api/v1/contacts/{identity.contact_id}", headers=auth).get_json()
    assert fresh["erased_at"] is None and fresh["phone"] is None and fresh["tags"] == []
    texts = [m["text"] for m in client.get(f"/api/v1/contacts/{identity.contact_id}/messages",
                                            headers=auth).get_json()["items"] if m["direction"] == "in"]
    assert texts == ["halo lagi"]
    old = client.get(f"/api/v1/contacts/{customer}", headers=auth).get_json()
    assert old["display_name"] == data_rights.ERASED_NAME and old["identities"] == []
    conversations = session.exec(select(Conversation).order_by(Conversation.id)).all()
    assert [c.contact_id for c in conversations] == [customer, identity.contact_id]


def test_campaign_recipients_forget_the_chat_account(client, auth, customer, runtime, session):
    from broadcasts.models import Campaign, CampaignRecipient, CampaignRun

    with session_scope(runtime.engine) as s:
        campaign = Campaign(name="Promo")
        s.add(campaign)
        s.flush()
        run = CampaignRun(campaign_id=campaign.id, run_key="now")
        s.add(run)
        s.flush()
        for number, status in ((1, "sent"), (2, "queued")):
            s.add(CampaignRecipient(campaign_id=campaign.id, run_id=run.id if number == 1 else _another_run(s, campaign),
                                    contact_id=customer, channel="line", external_id=LINE_USER, status=status))
    client.post(f"/api/v1/contacts/{customer}/erase", headers=auth)
    rows = session.exec(select(CampaignRecipient).order_by(CampaignRecipient.id)).all()
    assert [(r.status, r.reason, r.external_id) for r in rows] == [("sent", None, ""), ("cancelled", "erased", "")]


def _another_run(s, campaign) -> int:
    from broadcasts.models import CampaignRun

    run = CampaignRun(campaign_id=campaign.id, run_key="later")
    s.add(run)
    s.flush()
    return run.id


def test_unknown_contacts_are_404(client, auth):
    assert client.get("/api/v1/contacts/999999/export", headers=auth).status_code == 404
    assert client.post("/api/v1/contacts/999999/erase", headers=auth).status_code == 404


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_only_an_admin_token_exports_or_erases(client, runtime, customer, role, session):
    with session_scope(runtime.engine) as s:
        limited = {"Authorization": f"Bearer {create_token(session=s, name=role, role=role)}"}
        admin = {"Authorization": f"Bearer {create_token(session=s, name='boss', role='admin')}"}
    assert client.get(f"/api/v1/contacts/{customer}/export", headers=limited).status_code == 403
    assert client.post(f"/api/v1/contacts/{customer}/erase", headers=limited).status_code == 403
    assert session.get(Contact, customer).erased_at is None
    assert client.get(f"/api/v1/contacts/{customer}/export", headers=admin).status_code == 200


def test_the_consent_log_from_chat_and_api(client, auth, customer, session):
    client.patch(f"/api/v1/contacts/{customer}", json={"marketing_consent": False}, headers=auth)
    client.patch(f"/api/v1/contacts/{customer}", json={"marketing_consent": False}, headers=auth)  # no change
    Webhooks(client).line(line_text("mulai", user=LINE_USER))
    rows = consent_log.history(session=session, contact_id=customer)
    assert [(r.opt_in, r.source, r.channel, r.actor) for r in rows] == [
        (True, "chat", "line", "customer"), (False, "api", None, "tests"), (False, "chat", "line", "customer")]


def test_an_import_logs_the_consent_it_gives(runtime, tmp_path, session):
    source = tmp_path / "pelanggan.csv"
    source.write_text("name,phone\nBudi,+6281234567890\nAni,+6281311112222\n", encoding="utf-8")
    import_contacts(engine=runtime.engine, path=source)
    import_contacts(engine=runtime.engine, path=source)  # again: nothing new, no new consent
    rows = session.exec(select(ConsentChange).order_by(ConsentChange.id)).all()
    assert [(r.opt_in, r.source, r.channel) for r in rows] == [(True, "import", None)] * 2
    assert {r.contact_id for r in rows} == {c.id for c in session.exec(select(Contact)).all()}


def test_consent_rows_stay_with_their_contact(session, runtime):
    with session_scope(runtime.engine) as s:
        contact = Contact(display_name="A")
        s.add(contact)
        s.flush()
        consent_log.record(session=s, contact_id=contact.id, opt_in=True, source="staff")
        with pytest.raises(ValueError):
            consent_log.record(session=s, contact_id=contact.id, opt_in=True, source="guess")
    assert len(session.exec(select(ConsentChange)).all()) == 1


def test_erasing_a_survivor_also_erases_the_contacts_merged_into_it(client, auth, customer, session, runtime):
    from crm import merge
    from crm.models import ContactMerge
    from tests.broadcasts.helpers import seed

    [other] = seed(runtime.engine, telegram=1, display_name="Budi Santoso", phone="+6281299998888")
    with session_scope(runtime.engine) as s:
        merge.merge(session=s, survivor_id=customer, merged_id=other)
    client.post(f"/api/v1/contacts/{customer}/erase", headers=auth)
    session.expire_all()
    tombstone = session.get(Contact, other)
    assert (tombstone.display_name, tombstone.phone) == (data_rights.ERASED_NAME, None) and tombstone.erased_at
    assert all(record.changed == {} for record in session.exec(select(ContactMerge)).all())
