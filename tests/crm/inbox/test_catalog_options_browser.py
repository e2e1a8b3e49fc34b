"""Product options and drag ordering in a real browser (Chromium under Playwright): an owner makes a latte's Large
variant cost Rp5.000 more, the simulator customer orders two large ones and sees the total; a drag reorders."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.db import session_scope
from crm.orders import Product
from tests.crm.inbox.test_browser import browser, open_page, server  # noqa: F401 - the browser fixtures
from tests.crm.inbox.test_catalog_browser import PHONE, settings  # noqa: F401 - SQLite, an https shop

pytestmark = pytest.mark.browser


@pytest.fixture
def menu(runtime):
    with session_scope(runtime.engine) as s:
        for n, (sku, name, price) in enumerate((("LAT", "Caffe Latte", 28_000), ("AME", "Americano", 22_000),
                                                 ("BAN", "Bandrek", 18_000))):
            s.add(Product(sku=sku, name=name, category="Minuman", price=price, sort_order=n))


def test_an_owner_prices_the_large_latte_and_the_simulator_customer_pays_for_it(
        open_page, server, browser, session, menu):  # noqa: F811
    page = open_page("admin")
    page.goto(f"{server}/inbox/catalog")
    page.locator("li.product", has_text="Caffe Latte").locator("a.button").click()
    form = page.locator("#product-form")
    form.locator("input[name=variants]").fill("Regular, Large +5.000")
    form.locator("input[name=addon_name_0]").fill("Tambah shot")
    form.locator("input[name=addon_name_en_0]").fill("Extra shot")
    form.locator("input[name=addon_price_0]").fill("4.000")
    form.locator("button.primary").click()
    latte = page.locator("li.product", has_text="Caffe Latte")
    latte.locator(".options", has_text="Large +Rp5.000").wait_for()
    assert "Tambah shot +Rp4.000" in latte.inner_text()

    customer = browser.new_context(viewport=PHONE).new_page()
    customer.goto(f"{server}/simulator/")
    customer.fill("#text", "pesan 2 latte large")
    customer.click("#composer button[type=submit]")
    # (28.000 + 5.000) × 2
    customer.locator("#chat .msg.out", has_text="2× Caffe Latte · Large — Rp66.000").first.wait_for(timeout=15000)
    assert "Rp66.000" in customer.locator("#chat .msg.out").last.inner_text()
    customer.context.close()


def test_dragging_a_product_saves_its_place(open_page, server, session, menu):  # noqa: F811
    page = open_page("admin")
    page.goto(f"{server}/inbox/catalog")
    names = "Array.from(document.querySelectorAll('li.product a.name')).map(a => a.textContent).join(',')"
    assert page.evaluate(names) == "Caffe Latte,Americano,Bandrek"
    with page.expect_response(lambda r: r.url.endswith("/inbox/catalog/order")) as saved:
        page.locator("li.product", has_text="Bandrek").drag_to(page.locator("li.product", has_text="Caffe Latte"),
                                                               target_position={"x": 20, "y": 5})
    assert saved.value.status == 200
    assert page.evaluate(names) == "Bandrek,Caffe Latte,Americano"
    assert page.locator("li.product", has_text="Bandrek").locator("button[value=up]").is_disabled()
    session.expire_all()
    assert [p.name for p in session.exec(select(Product).order_by(Product.sort_order)).all()] == \
        ["Bandrek", "Caffe Latte", "Americano"]
    page.reload()
    assert page.evaluate(names) == "Bandrek,Caffe Latte,Americano"  # the arrows still work after a drag
    page.locator("li.product", has_text="Americano").locator("button[value=up]").click()
    page.wait_for_function(f"{names} === 'Bandrek,Americano,Caffe Latte'")
