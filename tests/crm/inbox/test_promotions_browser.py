"""The promotions page in a real browser: an admin adds a weekday promotion, and on a Saturday the LINE customer
asking for promos is not offered it (on the Monday after, they are); its store and radius are set on the location
offers page, which the promotion links to."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlmodel import select

from core.db import session_scope
from crm import promotions, stores
from tests.crm.inbox.conftest import LINE_USER
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - the browser fixtures
from tests.factories import line_text

pytestmark = pytest.mark.browser
JAKARTA = ZoneInfo("Asia/Jakarta")
SATURDAY_NOON = datetime(2027, 5, 1, 12, 0, tzinfo=JAKARTA)
MONDAY_NOON = datetime(2027, 5, 3, 12, 0, tzinfo=JAKARTA)


def _bot_offers(fake_line, webhooks, text: str) -> str:
    """Everything the bot sends the LINE customer in answer (texts and promotion cards)."""
    before = len(fake_line.calls("/v2/bot/message/reply"))
    assert webhooks.line(line_text(text, user=LINE_USER)).status_code == 200
    replies = fake_line.calls("/v2/bot/message/reply")[before:]
    return json.dumps([call.json["messages"] for call in replies], ensure_ascii=False)


def test_an_admin_adds_a_weekday_promo_and_on_saturday_the_customer_is_not_offered_it(open_page, webhooks, fake_line,
                                                                                      session):  # noqa: F811
    with time_machine.travel(SATURDAY_NOON, tick=True):
        page = open_page("admin")
        page.click(".nav-more summary")  # the shop's setup screens are under "Kelola toko"
        page.click("nav a[href='/inbox/promotions']")
        form = page.locator("#promo-form")
        form.locator("input[name=title]").fill("Paket Makan Siang Kantor")
        form.locator("textarea[name=description]").fill("Senin–Jumat: nasi + es teh Rp35.000")
        form.locator("input[name=title_en]").fill("Office Lunch Deal")
        form.locator("input[name=starts_at]").fill("2027-04-26T00:00")
        form.locator("input[name=ends_at]").fill("2027-06-01T00:00")
        for day in range(5):
            form.locator(f"input[name=weekdays][value='{day}']").check()
        form.locator("input[name=voucher_code]").fill("lunch-35")
        form.locator("input[name=max_redemptions]").fill("100")
        form.locator("select[name=per_customer]").select_option("once")
        form.locator("button.primary").click()
        page.locator(".flash", has_text="ditambahkan").wait_for()
        page.click("text=Kembali")
        row = page.locator("#promotions tr.promotion", has_text="Paket Makan Siang Kantor")
        assert "Di luar hari/jamnya" in row.inner_text() and "0 / 100" in row.inner_text()
        session.expire_all()
        promo = session.exec(select(promotions.Promotion)).one()
        assert (promo.weekdays, promo.voucher_code, promo.per_customer) == ([0, 1, 2, 3, 4], "LUNCH-35", "once")

        said = _bot_offers(fake_line, webhooks, "ada promo apa kak?")
        assert "Paket Makan Siang Kantor" not in said and "Belum ada promo" in said, said
    with time_machine.travel(MONDAY_NOON, tick=True):
        said = _bot_offers(fake_line, webhooks, "ada promo apa kak?")
        assert "Paket Makan Siang Kantor" in said and "LUNCH-35" in said, said


def test_an_admin_sets_a_promotions_store_and_radius_on_the_location_offers_page(open_page, server, runtime,
                                                                                 session):  # noqa: F811
    with session_scope(runtime.engine) as s:
        stores.create_store(session=s, name="Sapa Kemang", lat=-6.26, lon=106.81)
        promo_id = promotions.create_promotion(session=s, title="Kopi Kemang",
                                               starts_at=datetime(2030, 1, 1, tzinfo=JAKARTA),
                                               ends_at=datetime(2030, 2, 1, tzinfo=JAKARTA)).id
    page = open_page("admin")
    page.goto(f"{server}/inbox/promotions/{promo_id}")
    where = page.locator("#promo-where")
    assert "Semua lokasi" in where.inner_text() and page.locator("#promo-form select[name=store_id]").count() == 0
    where.locator("#edit-where").click()
    offer = page.locator(f"#offer-{promo_id}")
    offer.locator("select[name=store_id]").select_option(label="Sapa Kemang")
    offer.locator("input[name=radius_km]").fill("2.5")
    offer.locator("button.primary").click()
    page.locator(".flash", has_text="Tersimpan").wait_for()
    page.locator(f"#offer-{promo_id} a.edit-promotion").click()
    page.locator("#promo-where", has_text="Sapa Kemang · 2.5 km").wait_for()
    session.expire_all()
    promo = session.get(promotions.Promotion, promo_id)
    assert (promo.radius_km, promo.active) == (2.5, True)
