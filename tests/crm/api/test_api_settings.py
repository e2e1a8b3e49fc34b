"""GET/PATCH /api/v1/settings, and an order's details through /api/v1/orders; both as the document says."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from core.db import session_scope
from crm import stores
from crm.models import Contact
from crm.orders import CartLine, Product, place_order
from tests.openapi import check

PER_KM = {"mode": "per_km", "base_fee": 8_000, "base_km": 3, "per_km": 2_500, "free_above": 150_000,
          "min_order": 30_000, "max_km": 25}


def test_settings_need_a_token(client):
    assert client.get("/api/v1/settings").status_code == 401
    assert client.patch("/api/v1/settings", json={"delivery": PER_KM}).status_code == 401


def test_a_new_shop_gets_the_defaults(client, auth, spec):
    body = check(spec, "/settings", "get", client.get("/api/v1/settings", headers=auth))
    assert [m["code"] for m in body["payment_methods"]] == ["qris", "transfer", "cod"]
    assert body["payment_methods"][2] == {"code": "cod", "label": "Bayar di tempat", "label_en": "Cash on delivery",
                                          "fulfilment": ["delivery", "pickup"], "instructions": None,
                                          "instructions_en": None, "image_url": None, "preview_url": None}
    # What config.yaml also sets reads null until staff save it: config.yaml's value applies.
    assert all(body[key] is None for key in ("shop_name", "languages", "default_language", "timezone",
                                             "handoff_timeout_minutes", "quiet_hours", "max_per_week"))
    assert body["delivery"]["mode"] == "flat" and body["delivery"]["min_order"] == 0
    assert body["staff_hours"]["mon"] == [["08:00", "21:00"]]


def test_patch_replaces_the_given_keys_only(client, auth, spec):
    first = check(spec, "/settings", "patch", client.patch("/api/v1/settings", json={"delivery": PER_KM}, headers=auth))
    assert first["delivery"] == {**PER_KM, "flat_fee": 0, "base_km": 3.0, "max_km": 25.0}
    methods = [{"code": "qris", "label": "QRIS"}, {"code": "ovo", "label": "OVO", "fulfilment": ["pickup"]}]
    second = check(spec, "/settings", "patch",
                   client.patch("/api/v1/settings", json={"payment_methods": methods}, headers=auth))
    assert [(m["code"], m["label_en"], m["fulfilment"]) for m in second["payment_methods"]] == \
           [("qris", None, ["delivery", "pickup"]), ("ovo", None, ["pickup"])]
    assert second["delivery"] == first["delivery"]  # not named: kept
    # A key replaces as a whole: what the new delivery object leaves out is its default again.
    third = client.patch("/api/v1/settings", json={"delivery": {"min_order": 10_000}}, headers=auth).get_json()
    assert third["delivery"]["mode"] == "flat" and third["delivery"]["min_order"] == 10_000
    assert client.get("/api/v1/settings", headers=auth).get_json() == third


@pytest.mark.parametrize(("body", "field"), [
    ({"colour": "red"}, "colour"),
    ({"delivery": None}, ""),  # a key cannot be nulled
    ({"delivery": {"mode": "by_weight"}}, "delivery.mode"),
    ({"delivery": {"per_km": -5}}, "delivery.per_km"),
    ({"delivery": {"min_order": "30000"}}, "delivery.min_order"),  # strict: a string is no number
    ({"delivery": {"max_km": "inf"}}, "delivery.max_km"),
    ({"payment_methods": [{"code": "Q R", "label": "x"}]}, "payment_methods.0.code"),
    ({"payment_methods": [{"code": "qris", "label": "a"}, {"code": "qris", "label": "b"}]}, "payment_methods"),
    ({"payment_methods": [{"code": "qris", "label": "a", "fulfilment": ["drone"]}]},
     "payment_methods.0.fulfilment.0"),
    ({"staff_hours": {"mon": [["09:00", "09:00"]]}}, "staff_hours"),
    ({"staff_hours": {"someday": []}}, "staff_hours.someday.[key]"),
    ({"staff_hours": {"mon": [["9:00", "17:00"]]}}, "staff_hours.mon.0.0"),
    ({"staff_hours_exceptions": [{"label": "Lebaran", "start": "2027-03-21", "end": "2027-03-20", "closed": True}]},
     "staff_hours_exceptions.0.end"),
    ({"staff_hours_exceptions": [{"label": "Lebaran", "start": "21/03/2027", "closed": True}]},
     "staff_hours_exceptions.0.start"),
    ({"staff_hours_exceptions": [{"label": "Ramadan", "start": "2027-03-01", "windows": [["16:00", "16:00"]]}]},
     "staff_hours_exceptions.0.windows"),
    ({"staff_hours_exceptions": [{"label": "Ramadan", "start": "2027-03-01"}]}, "staff_hours_exceptions.0"),
    ({"languages": ["id", "id"]}, "languages"),
    ({"languages": ["jv"]}, "languages.0"),
    ({"languages": ["id"], "default_language": "en"}, "default_language"),
    ({"timezone": "Asia/Atlantis"}, "timezone"),
    ({"quiet_hours": "9-17"}, "quiet_hours"),
    ({"max_per_week": -1}, "max_per_week"),
    ({"handoff_timeout_minutes": 0}, "handoff_timeout_minutes"),
    ({"shop_name": "   "}, "shop_name"),
    ({"loyalty": {"rounding": "sideways"}}, "loyalty.rounding"),
    ({"loyalty": {"multipliers": [{"category": "Pastry", "factor": 0}]}}, "loyalty.multipliers.0.factor"),
    ({"loyalty": {"multipliers": [{"category": "Pastry", "factor": 2}, {"category": "pastry", "factor": 3}]}},
     "loyalty.multipliers"),
    ({"loyalty": {"birthday_points": -5}}, "loyalty.birthday_points"),
    ({"loyalty": {"rewards": [{"name": "Kopi", "points": 100, "amount_off": 5_000, "free_sku": "KOPI"}]}},
     "loyalty.rewards.0"),
    ({"loyalty": {"stamps": {"category": "Kopi", "stamps": 9}}}, "loyalty.stamps"),
    ({"loyalty": {"stamps": {"sku": "KOPI", "stamps": 1}}}, "loyalty.stamps.stamps"),
    ({"payment_methods": [{"code": "qris", "label": "QRIS", "image_url": "javascript:alert(1)"}]},
     "payment_methods.0.image_url"),
])
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(client, auth, body, field):
    before = client.get("/api/v1/settings", headers=auth).get_json()
    response = client.patch("/api/v1/settings", json=body, headers=auth)
    assert response.status_code == 422, response.get_json()
    if field:
        assert field in [d["field"] for d in response.get_json()["details"]], response.get_json()
    assert client.get("/api/v1/settings", headers=auth).get_json() == before


def test_shop_wide_settings_are_saved_and_null_gives_back_config_yaml(client, auth, spec):
    body = check(spec, "/settings", "patch", client.patch("/api/v1/settings", json={
        "shop_name": "Kopi Kenangan Mantan", "languages": ["id"], "default_language": "id",
        "timezone": "Asia/Makassar", "handoff_timeout_minutes": 30, "handoff_answer_minutes": 5,
        "conversation_idle_minutes": 90, "quiet_hours": "22:00-07:00", "max_per_week": 2}, headers=auth))
    assert (body["shop_name"], body["languages"], body["timezone"], body["quiet_hours"], body["max_per_week"]) == \
        ("Kopi Kenangan Mantan", ["id"], "Asia/Makassar", "22:00-07:00", 2)
    assert body["payment_methods"][0]["code"] == "qris"  # the rest stays
    back = client.patch("/api/v1/settings", json={"shop_name": None, "quiet_hours": ""}, headers=auth).get_json()
    assert back["shop_name"] is None and back["quiet_hours"] == "" and back["timezone"] == "Asia/Makassar"
    assert client.patch("/api/v1/settings", json={"delivery": None}, headers=auth).status_code == 422


def test_a_body_that_is_no_json_object(client, auth):
    assert client.patch("/api/v1/settings", data="x", content_type="text/plain", headers=auth).status_code == 415
    not_an_object = client.patch("/api/v1/settings", data="[1]", content_type="application/json", headers=auth)
    assert not_an_object.status_code == 400


def test_the_document_describes_settings_and_order_details(spec):
    assert {"get", "patch"} <= set(spec["paths"]["/settings"])
    order = spec["components"]["schemas"]["OrderPublic"]["properties"]
    assert {"fulfilment", "store_id", "address", "phone", "payment_method", "scheduled_for", "note", "items",
            "subtotal", "delivery_fee", "total"} <= set(order)
    assert "note" in spec["components"]["schemas"]["OrderLinePublic"]["properties"]


def test_orders_show_their_details(client, auth, spec, runtime):
    with session_scope(runtime.engine) as session:
        contact = Contact(display_name="Budi")
        coffee = Product(sku="KOPI", name="Es Kopi Susu", price=25_000)
        session.add_all([contact, coffee])
        store = stores.create_store(session=session, name="Kemang", lat=-6.26, lon=106.81)
        session.flush()
        delivery = place_order(session=session, contact_id=contact.id,
                               lines=[CartLine(coffee.id, 2, note="less sugar")], address="Jl. Sudirman 21",
                               store_id=store.id, phone="+6281234567890", payment_method="qris",
                               delivery_fee=10_500, note="titip satpam", lat=-6.2, lon=106.8,
                               scheduled_for=datetime(2030, 1, 2, 1, 0, tzinfo=timezone.utc))
        pickup = place_order(session=session, contact_id=contact.id, lines=[CartLine(coffee.id, 1)],
                             fulfilment="pickup", store_id=store.id)
        ids, store_id = (delivery.id, pickup.id), store.id
    one = check(spec, "/orders/{id}", "get", client.get(f"/api/v1/orders/{ids[0]}", headers=auth))
    assert {k: one[k] for k in ("fulfilment", "store_id", "address", "phone", "payment_method", "scheduled_for",
                                "note", "subtotal", "delivery_fee", "total", "lat", "lon")} == {
        "fulfilment": "delivery", "store_id": store_id, "address": "Jl. Sudirman 21", "phone": "+6281234567890",
        "payment_method": "qris", "scheduled_for": "2030-01-02T01:00:00Z", "note": "titip satpam",
        "subtotal": 50_000, "delivery_fee": 10_500, "total": 60_500, "lat": -6.2, "lon": 106.8}
    assert one["items"] == [{"product": "Es Kopi Susu", "variant": None, "addons": [], "quantity": 2, "price": 25_000,
                             "note": "less sugar"}]
    listed = check(spec, "/orders", "get", client.get("/api/v1/orders", headers=auth))["items"]
    assert [o["id"] for o in listed] == [ids[1], ids[0]]
    assert listed[0]["fulfilment"] == "pickup" and listed[0]["address"] is None and listed[0]["scheduled_for"] is None
    assert listed[0]["phone"] is None and listed[0]["payment_method"] is None and listed[0]["delivery_fee"] == 0


def test_staff_hours_exceptions_are_saved_sorted_and_returned(client, auth, spec):
    exceptions = [{"label": "Ramadan", "start": "2027-02-08", "end": "2027-03-09", "windows": [["10:00", "16:00"]]},
                  {"label": "Idul Fitri", "start": "2027-03-10", "end": "2027-03-11", "closed": True},
                  {"label": "Cuti bersama", "start": "2027-01-02", "closed": True}]
    body = check(spec, "/settings", "patch", client.patch("/api/v1/settings", json={
        "staff_hours_exceptions": exceptions}, headers=auth))
    assert [(e["label"], e["start"], e["end"], e["closed"]) for e in body["staff_hours_exceptions"]] == [
        ("Cuti bersama", "2027-01-02", "2027-01-02", True), ("Ramadan", "2027-02-08", "2027-03-09", False),
        ("Idul Fitri", "2027-03-10", "2027-03-11", True)]
    assert client.get("/api/v1/settings", headers=auth).get_json() == body
    assert body["staff_hours"]["mon"] == [["08:00", "21:00"]]  # the weekly hours stay
    overlapping = [{"label": "a", "start": "2027-03-01", "end": "2027-03-05", "closed": True},
                   {"label": "b", "start": "2027-03-05", "closed": True}]
    response = client.patch("/api/v1/settings", json={"staff_hours_exceptions": overlapping}, headers=auth)
    assert response.status_code == 422
    [detail] = response.get_json()["details"]
    assert detail["field"] == "staff_hours_exceptions" and "'a' and 'b' overlap on 2027-03-05" in detail["message"]
    assert client.get("/api/v1/settings", headers=auth).get_json() == body


def test_the_loyalty_rules_are_saved_and_shown(client, auth, spec):
    rules = {"points_per_1000_rupiah": 2, "rounding": "nearest", "expiry_months": 12,
             "tiers": [{"name": "Silver", "min_points": 0}, {"name": "Gold", "min_points": 800}],
             "rewards": [{"name": "Potongan 10rb", "points": 100, "amount_off": 10_000},
                         {"name": "Gratis kopi", "points": 150, "free_sku": "KOPI"}],
             "multipliers": [{"category": "Pastry", "factor": 2}], "birthday_points": 50,
             "stamps": {"sku": "KOPI", "stamps": 9}}
    body = check(spec, "/settings", "patch", client.patch("/api/v1/settings", json={"loyalty": rules}, headers=auth))
    saved = body["loyalty"]
    assert (saved["rounding"], saved["birthday_points"], saved["multipliers"]) == \
        ("nearest", 50, [{"category": "Pastry", "factor": 2.0}])
    assert [(r["amount_off"], r["free_sku"]) for r in saved["rewards"]] == [(10_000, None), (None, "KOPI")]
    assert saved["stamps"] == {"sku": "KOPI", "category": None, "stamps": 9, "free_sku": None}
    assert client.get("/api/v1/settings", headers=auth).get_json()["loyalty"] == saved
