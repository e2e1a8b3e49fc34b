"""The promotions page: admins add, edit and deactivate promotions with their days, hours, audience and budget;
their store and radius are shown, and set on the location offers page."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlmodel import select

from core.db import session_scope
from crm import promotions, stores
from crm.models import AuditLog, Contact

FORM = {"title": "Happy Hour Kopi", "description": "Diskon 20% semua kopi", "title_en": "Coffee Happy Hour",
        "description_en": "20% off every coffee", "starts_at": "2030-01-01T00:00", "ends_at": "2030-02-01T00:00",
        "hours": "15:00-17:00", "voucher_code": "happy-20", "max_redemptions": "50", "per_customer": "once"}


def _promo(session, title: str) -> promotions.Promotion:
    session.expire_all()
    return session.exec(select(promotions.Promotion).where(promotions.Promotion.title == title)).one()


def test_an_admin_adds_edits_and_deactivates_a_promotion(as_role, runtime, session):
    with session_scope(runtime.engine) as s:
        kemang = stores.create_store(session=s, name="Sapa Kemang", lat=-6.26, lon=106.81).id
        s.add(Contact(display_name="Budi", tags=["vip", "kopi"]))
    admin = as_role("admin")
    page = admin.get("/inbox/promotions").get_data(as_text=True)
    assert 'href="/inbox/promotions"' in page and 'value="vip"' in page and 'name="store_id"' not in page
    added = admin.post("/inbox/promotions", {**FORM, "weekdays": ["0", "1", "2", "3", "4"], "channels": ["line"],
                                             "tags": ["vip"], "languages": ["id"], "new_customers": "no",
                                             "min_orders": "2", "store_id": str(kemang), "radius_km": "3"})
    assert added.status_code == 303, added.get_data(as_text=True)[:2000]
    promo = _promo(session, "Happy Hour Kopi")
    assert promo.starts_at.astimezone(timezone.utc) == datetime(2029, 12, 31, 17, 0, tzinfo=timezone.utc)  # Jakarta
    assert (promo.weekdays, promo.hours, promo.voucher_code) == ([0, 1, 2, 3, 4], [["15:00", "17:00"]], "HAPPY-20")
    assert promo.audience == {"channels": ["line"], "tags": ["vip"], "languages": ["id"], "new_customers": False,
                              "min_orders": 2}
    # The store and radius are not this page's: a store posted anyway is ignored.
    assert (promo.store_id, promo.radius_km, promo.max_redemptions, promo.per_customer) == (None, None, 50, "once")
    assert added.headers["Location"].endswith(f"/inbox/promotions/{promo.id}")
    assert admin.post(f"/inbox/offers/{promo.id}", {"store_id": str(kemang), "radius_km": "3", "active": "1",
                                                    "starts_at": "2030-01-01T00:00"}).status_code == 303

    edit = admin.get(f"/inbox/promotions/{promo.id}").get_data(as_text=True)
    assert "Sapa Kemang · 3 km" in edit and f'href="/inbox/offers#offer-{promo.id}"' in edit
    assert 'value="2030-01-01T00:00"' in edit and 'value="15:00-17:00"' in edit and 'value="HAPPY-20"' in edit
    assert "Terjadwal" in edit  # starts in 2030
    saved = admin.post(f"/inbox/promotions/{promo.id}", {**FORM, "title_en": "", "hours": "", "max_redemptions": "",
                                                         "per_customer": "shared", "active": "1"})
    assert saved.status_code == 303
    promo = _promo(session, "Happy Hour Kopi")
    assert (promo.title_en, promo.hours, promo.weekdays, promo.audience) == (None, None, None, {})
    assert (promo.store_id, promo.radius_km, promo.max_redemptions, promo.per_customer) == (kemang, 3.0, None, "shared")

    assert admin.post(f"/inbox/promotions/{promo.id}/deactivate").status_code == 303
    assert _promo(session, "Happy Hour Kopi").active is False
    assert "Nonaktif" in admin.get("/inbox/promotions").get_data(as_text=True)
    session.expire_all()
    actions = [row.action for row in session.exec(select(AuditLog).order_by(AuditLog.id)).all()]
    assert actions[-4:] == ["promotion.add", "offer.update", "promotion.update", "promotion.deactivate"]
    update = session.exec(select(AuditLog).where(AuditLog.action == "promotion.update")).one()
    assert update.details["from"]["title_en"] == "Coffee Happy Hour" and "title" not in update.details["from"]
    # The period in the inbox's one date format, in the staff member's language (the shop's time).
    assert "1 Jan 2030 00.00 – 1 Feb 2030 00.00" in admin.get("/inbox/promotions").get_data(as_text=True)
    admin.post("/inbox/language", {"lang": "en"})
    assert "Jan 1, 2030, 12:00\u202fAM – Feb 1, 2030, 12:00\u202fAM" in \
        admin.get("/inbox/promotions").get_data(as_text=True)


@pytest.mark.parametrize("form, says", [
    ({"title": "  "}, "Periksa Judul (Indonesia)"),
    ({"ends_at": "2029-12-01T00:00"}, "Tanggal berakhir harus setelah tanggal mulai"),
    ({"starts_at": ""}, "Isi tanggal mulai dan berakhir"),
    ({"starts_at": "besok"}, "Mulai: tanggal dan jam tidak terbaca"),
    ({"hours": "3sore-5sore"}, "Periksa Jam (happy hour)"),
    ({"voucher_code": "HEMAT 20"}, "Periksa Kode voucher"),
    ({"voucher_code": ""}, "butuh kode voucher"),
    ({"max_redemptions": "0"}, "Periksa Kuota"),
    ({"max_redemptions": "banyak"}, "Kuota (maks. pemakaian): isi dengan angka"),
])
def test_bad_promotion_input_shows_the_form_again_with_the_reason_and_saves_nothing(as_role, runtime, session,
                                                                                    form, says):
    with session_scope(runtime.engine) as s:
        stores.create_store(session=s, name="Sapa Kemang", lat=-6.26, lon=106.81)
    admin = as_role("admin")
    refused = admin.post("/inbox/promotions", {**FORM, "weekdays": ["5"], **form})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and says in page, page[page.find("flash"):][:1500]
    assert "Diskon 20% semua kopi</textarea>" in page  # typed values kept
    assert 'name="weekdays" value="5" checked' in page
    assert session.exec(select(promotions.Promotion)).all() == []


def test_a_voucher_code_of_another_promotion_is_refused_in_english_too(as_role, runtime, session):
    with session_scope(runtime.engine) as s:
        promotions.create_promotion(session=s, title="Lama", voucher_code="HAPPY-20",
                                    starts_at=datetime(2030, 1, 1, tzinfo=timezone.utc),
                                    ends_at=datetime(2030, 2, 1, tzinfo=timezone.utc))
    admin = as_role("admin")
    admin.post("/inbox/language", {"lang": "en"})
    refused = admin.post("/inbox/promotions", FORM)
    assert refused.status_code == 400
    assert "The voucher code HAPPY-20 is already used by another promotion" in refused.get_data(as_text=True)
    assert len(session.exec(select(promotions.Promotion)).all()) == 1
    assert admin.get("/inbox/promotions/999999").status_code == 404


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_only_admins_manage_promotions(as_role, role):
    other = as_role(role)
    assert other.get("/inbox/promotions").status_code == 403
    assert other.post("/inbox/promotions", FORM).status_code == 403
    assert 'href="/inbox/promotions"' not in other.get("/inbox/").get_data(as_text=True)


def test_staff_see_the_voucher_an_order_used(as_role, runtime):
    from crm.orders import CartLine, Product, place_order

    with session_scope(runtime.engine) as s:
        now = datetime.now(timezone.utc)
        promotions.create_promotion(session=s, title="Hemat", voucher_code="HEMAT10", starts_at=now.replace(year=2020),
                                    ends_at=now.replace(year=2040))
        budi, coffee = Contact(display_name="Budi"), Product(sku="KOPI", name="Kopi", price=20_000)
        s.add_all([budi, coffee])
        s.flush()
        place_order(session=s, contact_id=budi.id, lines=[CartLine(coffee.id, 1)], fulfilment="pickup",
                    voucher_code="HEMAT10")
    page = as_role("admin").get("/inbox/orders").get_data(as_text=True)
    assert '<span class="pill voucher">HEMAT10</span>' in page
    listed = as_role("admin").get("/inbox/promotions").get_data(as_text=True)
    assert 'class="redeemed">1</td>' in listed  # one use, no budget
