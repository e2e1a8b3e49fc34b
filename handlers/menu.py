"""The helpful menu: the answer when nothing more specific matches."""

from __future__ import annotations

from urllib.parse import parse_qs

from core import messages as m
from core.texts import MENU_INTENTS, menu_label, text
from handlers.base import Context
from handlers.effects import Answer
from handlers.nlu.lang import looks_like_question
from handlers.order_flow import has_draft
from handlers.orders import MENU_WORDS, SHOW_WORDS, asks_for_the_menu, catalog_reply, menu_words, reading

MENU_NOUNS = MENU_WORDS - {"makan", "minum"}  # "bisa makan di tempat?" asks about dining in, not the menu


def menu_choices(language: str) -> tuple[m.Choice, ...]:
    """The main menu as buttons (postbacks `intent=<name>`)."""
    return tuple(m.Choice(label=menu_label(intent, language), data=f"intent={intent}") for intent in MENU_INTENTS)


def postback_intent(data: str | None) -> str | None:
    """The intent named by a menu postback (`intent=order`), if it is a known one."""
    values = parse_qs(data or "").get("intent")
    return values[0] if values and values[0] in MENU_INTENTS else None


class StalePostbackHandler:
    """A button nobody handles (old, or from another version): say so and show the menu."""

    name = "stale_button"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Postbacks that reached the end of the chain."""
        return inbound.kind == m.POSTBACK

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Apologise and offer the current menu."""
        return Answer([m.Reply(text=text("unknown_button", ctx.language), choices=menu_choices(ctx.language))])


class MenuQuestionHandler:
    """"menunya apa aja?", "minta daftar menu dong": the products on sale, not a guess at an FAQ entry."""

    name = "menu"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """A typed question or request about the menu that names no product, with no order being built."""
        if ctx.data is None or inbound.kind != m.MESSAGE or inbound.message_type != "text" or has_draft(ctx):
            return False
        asks = looks_like_question(inbound.text or "") or bool(SHOW_WORDS & set(menu_words(inbound.text)))
        return asks and asks_for_the_menu(ctx, inbound.text, MENU_NOUNS) and not reading(inbound, ctx).items

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The catalog carousel with an order button on each product."""
        return Answer([catalog_reply(ctx)])


OFF_TOPIC_WORDS = 3  # fewer words ("ok", "wkwk", "👍") are chat noise: the menu, not "I can't help with that"


class OutOfScopeHandler:
    """A message the NLU is sure is not for the shop (trivia, homework, a job, spam): said plainly, with the menu."""

    name = "out_of_scope"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Confident `other` with a few words, from a customer in a direct chat."""
        analysis = ctx.analysis
        return inbound.is_direct and inbound.message_type == "text" and analysis is not None \
            and ctx.requested_intent is None and ctx.wants("other") \
            and len((inbound.text or "").split()) >= OFF_TOPIC_WORDS

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """What the bot can do instead, as buttons; staff see it in the inbox like any chat."""
        return Answer([m.Reply(text=ctx.say("out_of_scope"), choices=menu_choices(ctx.language))])


class MenuHandler:
    """Fallback: any message gets the menu (groups get a short hint)."""

    name = "menu"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Every customer message."""
        return inbound.kind == m.MESSAGE

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The menu with quick replies / an inline keyboard."""
        if not inbound.is_direct:
            return Answer([m.Reply(text=text("menu_group", ctx.language, shop=ctx.shop_name))])
        if inbound.message_type == "text":
            key = "empty" if not (inbound.text or "").strip() else "menu"
        else:
            key = "sticker" if inbound.message_type == "sticker" else "non_text"
        return Answer([m.Reply(text=text(key, ctx.language, name=ctx.contact_name),
                               choices=menu_choices(ctx.language))])
