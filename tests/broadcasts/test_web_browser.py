"""The marketer's screens in a real browser (Debian's Chromium under Playwright): the rule
builder's live count, a campaign sent now, and its results; a saved segment's customers downloaded."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook

from tests.broadcasts.helpers import seed
from tests.crm.inbox.conftest import staff  # noqa: F401 - fixture
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser


def test_an_admin_saves_a_segment_and_downloads_its_customers(open_page, server, runtime):  # noqa: F811
    seed(runtime.engine, line=3, tags=["vip"])
    seed(runtime.engine, line=1, start=50, display_name="=1+1")  # a name a spreadsheet would run as a formula
    seed(runtime.engine, telegram=2, start=100)
    page = open_page("admin")
    page.goto(f"{server}/inbox/segments/new")
    assert page.locator("#segment-export").count() == 0  # nothing to export before it is saved
    page.fill("input[name=name]", "Pelanggan LINE")
    page.click("#builder-segment .add-rule")  # a rule "channel = line" by default
    page.locator("#live-segment .count").filter(has_text=re.compile(r"^4$")).wait_for(timeout=5000)
    page.click("#save-segment")
    page.wait_for_url(re.compile(r"/inbox/segments/\d+$"))

    with page.expect_download() as download:
        page.click("#segment-export-csv")
    assert re.fullmatch(r"segment-\d+\.csv", download.value.suggested_filename)
    with download.value.path().open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["name"] for row in rows) == ["'=1+1", "Pelanggan 0", "Pelanggan 1", "Pelanggan 2"]
    assert all(row["line_user_id"] and not row["telegram_chat_id"] for row in rows)

    with page.expect_download() as download:
        page.click("#segment-export-xlsx")
    assert re.fullmatch(r"segment-\d+\.xlsx", download.value.suggested_filename)
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active  # the saved file has no suffix
    names = sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True))
    assert names == ["'=1+1", "Pelanggan 0", "Pelanggan 1", "Pelanggan 2"]


def test_a_marketer_builds_a_segment_and_sends_a_campaign(open_page, server, runtime, fake_line):  # noqa: F811
    seed(runtime.engine, line=3, tags=["vip"])
    seed(runtime.engine, telegram=2, start=100)
    page = open_page("marketer")
    page.goto(f"{server}/inbox/segments/new")
    live = page.locator("#live-segment .count")
    live.filter(has_text=re.compile(r"^5$")).wait_for(timeout=5000)  # no rules yet: everyone
    page.fill("input[name=name]", "Pelanggan LINE")
    page.click("#builder-segment .add-rule")  # a rule "channel = line" by default
    live.filter(has_text=re.compile(r"^3$")).wait_for(timeout=5000)
    page.locator("#sample li").nth(2).wait_for(timeout=5000)
    # A rule the compiler refuses shows its message inline, then the count comes back.
    page.select_option("#builder-segment .rule select >> nth=0", "orders_count")
    page.fill("#builder-segment .rule input", "")
    page.locator("#live-segment [data-errors] li").first.wait_for(timeout=5000)
    page.select_option("#builder-segment .rule select >> nth=0", "channel")
    live.filter(has_text=re.compile(r"^3$")).wait_for(timeout=5000)
    page.click("#save-segment")
    page.wait_for_url(re.compile(r"/inbox/segments/\d+$"))

    page.goto(f"{server}/inbox/campaigns/new")
    page.locator("#preview-audience", has_text="5 · LINE 3").wait_for(timeout=5000)  # the preview ran on opening
    assert page.locator("#preview-errors li").count() == 0  # an empty form opens clean
    page.fill("input[name=name]", "Promo LINE")
    page.fill("textarea[name=text]", "Halo dari {shop}, ada promo!")
    page.locator("#preview-line .lb-bubble", has_text="ada promo!").wait_for(timeout=5000)
    page.locator("#preview-telegram .tg-message", has_text="ada promo!").wait_for(timeout=5000)
    page.check("input[name=audience][value=segment]")
    page.select_option("select[name=segment_id]", label="Pelanggan LINE")
    page.locator("#preview-audience", has_text="3 · LINE 3").wait_for(timeout=5000)
    page.click("#send-campaign")
    page.wait_for_url(re.compile(r"/inbox/campaigns/\d+$"))
    page.locator("#campaign-status", has_text="selesai").wait_for(timeout=8000)
    assert page.inner_text("[data-stat=sent]") == "3"
    assert page.locator("#chart-funnel").count() == 1 and page.evaluate("typeof window.Chart") == "function"
    assert fake_line.calls("/v2/bot/message/multicast") and len(fake_line.deliveries_per_user()) == 3
    assert page.dialogs == []


def test_the_builder_picks_products_from_the_catalog_and_names_its_choices(open_page, server, runtime):  # noqa: F811
    from core.db import session_scope
    from crm import demo
    from crm.orders import Order, OrderItem

    buyer, _other = seed(runtime.engine, line=2)
    with session_scope(runtime.engine) as session:
        demo.load_products(session)
        order = Order(contact_id=buyer, status="delivered", subtotal=30_000, total=30_000)
        session.add(order)
        session.flush()
        session.add(OrderItem(order_id=order.id, product_name="Caffe Latte", quantity=1, price=30_000))
    page = open_page("marketer")
    page.goto(f"{server}/inbox/segments/new")
    live = page.locator("#live-segment .count")
    live.filter(has_text=re.compile(r"^2$")).wait_for(timeout=5000)
    page.click("#builder-segment .add-rule")
    status_choices = page.locator("#builder-segment .rule select >> nth=0")
    status_choices.select_option("status")
    assert "Bisa dihubungi" in page.inner_text("#builder-segment .rule")  # a choice in words, not "active"
    status_choices.select_option("product_bought")
    value = page.locator("#builder-segment .rule select >> nth=2")
    assert "Caffe Latte" in value.inner_text() and "Americano" in value.inner_text()  # the catalog, not a text box
    value.select_option("Caffe Latte")
    live.filter(has_text=re.compile(r"^1$")).wait_for(timeout=5000)
