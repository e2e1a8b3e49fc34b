"""A staff member answers a customer from their linked chat: `/r <conversation id> <text>` (`/r@bot` too).

Only from a chat proven to be a staff member's own (a link code sent from it); from any other
chat `/r` is ordinary customer text. The reply itself is an effect: the pipeline sends it as
that staff member's inbox reply and confirms it here.
"""

from __future__ import annotations

import re

from core import messages as m
from core.texts import text
from handlers.base import Context
from handlers.effects import Answer, StaffReply

# "/r 12 Baik kak" → ("12", "Baik kak"); the text may span lines.
_COMMAND = re.compile(r"^\s*/r(?:@\w+)?(?=\s|$)\s*(\S*)\s*(.*)$", re.IGNORECASE | re.DOTALL)


def parse(message: str | None) -> tuple[str, str] | None:
    """The (conversation id as typed, text) of a /r command, or None when the message is not one."""
    found = _COMMAND.match(message or "")
    return (found.group(1), found.group(2).strip()) if found else None


class StaffReplyHandler:
    """`/r <id> <text>` from a staff member's linked chat: reply to that conversation's customer as them."""

    name = "staff_reply"
    # The staff chat may be one the bot left to staff: its own commands still work.
    answers_while_bot_inactive = True

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """A /r text in a 1:1 chat that is a staff member's linked account."""
        return ctx.data is not None and inbound.is_direct and inbound.kind == m.MESSAGE and \
            inbound.message_type == "text" and parse(inbound.text) is not None and \
            ctx.data.is_staff_chat(inbound.chat_id)

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The reply as an effect, or how to write the command when the id or the text is missing."""
        ctx.intent = "staff_reply"
        language = "en" if (ctx.data.contact_language or "id").lower().startswith("en") else "id"
        conversation_id, words = parse(inbound.text)
        if not conversation_id.isdigit() or not words:
            return Answer([m.Reply(text=text("staff_reply_usage", language))])
        return Answer([], (StaffReply(int(conversation_id), words, language),))
