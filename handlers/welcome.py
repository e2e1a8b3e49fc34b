"""Welcome on LINE follow / Telegram /start, greetings and thanks."""

from __future__ import annotations

import re

from core import messages as m
from core.texts import text
from handlers.base import Context
from handlers.effects import Answer
from handlers.menu import menu_choices

THANKS = re.compile(r"\b(makasih+|terima ?kasih|trims|thx|thanks|thank you|tengkyu|suwun|nuwun|mksh)\b", re.IGNORECASE)


class WelcomeHandler:
    """Greets a new follower with the menu."""

    name = "greeting"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Follow events and the /start command."""
        return inbound.kind == m.FOLLOW or (inbound.kind == m.MESSAGE and inbound.command == "start")

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """A welcome (or welcome back) with the main menu as buttons."""
        key = "welcome_back" if inbound.data.get("unblocked") else "welcome"
        greeting = text(key, ctx.language, name=ctx.contact_name, shop=ctx.shop_name)
        return Answer([m.Reply(text=greeting, choices=menu_choices(ctx.language))])


class GreetingHandler:
    """"Halo kak" gets a greeting and the menu; "makasih" gets a "you're welcome"."""

    name = "greeting"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Confident greetings, and thanks."""
        if inbound.message_type != "text" or ctx.analysis is None:
            return False
        return ctx.wants("greeting") or (ctx.analysis.intent == "other" and bool(THANKS.search(inbound.text or "")))

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Greet with the menu, or answer thanks (a courtesy answered on purpose: labelled greeting, not other)."""
        if ctx.analysis.intent == "other":
            return Answer([m.Reply(text=ctx.say("thanks"))])
        return Answer([m.Reply(text=ctx.say("greeting", name=ctx.contact_name), choices=menu_choices(ctx.language))])
