"""The loyalty settings form: an admin sets rate, rounding, expiry, tiers, rewards with their value, multipliers,
the birthday bonus and the stamp card; bad input is kept with an error beside each refused field, nothing saved."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from core.db import session_scope
from crm.models import AuditLog
from crm.orders import Product
from crm.shop_settings import load_settings

URL = "/inbox/settings/loyalty"


@pytest.fixture
def products(runtime):
    with session_scope(runtime.engine) as session:
        session.add_all([Product(sku="KOPI", name="Es Kopi Susu", price=25_000, category="Kopi"),
                         Product(sku="CROI", name="Croissant", price=20_000, category="Pastry")])


def _form(**changes) -> dict:
    form = {"points_per_1000_rupiah": "1,5", "rounding": "nearest", "expiry_months": "12", "voucher_days": "30",
            "birthday_points": "50",
            "tier_name": ["Silver", "Gold", ""], "tier_name_en": ["", "", ""], "tier_min": ["0", "1.000", ""],
            "reward_name": ["Potongan 10rb", "Gratis kopi", ""], "reward_name_en": ["10k off", "", ""],
            "reward_points": ["100", "150", ""], "reward_amount": ["10.000", "", ""],
            "reward_sku": ["", "KOPI", ""],
            "multiplier_category": ["Pastry", ""], "multiplier_factor": ["2", ""],
            "stamps_on": "1", "stamps_by": "sku", "stamps_sku": "KOPI", "stamps_category": "", "stamps_count": "9",
            "stamps_free_sku": ""}
    form.update(changes)
    return form


def field_errors(page: str) -> dict[str, str]:
    """The errors shown beside fields: field → text."""
    return {field.replace("-", "."): text for field, text in
            re.findall(r'<small class="error-text" id="err-([^"]+)">([^<]*)</small>', page)}


def test_an_admin_saves_every_rule_and_it_is_audited(as_role, session, products):
    admin = as_role("admin")
    page = admin.get(URL).get_data(as_text=True)
    assert f'href="{URL}"' in page and 'name="points_per_1000_rupiah" inputmode="decimal" value="1"' in page
    saved = admin.post(URL, _form())
    assert saved.status_code == 303, saved.get_data(as_text=True)[:500]
    rules = load_settings(session).loyalty
    assert (rules.points_per_1000_rupiah, rules.rounding, rules.expiry_months, rules.birthday_points) == \
        (1.5, "nearest", 12, 50)
    assert [(t.name, t.min_points) for t in rules.tiers] == [("Silver", 0), ("Gold", 1000)]
    assert [(r.name, r.name_en, r.points, r.amount_off, r.free_sku) for r in rules.rewards] == \
        [("Potongan 10rb", "10k off", 100, 10_000, None), ("Gratis kopi", None, 150, None, "KOPI")]
    assert [(m.category, m.factor) for m in rules.multipliers] == [("Pastry", 2.0)]
    assert (rules.stamps.sku, rules.stamps.stamps, rules.stamps.reward_sku) == ("KOPI", 9, "KOPI")
    assert session.exec(select(AuditLog.action).order_by(AuditLog.id.desc())).first() == "settings.loyalty"
    page = admin.get(URL).get_data(as_text=True)
    assert 'value="Potongan 10rb"' in page and '<option value="KOPI" selected>' in page
    admin.post(URL, _form(stamps_on="", birthday_points=""))
    rules = load_settings(session).loyalty
    assert rules.stamps is None and rules.birthday_points == 0


@pytest.mark.parametrize("changes, field, words", [
    ({"points_per_1000_rupiah": "banyak"}, "points_per_1000_rupiah", "Isi angka 0 sampai 1000"),
    ({"points_per_1000_rupiah": "5000"}, "points_per_1000_rupiah", "Isi angka 0 sampai 1000"),
    ({"expiry_months": "0"}, "expiry_months", "Isi 1 sampai 120 bulan"),
    ({"tier_min": ["10", "1.000", ""]}, "tiers", "Level terendah harus mulai dari 0"),
    ({"tier_min": ["0", "seribu", ""]}, "tiers.1.min_points", "bilangan bulat"),
    ({"reward_amount": ["10.000", "5.000", ""]}, "rewards.1", "tidak keduanya"),
    ({"reward_points": ["0", "150", ""]}, "rewards.0.points", "1 atau lebih"),
    ({"multiplier_factor": ["0", ""]}, "multipliers.0.factor", "lebih dari 0 sampai 10"),
    ({"multiplier_category": ["Pastry", "Pastry"], "multiplier_factor": ["2", "3"]}, "multipliers", "satu pengali"),
    ({"stamps_by": "category", "stamps_category": "Kopi"}, "stamps", "item gratis"),
    ({"stamps_count": "1"}, "stamps.stamps", "2 sampai 50"),
])
def test_bad_input_is_kept_with_an_error_beside_the_field_and_nothing_is_saved(as_role, session, products, changes,
                                                                               field, words):
    admin = as_role("admin")
    before = load_settings(session).loyalty
    refused = admin.post(URL, _form(**changes))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert words in field_errors(page).get(field, ""), field_errors(page)
    assert 'value="Potongan 10rb"' in page and 'value="10k off"' in page  # what was typed stays
    assert "Belum tersimpan" in page
    session.expire_all()
    assert load_settings(session).loyalty == before


def test_errors_are_in_the_staff_members_language(as_role, products):
    admin = as_role("admin")
    admin.post("/inbox/language", {"lang": "en", "next": URL})
    page = admin.post(URL, _form(expiry_months="0")).get_data(as_text=True)
    assert field_errors(page)["expiry_months"] == "Enter 1 to 120 months, or leave it empty."


def test_only_admins_manage_loyalty(as_role):
    assert as_role("agent").get(URL).status_code == 403
    assert as_role("marketer").post(URL, _form()).status_code == 403


def test_the_saved_rules_apply_to_the_next_message(as_role, products, webhooks, fake_line):
    from tests.factories import line_text

    as_role("admin").post(URL, _form(tier_name=["Perunggu", "Emas", ""]))
    webhooks.line(line_text("poin saya berapa?", user="U" + "7" * 32))
    assert "Level: Perunggu" in fake_line.replied[-1][1]["text"]
