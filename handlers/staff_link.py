"""A staff member proves a chat account is theirs: they send the bot the one-time code the
inbox showed them ("My chat accounts"), and that chat is linked to them.

It runs before the conversation (first in the router), so a code is never taken for an
order or a question, and also while the bot leaves the chat to staff (the pipeline asks it
even then). It writes through `ctx.data.session`, in the event's own transaction,
like the other chat-side settings (opt-out).
"""

from __future__ import annotations

from core import messages as m
from crm import staff_links
from handlers.base import Context
from handlers.broadcasts import CHANNEL_NAMES
TEXTS = {
    "linked": {"id": "Beres! Akun {channel} ini sekarang terhubung ke {name} di inbox. Tes kirim kampanye akan "
                     "masuk ke chat ini.",
               "en": "Done! This {channel} account is now linked to {name} in the inbox. Campaign test-sends will "
                     "arrive in this chat."},
    "invalid": {"id": "Kode itu tidak berlaku (salah, sudah dipakai, atau kedaluwarsa). Minta kode baru di halaman "
                      "\"Akun chat saya\" di inbox.",
                "en": "That code is not valid (wrong, already used or expired). Get a new one on the \"My chat "
                      "accounts\" page of the inbox."},
}


class StaffLinkHandler:
    """A direct message that is only a link code: link the chat to the code's staff member, confirm."""

    name = "staff_link"
    # A staff member links their own account from any chat, even one staff have taken over.
    answers_while_bot_inactive = True

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """A text message in a 1:1 chat that consists of a link code."""
        return ctx.data is not None and ctx.contact_id is not None and inbound.is_direct and \
            inbound.kind == m.MESSAGE and inbound.message_type == "text" and \
            staff_links.code_in(inbound.text) is not None

    def handle(self, inbound: m.Inbound, ctx: Context) -> list[m.Reply]:
        """Link the account (once per code) and say so, or say the code is not valid."""
        ctx.intent = "staff_link"
        staff = staff_links.redeem(session=ctx.data.session, code=staff_links.code_in(inbound.text) or "",
                                   channel=inbound.channel, external_id=inbound.chat_id,
                                   contact_id=ctx.contact_id, now=ctx.now)
        # A code says nothing about the sender's language (the NLU's guess at it is noise): their profile's.
        language = (getattr(ctx.data.contact, "language", None) or "id").lower()
        words = TEXTS["linked" if staff else "invalid"]["en" if language.startswith("en") else "id"]
        return [m.Reply(text=words.format(channel=CHANNEL_NAMES.get(inbound.channel, inbound.channel),
                                          name=staff.display_name or staff.email if staff else ""))]
