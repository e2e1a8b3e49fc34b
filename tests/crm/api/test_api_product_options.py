"""Product options over the REST API: variant prices and add-ons, additive to the product's shape."""

from __future__ import annotations

import pytest

from tests.openapi import check

LATTE = {"sku": "LAT", "name": "Caffe Latte", "price": 28_000, "variants": ["Regular", "Large"],
         "variant_prices": {"Large": 5_000}, "addons": [{"name": "Extra shot", "price": 4_000},
                                                         {"name": "Susu oat", "name_en": "Oat milk", "price": 8_000}]}


def test_a_product_is_created_and_changed_with_options(client, auth, spec):
    made = check(spec, "/products", "post", client.post("/api/v1/products", json=LATTE, headers=auth))
    assert made["variant_prices"] == {"Large": 5_000}
    assert made["addons"] == [{"name": "Extra shot", "name_en": None, "price": 4_000},
                              {"name": "Susu oat", "name_en": "Oat milk", "price": 8_000}]
    url = f"/api/v1/products/{made['id']}"
    # a client that knows only names keeps working: the variant it drops loses its price, the others keep theirs
    names = check(spec, "/products/{id}", "patch", client.patch(url, json={"variants": ["Large", "Jumbo"]},
                                                                  headers=auth))
    assert names["variant_prices"] == {"Large": 5_000} and len(names["addons"]) == 2
    gone = client.patch(url, json={"variants": ["Regular"]}, headers=auth).get_json()
    assert gone["variant_prices"] == {}
    plain = client.post("/api/v1/products", json={"sku": "AME", "name": "Americano", "price": 22_000},
                        headers=auth).get_json()
    assert (plain["variants"], plain["variant_prices"], plain["addons"]) == ([], {}, [])


@pytest.mark.parametrize("body, field", [
    ({"variant_prices": {"Large": -5_000}}, "variant_prices"),
    ({"variant_prices": {"Jumbo": 5_000}}, "variant_prices"),  # not one of the product's variants
    ({"addons": [{"name": "Extra shot", "price": -1}]}, "addons"),
    ({"addons": [{"name": "", "price": 1}]}, "addons"),
    ({"addons": [{"name": "Shot", "price": 1}, {"name": "shot", "price": 2}]}, "addons"),
    ({"addons": [{"name": "Shot", "price": 1, "cost": 2}]}, "addons"),
])
def test_bad_options_are_refused_with_422_and_nothing_changes(client, auth, body, field):
    made = client.post("/api/v1/products", json=LATTE, headers=auth).get_json()
    refused = client.patch(f"/api/v1/products/{made['id']}", json=body, headers=auth)
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert any(field in d["field"] for d in refused.get_json()["details"])
    created = client.post("/api/v1/products", json={**LATTE, "sku": "LAT-2", **body}, headers=auth)
    assert created.status_code == 422
    [kept] = client.get("/api/v1/products", headers=auth).get_json()["items"]
    assert (kept["variant_prices"], len(kept["addons"])) == ({"Large": 5_000}, 2)


def test_the_document_describes_the_options(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert {"variant_prices", "addons"} <= set(schemas["ProductCreate"]["properties"])
    assert schemas["Addon"]["properties"]["price"]["minimum"] == 0
    assert "addons" in schemas["OrderLinePublic"]["properties"]


def test_a_product_gets_hours_and_loses_them(client, auth, spec):
    made = client.post("/api/v1/products", json={**LATTE, "available_hours": [["07:00", "11:00"]]},
                       headers=auth).get_json()
    assert made["available_hours"] == [["07:00", "11:00"]]
    url = f"/api/v1/products/{made['id']}"
    for bad in ([["07:00", "07:00"]], [["7", "11"]], []):
        assert client.patch(url, json={"available_hours": bad}, headers=auth).status_code == 422
    cleared = check(spec, "/products/{id}", "patch", client.patch(url, json={"available_hours": None}, headers=auth))
    assert cleared["available_hours"] is None
