"""The member code in chat: typed requests in Indonesian and English get the same code (never a promo or the FAQ),
and the points answer mentions it."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from crm import member_codes
from crm.member_codes import MemberCode
from crm.models import Contact, Message
from handlers.member_code import asks_for_member_code
from tests.handlers.test_conversations import Customer, shop, texts  # noqa: F401

ASKS = ["kartu member", "kode member", "member card", "my member code", "Kak, kartu member aku mana ya?",
        "minta kode member dong kak", "kode membernya berapa min", "Show my membership card please",
        "membercard", "no member saya brp?", "nomor anggota saya"]
NOT_ASKS = ["ada promo khusus member?", "cara daftar member gimana kak", "kalo jadi member dapet apa aja sih min?",
            "poin member aku gmn cara ceknya?", "pakai kode POIN-7JXQX9", "kode promo apa yang berlaku?",
            "aku mau pesan es kopi susu 2, kode member nanti aku kasih ke kasir aja ya kak"]


@pytest.fixture
def customer(client, fake_line, shop) -> Customer:  # noqa: F811
    return Customer(client, fake_line)


@pytest.mark.parametrize("text", ASKS)
def test_member_code_requests_are_recognised(text):
    assert asks_for_member_code(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.mark.parametrize("text", NOT_ASKS)
def test_other_messages_about_members_are_not(text):
    assert not asks_for_member_code(re.findall(r"[a-z0-9]+", text.lower()))


def _code_in(reply: str) -> str:
    found = re.search(r"(?:Kode member kakak|Your member code): ([A-Z0-9]{7})", reply)
    assert found, reply
    return found.group(1)


def test_typed_requests_in_both_languages_get_one_stable_code(customer, session):
    customer.says("halo")
    codes = set()
    for text in ASKS:
        reply = texts(customer.says(text))
        codes.add(_code_in(reply))
        assert "promo" not in reply.lower()
    contact_id = session.exec(select(Contact.id)).one()
    assert codes == {member_codes.code_of(session=session, contact_id=contact_id)}  # one code, kept
    assert len(session.exec(select(MemberCode)).all()) == 1
    english = texts(customer.says("my member code"))
    assert "Show it at the counter" in english and "Your points now: 0" in english
    intents = session.exec(select(Message.intent).where(Message.direction == "in", Message.text.in_(ASKS))).all()
    assert set(intents) == {"member_code"}


def test_the_points_answer_mentions_the_code_or_how_to_get_it(customer):
    customer.says("halo")
    assert 'Ketik "kartu member"' in texts(customer.says("poin saya berapa?"))
    code = _code_in(texts(customer.says("kartu member")))
    assert f"Tunjukkan kode member kakak ke kasir: {code}" in texts(customer.says("cek poin"))


def test_asking_about_joining_is_still_the_faq(customer, session):
    customer.says("halo")
    reply = texts(customer.says("cara jadi member gimana kak?"))
    assert "Kode member kakak" not in reply
    assert session.exec(select(MemberCode)).all() == []


def test_the_code_is_answered_while_staff_have_the_chat(customer):
    customer.says("mau ngomong sama admin")  # handed over: the bot is quiet, but the customer is at the counter
    assert "Kode member kakak" in texts(customer.says("kartu member"))
    assert "Kode member kakak" not in texts(customer.says("mau ngomong sama admin soal kartu member"))
