"""The customer panel's loyalty points: balance, tier, recent changes; staff adjust them with a reason."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from core.db import session_scope
from crm import loyalty
from core.settings import LoyaltySettings
from crm.models import AuditLog
from crm.promotions import Promotion


def _balance(runtime, contact_id: int) -> int:
    with Session(runtime.engine) as session:
        return loyalty.balance(session=session, contact_id=contact_id)


def test_the_panel_shows_the_balance_tier_and_ledger(agent, line_chat, runtime):
    conversation_id, contact_id = line_chat
    with session_scope(runtime.engine) as session:
        loyalty.adjust(session=session, contact_id=contact_id, points=120, reason="hadiah pembukaan", by="staff:1")
    page = agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    for expected in ("Poin loyalitas", '<strong class="points-balance">120</strong>', "Silver", "hadiah pembukaan",
                     "+120", "500 lagi ke Gold", "Ubah poin"):
        assert expected in page, expected
    assert 'class="points-balance">120<' in agent.get(f"/inbox/c/{conversation_id}").get_data(as_text=True)


def test_staff_adjust_points_with_a_reason_audited(agent, line_chat, runtime, staff, session):
    _, contact_id = line_chat
    response = agent.post(f"/inbox/contacts/{contact_id}/points", {"points": "+75", "reason": "beli di kasir"})
    assert response.status_code == 303
    assert "Poin diubah (+75)" in agent.get(response.headers["Location"]).get_data(as_text=True)
    assert agent.post(f"/inbox/contacts/{contact_id}/points", {"points": "-25", "reason": "tukar kopi"}).status_code == 303
    assert _balance(runtime, contact_id) == 50
    audits = session.exec(select(AuditLog).where(AuditLog.action == "points.adjust")).all()
    assert [(a.staff_user_id, a.target_id, a.details["points"]) for a in audits] == \
        [(staff["agent"], contact_id, 75), (staff["agent"], contact_id, -25)]
    entry = loyalty.entries(session=session, contact_id=contact_id)[0]
    assert (entry.kind, entry.points, entry.by, entry.reason) == ("adjust", -25, f"staff:{staff['agent']}", "tukar kopi")


@pytest.mark.parametrize("form, reason", [
    ({"points": "abc", "reason": "x"}, "Poin harus bilangan bulat"),
    ({"points": "0", "reason": "x"}, "Poin harus bilangan bulat"),
    ({"points": "10", "reason": "   "}, "Tulis alasan"),
    ({"points": "10", "reason": "x" * 201}, "Tulis alasan"),
    ({"points": "-5", "reason": "tukar"}, "Poin pelanggan hanya 0"),
])
def test_bad_input_keeps_the_form_and_says_why(agent, line_chat, runtime, session, form, reason):
    _, contact_id = line_chat
    response = agent.post(f"/inbox/contacts/{contact_id}/points", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and reason in page
    assert f'value="{form["points"]}"' in page  # the form kept what was typed
    assert _balance(runtime, contact_id) == 0
    assert session.exec(select(AuditLog).where(AuditLog.action == "points.adjust")).all() == []


def test_a_marketer_sees_the_points_but_cannot_adjust(as_role, line_chat, runtime):
    _, contact_id = line_chat
    marketer = as_role("marketer")
    page = marketer.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    assert "points-balance" in page and "Ubah poin" not in page
    assert marketer.post(f"/inbox/contacts/{contact_id}/points", {"points": "10", "reason": "x"}).status_code == 403
    assert _balance(runtime, contact_id) == 0


def test_an_unknown_contact_is_404(agent):
    assert agent.post("/inbox/contacts/999999/points", {"points": "10", "reason": "x"}).status_code == 404


def test_editing_a_reward_voucher_keeps_it_the_customers_own(as_role, line_chat, runtime, session):
    _, contact_id = line_chat
    rules = LoyaltySettings()
    with session_scope(runtime.engine) as db:
        loyalty.adjust(session=db, contact_id=contact_id, points=100, reason="x", by="staff:1")
        _, voucher = loyalty.redeem_reward(session=db, contact_id=contact_id, reward=rules.rewards[0], rules=rules,
                                           by="customer")
        voucher_id = voucher.id
    admin = as_role("admin")
    form = {"title": "Gratis kopi susu (diperpanjang)", "voucher_code": voucher.voucher_code, "per_customer": "once",
            "max_redemptions": "1", "active": "1", "starts_at": "2026-01-01T00:00", "ends_at": "2099-01-01T00:00"}
    assert admin.post(f"/inbox/promotions/{voucher_id}", form).status_code == 303
    session.expire_all()
    promotion = session.get(Promotion, voucher_id)
    assert promotion.title == "Gratis kopi susu (diperpanjang)" and promotion.audience == {"contacts": [contact_id]}


def test_the_reasons_sapa_writes_read_in_the_staff_members_language(as_role, line_chat, runtime):
    """An order's points and a birthday bonus are worded for the reader; a staff member's reason stays as typed."""
    from crm.orders import Order

    _, contact_id = line_chat
    with session_scope(runtime.engine) as session:
        order = Order(contact_id=contact_id, channel="line", status="delivered", subtotal=40_000, total=40_000)
        session.add(order)
        session.flush()
        loyalty.earn_for_order(session=session, order_id=order.id, contact_id=contact_id, total=40_000,
                               delivery_fee=0, rules=LoyaltySettings(), by="system")
        loyalty.grant_birthday(session=session, contact_id=contact_id, points=10, year=2026)
        loyalty.adjust(session=session, contact_id=contact_id, points=5, reason="order delivered late", by="staff:1")
    agent = as_role("agent")
    page = agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    assert "· pesanan sampai" in page and "· ulang tahun 2026" in page and "· order delivered late" in page
    agent.post("/inbox/language", {"lang": "en"})
    page = agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    assert "· order delivered <small" in page and "· birthday 2026 <small" in page
