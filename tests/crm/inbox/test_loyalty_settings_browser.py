"""The loyalty settings form in a real browser (Chromium under Playwright): an owner finds it under "Kelola toko",
a refused value is marked beside its field with what was typed kept, and the corrected form saves."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from core.db import session_scope
from crm.orders import Product
from crm.shop_settings import load_settings
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - the browser fixtures

pytestmark = pytest.mark.browser


def test_an_owner_sets_a_reward_and_a_stamp_card_after_fixing_a_refused_value(
        open_page, runtime, tmp_path):  # noqa: F811
    with session_scope(runtime.engine) as session:
        session.add(Product(sku="KOPI", name="Es Kopi Susu", price=25_000, category="Kopi"))
    owner = open_page("admin")
    owner.click(".nav-more summary")  # the shop's setup screens are under "Kelola toko"
    owner.click("nav >> text=Loyalitas")
    rewards = owner.locator("#loyalty-rewards tbody tr")
    new = rewards.nth(1)  # the first empty row under the default reward
    new.locator("input[name=reward_name]").fill("Potongan 15rb")
    new.locator("input[name=reward_points]").fill("200")
    new.locator("input[name=reward_amount]").fill("15.000")
    owner.locator("input[name=stamps_on]").check()
    owner.locator("select[name=stamps_sku]").select_option("KOPI")
    owner.locator("input[name=expiry_months]").fill("0")
    owner.click("#loyalty-settings button.primary")

    owner.locator(".flash.error", has_text="Belum tersimpan").wait_for()
    error = owner.locator("#err-expiry_months")
    assert error.inner_text() == "Isi 1 sampai 120 bulan, atau kosongkan."
    assert owner.locator("input[name=expiry_months]").get_attribute("aria-invalid") == "true"
    assert rewards.nth(1).locator("input[name=reward_name]").input_value() == "Potongan 15rb"  # kept
    assert owner.locator("select[name=stamps_sku]").input_value() == "KOPI"
    owner.screenshot(path=str(tmp_path / "loyalty-refused.png"), full_page=True)
    with Session(runtime.engine) as session:
        assert load_settings(session).loyalty is None  # nothing saved

    owner.locator("input[name=expiry_months]").fill("12")
    owner.click("#loyalty-settings button.primary")
    owner.locator(".flash", has_text="Pengaturan disimpan").wait_for()
    assert owner.locator(".error-text").count() == 0
    with Session(runtime.engine) as session:
        rules = load_settings(session).loyalty
    assert [(r.name, r.amount_off) for r in rules.rewards] == [("Gratis kopi susu", None), ("Potongan 15rb", 15_000)]
    assert (rules.expiry_months, rules.stamps.sku) == (12, "KOPI")
