"""The marketer's screens: segments with the live count, campaigns (preview, schedule, actions,
test-send, results, CSV), journeys, location offers, and staff chat accounts."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from broadcasts.models import Campaign, CampaignRecipient, Journey, Segment
from crm import promotions, stores
from core.db import session_scope, utcnow
from crm.models import AuditLog, StaffChatLink
from tests.broadcasts.helpers import line_id, seed
from tests.factories import Webhooks, line_text
from tests.crm.inbox.conftest import as_role, staff  # noqa: F401 - fixtures

VIP_LINE = {"all": [{"field": "channel", "op": "eq", "value": "line"}, {"field": "tag", "op": "has", "value": "vip"}]}
STAFF_LINE = "U" + "a" * 32


def fetch(client, path: str, body: dict):
    """A JSON request like the page's script makes (session cookie + CSRF header)."""
    return client.client.post(path, json=body, headers={"X-CSRFToken": client.token, "X-Requested-With": "fetch"})


def audited(session, action: str) -> int:
    return session.execute(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)).scalar_one()


def campaign_form(**fields) -> dict:
    return {"name": "Promo Jumat", "text": "Halo {first_name}, diskon 10%!", "channels": ["line", "telegram"],
            "audience": "rules", "rules": json.dumps({"all": []}), "when": "now", "submit": "send",
            "quota_policy": "refuse", **fields}


@pytest.fixture
def marketer(as_role):  # noqa: F811
    return as_role("marketer")


@pytest.fixture
def offer(runtime):
    """A store with a location-based promotion around it; the promotion id."""
    with session_scope(runtime.engine) as s:
        store = stores.create_store(session=s, name="Kemang", lat=-6.26, lon=106.81)
        now = utcnow()
        return promotions.create_promotion(session=s, title="Kopi Kemang", starts_at=now - timedelta(days=1),
                                           ends_at=now + timedelta(days=7), voucher_code="KEMANG10",
                                           store_id=store.id, radius_km=3.0).id


@pytest.mark.parametrize("role", ["marketer", "admin"])
def test_every_marketing_page_renders(role, as_role, runtime, offer):  # noqa: F811
    client = as_role(role)
    campaign = client.post("/inbox/campaigns/new", campaign_form(submit="draft"))
    assert campaign.status_code == 303
    segment = client.post("/inbox/segments/new", {"name": "VIP", "rules": json.dumps(VIP_LINE)})
    assert segment.status_code == 303
    pages = ["/inbox/segments", "/inbox/segments/new", segment.location, "/inbox/campaigns", "/inbox/campaigns/new",
             campaign.location, f"{campaign.location}?bucket=minute", "/inbox/journeys", "/inbox/offers", "/inbox/me",
             f"/inbox/campaigns/new?offer={offer}", "/inbox/campaigns/new?from=1", "/inbox/campaigns/new?segment=1"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)
        assert "Content-Security-Policy" in response.headers
    nav = client.get("/inbox/campaigns").get_data(as_text=True)
    assert 'href="/inbox/segments"' in nav and 'href="/inbox/journeys"' in nav and 'href="/inbox/offers"' in nav
    assert "Kampanye baru" in nav
    client.post("/inbox/language", {"lang": "en", "next": "/inbox/campaigns"})
    english = client.get("/inbox/campaigns").get_data(as_text=True)
    assert "New campaign" in english and "Segments" in english and "Kampanye baru" not in english


def test_an_agent_cannot_manage_segments_or_campaigns(as_role, runtime):  # noqa: F811
    agent = as_role("agent")
    for path in ("/inbox/segments", "/inbox/segments/new", "/inbox/campaigns", "/inbox/campaigns/new",
                 "/inbox/journeys", "/inbox/offers"):
        assert agent.get(path).status_code == 403, path
    assert agent.post("/inbox/campaigns/new", campaign_form()).status_code == 403
    assert fetch(agent, "/inbox/segments/preview", {"rules": {}}).status_code == 403
    assert agent.post("/inbox/journeys/birthday", {"enabled": "1"}).status_code == 403
    assert agent.get("/inbox/me").status_code == 200  # everyone links their own chat accounts
    assert 'href="/inbox/campaigns"' not in agent.get("/inbox/").get_data(as_text=True)


def test_the_live_count_follows_the_rules_and_explains_bad_ones(marketer, runtime, session):
    seed(runtime.engine, line=3, telegram=2, tags=["vip"])
    seed(runtime.engine, line=4, start=100)
    body = fetch(marketer, "/inbox/segments/preview", {"rules": VIP_LINE}).get_json()
    assert body["count"] == 3 and len(body["sample"]) == 3 and body["sample"][0]["channels"] == ["line"]
    assert fetch(marketer, "/inbox/segments/preview", {"rules": {}}).get_json()["count"] == 9
    bad = fetch(marketer, "/inbox/segments/preview", {"rules": {"any": [
        {"field": "orders_count", "op": "gte", "value": "two"},
        {"field": "near", "op": "within", "value": {"lat": 100, "lon": 0, "km": 1}}]}})
    assert bad.status_code == 422
    assert [d["field"] for d in bad.get_json()["details"]] == ["rules.any[0].value", "rules.any[1].value"]
    # without the CSRF header the script's request is refused
    assert marketer.client.post("/inbox/segments/preview", json={"rules": {}}).status_code == 400


def test_segments_are_saved_edited_and_deleted_with_an_audit(marketer, runtime, session):
    seed(runtime.engine, line=3, tags=["vip"])
    created = marketer.post("/inbox/segments/new", {"name": "VIP LINE", "rules": json.dumps(VIP_LINE)})
    assert created.status_code == 303
    segment = session.execute(select(Segment)).scalars().one()
    assert segment.rules == VIP_LINE and audited(session, "segment.create") == 1
    listing = marketer.get("/inbox/segments").get_data(as_text=True)
    assert "VIP LINE" in listing and '<td data-label="Jumlah audiens" class="num">3</td>' in listing
    refused = marketer.post(f"/inbox/segments/{segment.id}", {"name": "VIP LINE", "rules": json.dumps(
        {"all": [{"field": "orders_count", "op": "gte", "value": "two"}]})})
    assert refused.status_code == 422
    assert "rules.all[0].value" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Segment, segment.id).rules == VIP_LINE  # nothing half-written
    assert marketer.post(f"/inbox/segments/{segment.id}", {"name": "", "rules": "{}"}).status_code == 400
    assert marketer.post(f"/inbox/segments/{segment.id}", {"name": "Semua", "rules": "{}"}).status_code == 303
    session.expire_all()
    assert session.get(Segment, segment.id).name == "Semua"
    assert marketer.post(f"/inbox/segments/{segment.id}/delete").status_code == 303
    assert session.execute(select(Segment)).scalars().all() == []
    assert audited(session, "segment.delete") == 1


def test_a_campaign_sent_now_reaches_the_fake_line_api_and_shows_its_results(marketer, runtime, session, fake_line,
                                                                              fake_telegram):
    seed(runtime.engine, line=3, telegram=2)
    response = marketer.post("/inbox/campaigns/new", campaign_form(text="Diskon 10% hari ini!"))
    assert response.status_code == 303
    campaign = session.execute(select(Campaign)).scalars().one()
    assert campaign.status == "done" and campaign.created_by == f"staff:{marketer.user_id}"
    assert session.execute(select(func.count()).select_from(CampaignRecipient)).scalar_one() == 5
    assert fake_line.calls("/v2/bot/message/multicast") and len(fake_line.deliveries_per_user()) == 3
    assert len(fake_telegram.sent) == 2
    page = marketer.get(response.location).get_data(as_text=True)
    assert 'data-stat="sent">5<' in page and "chart.umd.min.js" in page and 'id="campaign-charts"' in page
    assert "Promo Jumat" in marketer.get("/inbox/campaigns").get_data(as_text=True)
    exported = marketer.get(f"/inbox/campaigns/{campaign.id}/export.csv")
    assert exported.mimetype == "text/csv" and "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert len(rows) == 5 and {row["status"] for row in rows} == {"sent"}
    assert audited(session, "campaign.create") == 1


def test_an_admin_exports_a_saved_segment_as_csv_or_xlsx_formula_safe(as_role, runtime, session):  # noqa: F811
    from openpyxl import load_workbook

    seed(runtime.engine, line=2, tags=["vip"])
    seed(runtime.engine, line=1, start=10, tags=["vip"], display_name="=HYPERLINK(\"http://x\")")
    seed(runtime.engine, telegram=1, start=20, tags=["vip"])
    with session_scope(runtime.engine) as s:
        segment_id = Segment(name="VIP LINE", rules=VIP_LINE)
        s.add(segment_id)
        s.flush()
        segment_id = segment_id.id
    admin = as_role("admin")
    page = admin.get(f"/inbox/segments/{segment_id}").get_data(as_text=True)
    assert f'href="/inbox/segments/{segment_id}/export?format=xlsx"' in page and "Ekspor pelanggannya" in page
    assert f'/inbox/segments/{segment_id}/export?format=csv' in admin.get("/inbox/segments").get_data(as_text=True)

    exported = admin.get(f"/inbox/segments/{segment_id}/export?format=csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert f'filename="segment-{segment_id}.csv"' in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert sorted(row["name"] for row in rows) == ["'=HYPERLINK(\"http://x\")", "Pelanggan 0", "Pelanggan 1"]
    assert {row["line_user_id"] for row in rows} == {line_id(0), line_id(1), line_id(10)}

    workbook = admin.get(f"/inbox/segments/{segment_id}/export?format=xlsx")
    assert workbook.status_code == 200 and workbook.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(workbook.get_data())).active
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert cells[0][:2] == ["name", "phone"] and len(cells) == 4
    assert "'=HYPERLINK(\"http://x\")" in [row[0] for row in cells]  # text, not a formula
    session.expire_all()
    audit = session.execute(select(AuditLog).where(AuditLog.action == "contacts.export")).scalars().all()
    assert [(row.target_type, row.target_id, row.details["format"]) for row in audit] == [
        ("segment", segment_id, "csv"), ("segment", segment_id, "xlsx")]
    assert admin.get("/inbox/segments/999999/export").status_code == 404


def test_a_segment_whose_rules_broke_is_not_exported_and_says_why(as_role, runtime):  # noqa: F811
    with session_scope(runtime.engine) as s:
        broken = Segment(name="Dekat toko lama", rules={"field": "near", "op": "within",
                                                       "value": {"store_id": 999, "km": 2}})
        s.add(broken)
        s.flush()
        broken_id = broken.id
    refused = as_role("admin").get(f"/inbox/segments/{broken_id}/export?format=csv", follow_redirects=True)
    assert refused.status_code == 200 and "text/csv" not in refused.mimetype
    assert "Aturan tidak valid." in refused.get_data(as_text=True)


def test_marketers_build_segments_but_only_admins_export_contacts(marketer, runtime):
    with session_scope(runtime.engine) as s:
        segment = Segment(name="Semua", rules={"all": []})
        s.add(segment)
        s.flush()
        segment_id = segment.id
    assert "segment-export" not in marketer.get(f"/inbox/segments/{segment_id}").get_data(as_text=True)
    assert "/export?format" not in marketer.get("/inbox/segments").get_data(as_text=True)
    assert marketer.get(f"/inbox/segments/{segment_id}/export?format=csv").status_code == 403


def test_a_campaign_to_a_saved_segment_reaches_only_that_audience(marketer, runtime, session, fake_line,
                                                                    fake_telegram):
    seed(runtime.engine, line=2, telegram=2, tags=["vip"])
    seed(runtime.engine, line=3, start=100)
    marketer.post("/inbox/segments/new", {"name": "VIP LINE", "rules": json.dumps(VIP_LINE)})
    segment = session.execute(select(Segment)).scalars().one()
    response = marketer.post("/inbox/campaigns/new", campaign_form(audience="segment", segment_id=str(segment.id)))
    assert response.status_code == 303
    assert session.execute(select(Campaign)).scalars().one().status == "done"
    assert len(fake_line.deliveries_per_user()) == 2 and fake_telegram.sent == []
    assert marketer.post("/inbox/campaigns/new", campaign_form(audience="segment")).status_code == 400
    assert marketer.post(f"/inbox/segments/{segment.id}/delete").status_code == 303  # in use: kept
    assert session.get(Segment, segment.id) is not None


def test_a_scheduled_campaign_is_paused_resumed_and_cancelled(marketer, runtime, session):
    seed(runtime.engine, line=2)
    response = marketer.post("/inbox/campaigns/new", campaign_form(when="at", send_at="2099-01-02T10:00"))
    assert response.status_code == 303
    campaign = session.execute(select(Campaign)).scalars().one()
    assert campaign.status == "scheduled" and campaign.send_at.hour == 3  # 10:00 in Jakarta
    path = f"/inbox/campaigns/{campaign.id}"
    for action, status in (("pause", "paused"), ("resume", "scheduled"), ("cancel", "cancelled")):
        assert marketer.post(f"{path}/{action}").status_code == 303
        session.expire_all()
        assert session.get(Campaign, campaign.id).status == status, action
        assert audited(session, f"campaign.{action}") == 1
    again = marketer.post(f"{path}/pause", follow_redirects=True)
    assert "cannot be paused" in again.get_data(as_text=True) and audited(session, "campaign.pause") == 1
    assert marketer.post("/inbox/campaigns/999/pause").status_code == 404


def test_a_campaign_that_has_not_started_is_edited(marketer, runtime, session, fake_line):
    seed(runtime.engine, line=2)
    marketer.post("/inbox/campaigns/new", campaign_form(when="at", send_at="2099-01-02T10:00",
                                                        btn_label_0="Menu", btn_value_0="https://shop.test/a"))
    campaign = session.execute(select(Campaign)).scalars().one()
    form = marketer.get(f"/inbox/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert 'value="2099-01-02T10:00"' in form and "https://shop.test/a" in form
    refused = marketer.post(f"/inbox/campaigns/{campaign.id}/edit", campaign_form(text="Halo {nama}"))
    assert refused.status_code == 422
    session.expire_all()
    assert session.get(Campaign, campaign.id).message["text"] == "Halo {first_name}, diskon 10%!"
    edited = marketer.post(f"/inbox/campaigns/{campaign.id}/edit", campaign_form(
        name="Promo Sabtu", when="cron", recurrence="0 9 * * sat", btn_label_0="Menu", btn_value_0="https://shop.test/b"))
    assert edited.status_code == 303
    session.expire_all()
    changed = session.get(Campaign, campaign.id)
    assert (changed.name, changed.recurrence, changed.status) == ("Promo Sabtu", "0 9 * * sat", "scheduled")
    assert audited(session, "campaign.update") == 1
    # Sent now from the edit form: it goes out and can no longer be edited.
    assert marketer.post(f"/inbox/campaigns/{campaign.id}/edit", campaign_form()).status_code == 303
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == "done" and len(fake_line.deliveries_per_user()) == 2
    assert marketer.get(f"/inbox/campaigns/{campaign.id}/edit").status_code == 303
    assert marketer.post(f"/inbox/campaigns/{campaign.id}/edit", campaign_form()).status_code == 303
    assert session.execute(select(func.count()).select_from(CampaignRecipient)).scalar_one() == 2


def test_a_recurring_campaign_shows_its_next_runs_and_a_bad_cron_is_refused(marketer, runtime, session):
    preview = marketer.client.post("/inbox/campaigns/preview", data=campaign_form(when="cron", recurrence="0 10 * * fri"),
                                   headers={"X-CSRFToken": marketer.token})
    body = preview.get_json()
    # 10:00 in the shop's time, in the marketer's language's one date format ("11 Des 2026 10.00")
    assert len(set(body["next_runs"])) == 3 and all(run.endswith(" 10.00") for run in body["next_runs"])
    assert body["render"]["line"][0]["text"].startswith("Halo ")
    assert body["errors"] == []
    bad = marketer.post("/inbox/campaigns/new", campaign_form(when="cron", recurrence="every friday"))
    assert bad.status_code == 422 and "recurrence" in bad.get_data(as_text=True)
    assert session.execute(select(Campaign)).scalars().all() == []
    assert marketer.post("/inbox/campaigns/new", campaign_form(when="cron", recurrence="0 10 * * fri")).status_code == 303


def test_the_preview_renders_per_channel_with_buttons_and_reports_bad_content(marketer, runtime):
    form = campaign_form(btn_label_0="Pesan", btn_kind_0="url", btn_value_0="https://shop.test/menu",
                         qr_label_0="Mau", qr_kind_0="text", qr_value_0="mau")
    body = marketer.client.post("/inbox/campaigns/preview", data=form, headers={"X-CSRFToken": marketer.token}).get_json()
    line, telegram = body["render"]["line"], body["render"]["telegram"]
    assert line[0]["cards"][0]["buttons"][0]["label"] == "Pesan" and line[0]["choices"][0]["label"] == "Mau"
    assert [c["label"] for c in telegram[0]["choices"]] == ["Pesan", "Mau"]
    bad = marketer.client.post("/inbox/campaigns/preview", data=campaign_form(text="Halo {nama}"),
                               headers={"X-CSRFToken": marketer.token}).get_json()
    assert bad["errors"][0]["field"] == "message.text" and "{nama}" in bad["errors"][0]["message"]


def test_the_empty_campaign_form_opens_clean(marketer, runtime):
    page = marketer.get("/inbox/campaigns/new").get_data(as_text=True)
    assert 'id="preview-errors"></ul>' in page
    opened = {"name": "", "text": "", "channels": ["line", "telegram", "simulator"], "audience": "rules",
              "rules": json.dumps({"all": []}), "when": "now", "split_a": "50", "test_percent": "20",
              "quota_policy": "refuse"}  # what the page posts for its first preview
    body = marketer.client.post("/inbox/campaigns/preview", data=opened,
                                headers={"X-CSRFToken": marketer.token}).get_json()
    assert body["errors"] == [] and "render" not in body and body["audience"] == 0
    refused = marketer.post("/inbox/campaigns/new", campaign_form(text=""))
    assert refused.status_code == 422  # sending an empty message is still refused, with the reason


def test_a_line_audience_over_the_quota_needs_a_confirmation(marketer, runtime, session, fake_line):
    seed(runtime.engine, line=3)
    fake_line.quota, fake_line.quota_used = 10, 8
    warned = marketer.post("/inbox/campaigns/new", campaign_form())
    assert warned.status_code == 409
    page = warned.get_data(as_text=True)
    assert "melebihi sisa kuota 2" in page and 'name="confirm_quota"' in page
    assert session.execute(select(Campaign)).scalars().all() == []
    assert marketer.post("/inbox/campaigns/new", campaign_form(confirm_quota="1")).status_code == 303
    assert "sisa 2 dari 10" in marketer.get("/inbox/campaigns").get_data(as_text=True)


def test_an_ab_campaign_splits_and_sends_the_winner_to_the_rest(marketer, runtime, session, fake_line):
    seed(runtime.engine, line=10)
    response = marketer.post("/inbox/campaigns/new", campaign_form(
        ab="1", split_a="50", text_b="Varian B!", winner_rest="1", test_percent="40", metric="clicked"))
    assert response.status_code == 303
    campaign = session.execute(select(Campaign)).scalars().one()
    assert [v["name"] for v in campaign.variants] == ["A", "B"] and campaign.ab_test["test_percent"] == 40
    page = marketer.get(response.location).get_data(as_text=True)
    assert 'id="winner-campaign"' in page
    assert marketer.post(f"/inbox/campaigns/{campaign.id}/winner", {"variant": "B"}).status_code == 303
    session.expire_all()
    assert session.get(Campaign, campaign.id).winner == "B" and audited(session, "campaign.winner") == 1
    assert len(fake_line.deliveries_per_user()) == 10


def test_test_send_reaches_only_the_staff_members_own_account(marketer, runtime, session, fake_line, client):
    marketer.post("/inbox/campaigns/new", campaign_form(submit="draft"))
    campaign = session.execute(select(Campaign)).scalars().one()
    assert campaign.status == "draft"
    unlinked = marketer.post(f"/inbox/campaigns/{campaign.id}/test")
    assert unlinked.status_code == 303 and unlinked.location.endswith("/inbox/me")
    assert marketer.post("/inbox/me", {"line_user_id": STAFF_LINE}).status_code == 400
    assert marketer.post("/inbox/me", {"action": "code"}).status_code == 303
    page = marketer.get("/inbox/me").get_data(as_text=True)
    code = re.search(r'id="code">([A-Z0-9-]+)<', page).group(1)
    Webhooks(client).line(line_text(code, user=STAFF_LINE))  # sent from the staff member's own phone
    session.expire_all()
    assert session.execute(select(StaffChatLink.external_id)).scalar_one() == STAFF_LINE
    seed(runtime.engine, line=3)
    sent = marketer.post(f"/inbox/campaigns/{campaign.id}/test", follow_redirects=True)
    assert "Tes terkirim ke LINE" in sent.get_data(as_text=True)
    assert list(fake_line.deliveries_per_user()) == [STAFF_LINE]
    assert fake_line.delivered_to(STAFF_LINE)[-1]["text"].startswith("Halo ")
    assert not any(fake_line.delivered_to(line_id(i)) for i in range(3))
    assert session.execute(select(func.count()).select_from(CampaignRecipient)).scalar_one() == 0
    assert audited(session, "campaign.test") == 1 and audited(session, "staff.link_code") == 1
    assert marketer.post(f"/inbox/campaigns/{campaign.id}/resume").status_code == 303  # launch the draft
    session.expire_all()
    assert session.get(Campaign, campaign.id).status == "done"
    assert len(fake_line.deliveries_per_user()) == 4


def test_journeys_are_switched_and_edited(marketer, runtime, session, offer):
    assert "Ulang tahun" in marketer.get("/inbox/journeys").get_data(as_text=True)
    assert marketer.post("/inbox/journeys/birthday", {"enabled": "1"}).status_code == 303
    journey = session.execute(select(Journey).where(Journey.key == "birthday")).scalars().one()
    assert journey.enabled
    assert marketer.post("/inbox/journeys/winback", {"text": "Kangen {first_name}!", "days": "45",
                                                     "qr_label_0": "Lihat promo", "qr_kind_0": "text",
                                                     "qr_value_0": "promo"}).status_code == 303
    winback = session.execute(select(Journey).where(Journey.key == "winback")).scalars().one()
    assert winback.options["days"] == 45 and winback.message["text"] == "Kangen {first_name}!"
    assert winback.message["quick_replies"] == [{"label": "Lihat promo", "text": "promo"}]
    bad = marketer.post("/inbox/journeys/winback", {"text": "Halo {nama}", "days": "45"}, follow_redirects=True)
    assert "{nama}" in bad.get_data(as_text=True)
    assert marketer.post("/inbox/journeys/birthday", {"text": "HBD!", "promotion_id": str(offer)}).status_code == 303
    session.expire_all()
    assert session.execute(select(Journey).where(Journey.key == "birthday")).scalars().one().options == {
        "promotion_id": offer}
    assert marketer.post("/inbox/journeys/nope", {"enabled": "1"}).status_code == 404
    assert audited(session, "journey.update") == 3


@pytest.mark.parametrize("form, says", [
    ({"store_id": "1", "radius_km": ""}, "Toko perlu radius (km)."),
    ({"store_id": "1", "radius_km": "jauh"}, "Radius (km): isi dengan angka."),
    ({"store_id": "1", "radius_km": "-2"}, "Periksa Radius (km)"),
    ({"store_id": "1", "radius_km": "3", "starts_at": "besok"}, "Berlaku dari: tanggal dan jam tidak terbaca."),
    ({"store_id": "1", "radius_km": "3", "starts_at": "2030-02-01T00:00", "ends_at": "2030-01-01T00:00"},
     "Tanggal berakhir harus setelah tanggal mulai."),
])
def test_bad_offer_input_says_why_in_the_staff_language_and_saves_nothing(marketer, session, offer, form, says):
    def stored():
        session.expire_all()
        promo = session.get(promotions.Promotion, offer)
        return promo.store_id, promo.radius_km, promo.starts_at, promo.ends_at

    before = stored()
    refused = marketer.post(f"/inbox/offers/{offer}", {"active": "1", **form}, follow_redirects=True)
    assert says in refused.get_data(as_text=True)
    assert stored() == before and audited(session, "offer.update") == 0


def test_the_offers_page_is_where_the_store_and_radius_are_set_and_admins_get_a_link_to_the_rest(
        as_role, marketer, offer):  # noqa: F811
    admin_page = as_role("admin").get("/inbox/offers").get_data(as_text=True)
    assert f'href="/inbox/promotions/{offer}"' in admin_page and 'name="radius_km"' in admin_page
    marketer_page = marketer.get("/inbox/offers").get_data(as_text=True)
    assert 'name="radius_km"' in marketer_page and f'href="/inbox/promotions/{offer}"' not in marketer_page


def test_location_offers_are_edited_and_become_a_campaign_audience(marketer, runtime, session, offer):
    seed(runtime.engine, line=2, last_lat=-6.261, last_lon=106.811)
    seed(runtime.engine, line=1, start=50, last_lat=-6.9, last_lon=107.6)
    page = marketer.get("/inbox/offers").get_data(as_text=True)
    assert "Kopi Kemang" in page and "<b>2</b>" in page
    assert marketer.post(f"/inbox/offers/{offer}", {"store_id": "1", "radius_km": "", "active": "1"}).status_code == 303
    assert session.get(promotions.Promotion, offer).radius_km == 3.0  # refused: a store needs a radius
    assert marketer.post(f"/inbox/offers/{offer}", {"store_id": "1", "radius_km": "200", "active": "1"}).status_code == 303
    session.expire_all()
    assert session.get(promotions.Promotion, offer).radius_km == 200.0 and audited(session, "offer.update") == 1
    form = marketer.get(f"/inbox/campaigns/new?offer={offer}").get_data(as_text=True)
    assert "&#34;field&#34;: &#34;offer&#34;" in form or '"field": "offer"' in form
    rules = json.dumps({"all": [{"field": "offer", "op": "within", "value": offer}]})
    assert marketer.post("/inbox/campaigns/new", campaign_form(rules=rules, promotion_id=str(offer))).status_code == 303
    campaign = session.execute(select(Campaign)).scalars().one()
    assert session.execute(select(func.count()).select_from(CampaignRecipient).where(
        CampaignRecipient.campaign_id == campaign.id)).scalar_one() == 3
