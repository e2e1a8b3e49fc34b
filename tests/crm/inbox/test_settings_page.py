"""The settings page: an admin changes the shop's settings section by section; bad input is re-shown, never saved."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlmodel import select

from crm.models import AuditLog
from crm.shop_settings import load_settings


def error_flash(page: str) -> str:
    """The text of the page's error message ("" when there is none)."""
    match = re.search(r'<div class="flash error"[^>]*>([^<]*)</div>', page)
    return match.group(1) if match else ""


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 40), "black").save(out, "PNG")
    return out.getvalue()


def test_the_page_shows_config_yaml_values_until_saved(as_role):
    page = as_role("admin").get("/inbox/settings").get_data(as_text=True)
    assert 'href="/inbox/settings"' in page and 'value="Sapa Coffee"' in page  # config.yaml's shop name
    assert '<option value="Asia/Jakarta" selected>' in page and 'name="max_per_week" inputmode="numeric" required value="3"' in page


def test_an_admin_saves_each_section_and_only_its_keys(as_role, session):
    admin = as_role("admin")
    saved = admin.post("/inbox/settings", {"section": "shop", "shop_name": "Warung Bu Sri", "languages": ["id"],
                                           "default_language": "id", "timezone": "Asia/Makassar"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("#settings-shop")
    admin.post("/inbox/settings", {"section": "bot", "handoff_timeout_minutes": "30", "handoff_answer_minutes": "5",
                                   "conversation_idle_minutes": "1.440"})
    admin.post("/inbox/settings", {"section": "broadcasts", "quiet_start": "21:00", "quiet_end": "08:00",
                                   "max_per_week": "2"})
    admin.post("/inbox/settings", {"section": "delivery", "mode": "per_km", "flat_fee": "", "base_fee": "8.000",
                                   "base_km": "2,5", "per_km": "2.500", "free_above": "", "min_order": "0",
                                   "max_km": "15"})
    settings = load_settings(session)
    assert (settings.shop_name, settings.languages, settings.timezone) == ("Warung Bu Sri", ["id"], "Asia/Makassar")
    assert (settings.handoff_timeout_minutes, settings.conversation_idle_minutes) == (30, 1440)
    assert (settings.quiet_hours, settings.max_per_week) == ("21:00-08:00", 2)
    assert (settings.delivery.mode, settings.delivery.base_fee, settings.delivery.base_km,
            settings.delivery.free_above, settings.delivery.max_km) == ("per_km", 8000, 2.5, None, 15.0)
    assert [m.code for m in settings.payment_methods] == ["qris", "transfer", "cod"]  # untouched
    actions = list(session.exec(select(AuditLog.action).order_by(AuditLog.id)))
    assert actions[-4:] == ["settings.shop", "settings.bot", "settings.broadcasts", "settings.delivery"]
    page = admin.get("/inbox/settings").get_data(as_text=True)
    assert 'value="Warung Bu Sri"' in page and 'value="21:00"' in page and "Asia/Makassar\" selected" in page
    admin.post("/inbox/settings", {"section": "broadcasts", "quiet_start": "", "quiet_end": "", "max_per_week": "0"})
    assert load_settings(session).quiet_hours == ""


def test_payment_methods_are_edited_with_a_qris_picture_added_and_removed(as_role, session, runtime):
    admin = as_role("admin")
    edited = admin.post("/inbox/settings", {
        "section": "payment", "action": "save", "code": "qris", "label": "QRIS", "label_en": "QRIS",
        "fulfilment": ["delivery", "pickup"], "instructions": "Scan QR di bawah ini", "instructions_en": "",
        "image_file": (io.BytesIO(_png()), "qris.png")}, content_type="multipart/form-data")
    assert edited.status_code == 303
    qris = load_settings(session).payment_method("qris")
    assert qris.instructions == "Scan QR di bawah ini" and qris.instructions_en is None
    assert qris.image_url.startswith(runtime.settings.public_url + "/media/")
    assert admin.get(qris.image_url.removeprefix(runtime.settings.public_url)).status_code == 200  # written, served
    admin.post("/inbox/settings", {"section": "payment", "action": "add", "code": "gopay", "label": "GoPay"})
    admin.post("/inbox/settings", {"section": "payment", "action": "remove", "code": "cod"})
    admin.post("/inbox/settings", {"section": "payment", "action": "save", "code": "qris", "label": "QRIS",
                                   "fulfilment": ["pickup"], "remove_image": "1"})
    methods = load_settings(session).payment_methods
    assert [m.code for m in methods] == ["qris", "transfer", "gopay"]
    assert methods[0].image_url is None and methods[0].fulfilment == ["pickup"]


@pytest.mark.parametrize(("form", "words"), [
    ({"section": "bot", "handoff_timeout_minutes": "sebentar", "handoff_answer_minutes": "5",
      "conversation_idle_minutes": "60"}, "Bot diam setelah staf membalas"),
    ({"section": "bot", "handoff_timeout_minutes": "0", "handoff_answer_minutes": "5",
      "conversation_idle_minutes": "60"}, "1 sampai 10080"),
    ({"section": "shop", "shop_name": "Kopi", "default_language": "en", "languages": ["id"],
      "timezone": "Asia/Jakarta"}, "Bahasa utama"),
    ({"section": "shop", "shop_name": "Kopi", "default_language": "id", "timezone": "Asia/Jakarta"},
     "Bahasa balasan bot"),
    ({"section": "shop", "shop_name": "Kopi", "languages": ["id"], "default_language": "id",
      "timezone": "Bulan/Purnama"}, "Zona waktu"),
    ({"section": "broadcasts", "quiet_start": "21:00", "quiet_end": "", "max_per_week": "3"}, "Jam tenang"),
    ({"section": "delivery", "mode": "per_km", "base_fee": "-5", "min_order": "0"}, "Tarif dasar"),
    ({"section": "payment", "action": "add", "code": "Go Pay", "label": "GoPay"}, "Kode"),
    ({"section": "payment", "action": "add", "code": "qris", "label": "QRIS lagi"}, "sudah dipakai"),
    ({"section": "payment", "action": "save", "code": "qris", "label": "QRIS", "fulfilment": []}, "Bisa dipakai"),
])
def test_bad_input_is_a_400_in_the_staff_language_with_the_typed_values_and_nothing_saved(as_role, session, form,
                                                                                           words):
    before = load_settings(session)
    refused = as_role("admin").post("/inbox/settings", form)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and words in error_flash(page), error_flash(page)
    typed = next((value for key, value in form.items() if key in ("shop_name", "handoff_timeout_minutes", "label")),
                 None)
    if typed:
        assert f'value="{typed}"' in page
    session.expire_all()
    assert load_settings(session) == before


def test_a_bad_picture_is_refused_in_words(as_role, session):
    refused = as_role("admin").post("/inbox/settings", {
        "section": "payment", "action": "save", "code": "qris", "label": "QRIS", "fulfilment": ["delivery"],
        "image_file": (io.BytesIO(b"not an image"), "qris.png")}, content_type="multipart/form-data")
    assert refused.status_code == 400
    assert "Gambar (mis. kode QRIS)" in error_flash(refused.get_data(as_text=True))
    assert load_settings(session).payment_method("qris").image_url is None


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_only_admins_see_or_change_settings(as_role, session, role):
    other = as_role(role)
    assert other.get("/inbox/settings").status_code == 403
    assert other.post("/inbox/settings", {"section": "broadcasts", "quiet_start": "", "quiet_end": "",
                                          "max_per_week": "50"}).status_code == 403
    assert load_settings(session).max_per_week is None


def test_a_saved_timezone_changes_the_inbox_dates_at_once_without_a_restart(as_role, session):
    from zoneinfo import ZoneInfo

    from core.localtime import format_moment

    admin = as_role("admin")
    admin.post("/inbox/settings", {"section": "shop", "shop_name": "Kopi Timur", "languages": ["id", "en"],
                                   "default_language": "id", "timezone": "Asia/Jayapura"})
    at = session.exec(select(AuditLog.at).where(AuditLog.action == "settings.shop")).one()
    page = admin.get("/inbox/audit").get_data(as_text=True)
    assert format_moment(at, "id", ZoneInfo("Asia/Jayapura")) in page  # UTC+9, the saved zone
    assert format_moment(at, "id", ZoneInfo("Asia/Jakarta")) not in page  # not config.yaml's UTC+7
