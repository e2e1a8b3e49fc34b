"""An imported member's phone number given in chat links the two contacts only when the customer says it is theirs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import select

from core.db import session_scope
from crm import loyalty, merge, phone_claims
from crm.contact_import import import_contacts
from crm.models import ChannelIdentity, Contact, ContactMerge, PhoneClaim
from crm.orders import Order
from tests.factories import Webhooks, tg_text
from tests.handlers.test_conversations import Customer, postbacks, shop, texts  # noqa: F401

MEMBER_PHONE = "+6281234565678"
ASKED_ID = "Nomor 0812-xxxx-5678 sudah terdaftar sebagai member atas nama B*** S***. Itu kakak? (ya/bukan)"
ASKED_EN = "The number 0812-xxxx-5678 is registered as a member under the name B*** S***. Is that you? (yes/no)"
TG_USER = 515151515


@pytest.fixture
def customer(client, fake_line, shop) -> Customer:  # noqa: F811
    return Customer(client, fake_line)


@pytest.fixture
def member(runtime, tmp_path) -> int:
    """A member from the shop's spreadsheet (phone, birthday, tags, no chat account) with 200 points."""
    sheet = Path(tmp_path) / "members.csv"
    sheet.write_text("name,phone,birthday,tags\nBudi Santoso,0812-3456-5678,1990-05-01,vip\n"
                     "Sari Dewi,0813-1111-2222,1992-01-02,\n", encoding="utf-8")
    import_contacts(engine=runtime.engine, path=sheet)
    with session_scope(runtime.engine) as session:
        member_id = session.exec(select(Contact.id).where(Contact.phone == MEMBER_PHONE)).one()
        loyalty.adjust(session=session, contact_id=member_id, points=200, reason="kartu member lama", by="staff:1")
    return member_id


def _order_with_phone(customer: Customer, phone: str = "0812 3456 5678") -> str:
    customer.says("kak mau pesen es kopi susu 2 ya, anter ke kantor di jl sudirman 21")
    customer.says(phone)
    customer.says("qris")
    return texts(customer.says("ya"))


def _line_contact(session) -> Contact:
    identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == "line")).one()
    return session.get(Contact, identity.contact_id)


def test_an_order_with_a_members_number_asks_once_and_ya_joins_the_chat_to_the_member(customer, member, session,
                                                                                        client, auth, runtime):
    placed = _order_with_phone(customer)
    assert "#" in placed and ASKED_ID in placed  # after the order's own words
    session.expire_all()
    chat_contact = _line_contact(session)
    assert chat_contact.id != member and chat_contact.merged_into is None  # nothing merged before the answer

    answer = texts(customer.says("iya kak itu saya"))
    assert "terhubung dengan data member" in answer
    session.expire_all()
    person = _line_contact(session)
    # The member survives: the shop's name, birthday, tags and points stay; the chat's order joins them.
    assert person.id == member and session.get(Contact, chat_contact.id).merged_into == member
    assert (person.display_name, person.birthday, person.tags) == ("Budi Santoso", date(1990, 5, 1), ["vip"])
    assert loyalty.balance(session=session, contact_id=member) == 200
    assert session.exec(select(Order.contact_id)).all() == [member]
    body = client.get(f"/api/v1/contacts/{member}", headers=auth).get_json()
    assert [i["channel"] for i in body["identities"]] == ["line"] and body["points"] == 200
    claim = session.exec(select(PhoneClaim)).one()
    record = session.get(ContactMerge, claim.merge_id)
    assert (claim.status, record.survivor_id, record.merged_id) == ("yes", member, chat_contact.id)
    assert record.source == "chat"

    # Ordered again with the same number: the member is theirs now, nothing is asked.
    assert "member" not in _order_with_phone(customer)

    # Undone like a staff merge: the chat contact lives again with its identity.
    with session_scope(runtime.engine) as db:
        merge.undo(session=db, merge_id=record.id, staff_user_id=None)
    session.expire_all()
    assert _line_contact(session).id == chat_contact.id
    assert session.get(Contact, member).display_name == "Budi Santoso"


def test_a_tapped_yes_merges_and_a_second_tap_does_nothing_more(customer, member, session):
    replies = customer.says("kak mau pesen es kopi susu 2 ya, anter ke kantor di jl sudirman 21")
    customer.says("0812 3456 5678")
    customer.says("qris")
    asked = customer.says("ya")
    yes = next(data for data in postbacks(asked) if data.endswith(":yes"))
    assert "terhubung dengan data member" in texts(customer.taps(yes))
    assert "tidak bisa dihubungkan" in texts(customer.taps(yes))
    session.expire_all()
    assert _line_contact(session).id == member and len(session.exec(select(ContactMerge)).all()) == 1
    assert replies  # the order was answered all along


def test_bukan_never_asks_again_for_that_number(customer, member, session):
    assert ASKED_ID in _order_with_phone(customer)
    assert "tidak akan tanya lagi" in texts(customer.says("bukan kak"))
    session.expire_all()
    chat_contact = _line_contact(session)
    assert chat_contact.id != member and session.get(Contact, member).merged_into is None
    assert "member" not in _order_with_phone(customer)
    assert "member" not in texts(customer.says("0812-3456-5678"))
    assert session.exec(select(PhoneClaim.status)).all() == ["no"]


def test_a_typed_number_asks_in_english_and_no_keeps_them_apart(client, fake_telegram, member, session):
    hooks = Webhooks(client)
    hooks.telegram(tg_text("hello, my number is +62 812-3456-5678", user_id=TG_USER))
    assert fake_telegram.texts_to(TG_USER)[-1] == ASKED_EN
    hooks.telegram(tg_text("No, that's not me", user_id=TG_USER))
    assert "won't ask about that number again" in fake_telegram.texts_to(TG_USER)[-1]
    hooks.telegram(tg_text("+62 812-3456-5678", user_id=TG_USER))
    assert ASKED_EN not in fake_telegram.texts_to(TG_USER)[-1]
    session.expire_all()
    identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == "telegram")).one()
    assert identity.contact_id != member


def test_a_typed_number_and_a_typed_yes_in_english_merge(client, fake_telegram, member, session):
    hooks = Webhooks(client)
    hooks.telegram(tg_text("0812 3456 5678", user_id=TG_USER, first_name="Budi"))
    assert "B*** S***" in fake_telegram.texts_to(TG_USER)[-1]
    hooks.telegram(tg_text("yes, that's me", user_id=TG_USER))
    assert "linked to your membership" in fake_telegram.texts_to(TG_USER)[-1]
    session.expire_all()
    identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == "telegram")).one()
    assert identity.contact_id == member


def test_something_else_than_an_answer_drops_the_question_unanswered(customer, member, session):
    assert ASKED_ID in _order_with_phone(customer)
    customer.says("ada promo apa hari ini?")
    customer.says("ya")  # about the promotions, not the member
    session.expire_all()
    assert _line_contact(session).id != member
    assert session.exec(select(PhoneClaim.status)).all() == ["asked"]
    assert "member" not in _order_with_phone(customer)  # asked once


def test_a_member_with_a_chat_account_or_a_number_of_nobody_is_not_asked(customer, member, runtime, session):
    assert "member" not in _order_with_phone(customer, "0857 0000 1111")  # nobody's number
    with session_scope(runtime.engine) as db:  # the member now chats on Telegram: not an imported-only contact
        db.add(ChannelIdentity(contact_id=member, channel="telegram", external_id="777"))
    assert "member" not in texts(customer.says("0812 3456 5678"))


def test_a_yes_to_a_member_who_got_a_chat_account_meanwhile_is_refused(customer, member, runtime, session):
    assert ASKED_ID in _order_with_phone(customer)
    with session_scope(runtime.engine) as db:
        db.add(ChannelIdentity(contact_id=member, channel="telegram", external_id="777"))
    assert "tidak bisa dihubungkan" in texts(customer.says("ya"))
    session.expire_all()
    assert _line_contact(session).id != member
    assert session.exec(select(PhoneClaim.status)).all() == ["taken"]


def test_erasing_either_contact_forgets_the_numbers_asked_about(customer, member, runtime, session):
    from crm.data_rights import erase_contact

    assert ASKED_ID in _order_with_phone(customer)
    with session_scope(runtime.engine) as db:
        erase_contact(session=db, contact_id=member)
    assert session.exec(select(PhoneClaim)).all() == []


@pytest.mark.parametrize(("said", "meant"), [
    ("ya", True), ("iya itu saya", True), ("Ya kak, betul itu saya", True), ("yes", True), ("Yes, that's me", True),
    ("bener itu nomor saya", True), ("bukan", False), ("bukan kak", False), ("Bukan saya", False), ("no", False),
    ("No, that's not me", False), ("not me", False), ("ya bukan", None), ("pesan 2 kopi", None),
    ("ya, pesan 2 kopi lagi", None), ("halo", None)])
def test_yes_and_no_in_both_languages(said, meant):
    from handlers.phone_claim import yes_or_no

    assert yes_or_no(said) is meant


def test_the_member_is_shown_masked():
    assert phone_claims.masked_phone("+6281234565678") == "0812-xxxx-5678"
    assert phone_claims.masked_name("budi santoso wijaya") == "B*** S***"
    assert phone_claims.masked_name("") == "***"
