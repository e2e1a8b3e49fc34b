"""The OpenAPI document says what the API answers: bounds, enums, body errors, and 405 with Allow."""

from __future__ import annotations

import pytest

from tests.factories import Webhooks, tg_text


def _operations(spec: dict):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_every_operation_documents_the_errors_of_its_kind(spec):
    for path, method, operation in _operations(spec):
        responses = set(operation["responses"])
        assert {"400", "401"} <= responses, (method, path)
        if "requestBody" in operation:
            assert {"400", "415", "422"} <= responses, (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)


def test_every_parameter_states_its_bounds(spec):
    for path, method, operation in _operations(spec):
        for parameter in operation.get("parameters", []):
            schema = parameter["schema"]
            if schema["type"] == "integer":
                assert {"minimum", "maximum"} <= set(schema), (method, path, parameter["name"])
            if parameter["name"] in ("status", "channel", "lang", "bucket"):
                assert schema.get("enum"), (method, path, parameter["name"])


def test_a_body_that_is_not_json_is_415_as_documented(client, auth, spec):
    for url, spec_path in [("/api/v1/products", "/products"), ("/api/v1/segments", "/segments"),
                           ("/api/v1/campaigns", "/campaigns")]:
        response = client.post(url, data="x", headers=auth)
        assert response.status_code == 415 and "415" in spec["paths"][spec_path]["post"]["responses"]


def test_an_undeclared_method_is_405_with_allow(client, auth):
    response = client.open("/api/v1/stores", method="TRACE", headers=auth)
    assert response.status_code == 405 and response.is_json
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["Allow"].split(",")}


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=x", "channel=fax"])
def test_typed_query_values_outside_the_document_are_400(client, auth, query):
    assert client.get(f"/api/v1/contacts?{query}", headers=auth).status_code == 400


def test_empty_query_values_mean_not_given_as_the_contract_writes_them(client, auth):
    Webhooks(client).telegram(tg_text("halo", user_id=7002, first_name="Sari"))
    response = client.get("/api/v1/contacts?q=&channel=&limit=", headers=auth)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [c["display_name"] for c in response.get_json()["items"]] == ["Sari"]


def test_every_list_endpoint_takes_every_query_parameter_empty(client, auth, spec):
    Webhooks(client).telegram(tg_text("halo", user_id=7003, first_name="Budi"))
    lists = [(path, op["parameters"]) for path, method, op in _operations(spec)
             if method == "get" and "{" not in path and op.get("parameters")]
    assert len(lists) >= 9  # contacts, conversations, orders, complaints, stores, promotions, faqs, ...
    for path, parameters in lists:
        assert all(p["allowEmptyValue"] for p in parameters), path  # the document says so too
        url = "/api/v1" + path
        empty = client.get(url + "?" + "&".join(f"{p['name']}=" for p in parameters), headers=auth)
        assert empty.status_code == 200, (path, empty.get_data(as_text=True))
        assert empty.get_json() == client.get(url, headers=auth).get_json(), path


@pytest.mark.parametrize("body", [{"price": 1, "sku": "A", "name": "x", "active": 0},
                                  {"price": "5", "sku": "A", "name": "x"}, {"price": False, "sku": "A", "name": "x"}])
def test_bodies_are_typed_strictly(client, auth, body):
    assert client.post("/api/v1/products", json=body, headers=auth).status_code == 422


def test_an_integral_float_is_an_integer_as_in_json_schema(client, auth):
    response = client.post("/api/v1/products", json={"price": 5000.0, "sku": "A", "name": "x"}, headers=auth)
    assert response.status_code == 201 and response.get_json()["price"] == 5000
