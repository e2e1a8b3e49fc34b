"""The hours page in a real browser (Chromium under Playwright): an admin adds a holiday and removes it."""

from __future__ import annotations

import pytest

from crm.shop_settings import load_settings
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - the browser fixtures

pytestmark = pytest.mark.browser


def test_an_admin_adds_a_staff_holiday_and_removes_it_in_the_browser(open_page, session):  # noqa: F811
    page = open_page("admin")
    page.click(".nav-more summary")  # the shop's setup screens are under "Kelola toko"
    page.click("nav >> text=Jam buka")
    form = page.locator("#add-exception")
    form.locator("select[name=target]").select_option("staff")
    form.locator("input[name=label]").fill("Idul Fitri")
    form.locator("input[name=start]").fill("2027-03-20")
    form.locator("input[name=end]").fill("2027-03-21")
    form.locator("button.primary").click()
    staff_hours = page.locator("#hours-staff")
    staff_hours.locator("li.exception", has_text="Idul Fitri").wait_for()
    assert "20 Mar 2027 – 21 Mar 2027" in staff_hours.inner_text()
    session.expire_all()
    assert [e.label for e in load_settings(session).staff_hours_exceptions] == ["Idul Fitri"]

    staff_hours.locator("li.exception", has_text="Idul Fitri").locator("button").click()
    page.locator(".flash", has_text="Pengecualian dihapus").wait_for()
    assert page.locator("#hours-staff li.exception").count() == 0
    session.expire_all()
    assert load_settings(session).staff_hours_exceptions == []
