"""The customer's member code to show at the counter: "kartu member", "kode member", "member card", "my member code".

A precise rule before the intent model, like the points question: the model reads these as the FAQ,
a promotion, an order's status or even a request for staff ("nomor anggota saya": handoff, 0.92),
so it comes before the model's guess of a handoff (an outright request for a person still wins),
and it answers while staff have the chat too: the customer is standing at the counter. The code is
made on first ask (an effect) and stays the same (crm/member_codes.py); staff type it on the
inbox's counter page.
"""

from __future__ import annotations

import re

from core import messages as m
from core.texts import text
from handlers.base import Context
from handlers.effects import Answer, ShowMemberCode
from handlers.handoff import asks_for_a_person

MEMBER_WORDS = frozenset({"member", "membernya", "memberku", "membership", "anggota", "keanggotaan"})
# What the customer wants of their membership: the card or its code (not its promos or how to join).
CARD_WORDS = frozenset({"kartu", "kartunya", "kartuku", "kode", "kodenya", "kodeku", "code", "card", "nomor", "nomer",
                        "no", "number", "id", "qr", "barcode"})
WHOLE_WORDS = frozenset({"membercard", "kartumember", "kodemember", "membercode"})  # typed without a space
OTHER_TOPICS = frozenset({"promo", "diskon", "discount", "voucher", "harga", "price", "daftar", "join", "register"})
MAX_WORDS = 8  # a longer message mentioning a member card is about something else


def asks_for_member_code(words: list[str]) -> bool:
    """"kartu member", "kode member saya dong", "member card", "my member code"."""
    said = set(words)
    if len(words) > MAX_WORDS or said & OTHER_TOPICS:
        return False
    return bool(said & WHOLE_WORDS) or (bool(said & MEMBER_WORDS) and bool(said & CARD_WORDS))


def _words(inbound: m.Inbound) -> list[str]:
    if inbound.kind != m.MESSAGE or inbound.message_type != "text":
        return []
    return re.findall(r"[a-z0-9]+", (inbound.text or "").lower())


class MemberCodeHandler:
    """A direct request for the member code, from a known customer."""

    name = "member_code"
    answers_while_bot_inactive = True

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """A text in a 1:1 chat asking for the member card or code."""
        if ctx.data is None or ctx.contact_id is None or not inbound.is_direct:
            return False
        return asks_for_member_code(_words(inbound)) and not asks_for_a_person(inbound.text or "")

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The code, made on first ask (an effect), with the balance."""
        return Answer([], (ShowMemberCode(ctx.language),))


def member_code_reply(code: str, balance: int, language: str) -> m.Reply:
    """The member code, how to use it at the counter, and the points it holds."""
    return m.Reply(text=text("member_code", language, code=code, balance=str(balance)))
