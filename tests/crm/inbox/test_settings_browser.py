"""The settings, canned replies and staff screens in a real browser (Chromium under Playwright).

An owner changes the QRIS payment's instructions and picture on the settings page; the simulator
customer's next order shows them, without a restart. Screenshots of each screen go to docs/screenshots/.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from core.db import session_scope
from crm import demo
from crm.demo_catalog import load_catalog
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - the browser fixtures

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
DESKTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}
QRIS_TEXT = "Scan QRIS Toko Sapa, a.n. PT Sapa Kopi"


def _qr_png() -> bytes:
    image = Image.new("RGB", (120, 120), "white")
    for x in range(0, 120, 20):
        for y in range(0, 120, 20):
            if (x + y) % 40 == 0:
                image.paste("black", (x, y, x + 20, y + 20))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def catalog(runtime):
    with session_scope(runtime.engine) as session:
        demo.load_products(session)
        load_catalog(session)


def _say(page, text: str, answers: int) -> None:
    """Type a message in the simulator and wait until the bot has answered `answers` times in all."""
    page.fill("#text", text)
    page.click("#composer button[type=submit]")
    page.wait_for_function(f"document.querySelectorAll('#chat .msg.out').length >= {answers}", timeout=20000)


def test_an_owner_changes_the_qris_payment_and_the_next_order_shows_it(open_page, browser, server, catalog):  # noqa: F811
    owner = open_page("admin")
    owner.set_viewport_size(DESKTOP)
    owner.click(".nav-more summary")  # the shop's setup screens are under "Kelola toko"
    owner.click("nav >> text=Pengaturan")
    qris = owner.locator("#payment-qris")
    qris.locator("textarea[name=instructions]").fill(QRIS_TEXT)
    qris.locator("input[name=image_file]").set_input_files(
        {"name": "qris.png", "mimeType": "image/png", "buffer": _qr_png()})
    qris.locator("button[value=save]").click()
    owner.locator(".flash", has_text="Pengaturan disimpan").wait_for()
    assert owner.locator("#payment-qris img").count() == 1
    owner.screenshot(path=str(SHOTS / "settings-payment.png"))
    owner.goto(f"{server}/inbox/settings")
    owner.screenshot(path=str(SHOTS / "settings.png"))

    customer = browser.new_context(viewport=PHONE).new_page()
    customer.goto(f"{server}/simulator/")
    _say(customer, "kak mau pesen es kopi susu 2 ya, anter ke kantor di jl sudirman 21", 1)
    _say(customer, "0812 3456 7890", 2)
    _say(customer, "qris", 3)
    customer.fill("#text", "iya bener")
    customer.click("#composer button[type=submit]")
    customer.locator("#chat .msg.out", has_text=QRIS_TEXT).wait_for(timeout=20000)
    assert customer.locator("#chat .msg.out img").count() >= 1  # the QR picture came with it
    customer.context.close()


def test_the_settings_canned_and_staff_screens_fit_a_phone_and_a_laptop(open_page, server, staff):  # noqa: F811
    admin = open_page("admin")
    for path, name in (("/inbox/canned", "canned"), ("/inbox/users", "users")):
        admin.set_viewport_size(DESKTOP)
        admin.goto(f"{server}{path}")
        if name == "canned":
            form = admin.locator("#canned-add")
            form.locator("input[name=shortcut]").fill("ongkir")
            form.locator("input[name=title]").fill("Ongkos kirim")
            form.locator("textarea[name=text]").fill("Ongkir ke {name} Rp10.000 ya kak")
            form.locator("textarea[name=text_en]").fill("Delivery to {name} is Rp10,000")
            form.locator("button.primary").click()
            admin.locator(".flash", has_text="ditambahkan").wait_for()
        else:
            admin.locator(f"#reset-{staff['agent']}").click()
            admin.locator("#reset-link").wait_for()
        admin.screenshot(path=str(SHOTS / f"{name}.png"))
    for path in ("/inbox/settings", "/inbox/canned", "/inbox/users"):
        admin.set_viewport_size(PHONE)
        admin.goto(f"{server}{path}")
        assert admin.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], path
        if path == "/inbox/settings":
            admin.screenshot(path=str(SHOTS / "settings-phone.png"))
