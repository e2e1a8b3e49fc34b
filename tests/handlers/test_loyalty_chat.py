"""Loyalty points in chat: the balance question (not a promotion), the reward list, a reward's voucher in an order."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from core.db import session_scope
from core.money import rupiah
from crm import loyalty
from crm.models import Contact, Message
from crm.orders import Order, Product, change_status, steps_to
from crm.shop_settings import save_settings
from handlers.loyalty import asks_for_points, asks_for_stamps, asks_to_redeem
from tests.handlers.test_conversations import Customer, postbacks, shop, texts  # noqa: F401


@pytest.fixture
def customer(client, fake_line, shop) -> Customer:  # noqa: F811
    return Customer(client, fake_line)


def _contact_id(session) -> int:
    return session.exec(select(Contact.id)).one()


def _give(runtime, session, points: int) -> None:
    with session_scope(runtime.engine) as db:
        loyalty.adjust(session=db, contact_id=_contact_id(session), points=points, reason="test", by="staff:1")


@pytest.mark.parametrize("text", ["poin saya berapa?", "Poinku brp kak", "cek poin", "my points", "points",
                                  "berapa poin aku sekarang?", "how many points do I have",
                                  "kak poinku udah masuk belum dari pesanan kemarin?", "gimana caranya dapet poin?",
                                  "poin bisa dipake buat apa aja?", "kapan poin aku hangus?", "level aku apa sih",
                                  "what's my tier?", "my level"])
def test_points_questions_are_recognised(text):
    words = text.lower().replace("?", "").replace("'s", "").split()
    assert asks_for_points(words) and not asks_to_redeem(words)


@pytest.mark.parametrize("text", ["ada promo apa?", "promo poin double kapan", "mau pesan es kopi susu 2",
                                  "level pedasnya bisa pilih?", "mie level 3 aku satu ya",
                                  "kalau aku belanja di toko yang di kemang dapat poin juga nggak ya kak soalnya"])
def test_other_messages_are_not_points_questions(text):
    assert not asks_for_points(text.lower().replace("?", "").split())


@pytest.mark.parametrize("text", ["tukar poin", "mau tukar poin dong", "redeem points", "pakai poinku"])
def test_redeem_requests_are_recognised(text):
    assert asks_to_redeem(text.lower().split())


@pytest.mark.parametrize("text, asks", [("stempel saya berapa", True), ("my stamps", True), ("cek stempel", True),
                                        ("stempel", True),
                                        ("stempel kopi itu apa sih kok ada gambarnya kak ya", False)])
def test_stamp_questions_are_recognised(text, asks):
    assert asks_for_stamps(text.split()) is asks


def test_a_reward_voucher_code_is_not_a_redeem_request():
    assert not asks_to_redeem(["pakai", "kode", "poin-7jxqx9"])


def test_the_balance_question_answers_points_not_a_promotion(customer, runtime, session):
    customer.says("halo")
    _give(runtime, session, 120)
    reply = texts(customer.says("poin saya berapa?"))
    # 500 more to Gold: a staff adjustment is not earning.
    assert "Poin kakak: 120" in reply and "Level: Silver" in reply and "500 poin lagi" in reply
    assert "Gratis kopi susu — 100 poin" in reply and "promo" not in reply.lower()
    asked = session.exec(select(Message).where(Message.direction == "in", Message.text == "poin saya berapa?")).one()
    assert asked.intent == "points"
    english = texts(customer.says("how many points do I have?"))
    assert "Your points: 120" in english and "Free iced milk coffee — 100 points" in english


def test_delivered_orders_points_are_the_balance_in_chat(customer, runtime, session):
    customer.says("kak mau pesen es kopi susu 2 ya, anter ke kantor di jl sudirman 21")
    customer.says("0812 3456 7890")
    customer.says("qris")
    customer.taps("order:confirm")
    with session_scope(runtime.engine) as db:
        order = db.exec(select(Order)).one()
        for status in steps_to("delivered"):
            change_status(session=db, order=order, status=status, by="staff:1")
        earned = order.subtotal // 1000
    assert f"Poin kakak: {earned}" in texts(customer.says("cek poin"))


def test_tukar_poin_redeems_a_reward_for_a_voucher_the_order_takes(customer, runtime, session):
    customer.says("halo")
    _give(runtime, session, 150)
    offer = customer.says("tukar poin")
    assert "Poin kakak 150" in texts(offer) and postbacks(offer) == ["points:redeem:0:100"]
    done = texts(customer.taps("points:redeem:0:100"))
    entry = loyalty.entries(session=session, contact_id=_contact_id(session))[0]
    assert entry.kind == "redeem" and entry.points == -100 and entry.voucher_code in done
    assert "Sisa poin: 50" in done and "Gratis kopi susu" in done
    # The voucher is the customer's own, for one order.
    customer.says("kak mau pesen es kopi susu 2 ya, anter ke kantor di jl sudirman 21")
    customer.says("0812 3456 7890")
    customer.says("qris")
    applied = texts(customer.says(f"pakai kode {entry.voucher_code}"))
    assert entry.voucher_code in applied and "Gratis kopi susu" in applied
    customer.taps("order:confirm")
    session.expire_all()
    assert session.exec(select(Order)).one().voucher_code == entry.voucher_code
    # Too few points now: said, nothing spent.
    assert "belum cukup" in texts(customer.taps("points:redeem:0:100"))
    assert loyalty.balance(session=session, contact_id=_contact_id(session)) == 50


def test_a_reward_typed_by_its_name_or_number_is_redeemed_once(customer, runtime, session):
    with session_scope(runtime.engine) as db:
        save_settings(db, {"loyalty": {"rewards": [
            {"name": "Gratis kopi susu", "name_en": "Free iced milk coffee", "points": 100, "free_sku": "MNM-EKS"},
            {"name": "Potongan 20rb", "name_en": "Rp20,000 off", "points": 150, "amount_off": 20_000}]}})
    customer.says("halo")
    _give(runtime, session, 400)

    def redeemed() -> list[int]:
        session.expire_all()
        return [-e.points for e in loyalty.entries(session=session, contact_id=_contact_id(session)) if e.kind == "redeem"]

    customer.says("mau tukar poin dong")
    done = texts(customer.says("yang kopi susu aja kak"))  # typed, not tapped: the reward, not an order of coffee
    assert redeemed() == [100] and "Sisa poin: 300" in done
    assert redeemed() == [100] and "Sisa" not in texts(customer.says("1"))  # the offer was answered: no second one
    customer.says("tukar poin")
    customer.says("no 2")
    assert redeemed() == [150, 100]
    customer.says("tukar poin")
    replies = texts(customer.says("mau pesen es teh manis 1"))  # not a reward: an order, nothing spent
    assert redeemed() == [150, 100] and "Sisa poin" not in replies


def test_a_stale_reward_button_offers_the_list_again(customer, runtime, session):
    customer.says("halo")
    _give(runtime, session, 500)
    assert postbacks(customer.taps("points:redeem:0:80")) == ["points:redeem:0:100"]
    assert loyalty.balance(session=session, contact_id=_contact_id(session)) == 500


def test_tukar_poin_with_too_few_points_says_how_far_without_buttons_to_refuse(customer, runtime, session):
    customer.says("halo")
    _give(runtime, session, 30)
    offer = customer.says("tukar poin")
    assert "Poin kakak 30, belum cukup untuk Gratis kopi susu (100 poin)" in texts(offer)
    assert postbacks(offer) == []


def _redeem_in_chat(customer, runtime, session, reward: dict) -> str:
    with session_scope(runtime.engine) as db:
        save_settings(db, {"loyalty": {"rewards": [reward]}})
    customer.says("halo")
    _give(runtime, session, 150)
    customer.taps(f"points:redeem:0:{reward['points']}")
    return loyalty.entries(session=session, contact_id=_contact_id(session))[0].voucher_code


def test_a_held_reward_is_offered_at_the_summary_and_its_discount_is_shown_and_charged(customer, runtime, session):
    code = _redeem_in_chat(customer, runtime, session, {"name": "Potongan 20rb", "points": 100, "amount_off": 20_000})
    customer.says("kak mau pesen es kopi susu 2 ya, anter ke kantor di jl sudirman 21")
    customer.says("0812 3456 7890")
    summary = texts(customer.says("qris"))
    assert f'Kakak punya voucher {code} (Potongan 20rb). Ketik "pakai kode {code}"' in summary
    with_voucher = texts(customer.says(f"pakai kode {code}"))
    assert "Potongan voucher: -Rp20.000" in with_voucher and "Kakak punya voucher" not in with_voucher
    customer.taps("order:confirm")
    session.expire_all()
    order = session.exec(select(Order)).one()
    assert order.discount == 20_000 and order.total == order.subtotal - 20_000 + order.delivery_fee
    assert f"Total: {rupiah(order.subtotal - 20_000 + order.delivery_fee, 'id')}" in with_voucher


def test_a_free_product_reward_puts_the_product_in_the_order_and_takes_it_off(customer, runtime, session):
    with Session(runtime.engine) as db:
        coffee = db.exec(select(Product).where(Product.name == "Es Kopi Susu")).one()
    code = _redeem_in_chat(customer, runtime, session, {"name": "Gratis kopi susu", "points": 100,
                                                        "free_sku": coffee.sku})
    customer.says("kak mau pesen croissant 2 ya, anter ke kantor di jl sudirman 21")
    customer.says("0812 3456 7890")
    customer.says("qris")
    said = texts(customer.says(f"pakai kode {code}"))
    assert "Es Kopi Susu gratisnya sudah kami masukkan" in said
    assert f"Potongan voucher: -{rupiah(coffee.price, 'id')}" in said
    customer.taps("order:confirm")
    session.expire_all()
    order = session.exec(select(Order)).one()
    assert order.discount == coffee.price and order.total == order.subtotal - coffee.price + order.delivery_fee


def test_stamps_are_answered_alone_and_with_the_points(customer, runtime, session):
    with Session(runtime.engine) as db:
        coffee = db.exec(select(Product).where(Product.name == "Es Kopi Susu")).one()
    customer.says("halo")
    no_card = texts(customer.says("stempel saya berapa?"))  # no card here: the points are what they collect
    assert no_card.startswith("Kami belum punya kartu stempel") and "Poin kakak: 0" in no_card
    with session_scope(runtime.engine) as db:
        save_settings(db, {"loyalty": {"stamps": {"sku": coffee.sku, "stamps": 9}}})
    test_delivered_orders_points_are_the_balance_in_chat(customer, runtime, session)  # 2 coffees delivered
    stamps = texts(customer.says("stempel saya berapa?"))
    assert stamps.startswith("Kartu stempel kakak: 2 dari 9") and "1 Es Kopi Susu gratis" in stamps
    assert "Poin kakak" not in stamps
    assert "Kartu stempel kakak: 2 dari 9" in texts(customer.says("poin saya berapa?"))
    assert "Your stamp card: 2 of 9" in texts(customer.says("how many stamps do I have?"))
