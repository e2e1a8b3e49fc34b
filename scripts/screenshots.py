"""Screenshots of the main inbox screens, from the demo data, into docs/screenshots/.

    .venv/bin/python scripts/screenshots.py

Runs the app on a temporary SQLite database in a thread and drives Debian's Chromium
(/usr/bin/chromium) with Playwright; nothing is fetched from the internet. Emoji need a font
(`apt-get install fonts-noto-color-emoji`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from pathlib import Path

os.environ.setdefault("SAPA_ENV", "test")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

import bot.all_models  # noqa: E402,F401
from core.settings import Settings  # noqa: E402
from crm import demo  # noqa: E402
from core.db import get_engine, session_scope  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def main() -> None:
    """Seed the demo, serve it, and save one PNG per main screen."""
    folder = tempfile.mkdtemp(prefix="sapa-shots-")
    # The test suite's fake LINE and Telegram APIs receive the demo campaign (nothing leaves the machine).
    from tests.factories import LINE_SECRET, TELEGRAM_SECRET
    from tests.fakes.line_api import FakeLine
    from tests.fakes.telegram_api import FakeTelegram

    fake_line = FakeLine(access_token="shots-line").__enter__()
    fake_telegram = FakeTelegram(token="1:shots").__enter__()
    fake_line.quota = 1000
    settings = Settings(env="test", database_url=f"sqlite:///{folder}/sapa.db", queue_url="memory:",
                        inbox={"live_stream_seconds": 5},
                        line={"channel_secret": LINE_SECRET, "access_token": "shots-line", "api_base": fake_line.url},
                        telegram={"bot_token": "1:shots", "secret_token": TELEGRAM_SECRET,
                                  "api_base": fake_telegram.url})
    SQLModel.metadata.create_all(get_engine(settings.database_url))
    with session_scope(get_engine(settings.database_url)) as session:
        demo.load(session)
    from bot.app import create_app
    from bot.runtime import build_runtime
    from core.runtime import Runtime, set_runtime

    set_runtime(build_runtime(settings))  # the memory queue runs campaign tasks inline
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        for name, viewport, language in (("desktop", DESKTOP, "id"), ("phone", PHONE, "en")):
            page = browser.new_page(viewport=viewport)
            page.goto(f"{base}/inbox/login")
            if name == "desktop":
                page.screenshot(path=str(OUT / "login.png"))
            page.fill("input[name=email]", demo.DEMO_LOGIN[0])
            page.fill("input[name=password]", demo.DEMO_LOGIN[1])
            page.click("button[type=submit]")
            page.click(f"button[name=lang][value={language}]")
            page.goto(f"{base}/inbox/?status=any")
            if name == "desktop":
                page.click("#alerts-toggle")
                page.locator("#alerts-panel .alert-item").first.wait_for()
                page.wait_for_timeout(300)
                page.screenshot(path=str(OUT / "alerts.png"))
                page.click("#alerts-toggle")
            first = page.locator(".conv a").first
            first.click()
            page.wait_for_selector("#timeline")
            page.wait_for_timeout(400)
            page.screenshot(path=str(OUT / f"conversation-{name}.png"))
            if name == "phone":
                page.goto(f"{base}/inbox/?status=any")
                page.screenshot(path=str(OUT / "list-phone.png"))
                page.goto(f"{base}/inbox/campaigns/1")
                page.wait_for_timeout(400)
                page.screenshot(path=str(OUT / "campaign-phone.png"), full_page=True)
                continue
            for shot, path in (("contact", "/inbox/contacts/1"), ("orders", "/inbox/orders"),
                               ("complaints", "/inbox/complaints"), ("agenda", "/inbox/agenda"),
                               ("dashboard", "/inbox/dashboard")):
                page.goto(base + path)
                page.wait_for_timeout(300)
                page.screenshot(path=str(OUT / f"{shot}.png"), full_page=shot != "dashboard")
            page.locator("#csat").screenshot(path=str(OUT / "csat.png"))  # the dashboard's CSAT block
            page.goto(f"{base}/inbox/dashboard/crm")  # its CRM tab, over the demo's weeks of orders
            page.wait_for_timeout(300)
            page.screenshot(path=str(OUT / "crm-dashboard.png"), full_page=True)
            marketing_screens(page, base)
            shop_screens(page, base)
            import_screen(page, base, Path(folder))
            page.close()
        browser.close()
    server.shutdown()
    print(f"screenshots in {OUT}")


def marketing_screens(page, base: str) -> None:
    """The marketer's screens: a segment built with the rule builder, a campaign sent now and its results."""
    page.goto(f"{base}/inbox/segments/new")
    page.fill("input[name=name]", "Pelanggan LINE")
    page.click("#builder-segment .add-rule")
    page.click("#builder-segment .add-group")
    page.wait_for_timeout(600)
    page.screenshot(path=str(OUT / "segment-builder.png"), full_page=True)
    page.click("#save-segment")
    page.goto(f"{base}/inbox/campaigns/new")
    page.fill("input[name=name]", "Promo Jumat")
    page.fill("textarea[name=text]", "Halo dari {shop}! Diskon 20% semua kopi susu hari ini ☕")
    page.fill("input[name=btn_label_0]", "Lihat menu")
    page.fill("input[name=btn_value_0]", "https://example.com/menu")
    page.fill("input[name=qr_label_0]", "Pesan")
    page.select_option("select[name=qr_kind_0]", "text")
    page.fill("input[name=qr_value_0]", "pesan")
    page.wait_for_timeout(800)
    page.screenshot(path=str(OUT / "campaign-form.png"), full_page=True)
    page.click("#send-campaign")
    page.wait_for_url("**/inbox/campaigns/*")
    page.wait_for_timeout(500)
    page.screenshot(path=str(OUT / "campaign-results.png"), full_page=True)
    for shot, path in (("campaigns", "/inbox/campaigns"), ("journeys", "/inbox/journeys"),
                       ("offers", "/inbox/offers")):
        page.goto(base + path)
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT / f"{shot}.png"), full_page=True)


def shop_screens(page, base: str, suffix: str = "") -> None:
    """The admin's stores page (a store open for editing), FAQ page (a question tested) and promotions, at 1366x768."""
    if not suffix:
        page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{base}/inbox/stores")
    page.locator("#stores tr.store a").first.click()
    page.wait_for_timeout(300)
    page.locator("#store-form fieldset.hours-week").scroll_into_view_if_needed()
    page.screenshot(path=str(OUT / f"stores{suffix}.png"))
    page.goto(f"{base}/inbox/faqs?q=bisa+bayar+pake+qris+ga+kak")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / f"faqs{suffix}.png"))
    page.goto(f"{base}/inbox/promotions")  # the list with each one's state, the form to add one below
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / f"promotions{suffix}.png"))
    for shot, path in (("catalog", "/inbox/catalog"), ("settings", "/inbox/settings"), ("canned", "/inbox/canned"),
                       ("users", "/inbox/users")):
        page.goto(base + path)
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUT / f"{shot}{suffix}.png"))


def import_screen(page, base: str, folder: Path) -> None:
    """The admin's contacts import at 1366x768: a file with a few bad rows mapped and dry-run."""
    from tests.crm.inbox.test_contact_import_page import people_csv

    page.set_viewport_size({"width": 1366, "height": 768})
    file = folder / "pelanggan.csv"
    file.write_bytes(people_csv())
    page.goto(f"{base}/inbox/contacts/import")
    page.set_input_files("#import-upload input[type=file]", str(file))
    page.click("#import-upload button.primary")
    for column, field in (("Nama", "name"), ("HP", "phone"), ("Surel", "email"), ("Kota", "custom")):
        page.locator(f"#import-mapping tr[data-column={column}] select").select_option(field)
    page.locator("#import-mapping tr[data-column=Kota] input").fill("kota")
    page.click("#dry-run")
    page.evaluate("window.scrollTo(0, document.getElementById('dry-run-result').offsetTop - 260)")
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUT / "import.png"))


if __name__ == "__main__":
    main()
