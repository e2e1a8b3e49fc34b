"""The counter page: staff find the customer by the member code they show in chat, their name or any form of their
phone; a purchase earns points announced in chat (LINE and Telegram fakes); a reward is handed over once however
often the form is sent; adjustments need a reason; every action audited; marketers cannot."""

from __future__ import annotations

import re
import threading

import pytest
from sqlmodel import Session, select

from core.db import session_scope
from crm import counter, loyalty, member_codes
from crm import orders as order_data
from crm.counter import CounterSubmission
from crm.models import AuditLog, Contact
from crm.promotions import Promotion
from crm.shop_settings import save_settings
from crm.stores import Store
from tests.factories import tg_text

TG_USER = 424242


@pytest.fixture
def products(runtime) -> dict[str, int]:
    with session_scope(runtime.engine) as session:
        rows = [order_data.Product(sku="KOPI", name="Es Kopi Susu", price=25_000, category="Kopi"),
                order_data.Product(sku="CROI", name="Croissant", price=30_000, category="Roti", stock=1)]
        session.add_all(rows)
        session.add(Store(name="Kemang", address="Jl. Kemang 1", lat=-6.26, lon=106.81))
        session.flush()
        return {row.sku: row.id for row in rows}


def _code(runtime, contact_id: int) -> str:
    with session_scope(runtime.engine) as session:
        return member_codes.ensure_code(session=session, contact_id=contact_id)


def _give(runtime, contact_id: int, points: int) -> None:
    with session_scope(runtime.engine) as session:
        loyalty.adjust(session=session, contact_id=contact_id, points=points, reason="test", by="staff:1")


def _balance(runtime, contact_id: int) -> int:
    with Session(runtime.engine) as session:
        return loyalty.balance(session=session, contact_id=contact_id)


def _key(page: str, form: str) -> str:
    return re.search(rf'name="form" value="{form}">\s*<input type="hidden" name="key" value="([^"]+)"', page).group(1)


def test_a_member_code_opens_the_customers_card(agent, line_chat, runtime, products):
    _, contact_id = line_chat
    code = _code(runtime, contact_id)
    _give(runtime, contact_id, 150)
    for typed in (code, code.lower(), f"{code[:3]} {code[3:]}", f" {code[:4]}-{code[4:]} "):
        response = agent.get("/inbox/counter", query_string={"q": typed})
        assert response.status_code == 303 and response.headers["Location"].endswith(f"/inbox/counter/{contact_id}")
    page = agent.get(f"/inbox/counter/{contact_id}").get_data(as_text=True)
    for expected in ("Putri Customer", f'<code class="member-code">{code}</code>', 'class="points-balance">150<',
                     "Silver", "Tukar sekarang", "Catat pembelian", "Es Kopi Susu", "Kemang"):
        assert expected in page, expected


def test_an_unknown_code_finds_nobody(agent, line_chat):
    page = agent.get("/inbox/counter", query_string={"q": "K7MQ2PX"}).get_data(as_text=True)
    assert 'id="counter-none"' in page


@pytest.mark.parametrize("typed", ["081234567890", "0812-3456-7890", "+62 812 3456 7890", "6281234567890",
                                   "+6281234567890"])
def test_every_form_of_an_indonesian_phone_finds_the_customer(agent, line_chat, runtime, typed):
    _, contact_id = line_chat
    with session_scope(runtime.engine) as session:
        session.get(Contact, contact_id).phone = "0812 3456 7890"  # as staff typed it on the profile
        session.add(Contact(display_name="Someone Else", phone="+6281299990000"))
    response = agent.get("/inbox/counter", query_string={"q": typed})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/inbox/counter/{contact_id}")


def test_a_name_lists_the_customers_it_matches(agent, line_chat, runtime):
    _, contact_id = line_chat
    with session_scope(runtime.engine) as session:
        session.add(Contact(display_name="Putri Lain"))
    page = agent.get("/inbox/counter", query_string={"q": "putri"}).get_data(as_text=True)
    assert "Putri Customer" in page and "Putri Lain" in page
    assert f'href="/inbox/counter/{contact_id}"' in page


def test_a_purchase_is_an_order_whose_points_are_announced_on_line(agent, line_chat, runtime, session, products,
                                                                   fake_line, staff):
    _, contact_id = line_chat
    fake_line.reset()
    page = agent.get(f"/inbox/counter/{contact_id}").get_data(as_text=True)
    store_id = session.exec(select(Store.id)).one()
    form = {"form": "purchase", "key": _key(page, "purchase"), f"qty_{products['KOPI']}": "2",
            f"qty_{products['CROI']}": "", "store_id": str(store_id)}
    response = agent.post(f"/inbox/counter/{contact_id}/purchase", form)
    assert response.status_code == 303
    order = session.exec(select(order_data.Order)).one()
    assert (order.status, order.channel, order.total, order.store_id, order.fulfilment) == \
        ("delivered", "counter", 50_000, store_id, "pickup")
    assert _balance(runtime, contact_id) == 50
    assert f"Pembelian #{order.number} dicatat: +50 poin" in agent.get(response.headers["Location"]).get_data(as_text=True)
    pushed = [m["text"] for call in fake_line.calls("/v2/bot/message/push") for m in call.json["messages"]]
    assert any(f"+50 poin dari pesanan #{order.number}" in text for text in pushed), pushed
    assert any(text.startswith(f"Terima kasih sudah belanja di toko kami 🙏 Pembelian #{order.number}: Rp")
               for text in pushed), pushed  # a purchase at the counter, not "your order has arrived"
    # The same form again (a double click): no second order, no second points.
    again = agent.post(f"/inbox/counter/{contact_id}/purchase", form)
    assert "sudah diproses" in agent.get(again.headers["Location"]).get_data(as_text=True)
    assert len(session.exec(select(order_data.Order)).all()) == 1 and _balance(runtime, contact_id) == 50
    audit = session.exec(select(AuditLog).where(AuditLog.action == "counter.purchase")).one()
    assert (audit.staff_user_id, audit.target_id, audit.details["points"]) == (staff["agent"], order.id, 50)


def test_the_card_shows_the_stamps_and_a_purchase_adds_them(agent, line_chat, runtime, products):
    _, contact_id = line_chat
    assert 'id="counter-stamps"' not in agent.get(f"/inbox/counter/{contact_id}").get_data(as_text=True)  # no card
    with session_scope(runtime.engine) as session:
        save_settings(session, {"loyalty": {"stamps": {"sku": "kopi", "stamps": 9, "free_sku": "croi"}}})
    page = agent.get(f"/inbox/counter/{contact_id}").get_data(as_text=True)
    assert re.search(r'Stempel: <strong class="stamps">0</strong> / 9', page)
    assert "kartu penuh: Croissant gratis" in page
    agent.post(f"/inbox/counter/{contact_id}/purchase",
               {"form": "purchase", "key": _key(page, "purchase"), f"qty_{products['KOPI']}": "3"})
    page = agent.get(f"/inbox/counter/{contact_id}").get_data(as_text=True)
    assert re.search(r'Stempel: <strong class="stamps">3</strong> / 9', page)
    contact_page = agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    assert re.search(r'Stempel: <strong class="stamps">3</strong> / 9', contact_page)  # the customer panel too


def test_a_purchase_is_announced_on_telegram_too(agent, webhooks, runtime, session, products, fake_telegram):
    assert webhooks.telegram(tg_text("halo", user_id=TG_USER)).status_code == 200
    contact_id = session.exec(select(Contact.id)).one()
    page = agent.get(f"/inbox/counter/{contact_id}").get_data(as_text=True)
    response = agent.post(f"/inbox/counter/{contact_id}/purchase",
                          {"form": "purchase", "key": _key(page, "purchase"), f"qty_{products['KOPI']}": "4"})
    assert response.status_code == 303
    assert any("+100 poin" in text for text in fake_telegram.texts_to(TG_USER)), fake_telegram.texts_to(TG_USER)


@pytest.mark.parametrize("quantities, reason", [
    ({}, "Isi jumlah untuk minimal satu produk"),
    ({"KOPI": "0"}, "Isi jumlah untuk minimal satu produk"),
    ({"KOPI": "dua"}, "Jumlah harus bilangan bulat"),
    ({"KOPI": "1000"}, "Jumlah harus bilangan bulat"),
    ({"CROI": "2"}, "Stok Croissant tidak cukup"),
])
def test_a_bad_purchase_keeps_the_form_and_writes_nothing(agent, line_chat, runtime, session, products,
                                                          quantities, reason):
    _, contact_id = line_chat
    page = agent.get(f"/inbox/counter/{contact_id}").get_data(as_text=True)
    key = _key(page, "purchase")
    form = {"form": "purchase", "key": key, **{f"qty_{products[sku]}": value for sku, value in quantities.items()}}
    response = agent.post(f"/inbox/counter/{contact_id}/purchase", form)
    refused = response.get_data(as_text=True)
    assert response.status_code == 400 and reason in refused
    for sku, value in quantities.items():
        assert f'name="qty_{products[sku]}"' in refused and f'value="{value}"' in refused
    assert session.exec(select(order_data.Order)).all() == [] and session.exec(select(CounterSubmission)).all() == []
    assert _key(refused, "purchase") == key  # nothing was written with it: the corrected form goes through
    fixed = agent.post(f"/inbox/counter/{contact_id}/purchase",
                       {"form": "purchase", "key": key, f"qty_{products['KOPI']}": "1"})
    assert fixed.status_code == 303 and _balance(runtime, contact_id) == 25


def test_an_unknown_store_or_a_missing_key_is_refused(agent, line_chat, session, products):
    _, contact_id = line_chat
    page = agent.get(f"/inbox/counter/{contact_id}").get_data(as_text=True)
    bad_store = agent.post(f"/inbox/counter/{contact_id}/purchase", {
        "form": "purchase", "key": _key(page, "purchase"), f"qty_{products['KOPI']}": "1", "store_id": "999"})
    assert bad_store.status_code == 400 and "Toko itu tidak ada" in bad_store.get_data(as_text=True)
    no_key = agent.post(f"/inbox/counter/{contact_id}/purchase", {"form": "purchase", f"qty_{products['KOPI']}": "1"})
    assert no_key.status_code == 400 and "kedaluwarsa" in no_key.get_data(as_text=True)
    assert session.exec(select(order_data.Order)).all() == []


def test_a_reward_is_handed_over_once_however_often_the_form_is_sent(agent, line_chat, runtime, session, fake_line,
                                                                     staff):
    _, contact_id = line_chat
    _give(runtime, contact_id, 250)
    fake_line.reset()
    page = agent.get(f"/inbox/counter/{contact_id}").get_data(as_text=True)
    form = {"form": "redeem", "key": _key(page, "redeem"), "reward": "0", "points": "100"}
    first = agent.post(f"/inbox/counter/{contact_id}/redeem", form)
    second = agent.post(f"/inbox/counter/{contact_id}/redeem", form)
    assert first.status_code == second.status_code == 303
    assert "sudah diproses" in agent.get(second.headers["Location"]).get_data(as_text=True)
    redeemed = [e for e in loyalty.entries(session=session, contact_id=contact_id) if e.kind == "redeem"]
    assert len(redeemed) == 1 and redeemed[0].by == f"staff:{staff['agent']}"
    assert _balance(runtime, contact_id) == 150
    voucher = session.exec(select(Promotion).where(Promotion.voucher_code == redeemed[0].voucher_code)).one()
    assert voucher.active is False  # handed over: it cannot buy the reward again in chat
    pushed = [m["text"] for call in fake_line.calls("/v2/bot/message/push") for m in call.json["messages"]]
    assert any("100 poin kakak ditukar" in text and "Sisa poin: 150" in text for text in pushed), pushed
    assert len(session.exec(select(AuditLog).where(AuditLog.action == "counter.redeem")).all()) == 1


def test_two_submits_at_once_redeem_once(app, as_role, line_chat, runtime, session):
    _, contact_id = line_chat
    _give(runtime, contact_id, 250)
    clients = [as_role("agent"), as_role("admin")]
    page = clients[0].get(f"/inbox/counter/{contact_id}").get_data(as_text=True)
    form = {"form": "redeem", "key": _key(page, "redeem"), "reward": "0", "points": "100"}
    statuses, start = [], threading.Barrier(2)

    def submit(client):
        start.wait()
        statuses.append(client.post(f"/inbox/counter/{contact_id}/redeem", form).status_code)

    threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303, 303]
    assert [e.kind for e in loyalty.entries(session=session, contact_id=contact_id)].count("redeem") == 1
    assert _balance(runtime, contact_id) == 150


def test_a_reward_the_customer_cannot_afford_is_refused(agent, line_chat, runtime, session):
    _, contact_id = line_chat
    _give(runtime, contact_id, 50)
    page = agent.get(f"/inbox/counter/{contact_id}").get_data(as_text=True)
    assert "Tukar sekarang" not in page and "kurang 50 poin" in page
    response = agent.post(f"/inbox/counter/{contact_id}/redeem",
                          {"form": "redeem", "key": counter.new_key(), "reward": "0", "points": "100"})
    assert response.status_code == 400 and "Poin pelanggan hanya 50" in response.get_data(as_text=True)
    changed = agent.post(f"/inbox/counter/{contact_id}/redeem",
                         {"form": "redeem", "key": counter.new_key(), "reward": "0", "points": "90"})
    assert changed.status_code == 400 and "Daftar hadiah sudah berubah" in changed.get_data(as_text=True)
    assert _balance(runtime, contact_id) == 50 and session.exec(select(Promotion)).all() == []


def test_an_adjustment_needs_a_reason_and_is_done_once(agent, line_chat, runtime, session):
    _, contact_id = line_chat
    page = agent.get(f"/inbox/counter/{contact_id}").get_data(as_text=True)
    key = _key(page, "adjust")
    refused = agent.post(f"/inbox/counter/{contact_id}/adjust", {"form": "adjust", "key": key, "points": "30",
                                                                "reason": " "})
    assert refused.status_code == 400 and 'value="30"' in refused.get_data(as_text=True)
    form = {"form": "adjust", "key": key, "points": "30", "reason": "struk hilang"}
    assert agent.post(f"/inbox/counter/{contact_id}/adjust", form).status_code == 303
    assert agent.post(f"/inbox/counter/{contact_id}/adjust", form).status_code == 303
    assert _balance(runtime, contact_id) == 30
    assert len(session.exec(select(AuditLog).where(AuditLog.action == "points.adjust")).all()) == 1


def test_a_marketer_cannot_use_the_counter(as_role, line_chat, runtime, products):
    _, contact_id = line_chat
    _give(runtime, contact_id, 250)
    marketer = as_role("marketer")
    assert 'href="/inbox/counter"' not in marketer.get("/inbox/").get_data(as_text=True)
    assert marketer.get(f"/inbox/counter/{contact_id}").status_code == 403
    assert marketer.post(f"/inbox/counter/{contact_id}/redeem",
                         {"key": "k" * 20, "reward": "0", "points": "100"}).status_code == 403
    assert marketer.post(f"/inbox/counter/{contact_id}/purchase",
                         {"key": "k" * 20, f"qty_{products['KOPI']}": "1"}).status_code == 403
    assert _balance(runtime, contact_id) == 250
    assert 'id="counter-link"' not in marketer.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)


def test_the_contact_page_shows_the_code_and_links_to_the_counter(agent, line_chat, runtime):
    _, contact_id = line_chat
    page = agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    assert "belum ada" in page and f'href="/inbox/counter/{contact_id}"' in page
    code = _code(runtime, contact_id)
    assert f'<code class="member-code">{code}</code>' in agent.get(f"/inbox/contacts/{contact_id}").get_data(as_text=True)
    assert 'href="/inbox/counter"' in agent.get("/inbox/").get_data(as_text=True)
