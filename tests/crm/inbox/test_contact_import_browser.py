"""The import screen in a real browser (Chromium under Playwright): upload, map, dry run, import, progress, report."""

from __future__ import annotations

import pytest
from sqlmodel import select

from crm.models import Contact
from tests.crm.inbox.test_browser import browser, open_page, server, settings  # noqa: F401 - the browser fixtures
from tests.crm.inbox.test_contact_import_page import people_csv

pytestmark = pytest.mark.browser


def test_an_admin_imports_fifty_customers_three_of_them_bad(open_page, session, tmp_path):  # noqa: F811
    file = tmp_path / "pelanggan.csv"
    file.write_bytes(people_csv())
    page = open_page("admin")
    page.click("button[name=lang][value=en]")
    page.click("nav >> text=Contacts")
    page.click("#import-link")
    page.set_input_files("#import-upload input[type=file]", str(file))
    page.click("#import-upload button.primary")
    mapping = page.locator("#import-mapping")
    for column, field in (("Nama", "name"), ("HP", "phone"), ("Surel", "email"), ("Kota", "custom")):
        mapping.locator(f"tr[data-column={column}] select").select_option(field)
    mapping.locator("tr[data-column=Kota] input").fill("kota")
    page.click("#dry-run")
    assert page.locator("#count-created").inner_text() == "47"
    assert page.locator("#count-rejected").inner_text() == "3"
    assert page.locator("#rejects tr.reject").count() == 3
    assert "not a valid phone number: '12ab'" in page.locator("#rejects").inner_text()

    page.click("#start-import")
    page.locator("#progress[data-status=done]").wait_for()
    assert page.locator("#import-bar").evaluate("bar => bar.value") == 100
    assert page.locator("#import-percent").inner_text() == "100 %"
    assert page.locator("#import-rows").inner_text() == "50 of 50 rows"
    assert page.locator("#import-summary").inner_text() == "Done: created 47, merged 0, unchanged 0, rejected 3"
    with page.expect_download() as download:
        page.click("#import-report")
    report = download.value.path().read_text(encoding="utf-8-sig").splitlines()
    assert download.value.suggested_filename == "pelanggan.rejected.csv"
    assert [line.split(",")[:2] for line in report[1:]] == [["12", "HP"], ["22", "Nama"], ["32", "Surel"]]
    assert len(session.exec(select(Contact)).all()) == 47

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
