"""The stores and FAQ pages: admins add, edit and deactivate stores and FAQ entries, and test a question (form posts)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from core.db import session_scope
from core.geo import MapPinError, map_pin
from crm import faq, stores
from crm.models import AuditLog

WEEK = {f"hours_{day}": "08:00-22:00" for day in stores.WEEKDAYS}


def _store(session, name: str) -> stores.Store:
    session.expire_all()
    return session.exec(select(stores.Store).where(stores.Store.name == name)).one()


def _actions(session) -> list[str]:
    session.expire_all()
    return [row.action for row in session.exec(select(AuditLog).order_by(AuditLog.id)).all()]


@pytest.mark.parametrize("typed, point", [
    ("-6.2615, 106.8106", (-6.2615, 106.8106)),
    ("https://maps.google.com/?q=-6.26,106.81", (-6.26, 106.81)),
    ("https://www.google.com/maps/place/Sapa+Coffee/@-6.2615,106.8106,17z", (-6.2615, 106.8106)),
    ("https://www.google.com/maps/place/X/@-6.2,106.8,15z/data=!4m6!3m5!8m2!3d-6.2615!4d106.8106", (-6.2615, 106.8106)),
])
def test_a_map_pin_is_typed_coordinates_or_a_pasted_google_maps_link(typed, point):
    assert map_pin(typed) == point


@pytest.mark.parametrize("typed, code", [("https://maps.app.goo.gl/Ab12Cd", "short_link"), ("Jl. Kemang Raya", "unreadable"),
                                         ("-95, 106.8", "out_of_range"), ("", "unreadable")])
def test_a_map_pin_without_readable_coordinates_says_why(typed, code):
    with pytest.raises(MapPinError) as refused:
        map_pin(typed)
    assert refused.value.code == code


def test_an_admin_adds_edits_and_deactivates_a_store(as_role, session):
    admin = as_role("admin")
    page = admin.get("/inbox/stores").get_data(as_text=True)
    assert 'href="/inbox/stores"' in page and 'href="/inbox/faqs"' in page  # the nav link and the tab
    added = admin.post("/inbox/stores", {"name": "Sapa Kemang", "address": "Jl. Kemang Raya 10", "area": "Kemang",
                                         "phone": "021-555", "pin": "https://maps.google.com/?q=-6.26,106.81",
                                         **WEEK, "hours_sun": ""})
    assert added.status_code == 303
    store = _store(session, "Sapa Kemang")
    assert (store.lat, store.lon, store.area, store.phone) == (-6.26, 106.81, "Kemang", "021-555")
    assert store.opening_hours["mon"] == [["08:00", "22:00"]] and store.opening_hours["sun"] == []
    assert added.headers["Location"].endswith(f"/inbox/stores/{store.id}")

    edit = admin.get(f"/inbox/stores/{store.id}").get_data(as_text=True)
    assert 'value="-6.260000, 106.810000"' in edit and 'value="08:00-22:00"' in edit
    assert f'href="/inbox/hours#hours-store-{store.id}"' in edit  # exceptions are edited on the hours page
    saved = admin.post(f"/inbox/stores/{store.id}", {
        "name": "Sapa Kemang", "address": "Jl. Kemang Raya 12", "area": "Kemang",
        "pin": "https://www.google.com/maps/place/Sapa/@-6.2615,106.8106,17z", **WEEK,
        "hours_sat": "08:00-12:00, 13:00-23:00", "active": "1"})
    assert saved.status_code == 303
    store = _store(session, "Sapa Kemang")
    assert (store.address, store.lat, store.phone) == ("Jl. Kemang Raya 12", -6.2615, None)
    assert store.opening_hours["sat"] == [["08:00", "12:00"], ["13:00", "23:00"]]
    assert store.opening_hours["sun"] == [["08:00", "22:00"]]

    assert admin.post(f"/inbox/stores/{store.id}/deactivate").status_code == 303
    assert _store(session, "Sapa Kemang").active is False
    assert "nonaktif" in admin.get("/inbox/stores").get_data(as_text=True)
    assert _actions(session)[-3:] == ["store.add", "store.update", "store.deactivate"]
    [update] = session.exec(select(AuditLog).where(AuditLog.action == "store.update")).all()
    assert update.details["from"]["address"] == "Jl. Kemang Raya 10" and "name" not in update.details["from"]


@pytest.mark.parametrize("form, says", [
    ({"pin": "https://maps.app.goo.gl/Ab12Cd"}, "Link pendek (maps.app.goo.gl) tidak bisa dibaca"),
    ({"pin": "di dekat pasar"}, "Titik peta tidak terbaca"),
    ({"pin": "-95, 106.8"}, "Koordinat di luar jangkauan"),
    ({"hours_tue": "8-17"}, "Jam Selasa tidak terbaca"),
    ({"hours_wed": "09:00-09:00"}, "Jam Rabu tidak terbaca"),
    ({"name": "   "}, "Periksa Nama"),
    ({"phone": "0" * 41}, "Periksa Telepon"),
])
def test_bad_store_input_shows_the_form_again_with_the_reason_and_saves_nothing(as_role, session, form, says):
    admin = as_role("admin")
    typed = {"name": "Sapa Menteng", "address": "Jl. Menteng 1", "pin": "-6.19, 106.83", **WEEK, **form}
    refused = admin.post("/inbox/stores", typed)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and says in page, page[:3000]
    assert 'value="Jl. Menteng 1"' not in page and "Jl. Menteng 1</textarea>" in page  # typed values kept
    assert session.exec(select(stores.Store)).all() == []


def test_a_refused_edit_changes_nothing_and_says_so_in_english(as_role, runtime, session):
    with session_scope(runtime.engine) as s:
        store_id = stores.create_store(session=s, name="Sapa Blok M", lat=-6.24, lon=106.8).id
    admin = as_role("admin")
    admin.post("/inbox/language", {"lang": "en"})
    refused = admin.post(f"/inbox/stores/{store_id}", {"name": "Sapa Blok M", "pin": "https://maps.app.goo.gl/x",
                                                       "active": "1"})
    assert refused.status_code == 400 and "A short link (maps.app.goo.gl) cannot be read here" in \
        refused.get_data(as_text=True)
    assert _store(session, "Sapa Blok M").lat == -6.24
    assert admin.get("/inbox/stores/999999").status_code == 404


def test_an_admin_adds_edits_tests_and_deactivates_a_faq_entry(as_role, session):
    admin = as_role("admin")
    added = admin.post("/inbox/faqs", {
        "question": "Ada tempat parkir motor?", "answer": "Ada, parkir motor gratis di depan toko.",
        "question_en": "", "answer_en": "",
        "phrasings": "parkir dimana\nbisa parkir mobil ga\n\n", "keywords": "parkir, motor,, ", "category": ""})
    assert added.status_code == 303
    entry = session.exec(select(faq.FaqEntry)).one()
    assert (entry.phrasings, entry.keywords, entry.category, entry.question_en, entry.answer_en) == \
        (["parkir dimana", "bisa parkir mobil ga"], ["parkir", "motor"], "umum", None, None)
    form = admin.get(f"/inbox/faqs/{entry.id}").get_data(as_text=True)
    assert "parkir dimana\nbisa parkir mobil ga</textarea>" in form and 'value="parkir, motor"' in form

    tested = admin.get("/inbox/faqs", query_string={"q": "parkir motor dimana kak?", "lang": "id"})
    page = tested.get_data(as_text=True)
    assert 'data-verdict="answers"' in page and "Ada, parkir motor gratis di depan toko." in page
    assert "Keyakinan" in page and "%" in page
    by_phrasing = admin.get("/inbox/faqs", query_string={"q": "bisa parkir mobil nggak?"}).get_data(as_text=True)
    assert 'data-verdict="answers"' in by_phrasing
    assert "Cocok dengan kalimat lain: “bisa parkir mobil ga”" in by_phrasing  # the test box names the phrasing
    unrelated = admin.get("/inbox/faqs", query_string={"q": "kucing saya sakit perut"}).get_data(as_text=True)
    assert 'data-verdict="hands_over"' in unrelated and "meneruskan ke staf" in unrelated

    saved = admin.post(f"/inbox/faqs/{entry.id}", {
        "question": "Ada tempat parkir?", "answer": "Ada, parkir motor dan mobil gratis.",
        "question_en": "Is there parking?", "answer_en": "Yes, free parking for bikes and cars.",
        "phrasings": "parkir dimana", "category": "toko", "active": "1"})
    assert saved.status_code == 303
    session.expire_all()
    entry = session.get(faq.FaqEntry, entry.id)
    assert (entry.question_en, entry.phrasings, entry.keywords, entry.category) == \
        ("Is there parking?", ["parkir dimana"], [], "toko")
    english = admin.get("/inbox/faqs", query_string={"q": "is there parking", "lang": "en"}).get_data(as_text=True)
    assert "Yes, free parking for bikes and cars." in english  # the bot's search sees the edit at once

    assert admin.post(f"/inbox/faqs/{entry.id}/deactivate").status_code == 303
    session.expire_all()
    assert session.get(faq.FaqEntry, entry.id).active is False
    gone = admin.get("/inbox/faqs", query_string={"q": "is there parking", "lang": "en"}).get_data(as_text=True)
    assert 'data-verdict="hands_over"' in gone  # an inactive entry answers nobody
    assert _actions(session)[-3:] == ["faq.add", "faq.update", "faq.deactivate"]


@pytest.mark.parametrize("form, says", [
    ({"question": "  "}, "Periksa Pertanyaan (Indonesia)"),
    ({"answer": ""}, "Periksa Jawaban (Indonesia)"),
    ({"phrasings": "x" * 501}, "Periksa Cara lain menanyakannya"),
    ({"keywords": "parkir, " + "k" * 101}, "Periksa Kata kunci"),
    ({"category": "k" * 51}, "Periksa Kategori"),
])
def test_bad_faq_input_shows_the_form_again_with_the_reason_and_saves_nothing(as_role, session, form, says):
    admin = as_role("admin")
    refused = admin.post("/inbox/faqs", {"question": "Jam berapa buka?", "answer": "Jam 8 pagi.", **form})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and says in page, page[:3000]
    assert "Jam 8 pagi.</textarea>" in page or form.get("answer") == ""
    assert session.exec(select(faq.FaqEntry)).all() == []


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_only_admins_manage_stores_and_the_faq(as_role, runtime, role):
    with session_scope(runtime.engine) as s:
        store_id = stores.create_store(session=s, name="Sapa Blok M", lat=-6.24, lon=106.8).id
        faq_id = faq.create_faq(session=s, question="Ada wifi?", answer="Ada.").id
    client = as_role(role)
    assert 'href="/inbox/stores"' not in client.get("/inbox/dashboard").get_data(as_text=True)
    for path in ("/inbox/stores", f"/inbox/stores/{store_id}", "/inbox/faqs", f"/inbox/faqs/{faq_id}"):
        assert client.get(path).status_code == 403, path
    for path, form in (("/inbox/stores", {"name": "x", "pin": "-6.2, 106.8"}),
                       (f"/inbox/stores/{store_id}", {"name": "x", "pin": "-6.2, 106.8"}),
                       (f"/inbox/stores/{store_id}/deactivate", {}),
                       ("/inbox/faqs", {"question": "q", "answer": "a"}),
                       (f"/inbox/faqs/{faq_id}", {"question": "q", "answer": "a"}),
                       (f"/inbox/faqs/{faq_id}/deactivate", {})):
        assert client.post(path, form).status_code == 403, path


def test_a_post_without_the_csrf_token_is_refused(as_role, session):
    admin = as_role("admin")
    refused = admin.client.post("/inbox/faqs", data={"question": "Ada wifi?", "answer": "Ada."})
    assert refused.status_code == 400 and session.exec(select(faq.FaqEntry)).all() == []
