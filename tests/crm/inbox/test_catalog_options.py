"""Product options on the catalog screen: variant prices and add-ons in both languages, refused input kept."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm.models import AuditLog
from crm.orders import Product
from tests.crm.inbox.test_catalog_page import add, one, product_form, settings  # noqa: F401 - the https shop

ADDONS = {"addon_name_0": "Tambah shot", "addon_name_en_0": "Extra shot", "addon_price_0": "4.000",
          "addon_name_1": "Susu oat", "addon_name_en_1": "Oat milk", "addon_price_1": "8000",
          "addon_name_2": "", "addon_name_en_2": "", "addon_price_2": ""}


def test_an_owner_gives_a_product_a_dearer_variant_and_add_ons(as_role, session):
    admin = as_role("admin")
    saved = add(admin, variants="Regular, Large +5.000", **ADDONS)
    assert saved.status_code == 303
    product = one(session, "KOPSUS")
    assert (product.variants, product.variant_prices) == (["Regular", "Large"], {"Large": 5_000})
    assert product.addons == [{"name": "Tambah shot", "name_en": "Extra shot", "price": 4_000},
                              {"name": "Susu oat", "name_en": "Oat milk", "price": 8_000}]
    listing = admin.get("/inbox/catalog").get_data(as_text=True)
    assert "Regular · Large +Rp5.000 · Tambah shot +Rp4.000 · Susu oat +Rp8.000" in listing
    page = admin.get(f"/inbox/catalog/{product.id}").get_data(as_text=True)
    assert 'value="Regular, Large +5000"' in page and 'value="Extra shot"' in page
    assert 'name="addon_name_3"' in page  # two blank rows after the two add-ons

    # the second add-on emptied, the variant dearer: the row goes, the audit row says what changed
    changed = admin.post(f"/inbox/catalog/{product.id}", product_form(
        variants="Regular, Large +6.000", addon_name_0="Tambah shot", addon_name_en_0="Extra shot",
        addon_price_0="4000", addon_name_1="", addon_name_en_1="", addon_price_1=""),
        content_type="multipart/form-data")
    assert changed.status_code == 303
    product = one(session, "KOPSUS")
    assert product.variant_prices == {"Large": 6_000} and [a["name"] for a in product.addons] == ["Tambah shot"]
    audit = session.exec(select(AuditLog).where(AuditLog.action == "catalog.edit")).one()
    assert audit.details["changed"]["variant_prices"] == [{"Large": 5_000}, {"Large": 6_000}]


@pytest.mark.parametrize("changes, reason", [
    ({"variants": "Regular, Large +lima ribu"}, "Harga varian Large: harus angka bulat"),
    ({"variants": "Regular, Large +-5000"}, "Harga varian Large: di luar batas"),
    ({"addon_name_0": "Extra shot", "addon_price_0": "empat"}, "Tambahan (add-on) 1: harus angka bulat"),
    ({"addon_name_0": "", "addon_price_0": "4000"}, "Tambahan (add-on) 1: wajib diisi"),
    ({"addon_name_0": "Shot", "addon_price_0": "1", "addon_name_1": "shot", "addon_price_1": "2"},
     "Tambahan (add-on) 2: namanya sudah dipakai tambahan lain"),
])
def test_bad_options_come_back_with_the_reason_and_nothing_is_saved(as_role, session, changes, reason):
    refused = add(as_role("admin"), **changes)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and reason in page, page[page.find("flash"):][:400]
    assert f'value="{changes.get("variants") or changes["addon_price_0"]}"' in page  # what was typed is kept
    session.expire_all()
    assert session.exec(select(Product)).all() == []


def test_an_agent_cannot_change_a_products_options(as_role, session):
    add(as_role("admin"))
    product_id = one(session, "KOPSUS").id
    refused = as_role("agent").post(f"/inbox/catalog/{product_id}", product_form(variants="Large +5000", **ADDONS),
                                    content_type="multipart/form-data")
    assert refused.status_code == 403
    product = one(session, "KOPSUS")
    assert (product.variant_prices, product.addons) == ({}, [])
