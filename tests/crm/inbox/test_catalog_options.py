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


def test_an_owner_sets_breakfast_hours_and_bad_hours_are_refused(as_role, session):
    admin = as_role("admin")
    assert add(admin, available_hours="07:00-11:00, 17:00 – 19:00").status_code == 303
    product = one(session, "KOPSUS")
    assert product.available_hours == [["07:00", "11:00"], ["17:00", "19:00"]]
    assert "🕒 07:00–11:00, 17:00–19:00" in admin.get("/inbox/catalog").get_data(as_text=True)
    assert 'value="07:00-11:00, 17:00-19:00"' in admin.get(f"/inbox/catalog/{product.id}").get_data(as_text=True)
    for typed in ("pagi", "07:00-07:00", "7-11", "25:00-26:00"):
        refused = admin.post(f"/inbox/catalog/{product.id}", product_form(available_hours=typed),
                             content_type="multipart/form-data")
        page = refused.get_data(as_text=True)
        assert refused.status_code == 400 and "Jam tersedia: tulis jam seperti 07:00-11:00" in page, typed
        assert f'value="{typed}"' in page
    cleared = admin.post(f"/inbox/catalog/{product.id}", product_form(available_hours=""),
                         content_type="multipart/form-data")
    assert cleared.status_code == 303 and one(session, "KOPSUS").available_hours is None


def _order(staff, body, **kwargs):
    """The list's script posting a dragged order: JSON with the CSRF token in a header."""
    headers = {"X-CSRFToken": staff.token, "X-Requested-With": "fetch"}
    if body is None:
        return staff.client.post("/inbox/catalog/order", data="x", content_type="text/plain", headers=headers)
    return staff.client.post("/inbox/catalog/order", json=body, headers=headers, **kwargs)


def _three(admin, session) -> list[int]:
    for sku, name in (("A", "Americano"), ("B", "Bandrek"), ("C", "Cappuccino")):
        add(admin, sku=sku, name=name, aliases="")
    return [one(session, sku).id for sku in "ABC"]


def test_a_dragged_order_is_saved_and_audited(as_role, session):
    admin = as_role("admin")
    a, b, c = _three(admin, session)
    saved = _order(admin, {"category": "Kopi", "ids": [c, a, b]})
    assert saved.status_code == 200 and saved.get_json() == {"moved": True}
    session.expire_all()
    assert [p.name for p in session.exec(select(Product).order_by(Product.sort_order)).all()] == \
        ["Cappuccino", "Americano", "Bandrek"]
    audit = session.exec(select(AuditLog).where(AuditLog.action == "catalog.reorder")).one()
    assert audit.details == {"category": "Kopi", "ids": [c, a, b]}
    assert _order(admin, {"category": "Kopi", "ids": [c, a, b]}).get_json() == \
        {"moved": False}


@pytest.mark.parametrize("body", [{"category": "Kopi", "ids": "1,2"}, {"category": "Kopi"}, {"ids": []}, None])
def test_a_malformed_or_stale_order_is_refused_and_nothing_moves(as_role, session, body):
    admin = as_role("admin")
    a, b, c = _three(admin, session)
    for sent in (body, {"category": "Kopi", "ids": [c, a]}, {"category": "Kopi", "ids": [c, a, b, b]}):
        refused = _order(admin, sent)
        assert refused.status_code in (400, 409) and "Muat ulang" in refused.get_json()["error"]
    session.expire_all()
    assert [p.sort_order for p in session.exec(select(Product).order_by(Product.id)).all()] == [0, 1, 2]


def test_only_admins_reorder_and_only_with_the_csrf_token(as_role, session):
    admin = as_role("admin")
    a, b, c = _three(admin, session)
    assert _order(as_role("agent"), {"category": "Kopi", "ids": [c, b, a]}).status_code == 403
    no_token = admin.client.post("/inbox/catalog/order", json={"category": "Kopi", "ids": [c, b, a]})
    assert no_token.status_code == 400  # CSRF
    session.expire_all()
    assert [p.sort_order for p in session.exec(select(Product).order_by(Product.id)).all()] == [0, 1, 2]


def test_options_and_hours_round_trip_through_the_csv_and_a_bad_cell_is_named(as_role, session):
    import csv
    import io

    admin = as_role("admin")
    add(admin, variants="Regular, Large +5.000", available_hours="07:00-11:00", **ADDONS)
    [row] = list(csv.DictReader(io.StringIO(admin.get("/inbox/catalog/export.csv").get_data(as_text=True))))
    assert (row["variants"], row["addons"], row["available_hours"]) == (
        "Regular, Large +5000", "Tambah shot / Extra shot +4000, Susu oat / Oat milk +8000", "07:00-11:00")

    def upload(**cells):
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(row))
        writer.writeheader()
        writer.writerow({**row, **cells})
        return admin.post("/inbox/catalog/import", {"file": (io.BytesIO(out.getvalue().encode()), "catalog.csv")},
                          content_type="multipart/form-data")

    assert upload(variants="Regular, Large +6,000, Jumbo +9.000", addons="Keju +3000").status_code == 303
    product = one(session, "KOPSUS")
    assert product.variant_prices == {"Large": 6_000, "Jumbo": 9_000}
    assert product.addons == [{"name": "Keju", "name_en": None, "price": 3_000}]
    refused = upload(addons="Keju")
    assert refused.status_code == 400 and "Baris 2: Tambahan (add-on) 1: harus angka bulat" in \
        refused.get_data(as_text=True)
    assert one(session, "KOPSUS").addons == [{"name": "Keju", "name_en": None, "price": 3_000}]
