"""A staff member proves a chat account is theirs: they send the bot the one-time code the
inbox showed them ("My chat accounts"), and that chat is linked to them.

It runs before the conversation (first in the router), so a code is never taken for an
order or a question, and also while the bot leaves the chat to staff (the pipeline asks it
even then). The link is an effect; whether the code was valid is known once it is applied,
so the answer is worded then (`link_reply`).
"""

from __future__ import annotations

from core import messages as m
from core.texts import text
from crm import staff_links
from crm.models import StaffUser
from handlers.base import Context
from handlers.effects import Answer, LinkStaffAccount


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

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Link the account (once per code); the answer says so, or that the code is not valid."""
        ctx.intent = "staff_link"
        # A code says nothing about the sender's language (the NLU's guess at it is noise): their profile's.
        language = "en" if (ctx.data.contact_language or "id").lower().startswith("en") else "id"
        return Answer([], (LinkStaffAccount(staff_links.code_in(inbound.text) or "", language),))


def link_reply(staff: StaffUser | None, language: str) -> m.Reply:
    """The answer to a link code: linked to whom, or not valid."""
    if staff is None:
        return m.Reply(text=text("staff_link_invalid", language))
    return m.Reply(text=text("staff_linked", language, name=staff.display_name or staff.email))
