"""REST API for stores, promotions and FAQs: CRUD, searches, bad input; responses match the OpenAPI document."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from core.db import session_scope
from crm.models import Contact
from crm.orders import CartLine, Product, place_order
from tests.openapi import check

KEMANG = {"name": "Sapa Kemang", "address": "Jl. Kemang Raya 12", "area": "Jakarta Selatan",
          "lat": -6.2608, "lon": 106.8137, "phone": "021-1",
          "opening_hours": {d: [["07:00", "02:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
NOW = datetime.now(timezone.utc)


def iso(at: datetime) -> str:
    return at.isoformat()


@pytest.fixture
def store(client, auth, spec) -> dict:
    return check(spec, "/stores", "post", client.post("/api/v1/stores", json=KEMANG, headers=auth))


def test_every_endpoint_needs_a_token(client):
    for path in ("/stores", "/stores/1", "/promotions", "/promotions/1", "/faqs", "/faqs/1"):
        assert client.get(f"/api/v1{path}").status_code == 401
    assert client.post("/api/v1/stores", json=KEMANG).status_code == 401
    assert client.delete("/api/v1/faqs/1").status_code == 401


def test_store_crud(client, auth, spec, store):
    assert store["id"] and store["opening_hours"]["mon"] == [["07:00", "02:00"]] and store["distance_km"] is None
    assert store["map_url"].startswith("https://www.google.com/maps") and store["created_at"].endswith("Z")
    url = f"/api/v1/stores/{store['id']}"
    assert check(spec, "/stores/{store_id}", "get", client.get(url, headers=auth))["name"] == "Sapa Kemang"
    changed = check(spec, "/stores/{store_id}", "patch",
                    client.patch(url, json={"phone": None, "opening_hours": {"sun": []}}, headers=auth))
    assert changed["phone"] is None and changed["opening_hours"]["mon"] == [] and not changed["open_now"]
    assert changed["opening_text"] == "temporarily closed"
    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(url, headers=auth).get_json()["active"] is False
    listed = check(spec, "/stores", "get", client.get("/api/v1/stores?active=false", headers=auth))["items"]
    assert [s["id"] for s in listed] == [store["id"]]


def test_nearest_stores_with_distance(client, auth, spec, store):
    client.post("/api/v1/stores", json={**KEMANG, "name": "Sapa Dago", "lat": -6.8853, "lon": 107.6134}, headers=auth)
    near = check(spec, "/stores", "get", client.get("/api/v1/stores?near=-6.2615,106.8106&km=10", headers=auth))
    assert [s["name"] for s in near["items"]] == ["Sapa Kemang"] and 0.3 < near["items"][0]["distance_km"] < 0.5
    wide = client.get("/api/v1/stores?near=-6.2615,106.8106&km=500", headers=auth).get_json()["items"]
    assert [s["name"] for s in wide] == ["Sapa Kemang", "Sapa Dago"]
    assert client.get("/api/v1/stores?near=-20,80", headers=auth).get_json()["items"] == []
    assert len(check(spec, "/stores", "get", client.get("/api/v1/stores", headers=auth))["items"]) == 2


@pytest.mark.parametrize("query", ["near=abc", "near=1", "near=1,2,3", "near=95,10", "near=-6,200", "near=nan,1",
                                   "near=-6.2,106.8&km=-1", "near=-6.2,106.8&km=x", "near=-6.2,106.8&limit=0",
                                   "active=maybe", "near=-6.2,106.8&km=30000", "limit=null"])
def test_store_bad_query_is_400(client, auth, query):
    response = client.get(f"/api/v1/stores?{query}", headers=auth)
    assert response.status_code == 400 and "error" in response.get_json()


def test_a_near_search_for_inactive_stores_finds_none(client, auth):
    # A near search covers active stores only; every value the document allows is answered.
    response = client.get("/api/v1/stores?near=-6.2,106.8&active=false", headers=auth)
    assert response.status_code == 200 and response.get_json() == {"items": []}


@pytest.mark.parametrize(("change", "field"), [
    ({"lat": 91}, "lat"), ({"lon": -181}, "lon"), ({"lat": "x"}, "lat"), ({"name": ""}, "name"),
    ({"name": "   "}, "name"), ({"opening_hours": {"monday": []}}, "opening_hours"),
    ({"opening_hours": {"mon": [["8:00", "17:00"]]}}, "opening_hours"),
    ({"opening_hours": {"mon": [["08:00", "24:30"]]}}, "opening_hours"),
    ({"opening_hours": {"mon": [["09:00", "09:00"]]}}, "opening_hours"),
    ({"opening_hours": {"mon": [["09:00"]]}}, "opening_hours"), ({"colour": "red"}, "colour"),
    ({"hours_exceptions": [{"label": "Nyepi", "start": "2027-03-10", "end": "2027-03-09", "closed": True}]},
     "hours_exceptions.0.end"),
    ({"hours_exceptions": [{"label": "Nyepi", "start": "2027-02-30", "closed": True}]}, "hours_exceptions.0.start"),
    ({"hours_exceptions": [{"label": "Nyepi", "start": "2027-03-10", "closed": False}]}, "hours_exceptions.0"),
])
def test_store_bad_fields_are_422(client, auth, spec, change, field):
    response = client.post("/api/v1/stores", json={**KEMANG, **change}, headers=auth)
    body = check(spec, "/stores", "post", response)
    assert response.status_code == 422 and body["details"][0]["field"].startswith(field)


def test_store_patch_bad_input_and_unknown_id(client, auth, spec, store):
    url = f"/api/v1/stores/{store['id']}"
    assert client.patch(url, json={"name": None}, headers=auth).status_code == 422
    assert client.patch(url, json={"lat": 100}, headers=auth).status_code == 422
    assert client.patch(url, data="x", headers=auth, content_type="text/plain").status_code == 415
    assert client.patch(url, data="[1]", headers=auth, content_type="application/json").status_code == 400
    assert client.post("/api/v1/stores", data="{bad json", headers=auth, content_type="application/json").status_code == 400
    for method in (client.get, client.delete):
        response = method("/api/v1/stores/999999", headers=auth)
        assert response.status_code == 404 and check(spec, "/stores/{store_id}", "get", response)["error"]
    assert client.patch("/api/v1/stores/999999", json={"phone": "1"}, headers=auth).status_code == 404


def test_a_store_holiday_closes_it_in_the_api_and_a_bad_one_changes_nothing(client, auth, spec, store):
    url = f"/api/v1/stores/{store['id']}"
    today = datetime.now(timezone(timedelta(hours=7))).date()  # the shop's timezone (Asia/Jakarta)
    # From yesterday, so that no window of yesterday's runs past midnight into today.
    holiday = {"label": "Idul Fitri", "start": (today - timedelta(days=1)).isoformat(),
               "end": (today + timedelta(days=1)).isoformat(), "closed": True}
    body = check(spec, "/stores/{store_id}", "patch", client.patch(url, json={"hours_exceptions": [holiday]},
                                                                    headers=auth))
    assert body["hours_exceptions"] == [{**holiday, "windows": []}]
    assert body["open_now"] is False and body["opening_text"].startswith("closed (Idul Fitri), opens ")
    overlapping = [holiday, {"label": "Cuti", "start": today.isoformat(), "closed": True}]
    response = client.patch(url, json={"hours_exceptions": overlapping, "name": "Renamed"}, headers=auth)
    assert response.status_code == 422 and response.get_json()["details"][0]["field"] == "hours_exceptions"
    after = client.get(url, headers=auth).get_json()
    assert after["name"] == "Sapa Kemang" and after["hours_exceptions"] == body["hours_exceptions"]


def promotion(**fields) -> dict:
    return {"title": "Diskon", "starts_at": iso(NOW - timedelta(days=1)), "ends_at": iso(NOW + timedelta(days=7)),
            **fields}


def test_promotion_crud_and_active_filter(client, auth, spec, store):
    created = check(spec, "/promotions", "post", client.post("/api/v1/promotions", json=promotion(
        voucher_code="HEMAT-20", audience={"tags": ["vip"], "channels": ["line"]}, store_id=store["id"],
        radius_km=3), headers=auth))
    assert created["running"] and created["audience"] == {"channels": ["line"], "tags": ["vip"]}
    assert created["starts_at"].endswith("Z")
    client.post("/api/v1/promotions", json=promotion(title="Lama", starts_at=iso(NOW - timedelta(days=9)),
                                                     ends_at=iso(NOW - timedelta(days=2))), headers=auth)
    running = check(spec, "/promotions", "get", client.get("/api/v1/promotions?active=true", headers=auth))
    assert [p["title"] for p in running["items"]] == ["Diskon"]
    assert [p["title"] for p in client.get("/api/v1/promotions?active=false", headers=auth).get_json()["items"]] == [
        "Lama"]
    assert len(check(spec, "/promotions", "get", client.get("/api/v1/promotions", headers=auth))["items"]) == 2
    url = f"/api/v1/promotions/{created['id']}"
    patched = check(spec, "/promotions/{promotion_id}", "patch",
                    client.patch(url, json={"store_id": None, "radius_km": None, "title_en": "Sale"}, headers=auth))
    assert patched["store_id"] is None and patched["title_en"] == "Sale"
    assert client.delete(url, headers=auth).status_code == 204
    assert check(spec, "/promotions/{promotion_id}", "get", client.get(url, headers=auth))["running"] is False
    assert client.get("/api/v1/promotions?active=true", headers=auth).get_json()["items"] == []


@pytest.mark.parametrize(("fields", "field"), [
    ({"ends_at": iso(NOW - timedelta(days=2))}, ""),
    ({"starts_at": "2024-06-01T10:00:00"}, "starts_at"),  # no timezone
    ({"ends_at": "tomorrow"}, "ends_at"),
    ({"voucher_code": "hemat"}, "voucher_code"), ({"voucher_code": "AB"}, "voucher_code"),
    ({"voucher_code": "A" * 33}, "voucher_code"), ({"voucher_code": "HEMAT 20"}, "voucher_code"),
    ({"radius_km": 3}, ""), ({"radius_km": -1, "store_id": 1}, "radius_km"),
    ({"audience": {"tag": ["vip"]}}, "audience"), ({"audience": {"channels": ["whatsapp"]}}, "audience"),
    ({"audience": {"min_orders": -2}}, "audience"), ({"title": ""}, "title"), ({"extra": 1}, "extra"),
])
def test_promotion_bad_fields_are_422(client, auth, spec, fields, field):
    response = client.post("/api/v1/promotions", json=promotion(**fields), headers=auth)
    body = check(spec, "/promotions", "post", response)
    assert response.status_code == 422 and body["details"][0]["field"].startswith(field)


SATURDAY_NOON = datetime(2026, 12, 12, 5, 0, tzinfo=timezone.utc)  # 12:00 in Jakarta
MONDAY_NOON = datetime(2026, 12, 14, 5, 0, tzinfo=timezone.utc)


def test_promotion_weekdays_and_hours_decide_running(client, auth, spec):
    window = {"starts_at": iso(SATURDAY_NOON - timedelta(days=7)), "ends_at": iso(SATURDAY_NOON + timedelta(days=30))}
    with time_machine.travel(SATURDAY_NOON, tick=False):
        weekday = check(spec, "/promotions", "post", client.post("/api/v1/promotions", json=promotion(
            title="Paket Hemat Weekday", weekdays=[4, 0, 1, 2, 3, 0], **window), headers=auth))
        happy = check(spec, "/promotions", "post", client.post("/api/v1/promotions", json=promotion(
            title="Happy Hour", hours=[["15:00", "17:00"]], **window), headers=auth))
        assert weekday["weekdays"] == [0, 1, 2, 3, 4] and weekday["hours"] is None and not weekday["running"]
        assert happy["hours"] == [["15:00", "17:00"]] and happy["weekdays"] is None and not happy["running"]
        assert client.get("/api/v1/promotions?active=true", headers=auth).get_json()["items"] == []
    with time_machine.travel(SATURDAY_NOON + timedelta(hours=3, minutes=30), tick=False):  # 15:30 in Jakarta
        assert [p["title"] for p in client.get("/api/v1/promotions?active=true", headers=auth).get_json()["items"]] == [
            "Happy Hour"]
    with time_machine.travel(MONDAY_NOON, tick=False):
        url = f"/api/v1/promotions/{weekday['id']}"
        assert check(spec, "/promotions/{promotion_id}", "get", client.get(url, headers=auth))["running"]
        assert [p["title"] for p in client.get("/api/v1/promotions?active=false", headers=auth).get_json()["items"]] == [
            "Happy Hour"]
        patched = client.patch(url, json={"weekdays": [5, 6], "hours": [["22:00", "02:00"]]}, headers=auth)
        assert check(spec, "/promotions/{promotion_id}", "patch", patched)["running"] is False
        everyday = client.patch(url, json={"weekdays": None, "hours": None}, headers=auth).get_json()
        assert everyday["weekdays"] is None and everyday["hours"] is None and everyday["running"]


@pytest.mark.parametrize("fields", [
    {"weekdays": [7]}, {"weekdays": [-1]}, {"weekdays": []}, {"weekdays": ["mon"]}, {"weekdays": [1.5]},
    {"weekdays": 1}, {"hours": []}, {"hours": [["15:00"]]}, {"hours": [["15:00", "25:00"]]},
    {"hours": [["3pm", "5pm"]]}, {"hours": [["15:00", "15:00"]]}, {"hours": [["24:00", "02:00"]]},
    {"hours": "15:00-17:00"},
])
def test_promotion_bad_weekdays_or_hours_are_422_with_a_reason(client, auth, spec, fields):
    response = client.post("/api/v1/promotions", json=promotion(**fields), headers=auth)
    body = check(spec, "/promotions", "post", response)
    assert response.status_code == 422 and body["details"][0]["field"].startswith(next(iter(fields)))
    assert body["details"][0]["message"]
    created = client.post("/api/v1/promotions", json=promotion(), headers=auth).get_json()
    patched = client.patch(f"/api/v1/promotions/{created['id']}", json=fields, headers=auth)
    assert patched.status_code == 422 and patched.get_json()["details"][0]["field"].startswith(next(iter(fields)))


def test_promotion_rules_checked_after_merge_and_unknown_store(client, auth, spec, store):
    created = client.post("/api/v1/promotions", json=promotion(voucher_code="ONE-1"), headers=auth).get_json()
    url = f"/api/v1/promotions/{created['id']}"
    response = client.patch(url, json={"ends_at": iso(NOW - timedelta(days=3))}, headers=auth)
    assert check(spec, "/promotions/{promotion_id}", "patch", response)["details"][0]["message"].startswith("ends_at")
    assert client.patch(url, json={"radius_km": 2}, headers=auth).status_code == 422  # no store
    assert client.patch(url, json={"title": None}, headers=auth).status_code == 422
    unknown_store = client.post("/api/v1/promotions", json=promotion(store_id=999999, radius_km=1), headers=auth)
    assert unknown_store.status_code == 422 and "999999" in unknown_store.get_json()["details"][0]["message"]
    assert client.get("/api/v1/promotions/999999", headers=auth).status_code == 404
    assert client.get(url, headers=auth).get_json()["ends_at"] == created["ends_at"]  # nothing half-saved


def test_duplicate_voucher_code_is_409(client, auth, spec):
    client.post("/api/v1/promotions", json=promotion(voucher_code="SAME-1"), headers=auth)
    again = client.post("/api/v1/promotions", json=promotion(title="Lain", voucher_code="SAME-1"), headers=auth)
    assert again.status_code == 409 and check(spec, "/promotions", "post", again)["error"]
    other = client.post("/api/v1/promotions", json=promotion(voucher_code="OTHER-1"), headers=auth).get_json()
    clash = client.patch(f"/api/v1/promotions/{other['id']}", json={"voucher_code": "SAME-1"}, headers=auth)
    assert clash.status_code == 409
    same = client.patch(f"/api/v1/promotions/{other['id']}", json={"voucher_code": "OTHER-1"}, headers=auth)
    assert same.status_code == 200


FAQ = {"question": "Bisa bayar pakai QRIS?", "answer": "Bisa kak, semua e-wallet.",
       "question_en": "Can I pay with QRIS?", "answer_en": "Yes, any e-wallet.",
       "keywords": ["qris", "bayar", "payment"], "category": "pembayaran"}


def test_faq_crud_and_search(client, auth, spec):
    created = check(spec, "/faqs", "post", client.post("/api/v1/faqs", json=FAQ, headers=auth))
    client.post("/api/v1/faqs", json={"question": "Jam buka berapa?", "answer": "07.00–22.00",
                                      "keywords": ["jam buka"], "category": "outlet"}, headers=auth)
    found = check(spec, "/faqs", "get", client.get("/api/v1/faqs?q=bisa bayar pake qris ga kak", headers=auth))
    assert found["items"][0]["id"] == created["id"] and found["items"][0]["score"] >= 0.5
    assert check(spec, "/faqs", "get", client.get("/api/v1/faqs", headers=auth))["items"][0]["score"] is None
    outlet = client.get("/api/v1/faqs?category=outlet", headers=auth).get_json()["items"]
    assert [f["question"] for f in outlet] == ["Jam buka berapa?"]
    url = f"/api/v1/faqs/{created['id']}"
    patched = check(spec, "/faqs/{faq_id}", "patch",
                    client.patch(url, json={"keywords": ["qris", "gopay"], "answer_en": None}, headers=auth))
    assert patched["keywords"] == ["qris", "gopay"] and patched["answer_en"] is None and patched["phrasings"] == []
    phrased = check(spec, "/faqs/{faq_id}", "patch", client.patch(url, json={"phrasings": ["bisa pakai ovo ga"]},
                                                                   headers=auth))
    assert phrased["phrasings"] == ["bisa pakai ovo ga"] and phrased["keywords"] == ["qris", "gopay"]
    by_phrasing = client.get("/api/v1/faqs?q=bisa bayar pakai ovo?", headers=auth).get_json()["items"]
    assert by_phrasing[0]["id"] == created["id"] and by_phrasing[0]["score"] >= 0.5
    assert client.delete(url, headers=auth).status_code == 204
    assert check(spec, "/faqs/{faq_id}", "get", client.get(url, headers=auth))["active"] is False
    after = client.get("/api/v1/faqs?q=bayar qris", headers=auth).get_json()["items"]
    assert created["id"] not in [f["id"] for f in after]


@pytest.mark.parametrize(("fields", "field"), [
    ({"question": ""}, "question"), ({"question": "   "}, "question"), ({"answer": ""}, "answer"),
    ({"keywords": "qris"}, "keywords"), ({"keywords": [""]}, "keywords"), ({"category": ""}, "category"),
    ({"active": "maybe"}, "active"), ({"score": 1}, "score"), ({"phrasings": "bisa qris?"}, "phrasings"),
    ({"phrasings": [" "]}, "phrasings"), ({"phrasings": ["x" * 501]}, "phrasings"),
])
def test_faq_bad_fields_are_422(client, auth, spec, fields, field):
    response = client.post("/api/v1/faqs", json={**FAQ, **fields}, headers=auth)
    body = check(spec, "/faqs", "post", response)
    assert response.status_code == 422 and body["details"][0]["field"].startswith(field)


def test_faq_bad_query_and_unknown_id(client, auth):
    assert client.get("/api/v1/faqs?q=x&lang=fr", headers=auth).status_code == 400
    assert client.get("/api/v1/faqs?limit=0", headers=auth).status_code == 400
    assert client.get("/api/v1/faqs?active=2", headers=auth).status_code == 400
    assert client.get("/api/v1/faqs/999999", headers=auth).status_code == 404
    assert client.patch("/api/v1/faqs/999999", json={"answer": "x"}, headers=auth).status_code == 404
    assert client.patch("/api/v1/faqs/999999", json={"answer": None}, headers=auth).status_code == 422
    assert client.delete("/api/v1/faqs/999999", headers=auth).status_code == 404


def test_promotion_budget_and_single_use_with_the_redemptions_count(client, auth, spec, runtime):
    created = check(spec, "/promotions", "post", client.post("/api/v1/promotions", json=promotion(
        voucher_code="SEKALI-1", max_redemptions=100, per_customer="once"), headers=auth))
    assert (created["max_redemptions"], created["per_customer"], created["redemptions"]) == (100, "once", 0)
    url = f"/api/v1/promotions/{created['id']}"
    with session_scope(runtime.engine) as session:
        contact = Contact(display_name="Budi")
        coffee = Product(sku="KOPI", name="Kopi", price=20_000)
        session.add_all([contact, coffee])
        session.flush()
        place_order(session=session, contact_id=contact.id, lines=[CartLine(coffee.id, 1)], fulfilment="pickup",
                    voucher_code="SEKALI-1")
    assert check(spec, "/promotions/{promotion_id}", "get", client.get(url, headers=auth))["redemptions"] == 1
    patched = check(spec, "/promotions/{promotion_id}", "patch",
                    client.patch(url, json={"max_redemptions": None, "per_customer": "shared"}, headers=auth))
    assert (patched["max_redemptions"], patched["per_customer"], patched["redemptions"]) == (None, "shared", 1)


@pytest.mark.parametrize("fields", [
    {"max_redemptions": 0, "voucher_code": "X-100"}, {"max_redemptions": "many", "voucher_code": "X-100"},
    {"per_customer": "twice", "voucher_code": "X-100"}, {"max_redemptions": 5}, {"per_customer": "once"},
])
def test_promotion_bad_budget_or_use_is_422(client, auth, spec, fields):
    response = client.post("/api/v1/promotions", json=promotion(**fields), headers=auth)
    assert response.status_code == 422 and check(spec, "/promotions", "post", response)["details"][0]["message"]
