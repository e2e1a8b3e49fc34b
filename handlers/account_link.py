"""A customer links their chat accounts: "link account" / "hubungkan akun" / `/link` gives a one-time code, and
that code sent from another account merges that account's contact into the asker's (crm/account_links.py).

Both are explicit, so they are routed before the intent model reads the message (the way
commands are), and also while staff have the chat. Creating the code and merging are effects;
their answers are worded once applied (`code_reply`, `redeemed_reply`).
"""

from __future__ import annotations

from core import messages as m
from core.texts import text
from crm import account_links
from handlers.base import Context
from handlers.effects import Answer, LinkAccounts, RequestLinkCode


class AccountLinkHandler:
    """A direct text message asking for a link code, or consisting of one."""

    name = "account_link"
    answers_while_bot_inactive = True

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """A text in a 1:1 chat that asks for a code or is one."""
        if ctx.data is None or ctx.contact_id is None or not inbound.is_direct or inbound.kind != m.MESSAGE \
                or inbound.message_type != "text":
            return False
        return account_links.asks_for_code(inbound.text, inbound.command) or \
            account_links.code_in(inbound.text) is not None

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """A new code for this contact, or the merge of this contact into the code's."""
        ctx.intent = "account_link"
        code = account_links.code_in(inbound.text)
        if code is None:
            return Answer([], (RequestLinkCode(ctx.language),))
        # A code says nothing about the sender's language: their profile's, as for staff link codes.
        language = "en" if (ctx.data.contact_language or "id").lower().startswith("en") else "id"
        return Answer([], (LinkAccounts(code, language),))


def code_reply(code: str, links: list[str], language: str) -> m.Reply:
    """The code, how to use it, and the deep links to the other channels."""
    lines = [text("link_code", language, code=account_links.shown(code), minutes=str(account_links.CODE_MINUTES))]
    lines += [text("link_code_url", language, url=url) for url in links]
    return m.Reply(text="\n\n".join(lines))


def redeemed_reply(status: str, language: str) -> m.Reply:
    """The answer to a code sent from another account: linked, or why not."""
    key = "account_linked" if status == "linked" else f"link_code_{status}"
    return m.Reply(text=text(key, language, minutes=str(account_links.CODE_MINUTES)))
