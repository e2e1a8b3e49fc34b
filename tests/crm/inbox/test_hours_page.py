"""The hours page: staff add and remove exceptions to the staff hours and a store's hours (form posts)."""

from __future__ import annotations

import html

from core.db import session_scope
from crm import stores
from crm.shop_settings import load_settings


def test_an_admin_adds_and_removes_a_staff_holiday_and_ramadan_hours_for_a_store(as_role, runtime, session):
    with session_scope(runtime.engine) as s:
        store_id = stores.create_store(session=s, name="Sapa Blok M", lat=-6.24, lon=106.8,
                                       opening_hours={"mon": [["07:00", "22:00"]]}).id
    admin = as_role("admin")
    page = admin.get("/inbox/hours").get_data(as_text=True)
    assert 'href="/inbox/hours"' in page and "Sapa Blok M" in page and f'value="store:{store_id}"' in page
    added = admin.post("/inbox/hours", {"action": "add", "target": "staff", "label": "Idul Fitri",
                                        "start": "2027-03-20", "end": "2027-03-21", "kind": "closed"})
    assert added.status_code == 303
    admin.post("/inbox/hours", {"action": "add", "target": f"store:{store_id}", "label": "Ramadan",
                                "start": "2027-02-18", "end": "2027-03-19", "kind": "windows",
                                "windows": "10:00-16:00, 19:00-23:00"})
    [holiday] = load_settings(session).staff_hours_exceptions
    assert (holiday.label, str(holiday.start), str(holiday.end), holiday.closed) == \
        ("Idul Fitri", "2027-03-20", "2027-03-21", True)
    session.expire_all()
    assert session.get(stores.Store, store_id).hours_exceptions == [
        {"label": "Ramadan", "start": "2027-02-18", "end": "2027-03-19", "closed": False,
         "windows": [["10:00", "16:00"], ["19:00", "23:00"]]}]
    page = admin.get("/inbox/hours").get_data(as_text=True)
    assert "Idul Fitri" in page and "20 Mar 2027 – 21 Mar 2027" in page and "10:00-16:00, 19:00-23:00" in page

    removed = admin.post("/inbox/hours", {"action": "remove", "target": "staff", "start": "2027-03-20"})
    assert removed.status_code == 303 and load_settings(session).staff_hours_exceptions == []
    session.expire_all()
    assert len(session.get(stores.Store, store_id).hours_exceptions) == 1  # the store's stays


def test_bad_exceptions_are_a_400_in_plain_words_keeping_what_was_typed_and_nothing_is_saved(as_role, runtime, session):
    admin = as_role("admin")
    admin.post("/inbox/hours", {"action": "add", "target": "staff", "label": "Cuti", "start": "2027-05-01",
                                "kind": "closed"})
    for form, words in (({"start": "2027-05-10", "end": "2027-05-09"}, "Tanggal akhir tidak boleh sebelum tanggal mulai."),
                        ({"start": "not a date"}, "Isi tanggal mulai dengan tanggal yang benar."),
                        ({"start": "2027-05-10", "kind": "windows", "windows": "9-17"}, "Tulis jam seperti 08:00-17:00"),
                        ({"start": "2027-05-10", "kind": "windows", "windows": "10:00-10:00"}, "tidak boleh sama"),
                        ({"start": "2027-05-10", "kind": "windows", "windows": ""}, "isi jamnya"),
                        ({"start": "2027-05-01"}, "bertumpuk dengan pengecualian lain")):
        refused = admin.post("/inbox/hours", {"action": "add", "target": "staff", "label": "Libur", "kind": "closed",
                                              **form})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 400 and html.escape(words, quote=True) in page, (form, page[:3000])
        assert 'name="label" required maxlength="60" value="Libur"' in page  # what was typed stays
        for developer_words in ("hours_exceptions", "Value error", "Input should", "windows:"):
            assert developer_words not in page, (form, developer_words)
    admin.post("/inbox/language", {"lang": "en"})
    refused = admin.post("/inbox/hours", {"action": "add", "target": "staff", "label": "Off", "kind": "closed",
                                          "start": "2027-05-10", "end": "2027-05-09"})
    assert "The end date cannot be before the start date." in refused.get_data(as_text=True)
    unknown = admin.post("/inbox/hours", {"action": "add", "target": "store:999999", "label": "x",
                                          "start": "2027-05-10", "kind": "closed"})
    assert unknown.status_code == 400
    assert [e.label for e in load_settings(session).staff_hours_exceptions] == ["Cuti"]


def test_only_admins_edit_the_hours(as_role):
    agent = as_role("agent")
    assert agent.get("/inbox/hours").status_code == 403
    assert agent.post("/inbox/hours", {"action": "add", "target": "staff", "label": "x", "start": "2027-05-10",
                                       "kind": "closed"}).status_code == 403
