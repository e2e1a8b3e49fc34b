"""`%` and `_` typed in a search are literal characters, not LIKE wildcards."""

from __future__ import annotations

import pytest

from core.db import session_scope
from crm.inbox.shop_data import list_orders
from crm.models import Contact
from crm.orders import CartLine, Product, place_order

NAMES = ["Diskon 50% Sari", "Budi 50 Persen", "Toko A_B", "Toko AxB"]


@pytest.fixture
def contact_ids(runtime) -> dict[str, int]:
    with session_scope(runtime.engine) as session:
        contacts = {name: Contact(display_name=name) for name in NAMES}
        session.add_all(contacts.values())
        session.flush()
        return {name: contact.id for name, contact in contacts.items()}


@pytest.mark.parametrize("q, found", [("%", ["Diskon 50% Sari"]), ("50%", ["Diskon 50% Sari"]),
                                      ("_", ["Toko A_B"]), ("a_b", ["Toko A_B"]), ("toko", ["Toko A_B", "Toko AxB"])])
def test_api_contact_search_takes_wildcards_literally(client, auth, contact_ids, q, found):
    items = client.get("/api/v1/contacts", query_string={"q": q}, headers=auth).get_json()["items"]
    assert sorted(item["display_name"] for item in items) == found


def test_inbox_order_search_takes_wildcards_literally(runtime, contact_ids):
    with session_scope(runtime.engine) as session:
        product = Product(sku="K1", name="Kopi", price=10000)
        session.add(product)
        session.flush()
        for contact_id in contact_ids.values():
            place_order(session=session, contact_id=contact_id, lines=[CartLine(product_id=product.id, quantity=1)],
                        fulfilment="pickup")
    with session_scope(runtime.engine) as session:
        for q, found in [("%", ["Diskon 50% Sari"]), ("_", ["Toko A_B"]),
                         ("50", ["Budi 50 Persen", "Diskon 50% Sari"])]:
            rows, _, _ = list_orders(session=session, q=q)
            assert sorted(contact.display_name for _, contact in rows) == found, q
