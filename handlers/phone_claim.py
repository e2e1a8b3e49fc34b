"""An imported member's phone number given in chat: the bot asks once whether it is the customer's, and only their
yes links them (crm/phone_claims.py).

A number typed alone, outside an order, asks at once (`OfferPhoneClaim`); an order's number asks when the order is
placed (bot/answer.py). The question leaves `phone_claim` in the chat's state: the next message answers it when it
is a yes or a no ("ya", "iya itu saya", "bukan", "yes", "no, not me"); anything else goes on to the other handlers
and the router drops the question. The buttons' taps count whenever they come (the claim itself says if it is
still open).
"""

from __future__ import annotations

import re

from core import messages as m
from core.texts import button, text
from crm.phone_claims import STATE_KEY
from handlers.base import Context
from handlers.effects import Answer, AnswerPhoneClaim, OfferPhoneClaim
from handlers.nlu.order_words import NO, YES, canon
from handlers.nlu.phones import read_phone

BUTTON = re.compile(r"^phone_claim:(\d+):(yes|no)$")
# Words around the yes or no that say nothing more ("iya kak itu saya", "no, that's not me").
FILLERS = {w for word in (
    "kak", "kakak", "ka", "min", "admin", "dong", "deh", "sih", "nih", "aja", "saja", "itu", "ini", "saya", "aku",
    "gue", "gw", "nomor", "nomorku", "nomornya", "punya", "punyaku", "member", "memang", "emang",
    "me", "mine", "it", "its", "it's", "is", "that", "that's", "thats", "i", "am", "i'm", "im", "my", "number",
    "please", "thanks", "makasih") for w in canon(word)}
# Single words that say no on their own ("bukan", "no", "not" as in "not me").
NO_WORDS = {phrase[0] for phrase in NO if len(phrase) == 1} | set(canon("not")) | set(canon("tidak"))
_WORDS = re.compile(r"[\w']+")


def yes_or_no(said: str | None) -> bool | None:
    """True for a yes, False for a no, None for anything else ("ya itu saya" / "bukan kak" / "pesan 2 kopi")."""
    words = [w for word in _WORDS.findall((said or "").lower()) for w in canon(word)]
    kept = tuple(w for w in words if w not in FILLERS)
    if not kept:
        return None
    if all(w in NO_WORDS for w in kept) or kept in NO:
        return False
    if any(w in NO_WORDS for w in kept):
        return None  # "ya bukan" / "yes, no": unclear, so not taken as either
    return True if kept in YES or all((w,) in YES for w in kept) else None


class PhoneClaimHandler:
    """The answer to "is this member you?", or a member's phone number typed alone."""

    name = "phone_claim"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """A tap on the question's buttons, a yes or no while the chat waits, or a member's number typed alone."""
        if ctx.data is None or ctx.contact_id is None or not inbound.is_direct:
            return False
        if inbound.kind == m.POSTBACK:
            return BUTTON.match(inbound.postback_data or "") is not None
        if inbound.kind != m.MESSAGE or inbound.message_type != "text":
            return False
        if ctx.state.get(STATE_KEY):
            return yes_or_no(inbound.text) is not None
        phone = read_phone(inbound.text or "")
        return phone is not None and not ctx.state.get("order") and ctx.data.asks_about_phone(phone)

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The answer as an effect (the merge happens when it is applied), or the question for a typed number."""
        if inbound.kind == m.POSTBACK:
            claim_id, choice = BUTTON.match(inbound.postback_data).groups()
            if ctx.state.get(STATE_KEY) == int(claim_id):
                ctx.state.pop(STATE_KEY)
            return Answer([], (AnswerPhoneClaim(int(claim_id), choice == "yes", ctx.language),))
        waiting = ctx.state.pop(STATE_KEY, None)
        if waiting:
            return Answer([], (AnswerPhoneClaim(waiting, bool(yes_or_no(inbound.text)), ctx.language),))
        return Answer([], (OfferPhoneClaim(read_phone(inbound.text or ""), ctx.language),))


def question(claim_id: int, phone: str, name: str, language: str) -> m.Reply:
    """"Nomor 0812-xxxx-5678 sudah terdaftar sebagai member atas nama B***. Itu kakak?" with yes / no buttons."""
    return m.Reply(text=text("phone_claim_ask", language, phone=phone, name=name),
                   choices=(m.Choice(button("phone_claim_yes", language), data=f"phone_claim:{claim_id}:yes"),
                            m.Choice(button("phone_claim_no", language), data=f"phone_claim:{claim_id}:no")))


def answered_reply(status: str, language: str) -> m.Reply:
    """What the customer is told after their answer: linked, not linked, or that it cannot be done now."""
    key = {"yes": "phone_claim_linked", "no": "phone_claim_declined"}.get(status, "phone_claim_gone")
    return m.Reply(text=text(key, language))
