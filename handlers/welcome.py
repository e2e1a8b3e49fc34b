"""Welcome on LINE follow / Telegram /start (and when a customer unblocks the account)."""

from __future__ import annotations

from bot import messages as m
from handlers.base import Context
from handlers.menu import menu_choices
from handlers.texts import text


class WelcomeHandler:
    """Greets a new follower with the menu."""

    name = "welcome"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Follow events and the /start command."""
        return inbound.kind == m.FOLLOW or (inbound.kind == m.MESSAGE and inbound.command == "start")

    def handle(self, inbound: m.Inbound, ctx: Context) -> list[m.Reply]:
        """A welcome (or welcome back) with the main menu as buttons."""
        key = "welcome_back" if inbound.data.get("unblocked") else "welcome"
        greeting = text(key, ctx.language, name=ctx.contact_name, shop=ctx.shop_name)
        return [m.Reply(text=greeting, choices=menu_choices(ctx.language))]
