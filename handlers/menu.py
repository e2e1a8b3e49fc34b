"""The helpful menu: the answer when nothing more specific matches."""

from __future__ import annotations

from urllib.parse import parse_qs

from bot import messages as m
from handlers.base import Context
from handlers.texts import MENU_CHOICES, text


def menu_choices(language: str) -> tuple[m.Choice, ...]:
    """The main menu as buttons (postbacks `intent=<name>`)."""
    return tuple(m.Choice(label=labels.get(language, labels["id"]), data=f"intent={intent}")
                 for intent, labels in MENU_CHOICES)


def postback_intent(data: str | None) -> str | None:
    """The intent named by a menu postback (`intent=order`), if any."""
    values = parse_qs(data or "").get("intent")
    return values[0] if values else None


class PostbackMenuHandler:
    """Answers a tap on a menu button."""

    name = "menu_choice"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Postbacks (LINE postback actions, Telegram callback queries)."""
        return inbound.kind == m.POSTBACK

    def handle(self, inbound: m.Inbound, ctx: Context) -> list[m.Reply]:
        """Acknowledge a known menu choice; show the menu again for stale buttons."""
        intent = postback_intent(inbound.postback_data)
        labels = dict(MENU_CHOICES).get(intent or "")
        if labels is None:
            return [m.Reply(text=text("unknown_button", ctx.language), choices=menu_choices(ctx.language))]
        ctx.intent = intent
        label = labels.get(ctx.language, labels["id"])
        return [m.Reply(text=text("choice_received", ctx.language, label=label))]


class MenuHandler:
    """Fallback: any message gets the menu (groups get a short hint)."""

    name = "menu"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Every customer message."""
        return inbound.kind == m.MESSAGE

    def handle(self, inbound: m.Inbound, ctx: Context) -> list[m.Reply]:
        """The menu with quick replies / an inline keyboard."""
        if not inbound.is_direct:
            return [m.Reply(text=text("menu_group", ctx.language, shop=ctx.shop_name))]
        key = "menu" if inbound.message_type == "text" else "non_text"
        return [m.Reply(text=text(key, ctx.language, name=ctx.contact_name), choices=menu_choices(ctx.language))]
