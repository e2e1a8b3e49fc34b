"""The catalog screen in a real browser (Chromium under Playwright): an owner creates a category and a product with
a photo and an alias, and the simulator customer orders it by that alias at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from crm.orders import Product
from tests.conftest import make_settings
from tests.crm.inbox.test_browser import browser, open_page, server  # noqa: F401 - the browser fixtures

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
LAPTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}


@pytest.fixture
def settings(sqlite_url, fake_line, fake_telegram, nlu_model_path, tmp_path):
    """SQLite, a public https address (product photos need one), short live streams."""
    return make_settings(sqlite_url, fake_line, fake_telegram, nlu={"model_path": nlu_model_path},
                         inbox={"live_stream_seconds": 20, "live_poll_seconds": 0.3},
                         media_dir=str(tmp_path / "media"), public_url="https://shop.example")


def test_an_owner_adds_a_product_with_a_photo_and_an_alias_and_the_simulator_customer_orders_it(
        open_page, server, browser, session, tmp_path):  # noqa: F811
    photo = tmp_path / "kopi.png"
    Image.new("RGB", (320, 240), "saddlebrown").save(photo)
    page = open_page("admin")
    page.set_viewport_size(LAPTOP)
    page.click(".nav-more summary")  # the shop's setup screens are under "Kelola toko"
    page.click("nav >> text=Katalog")
    page.click("#catalog-new")
    form = page.locator("#product-form")
    form.locator("input[name=sku]").fill("KOSU-01")
    form.locator("input[name=name]").fill("Es Kopi Susu Gula Aren")
    form.locator("input[name=category]").fill("Minuman Dingin")  # a new category
    form.locator("input[name=price]").fill("22.000")
    form.locator("input[name=aliases]").fill("kosu aren, kopi aren")
    form.locator("input[name=photo]").set_input_files(str(photo))
    form.locator("button.primary").click()
    product = page.locator("li.product", has_text="Es Kopi Susu Gula Aren")
    product.wait_for()
    assert page.locator("section.catalog-group h2").all_inner_texts() == ["Minuman Dingin"]
    assert "Rp22.000" in product.inner_text() and "kosu aren, kopi aren" in product.inner_text()
    assert product.locator("img.thumb").evaluate("img => img.complete && img.naturalWidth") == 320
    session.expire_all()
    row = session.exec(select(Product).where(Product.sku == "KOSU-01")).one()
    assert (row.category, row.price, row.aliases) == ("Minuman Dingin", 22_000, ["kosu aren", "kopi aren"])
    page.screenshot(path=str(SCREENSHOTS / "catalog.png"))
    page.goto(f"{server}/inbox/catalog/{row.id}")
    page.screenshot(path=str(SCREENSHOTS / "catalog_product.png"))

    # The customer uses the owner's word for it, straight away.
    customer = browser.new_context(viewport=PHONE).new_page()
    customer.goto(f"{server}/simulator/")
    customer.fill("#text", "pesan 2 kosu aren")
    customer.click("#composer button[type=submit]")
    customer.locator("#chat .msg.out", has_text="Es Kopi Susu Gula Aren").first.wait_for(timeout=15000)
    customer.context.close()


def test_the_catalog_fits_a_phone(open_page, server, runtime):  # noqa: F811
    from core.db import session_scope

    with session_scope(runtime.engine) as s:
        for n, (name, category) in enumerate((("Es Kopi Susu", "Kopi"), ("Americano", "Kopi"), ("Teh Tarik", "Teh"))):
            s.add(Product(sku=f"P{n}", name=name, category=category, price=18_000 + n * 1000, aliases=["x"],
                          stock=0 if n == 2 else None))
    page = open_page("admin")
    page.set_viewport_size(PHONE)
    page.goto(f"{server}/inbox/catalog")
    page.locator("li.product", has_text="Teh Tarik").wait_for()
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]  # nothing wider than the screen
    first = page.locator("section.catalog-group").first.locator("li.product a.name").first
    assert first.inner_text() == "Americano"  # same place: by name
    page.locator("li.product", has_text="Es Kopi Susu").locator("button[value=up]").click()
    page.wait_for_function("document.querySelector('section.catalog-group li.product a.name').textContent"
                           " === 'Es Kopi Susu'")
    page.screenshot(path=str(SCREENSHOTS / "catalog_phone.png"))
    page.goto(f"{server}/inbox/catalog/new")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
