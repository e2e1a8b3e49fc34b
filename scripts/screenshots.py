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

import crm.all_models  # noqa: E402,F401
from bot.settings import Settings  # noqa: E402
from crm import demo  # noqa: E402
from crm.db import get_engine, session_scope  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


def main() -> None:
    """Seed the demo, serve it, and save one PNG per main screen."""
    folder = tempfile.mkdtemp(prefix="sapa-shots-")
    settings = Settings(env="test", database_url=f"sqlite:///{folder}/sapa.db", queue_url="memory:",
                        inbox={"live_stream_seconds": 5})
    SQLModel.metadata.create_all(get_engine(settings.database_url))
    with session_scope(get_engine(settings.database_url)) as session:
        demo.load(session)
    from bot.app import create_app

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
            first = page.locator(".conv a").first
            first.click()
            page.wait_for_selector("#timeline")
            page.wait_for_timeout(400)
            page.screenshot(path=str(OUT / f"conversation-{name}.png"))
            if name == "phone":
                page.goto(f"{base}/inbox/?status=any")
                page.screenshot(path=str(OUT / "list-phone.png"))
                continue
            for shot, path in (("contact", "/inbox/contacts/1"), ("orders", "/inbox/orders"),
                               ("complaints", "/inbox/complaints"), ("agenda", "/inbox/agenda"),
                               ("dashboard", "/inbox/dashboard")):
                page.goto(base + path)
                page.wait_for_timeout(300)
                page.screenshot(path=str(OUT / f"{shot}.png"), full_page=shot != "dashboard")
            page.close()
        browser.close()
    server.shutdown()
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
