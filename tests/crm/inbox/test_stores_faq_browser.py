"""The stores and FAQ pages in a real browser: an admin closes a store on Sunday and the bot says so on a
Sunday; an admin adds a FAQ entry and the test box answers it."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import select

from core.db import session_scope
from crm import demo, stores
from crm.demo_catalog import load_catalog
from tests.crm.inbox.conftest import LINE_USER
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - the browser fixtures
from tests.factories import line_text

pytestmark = pytest.mark.browser
SUNDAY_NOON = datetime(2027, 5, 2, 12, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


@pytest.fixture
def shop(runtime):
    """The demo catalog: stores (Kemang open 10:00-01:00 every day), promotions and FAQs."""
    with session_scope(runtime.engine) as session:
        demo.load_products(session)
        load_catalog(session)


def _bot_says(fake_line, webhooks, text: str) -> str:
    """What the bot answers the LINE customer (every message of its reply, joined)."""
    before = len(fake_line.calls("/v2/bot/message/reply"))
    assert webhooks.line(line_text(text, user=LINE_USER)).status_code == 200
    replies = fake_line.calls("/v2/bot/message/reply")[before:]
    return "\n".join(message.get("text", "") for call in replies for message in call.json["messages"])


def test_an_admin_closes_a_store_on_sunday_and_the_bot_says_so_on_sunday(open_page, shop, webhooks, fake_line,
                                                                       session):  # noqa: F811
    with time_machine.travel(SUNDAY_NOON, tick=True):
        assert "Sapa Coffee Kemang buka sampai 01:00" in _bot_says(fake_line, webhooks, "cabang kemang buka ga?")

        page = open_page("admin")
        page.click(".nav-more summary")  # the shop's setup screens are under "Kelola toko"
        page.click("nav >> text=Toko & FAQ")
        page.locator("#stores tr.store", has_text="Sapa Coffee Kemang").locator("a").first.click()
        form = page.locator("#store-form")
        assert form.locator("input[name=hours_sun]").input_value() == "10:00-01:00"
        form.locator("input[name=hours_sun]").fill("")
        form.locator("button.primary").click()
        page.locator(".flash", has_text="Toko disimpan").wait_for()
        session.expire_all()
        kemang = session.exec(select(stores.Store).where(stores.Store.name == "Sapa Coffee Kemang")).one()
        assert kemang.opening_hours["sun"] == [] and kemang.opening_hours["sat"] == [["10:00", "03:00"]]

        said = _bot_says(fake_line, webhooks, "cabang kemang buka ga?")
        assert "Sapa Coffee Kemang tutup, buka lagi besok 10:00" in said, said
        page.click("text=Kembali")
        assert "tutup, buka lagi besok 10:00" in page.locator("#stores tr.store", has_text="Kemang").inner_text()


def test_an_admin_adds_a_faq_entry_and_the_test_box_answers_it(open_page, session):  # noqa: F811
    page = open_page("admin")
    page.click(".nav-more summary")  # the shop's setup screens are under "Kelola toko"
    page.click("nav >> text=Toko & FAQ")
    page.click(".section-tabs >> text=FAQ")
    form = page.locator("#faq-form")
    form.locator("input[name=question]").fill("Boleh bawa hewan peliharaan ke toko?")
    form.locator("textarea[name=answer]").fill("Boleh, hewan peliharaan yang dipegang atau di kandang boleh masuk.")
    form.locator("input[name=question_en]").fill("Can I bring my pet?")
    form.locator("textarea[name=answer_en]").fill("Yes, pets on a leash or in a carrier are welcome.")
    form.locator("textarea[name=phrasings]").fill("bawa kucing boleh?\nboleh bawa anjing")
    form.locator("input[name=keywords]").fill("hewan, pet")
    form.locator("button.primary").click()
    page.locator(".flash", has_text="Pertanyaan ditambahkan").wait_for()
    assert page.locator("#faqs tr.faq", has_text="Boleh bawa hewan peliharaan").count() == 1

    test_box = page.locator("#faq-test")
    test_box.locator("input[name=q]").fill("kak boleh bawa kucing ga ke toko?")
    test_box.locator("button.primary").click()
    result = page.locator("#faq-result")
    result.wait_for()
    assert result.get_attribute("data-verdict") == "answers"
    assert "Boleh, hewan peliharaan yang dipegang" in result.inner_text()
    assert "Keyakinan" in result.inner_text() and "%" in result.inner_text()

    test_box = page.locator("#faq-test")
    test_box.locator("input[name=q]").fill("boleh bawa anjing ga kak?")
    test_box.locator("button.primary").click()
    page.locator("#faq-result .matched-phrasing", has_text="“boleh bawa anjing”").wait_for()

    test_box = page.locator("#faq-test")
    test_box.locator("input[name=q]").fill("can i bring my dog")
    test_box.locator("select[name=lang]").select_option("en")
    test_box.locator("button.primary").click()
    page.locator("#faq-result", has_text="Yes, pets on a leash").wait_for()
