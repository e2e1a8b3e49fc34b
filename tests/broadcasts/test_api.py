"""The broadcasts REST API (contract fields), clicks, replies, orders, opt-out in chat, journeys."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from broadcasts.models import Campaign, ChannelConsent
from crm import orders
from crm.contacts import get_or_create_identity
from crm.models import Contact
from core.db import session_scope
from tests.broadcasts.helpers import line_id, seed
from tests.factories import Webhooks, line_event, line_text, tg_text
from tests.openapi import check

STATS = {"targeted", "sent", "failed", "blocked", "unknown", "clicked", "replied", "orders"}


def test_segment_preview_counts_and_samples_and_explains_bad_rules(client, auth, spec, runtime):
    seed(runtime.engine, line=3, telegram=2, tags=["vip"])
    seed(runtime.engine, line=4, start=100)
    rules = {"all": [{"field": "channel", "op": "eq", "value": "line"}, {"field": "tag", "op": "has", "value": "vip"}]}
    body = check(spec, "/segments/preview", "post",
                 client.post("/api/v1/segments/preview", json={"rules": rules, "sample": 2}, headers=auth))
    assert body["count"] == 3 and len(body["sample"]) == 2
    saved = check(spec, "/segments", "post",
                  client.post("/api/v1/segments", json={"name": "VIP LINE", "rules": rules}, headers=auth))
    assert saved["count"] == 3
    bad = client.post("/api/v1/segments/preview", headers=auth, json={"rules": {"any": [
        {"field": "nope", "op": "eq", "value": 1}, {"field": "orders_count", "op": "gte", "value": "two"},
        {"field": "near", "op": "within", "value": {"lat": 100, "lon": 0, "km": 1}}]}})
    assert bad.status_code == 422
    fields = [d["field"] for d in bad.get_json()["details"]]
    assert fields == ["rules.any[0].field", "rules.any[1].value", "rules.any[2].value"]
    assert client.post("/api/v1/segments", json={"name": "x"}, headers=auth).status_code == 422
    assert client.post("/api/v1/segments/preview", data="nope", headers=auth).status_code == 415


def test_campaign_now_sends_and_reports_the_contract_stats(client, auth, spec, runtime, fake_line, fake_telegram):
    seed(runtime.engine, line=3, telegram=2)
    created = check(spec, "/campaigns", "post", client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Promo Jumat", "rules": {"all": []}, "message": {"text": "Diskon 10% hari ini!"}, "send_at": None,
        "recurrence": None}))
    assert created["status"] == "sending"
    body = check(spec, "/campaigns/{id}", "get", client.get(f"/api/v1/campaigns/{created['id']}", headers=auth))
    assert body["status"] == "done"
    assert set(body["stats"]) == STATS
    assert body["stats"] == {"targeted": 5, "sent": 5, "failed": 0, "blocked": 0, "unknown": 0, "clicked": 0,
                             "replied": 0, "orders": 0}
    assert len(fake_line.deliveries_per_user()) == 3 and len(fake_telegram.sent) == 2
    listed = check(spec, "/campaigns", "get", client.get("/api/v1/campaigns", headers=auth))
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    series = check(spec, "/campaigns/{id}/timeseries", "get",
                   client.get(f"/api/v1/campaigns/{created['id']}/timeseries?bucket=minute", headers=auth))
    assert sum(point["sent"] for point in series["items"]) == 5
    exported = client.get(f"/api/v1/campaigns/{created['id']}/export.csv", headers=auth)
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) == 5 and {row["status"] for row in rows} == {"sent"}


def test_scheduled_campaign_pause_resume_cancel(client, auth, spec, runtime, fake_line):
    seed(runtime.engine, line=2)
    created = client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Nanti", "message": {"text": "Halo"}, "send_at": "2099-01-02T10:00:00"}).get_json()
    assert created["status"] == "scheduled"
    body = client.get(f"/api/v1/campaigns/{created['id']}", headers=auth).get_json()
    assert body["send_at"] == "2099-01-02T03:00:00Z"  # 10:00 in Jakarta (UTC+7)
    assert body["next_run_at"] == "2099-01-02T03:00:00Z"
    paused = check(spec, "/campaigns/{id}/pause", "post",
                   client.post(f"/api/v1/campaigns/{created['id']}/pause", headers=auth))
    assert paused["status"] == "paused"
    assert client.post(f"/api/v1/campaigns/{created['id']}/pause", headers=auth).status_code == 409
    assert client.post(f"/api/v1/campaigns/{created['id']}/resume", headers=auth).get_json()["status"] == "scheduled"
    assert client.post(f"/api/v1/campaigns/{created['id']}/cancel", headers=auth).get_json()["status"] == "cancelled"
    assert client.post(f"/api/v1/campaigns/{created['id']}/resume", headers=auth).status_code == 409
    assert client.post("/api/v1/campaigns/999/cancel", headers=auth).status_code == 404
    assert not fake_line.calls("/v2/bot/message/multicast")


@pytest.mark.parametrize("payload, field", [
    ({"name": "x", "message": {"text": "hi"}, "recurrence": "every friday"}, "recurrence"),
    ({"name": "x", "message": {"text": "hi {nama}"}}, "message.text"),
    ({"name": "x", "message": {"text": "hi"}, "send_at": "2001-01-01T00:00:00Z"}, "send_at"),
    ({"name": "x", "message": {"text": "hi"}, "segment_id": 12345}, "segment_id"),
    ({"name": "x", "message": {"text": "hi", "buttons": [{"label": "a"}]}}, "message.buttons[0]"),
    ({"name": "x", "message": {"text": "hi", "buttons": [{"label": "🛒 Pesan sekarang juga ya", "text": "pesan"}]}},
     "message.buttons[0].label"),  # over LINE's 20: refused, never cut mid-word
    ({"name": "x", "message": {"text": "hi"}, "rules": {"field": "tag", "op": "gt", "value": 1}}, "rules"),
    ({"name": "x", "message": {"text": "hi"}, "timezone": "Mars/Olympus"}, "timezone"),
    ({"name": "x"}, "message"),
])
def test_bad_campaigns_are_refused_with_the_field_and_nothing_is_stored(client, auth, runtime, payload, field):
    response = client.post("/api/v1/campaigns", headers=auth, json=payload)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["details"][0]["field"] == field
    with session_scope(runtime.engine) as session:
        assert session.execute(select(Campaign)).first() is None


def test_recurring_campaign_is_scheduled_in_the_shop_timezone(client, auth, runtime):
    created = client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Tiap Jumat", "message": {"text": "Jumat berkah!"}, "recurrence": "0 10 * * fri"}).get_json()
    body = client.get(f"/api/v1/campaigns/{created['id']}", headers=auth).get_json()
    assert body["status"] == "scheduled" and body["recurrence"] == "0 10 * * fri"
    assert body["next_run_at"].endswith("T03:00:00Z")


def test_tracked_link_click_and_postback_button_and_reply_and_order_are_attributed(
        client, auth, runtime, fake_line, fake_telegram):
    ids = seed(runtime.engine, line=1, telegram=1)
    created = client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Klik", "message": {"text": "Lihat menu", "buttons": [
            {"label": "Menu", "url": "https://example.com/menu"}, {"label": "Klaim", "reply": "Kode: HEMAT"}]}}
    ).get_json()
    (chat, method, params), = fake_telegram.sent
    url = params["reply_markup"]["inline_keyboard"][0][0]["url"]
    path = url.removeprefix(runtime.settings.public_url)
    followed = client.get(path)
    assert followed.status_code == 302 and followed.headers["Location"] == "https://example.com/menu"
    assert client.get(path.split("?")[0] + "x").status_code == 404
    # LINE: the postback button, then a reply
    hooks = Webhooks(client)
    data = fake_line.calls("/v2/bot/message/multicast")[0].json["messages"][0]["contents"]["contents"][0][
        "footer"]["contents"][1]["action"]["data"]
    hooks.line(line_event("postback", user=line_id(0), postback={"data": data}, reply_token="tok-1"))
    assert fake_line.replied[-1][1]["text"] == "Kode: HEMAT"
    hooks.line(line_text("mau tanya jam buka", user=line_id(0), reply_token="tok-2"))
    with session_scope(runtime.engine) as session:
        product = orders.Product(sku="KOPI", name="Es Kopi", price=20000)
        session.add(product)
        session.flush()
        orders.place_order(session=session, contact_id=ids[1], lines=[orders.CartLine(product.id, 2)],
                           fulfilment="pickup")
    stats = client.get(f"/api/v1/campaigns/{created['id']}", headers=auth).get_json()
    assert stats["stats"]["clicked"] == 2
    assert stats["stats"]["replied"] == 1
    assert stats["stats"]["orders"] == 1 and stats["results"]["revenue"] == 40000


def test_berhenti_in_chat_opts_out_with_a_confirmation_and_mulai_opts_back_in(client, auth, runtime, fake_telegram):
    hooks = Webhooks(client)
    user = 9_100_000_000_077
    hooks.telegram(tg_text("berhenti", user_id=user))
    assert "tidak akan menerima pesan promo lagi di chat ini" in fake_telegram.texts_to(user)[-1]
    with session_scope(runtime.engine) as session:
        row = session.execute(select(ChannelConsent)).scalar_one()
        assert row.opted_out and row.channel == "telegram"
    created = client.post("/api/v1/campaigns", headers=auth, json={"name": "x", "message": {"text": "Promo!"}})
    before = len(fake_telegram.sent)
    body = client.get(f"/api/v1/campaigns/{created.get_json()['id']}", headers=auth).get_json()
    assert body["results"]["skipped"] == 1 and len(fake_telegram.sent) == before
    hooks.telegram(tg_text("mulai", user_id=user))
    assert "menerima info promo lagi" in fake_telegram.texts_to(user)[-1]
    with session_scope(runtime.engine) as session:
        assert not session.execute(select(ChannelConsent)).scalar_one().opted_out


def test_consent_api_and_message_preview(client, auth, spec, runtime):
    ids = seed(runtime.engine, line=1)
    body = check(spec, "/contacts/{id}/consent", "post", client.post(
        f"/api/v1/contacts/{ids[0]}/consent", headers=auth, json={"channel": "line", "opted_out": True}))
    assert body["opted_out_channels"] == ["line"]
    preview = check(spec, "/campaigns/preview", "post", client.post("/api/v1/campaigns/preview", headers=auth, json={
        "message": {"text": "Hai {first_name}", "quick_replies": [{"label": "Pesan", "text": "pesan"}]}}))
    assert preview["telegram"][0]["text"] == "Hai Budi" and preview["line"][0]["choices"][0]["label"] == "Pesan"


def test_journeys_are_listed_switched_and_the_welcome_can_be_edited(client, auth, spec, runtime, fake_telegram):
    listed = check(spec, "/journeys", "get", client.get("/api/v1/journeys", headers=auth))
    assert [j["key"] for j in listed["items"]] == ["welcome", "birthday", "order_followup", "winback",
                                                   "abandoned_order"]
    changed = check(spec, "/journeys/{key}", "patch", client.patch("/api/v1/journeys/welcome", headers=auth, json={
        "message": {"text": "Selamat datang di {shop}, {name}!"}}))
    assert changed["message"]["text"].startswith("Selamat datang")
    hooks = Webhooks(client)
    hooks.telegram(tg_text("/start", user_id=9_100_000_000_001))
    assert fake_telegram.texts_to(9_100_000_000_001)[-1].startswith("Selamat datang di Sapa Coffee")
    client.patch("/api/v1/journeys/welcome", headers=auth, json={"enabled": False})
    before = len(fake_telegram.sent)
    hooks.telegram(tg_text("/start", user_id=9_100_000_000_002))
    assert len(fake_telegram.sent) == before
    assert client.patch("/api/v1/journeys/nope", headers=auth, json={"enabled": True}).status_code == 404
    assert client.patch("/api/v1/journeys/winback", headers=auth,
                        json={"options": {"days": "x"}}).status_code == 422


def test_line_quota_endpoint(client, auth, spec, fake_line):
    fake_line.quota, fake_line.quota_used = 500, 120
    body = check(spec, "/broadcasts/quota", "get", client.get("/api/v1/broadcasts/quota", headers=auth))
    assert body == {"limit": 500, "used": 120, "left": 380}


def test_timeseries_days_are_the_shops_days(client, auth, spec, runtime, fake_line):
    from datetime import datetime, timezone

    from broadcasts.models import CampaignRecipient

    seed(runtime.engine, line=2)
    created = client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Subuh", "rules": {"all": []}, "message": {"text": "Halo"}, "send_at": None}).get_json()
    with session_scope(runtime.engine) as s:
        late, early = s.execute(select(CampaignRecipient)).scalars().all()
        late.sent_at = datetime(2026, 3, 1, 16, 30, tzinfo=timezone.utc)  # 23:30 WIB on 1 March
        early.sent_at = datetime(2026, 3, 1, 21, 30, tzinfo=timezone.utc)  # 04:30 WIB on 2 March
    series = check(spec, "/campaigns/{id}/timeseries", "get",
                   client.get(f"/api/v1/campaigns/{created['id']}/timeseries?bucket=day", headers=auth))
    assert [(point["t"], point["sent"]) for point in series["items"]] == [
        ("2026-02-28T17:00:00Z", 1), ("2026-03-01T17:00:00Z", 1)]  # each WIB day starts at 17:00 UTC


def test_contacts_export_csv_is_all_a_segment_rules_or_a_search(client, auth, runtime):
    with session_scope(runtime.engine) as session:
        budi, _ = get_or_create_identity(session=session, channel="line", external_id="Ubudi", display_name="Budi")
        get_or_create_identity(session=session, channel="telegram", external_id="42", display_name="=Ani")
        session.get(Contact, budi.contact_id).attributes = {"kota": "Bogor"}

    def names(query: str) -> list[str]:
        answer = client.get(f"/api/v1/contacts/export.csv{query}", headers=auth)
        assert answer.status_code == 200 and answer.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
        return [row["name"] for row in rows]

    assert names("") == ["Budi", "'=Ani"]
    assert names('?rules={"field":"channel","op":"eq","value":"telegram"}') == ["'=Ani"]
    assert names("?q=bud") == ["Budi"]
    segment = client.post("/api/v1/segments", headers=auth,
                          json={"name": "LINE", "rules": {"field": "channel", "op": "eq", "value": "line"}}).get_json()
    assert names(f"?segment_id={segment['id']}") == ["Budi"]
    header = client.get("/api/v1/contacts/export.csv", headers=auth).get_data(as_text=True).splitlines()[0]
    assert header.startswith("name,phone,email,birthday,tags,line_user_id,telegram_chat_id,custom.kota,contact_id")
    bad = client.get('/api/v1/contacts/export.csv?rules={"field":"nope"}', headers=auth)
    assert bad.status_code == 422 and bad.get_json()["details"]
    assert client.get("/api/v1/contacts/export.csv?segment_id=999", headers=auth).status_code == 404
    assert client.get("/api/v1/contacts/export.csv").status_code == 401
