"""REST API v1 and loyalty: counter purchases, points on delivery and cancel, the ledger, staff adjustments."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from core.db import session_scope
from crm.orders import Product
from tests.factories import Webhooks, line_text
from tests.openapi import check

LINE_USER = "U4444444444444444444444444444444d"


@pytest.fixture
def customer(client, auth, runtime) -> int:
    """A LINE customer (they wrote once) and two products; the contact's id."""
    Webhooks(client).line(line_text("halo kak", user=LINE_USER))
    with session_scope(runtime.engine) as session:
        session.add_all([Product(sku="KOPI", name="Es Kopi Susu", price=25_500),
                         Product(sku="CRO", name="Croissant", price=18_000)])
    return client.get("/api/v1/contacts", headers=auth).get_json()["items"][0]["id"]


def _post_order(client, auth, **body):
    return client.post("/api/v1/orders", json=body, headers=auth)


def _points(client, auth, spec, contact_id: int) -> dict:
    return check(spec, "/contacts/{contact_id}/points", "get",
                 client.get(f"/api/v1/contacts/{contact_id}/points", headers=auth))


def test_a_counter_purchase_earns_points_and_tells_the_customer(client, auth, spec, customer):
    response = _post_order(client, auth, contact_id=customer, items=[{"sku": "KOPI", "quantity": 2}])
    order = check(spec, "/orders", "post", response)
    assert response.status_code == 201
    assert (order["status"], order["fulfilment"], order["total"]) == ("delivered", "pickup", 51_000)
    assert [e["status"] for e in order["history"]] == ["new", "confirmed", "preparing", "shipped", "delivered"]
    ledger = _points(client, auth, spec, customer)
    assert ledger["balance"] == 51 and ledger["tier"] == "Silver"
    assert [(i["kind"], i["points"], i["order_id"]) for i in ledger["items"]] == [("earn", 51, order["id"])]
    contact = check(spec, "/contacts/{contact_id}", "get", client.get(f"/api/v1/contacts/{customer}", headers=auth))
    assert (contact["points"], contact["tier"]) == (51, "Silver")
    last = client.get(f"/api/v1/contacts/{customer}/messages", headers=auth).get_json()["items"][-1]
    assert "+51 poin" in last["text"] and f"#{order['number']}" in last["text"]


def test_patch_to_delivered_earns_and_cancelling_after_delivery_reverses(client, auth, spec, customer):
    order = _post_order(client, auth, contact_id=customer, items=[{"sku": "CRO", "quantity": 3}],
                        fulfilment="delivery", address="Jl. Sudirman 1", status="new").get_json()
    assert order["status"] == "new" and _points(client, auth, spec, customer)["balance"] == 0
    for status in ("confirmed", "preparing", "shipped", "delivered"):
        assert client.patch(f"/api/v1/orders/{order['id']}", json={"status": status}, headers=auth).status_code == 200
    assert _points(client, auth, spec, customer)["balance"] == 54  # 54.000 without the delivery fee
    cancelled = client.patch(f"/api/v1/orders/{order['id']}", json={"status": "cancelled"}, headers=auth)
    assert cancelled.status_code == 200
    ledger = _points(client, auth, spec, customer)
    assert ledger["balance"] == 0 and [i["kind"] for i in ledger["items"]] == ["reverse", "earn"]
    last = client.get(f"/api/v1/contacts/{customer}/messages", headers=auth).get_json()["items"][-1]
    assert "54 poin" in last["text"] and "dibatalkan" in last["text"]


@pytest.mark.parametrize("body, field", [
    ({"items": [{"sku": "NOPE", "quantity": 1}]}, "items.0.sku"),
    ({"items": [{"product_id": 999, "quantity": 1}]}, "items.0.product_id"),
    ({"items": [{"sku": "KOPI", "product_id": 1, "quantity": 1}]}, "items.0"),
    ({"items": [{"quantity": 1}]}, "items.0"),
    ({"items": []}, "items"),
    ({"items": [{"sku": "KOPI", "quantity": 0}]}, "items.0.quantity"),
    ({"items": [{"sku": "KOPI"}], "status": "cancelled"}, "status"),
    ({"items": [{"sku": "KOPI"}], "fulfilment": "delivery"}, "address"),
    ({"items": [{"sku": "KOPI"}], "store_id": 77}, "store"),
    ({"items": [{"sku": "KOPI"}], "payment_method": "bitcoin"}, "payment_method"),
])
def test_a_bad_counter_purchase_is_a_clear_422_and_writes_nothing(client, auth, spec, customer, body, field):
    response = _post_order(client, auth, contact_id=customer, **body)
    error = check(spec, "/orders", "post", response)
    assert response.status_code == 422
    assert field in [d["field"] for d in error["details"]], error
    assert client.get("/api/v1/orders", headers=auth).get_json()["items"] == []
    assert _points(client, auth, spec, customer)["balance"] == 0


def test_a_counter_purchase_for_an_unknown_contact_is_422(client, auth, spec, customer):
    response = _post_order(client, auth, contact_id=424242, items=[{"sku": "KOPI"}])
    assert response.status_code == 422 and check(spec, "/orders", "post", response)["details"][0]["field"] == "contact_id"


def test_staff_adjust_points_with_a_reason(client, auth, spec, customer):
    url = f"/api/v1/contacts/{customer}/points"
    added = client.post(url, json={"points": 120, "reason": "bonus ulang tahun"}, headers=auth)
    assert added.status_code == 201
    body = check(spec, "/contacts/{contact_id}/points", "post", added)
    assert body["balance"] == 120 and body["items"][0]["reason"] == "bonus ulang tahun"
    assert body["items"][0]["by"].startswith("api:")
    for bad, field in (({"points": 5, "reason": "  "}, "reason"), ({"points": 5}, "reason"), ({"points": 0, "reason": "x"}, "points"),
                       ({"points": -121, "reason": "tukar"}, "points")):
        refused = client.post(url, json=bad, headers=auth)
        assert refused.status_code == 422, bad
        assert field in check(spec, "/contacts/{contact_id}/points", "post", refused)["details"][0]["field"]
    assert _points(client, auth, spec, customer)["balance"] == 120
    assert client.post("/api/v1/contacts/424242/points", json={"points": 1, "reason": "x"}, headers=auth).status_code == 404
    assert client.get("/api/v1/contacts/424242/points", headers=auth).status_code == 404


def test_the_contact_export_holds_the_points_ledger(client, auth, customer):
    order = _post_order(client, auth, contact_id=customer, items=[{"sku": "KOPI", "quantity": 2}]).get_json()
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/contacts/{customer}/export", headers=auth).data))
    points = json.loads(archive.read("contact.json"))["contact"]["points"]
    assert [(p["kind"], p["points"], p["order_id"]) for p in points] == [("earn", 51, order["id"])]
    assert "earn" in archive.read("points.csv").decode()


def test_the_contact_export_holds_the_stamps(client, auth, customer):
    client.patch("/api/v1/settings", json={"loyalty": {"stamps": {"sku": "KOPI", "stamps": 9}}}, headers=auth)
    order = _post_order(client, auth, contact_id=customer, items=[{"sku": "KOPI", "quantity": 2}]).get_json()
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/api/v1/contacts/{customer}/export", headers=auth).data))
    stamps = json.loads(archive.read("contact.json"))["contact"]["stamps"]
    assert [(s["kind"], s["stamps"], s["order_id"]) for s in stamps] == [("earn", 2, order["id"])]
    assert "earn" in archive.read("stamps.csv").decode()


def test_a_counter_delivery_costs_what_its_stores_own_rules_say(client, auth, spec, customer, runtime):
    from crm import stores
    from crm.shop_settings import save_settings

    with session_scope(runtime.engine) as session:
        save_settings(session, {"delivery": {"flat_fee": 10_000}})
        kemang = stores.create_store(session=session, name="Kemang", lat=-6.26, lon=106.81,
                                     delivery={"flat_fee": 4_000}, pickup=False).id
    order = _post_order(client, auth, contact_id=customer, items=[{"sku": "KOPI"}], fulfilment="delivery",
                        address="Jl. Kemang 1", store_id=kemang, status="new")
    assert order.status_code == 201 and check(spec, "/orders", "post", order)["delivery_fee"] == 4_000
    counter = _post_order(client, auth, contact_id=customer, items=[{"sku": "KOPI"}], store_id=kemang)
    assert counter.status_code == 201  # sold over its counter: "no pickup" is about chat orders


def test_a_counter_purchase_tells_the_stamps_and_a_full_cards_voucher(client, auth, customer):
    assert client.patch("/api/v1/settings", json={"loyalty": {"stamps": {"sku": "KOPI", "stamps": 3}}},
                        headers=auth).status_code == 200
    _post_order(client, auth, contact_id=customer,
                items=[{"sku": "KOPI", "quantity": 2}, {"sku": "CRO", "quantity": 1}])
    last = client.get(f"/api/v1/contacts/{customer}/messages", headers=auth).get_json()["items"][-1]["text"]
    assert "+2 stempel ☕ Kartu kakak sekarang 2 dari 3." in last and "penuh" not in last
    _post_order(client, auth, contact_id=customer, items=[{"sku": "KOPI", "quantity": 2}])
    last = client.get(f"/api/v1/contacts/{customer}/messages", headers=auth).get_json()["items"][-1]["text"]
    assert "Kartu kakak sekarang 1 dari 3." in last
    assert "Kartu stempel penuh 🎉 Ini voucher item gratisnya: STEMPEL-" in last
