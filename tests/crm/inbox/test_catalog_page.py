"""The catalog screen: admins add and change products (photo, price, stock, aliases, order), bulk prices, import/export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from PIL import Image
from sqlmodel import select

from core.db import session_scope
from crm.models import AuditLog
from crm.orders import Product
from tests.conftest import make_settings
from tests.crm.inbox.conftest import LINE_USER
from tests.factories import line_text

SHOP = "https://shop.example"


@pytest.fixture
def settings(database_url, fake_line, fake_telegram, nlu_model_path, tmp_path):
    """Served at a public https address, so product photos are allowed."""
    return make_settings(database_url, fake_line, fake_telegram, nlu={"model_path": nlu_model_path},
                         media_dir=str(tmp_path / "media"), public_url=SHOP)


def png(colour: str = "orange") -> bytes:
    """A small real PNG photo."""
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PNG")
    return out.getvalue()


def product_form(**changes) -> dict:
    """The product form as an owner fills it in."""
    return {"sku": "KOPSUS", "name": "Es Kopi Susu", "name_en": "Iced Milk Coffee", "category": "Kopi",
            "price": "22.000", "stock_mode": "unlimited", "stock": "", "aliases": "kopsus, kopi susu gula aren",
            "variants": "", "description": "Espresso, susu, gula aren", "active": "1", **changes}


def add(admin, **changes):
    return admin.post("/inbox/catalog/new", product_form(**changes), content_type="multipart/form-data")


def bot_said(fake_line) -> str:
    """Everything the bot answered on LINE so far."""
    return " ".join(str(call.json["messages"]) for call in fake_line.calls("/v2/bot/message/reply"))


def one(session, sku: str) -> Product:
    session.expire_all()
    return session.exec(select(Product).where(Product.sku == sku)).one()


def test_an_owner_adds_a_product_with_a_photo_and_an_alias_and_a_customer_orders_it_by_the_alias(
        as_role, session, settings, webhooks, fake_line):
    admin = as_role("admin")
    added = add(admin, photo=(io.BytesIO(png()), "kopi.png"))
    assert added.status_code == 303, added.get_data(as_text=True)
    product = one(session, "KOPSUS")
    assert (product.name, product.price, product.category, product.stock, product.aliases) == \
        ("Es Kopi Susu", 22_000, "Kopi", None, ["kopsus", "kopi susu gula aren"])
    name = product.image_url.removeprefix(f"{SHOP}/media/")
    assert (Path(settings.media_dir) / name).read_bytes()[:4] == b"\x89PNG"
    page = admin.get("/inbox/catalog").get_data(as_text=True)
    assert "Es Kopi Susu" in page and "Rp22.000" in page and f'src="/media/{name}"' in page
    audit = session.exec(select(AuditLog).where(AuditLog.action == "catalog.add")).one()
    assert audit.target_id == product.id and audit.details["sku"] == "KOPSUS"

    # The bot knows the new product by its alias at once (no restart, no stale cache).
    assert webhooks.line(line_text("pesan 2 kopsus", user=LINE_USER)).status_code == 200
    assert "Es Kopi Susu" in bot_said(fake_line), bot_said(fake_line)

    # A new alias added later is understood from the next message on.
    edited = admin.post(f"/inbox/catalog/{product.id}", product_form(aliases="kopsus, es kosu"),
                        content_type="multipart/form-data")
    assert edited.status_code == 303
    fake_line.reset()
    webhooks.line(line_text("mau es kosu 1", user=LINE_USER))
    assert "Es Kopi Susu" in bot_said(fake_line), bot_said(fake_line)


def test_an_owner_edits_price_stock_photo_and_takes_a_product_off_sale(as_role, session):
    admin = as_role("admin")
    add(admin, photo=(io.BytesIO(png()), "kopi.png"))
    product_id = one(session, "KOPSUS").id
    edited = admin.post(f"/inbox/catalog/{product_id}", product_form(
        price="25000", stock_mode="count", stock="12", variants="panas, dingin", remove_photo="1", name_en=""),
        content_type="multipart/form-data")
    assert edited.status_code == 303
    product = one(session, "KOPSUS")
    assert (product.price, product.stock, product.variants, product.image_url, product.name_en) == \
        (25_000, 12, ["panas", "dingin"], None, None)
    changed = session.exec(select(AuditLog).where(AuditLog.action == "catalog.edit")).one().details["changed"]
    assert changed["price"] == [22_000, 25_000] and changed["stock"] == [None, 12]
    form = admin.get(f"/inbox/catalog/{product_id}").get_data(as_text=True)
    assert 'value="25000"' in form and 'value="12"' in form and 'value="panas, dingin"' in form

    assert admin.post(f"/inbox/catalog/{product_id}/sold-out", {"sold_out": "1"}).status_code == 303
    assert one(session, "KOPSUS").stock == 0 and not one(session, "KOPSUS").in_stock
    assert "Habis" in admin.get("/inbox/catalog").get_data(as_text=True)
    admin.post(f"/inbox/catalog/{product_id}/sold-out", {"sold_out": "0"})
    assert one(session, "KOPSUS").stock is None

    assert admin.post(f"/inbox/catalog/{product_id}/delete", {"active": "0"}).status_code == 303
    assert one(session, "KOPSUS").active is False
    admin.post(f"/inbox/catalog/{product_id}/delete", {"active": "1"})
    assert one(session, "KOPSUS").active is True
    actions = list(session.exec(select(AuditLog.action).where(AuditLog.target_id == product_id)))
    assert actions.count("catalog.sold_out") == 2 and {"catalog.remove", "catalog.restore"} <= set(actions)


def test_arrows_move_a_product_inside_its_category_and_customers_see_that_order(as_role, session):
    from crm.orders import active_products

    admin = as_role("admin")
    for sku, name in (("A", "Americano"), ("L", "Latte"), ("M", "Mocha")):
        add(admin, sku=sku, name=name, name_en="", aliases="")
    add(admin, sku="T", name="Teh Tarik", category="Teh", name_en="", aliases="")
    mocha = one(session, "M").id
    assert admin.post(f"/inbox/catalog/{mocha}/move", {"direction": "up"}).status_code == 303
    admin.post(f"/inbox/catalog/{mocha}/move", {"direction": "up"})
    admin.post(f"/inbox/catalog/{mocha}/move", {"direction": "up"})  # already first: nothing changes
    session.expire_all()
    assert [p.sku for p in active_products(session=session)] == ["M", "A", "L", "T"]
    admin.post(f"/inbox/catalog/{one(session, 'A').id}/move", {"direction": "down"})
    session.expire_all()
    assert [p.sku for p in active_products(session=session)] == ["M", "L", "A", "T"]
    page = admin.get("/inbox/catalog").get_data(as_text=True).split('class="card catalog-group"', 1)[1]
    assert page.index("Mocha") < page.index("Latte") < page.index("Americano") < page.index("Teh Tarik")


@pytest.mark.parametrize("changes, reason", [
    ({"name": "  "}, "Nama: wajib diisi"),
    ({"price": "dua puluh"}, "Harga (Rp): harus angka bulat"),
    ({"price": "2000000000"}, "Harga (Rp): di luar batas"),
    ({"sku": "kopi susu!"}, "Kode produk (SKU): hanya huruf"),
    ({"stock_mode": "count", "stock": "-3"}, "Stok: di luar batas"),
    ({"stock_mode": "count", "stock": "banyak"}, "Stok: harus angka bulat"),
    ({"aliases": ",".join(f"a{n}" for n in range(21))}, "Sebutan pelanggan (alias): terlalu banyak (maks. 20)"),
    ({"photo": b"not an image"}, "Foto harus berupa file JPEG atau PNG."),
])
def test_bad_input_comes_back_with_what_was_typed_and_the_reason_and_nothing_is_saved(as_role, session, settings,
                                                                                      changes, reason):
    admin = as_role("admin")
    if "photo" in changes:  # a fresh file for each run
        changes = {"photo": (io.BytesIO(changes["photo"]), "x.png")}
    refused = add(admin, **{"name_en": "Typed English name", **changes})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and reason in page, page[page.find("flash"):][:400]
    assert 'value="Typed English name"' in page
    session.expire_all()
    assert session.exec(select(Product)).all() == []
    assert not Path(settings.media_dir).exists() or not any(Path(settings.media_dir).iterdir())


def test_a_taken_sku_and_a_bad_edit_are_refused_in_english_too(as_role, session, runtime, staff):
    from crm.models import StaffUser

    with session_scope(runtime.engine) as s:
        s.get(StaffUser, staff["admin"]).language = "en"
    admin = as_role("admin")
    add(admin)
    again = add(admin, name="Another")
    assert again.status_code == 400 and "Product code (SKU): is already used by another product" in \
        again.get_data(as_text=True)
    product_id = one(session, "KOPSUS").id
    bad = admin.post(f"/inbox/catalog/{product_id}", product_form(price=""), content_type="multipart/form-data")
    assert bad.status_code == 400 and "Price (Rp): must be a whole number" in bad.get_data(as_text=True)
    assert one(session, "KOPSUS").price == 22_000
    assert admin.get("/inbox/catalog/999999").status_code == 404


def test_a_photo_needs_an_https_public_address(as_role, session, app):
    app.config["SAPA"].public_url = "http://127.0.0.1:8000"
    refused = add(as_role("admin"), photo=(io.BytesIO(png()), "kopi.png"))
    assert refused.status_code == 400 and "SAPA_PUBLIC_URL harus alamat https://" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.exec(select(Product)).all() == []


def test_bulk_prices_are_saved_all_at_once_or_not_at_all(as_role, session):
    admin = as_role("admin")
    add(admin)
    add(admin, sku="LAT", name="Latte", name_en="", aliases="")
    kopsus, latte = one(session, "KOPSUS").id, one(session, "LAT").id
    refused = admin.post("/inbox/catalog/prices", {f"price_{kopsus}": "30.000", f"price_{latte}": "murah"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Latte: harus angka bulat" in page and 'value="murah"' in page
    assert one(session, "KOPSUS").price == 22_000
    saved = admin.post("/inbox/catalog/prices", {f"price_{kopsus}": "30.000", f"price_{latte}": "22000"})
    assert saved.status_code == 303
    assert (one(session, "KOPSUS").price, one(session, "LAT").price) == (30_000, 22_000)
    audit = session.exec(select(AuditLog).where(AuditLog.action == "catalog.prices")).one()
    assert audit.details["prices"] == {"KOPSUS": [22_000, 30_000]}


def test_export_then_import_round_trips_and_an_import_with_a_bad_row_writes_nothing(as_role, session):
    admin = as_role("admin")
    add(admin, description="=HYPERLINK(\"http://evil.example\")")
    exported = admin.get("/inbox/catalog/export.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0]["sku"] == "KOPSUS" and rows[0]["price"] == "22000" and rows[0]["aliases"] == \
        "kopsus, kopi susu gula aren"
    assert rows[0]["description"].startswith("'=")  # formula-safe

    # The owner edits the file: a new price, a new product; the file comes back in.
    rows[0]["price"] = "24000"
    rows.append({**rows[0], "sku": "TEH", "name": "Es Teh", "name_en": "", "price": "8.000", "aliases": "teh",
                 "description": ""})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    imported = admin.post("/inbox/catalog/import", {"file": (io.BytesIO(out.getvalue().encode()), "catalog.csv")},
                          content_type="multipart/form-data")
    assert imported.status_code == 303
    assert "1 baru, 1 diubah" in admin.get("/inbox/catalog").get_data(as_text=True)
    assert one(session, "KOPSUS").price == 24_000
    assert one(session, "KOPSUS").description == "=HYPERLINK(\"http://evil.example\")"  # the quote came off
    tea = one(session, "TEH")
    assert (tea.price, tea.aliases, tea.category) == (8_000, ["teh"], "Kopi")

    book = load_workbook(io.BytesIO(admin.get("/inbox/catalog/export.xlsx").get_data()))
    assert [row[0] for row in book.active.iter_rows(values_only=True)] == ["sku", "KOPSUS", "TEH"]

    sheet = Workbook()
    sheet.active.append(["sku", "name", "price"])
    sheet.active.append(["KOPSUS", "Kopi Susu Baru", 1])
    sheet.active.append(["ROTI", "Roti", "gratis"])
    sheet.active.append(["DONAT", None, 5000])
    data = io.BytesIO()
    sheet.save(data)
    refused = admin.post("/inbox/catalog/import", {"file": (io.BytesIO(data.getvalue()), "catalog.xlsx")},
                         content_type="multipart/form-data")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Baris 3: Harga (Rp): harus angka bulat" in page
    assert "Baris 4: Nama: wajib diisi" in page  # every bad row is named, not only the first
    assert one(session, "KOPSUS").name == "Es Kopi Susu"  # row 2 was fine, but nothing is written
    unreadable = admin.post("/inbox/catalog/import", {"file": (io.BytesIO(b"\x00\x01"), "catalog.xlsx")},
                            content_type="multipart/form-data")
    assert unreadable.status_code == 400 and "File tidak bisa dibaca" in unreadable.get_data(as_text=True)


def test_only_admins_open_or_change_the_catalog(as_role, session, runtime):
    with session_scope(runtime.engine) as s:
        s.add(Product(sku="KOPI", name="Kopi", price=18_000))
    product_id = one(session, "KOPI").id
    assert 'href="/inbox/catalog"' in as_role("admin").get("/inbox/").get_data(as_text=True)
    for role in ("agent", "marketer"):
        client = as_role(role)
        assert 'href="/inbox/catalog"' not in client.get("/inbox/").get_data(as_text=True)
        for path in ("/inbox/catalog", "/inbox/catalog/new", f"/inbox/catalog/{product_id}",
                     "/inbox/catalog/export.csv"):
            assert client.get(path).status_code == 403, (role, path)
        for path, form in (("/inbox/catalog/new", product_form()), (f"/inbox/catalog/{product_id}", product_form()),
                           (f"/inbox/catalog/{product_id}/sold-out", {"sold_out": "1"}),
                           (f"/inbox/catalog/{product_id}/move", {"direction": "up"}),
                           (f"/inbox/catalog/{product_id}/delete", {"active": "0"}),
                           ("/inbox/catalog/prices", {f"price_{product_id}": "1"}), ("/inbox/catalog/import", {})):
            assert client.post(path, form).status_code == 403, (role, path)
    product = one(session, "KOPI")
    assert (product.price, product.stock, product.active) == (18_000, None, True)


def test_renaming_a_category_moves_its_products_after_those_already_in_the_new_name(as_role, session):
    admin = as_role("admin")
    add(admin, sku="A", name="Americano", category="Kopi Panas", name_en="", aliases="")
    add(admin, sku="L", name="Latte", category="Kopi Panas", name_en="", aliases="")
    add(admin, sku="K", name="Kopsus", category="Kopi", name_en="", aliases="")
    assert admin.post("/inbox/catalog/category", {"old": "Kopi Panas", "new": " Kopi "}).status_code == 303
    session.expire_all()
    from crm.catalog import list_products

    assert [(p.sku, p.category) for p in list_products(session=session)] == [("K", "Kopi"), ("A", "Kopi"),
                                                                               ("L", "Kopi")]
    audit = session.exec(select(AuditLog).where(AuditLog.action == "catalog.category")).one()
    assert audit.details == {"from": "Kopi Panas", "to": "Kopi", "products": 2}
    refused = admin.post("/inbox/catalog/category", {"old": "Kopi", "new": "x" * 101})
    assert refused.status_code == 400 and "Kategori: terlalu panjang (maks. 100 karakter)" in refused.get_data(
        as_text=True)
    assert as_role("agent").post("/inbox/catalog/category", {"old": "Kopi", "new": "Teh"}).status_code == 403
