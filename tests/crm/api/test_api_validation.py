"""Bad request bodies are refused with 422 before the database sees them (they were 500s)."""

from __future__ import annotations

import pytest

from tests.factories import Webhooks, tg_text

PRODUCT = {"sku": "KOPI-1", "name": "Kopi Susu", "price": 18000, "stock": 5}


@pytest.fixture
def contact_id(client, auth) -> int:
    Webhooks(client).telegram(tg_text("halo", user_id=7001, first_name="Sari"))
    return client.get("/api/v1/contacts", headers=auth).get_json()["items"][0]["id"]


@pytest.fixture
def product_id(client, auth) -> int:
    response = client.post("/api/v1/products", json=PRODUCT, headers=auth)
    assert response.status_code == 201
    return response.get_json()["id"]


def _refused(response, field: str) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "invalid fields"
    assert any(field in d["field"] or field in d["message"] for d in body["details"]), body


@pytest.mark.parametrize("field", ["display_name", "tags", "marketing_consent", "attributes"])
def test_contact_patch_refuses_null_for_a_required_field(client, auth, contact_id, field):
    url = f"/api/v1/contacts/{contact_id}"
    _refused(client.patch(url, json={field: None}, headers=auth), field)
    assert client.get(url, headers=auth).get_json()["display_name"] == "Sari"


def test_contact_patch_still_clears_an_optional_field(client, auth, contact_id):
    url = f"/api/v1/contacts/{contact_id}"
    assert client.patch(url, json={"phone": "0812"}, headers=auth).get_json()["phone"] == "0812"
    assert client.patch(url, json={"phone": None}, headers=auth).get_json()["phone"] is None


@pytest.mark.parametrize("change", [{"name": None}, {"price": None}, {"active": None}, {"aliases": None},
                                    {"category": None}, {"stock": 10**20}, {"stock": 2**31}, {"price": 2**63}])
def test_product_patch_refuses_null_and_huge_numbers(client, auth, product_id, change):
    (field,) = change
    _refused(client.patch(f"/api/v1/products/{product_id}", json=change, headers=auth), field)
    listed = client.get("/api/v1/products", headers=auth).get_json()["items"]
    assert [(p["name"], p["price"], p["stock"]) for p in listed] == [("Kopi Susu", 18000, 5)]


def test_product_patch_takes_unlimited_stock_and_create_refuses_huge_stock(client, auth, product_id):
    unlimited = client.patch(f"/api/v1/products/{product_id}", json={"stock": None}, headers=auth)
    assert unlimited.get_json()["stock"] is None
    _refused(client.post("/api/v1/products", json={**PRODUCT, "sku": "X-2", "stock": 10**20}, headers=auth), "stock")


def test_products_keep_the_catalog_screens_order_and_take_variants(client, auth, product_id):
    second = client.post("/api/v1/products", json={**PRODUCT, "sku": "KOPI-2", "name": "Americano"}, headers=auth)
    assert second.status_code == 201 and second.get_json()["sort_order"] == 1  # last of its category
    listed = client.get("/api/v1/products", headers=auth).get_json()["items"]
    assert [p["name"] for p in listed] == ["Kopi Susu", "Americano"]  # the shop's order, not the alphabet
    patched = client.patch(f"/api/v1/products/{product_id}", json={"variants": ["panas", "dingin"]}, headers=auth)
    assert patched.get_json()["variants"] == ["panas", "dingin"]
    taken = client.post("/api/v1/products", json={**PRODUCT, "name": "Lain"}, headers=auth)
    assert taken.status_code == 409


@pytest.mark.parametrize("path, body, field", [
    ("/api/v1/campaigns", {"name": "x", "segment_id": 2**31, "message": {"text": "hi"}}, "segment_id"),
    ("/api/v1/campaigns", {"name": "x", "promotion_id": 10**20, "message": {"text": "hi"}}, "promotion_id"),
    ("/api/v1/campaigns", {"name": "x", "message": {"text": "hi"}, "recurrence": "0 9 * * " + ",".join(["1"] * 60)},
     "recurrence"),  # a valid cron longer than its column
    ("/api/v1/promotions", {"title": "x", "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-02-01T00:00:00Z",
                            "store_id": 2**63, "radius_km": 1}, "store_id"),
])
def test_ids_and_texts_in_bodies_are_bounded(client, auth, path, body, field):
    _refused(client.post(path, json=body, headers=auth), field)


def test_the_document_offers_null_only_where_a_patch_takes_it(spec):
    schemas = spec["components"]["schemas"]
    contact, product = schemas["ContactUpdate"]["properties"], schemas["ProductUpdate"]["properties"]
    assert contact["display_name"] == {"type": "string", "maxLength": 200, "title": "Display Name"}
    assert {"type": "null"} in contact["phone"]["anyOf"]
    assert "anyOf" not in product["price"] and {"type": "null"} in product["stock"]["anyOf"]
    assert product["stock"]["anyOf"][0]["maximum"] == 1_000_000_000
