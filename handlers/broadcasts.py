"""Chat side of broadcasts: opt-out ("stop" / "berhenti") and back in, campaign buttons, the
editable welcome journey.

These handlers read and write through `ctx.data.session` (consent rows, clicks, the welcome
journey): small, idempotent writes in the event's own transaction, no SDK.
"""

from __future__ import annotations

import re

from core import messages as m
from handlers.base import Context

STOP = re.compile(r"^\s*/?(stop|berhenti|unsubscribe|unsub|stop promo|berhenti promo|berhenti langganan|"
                  r"jangan kirim promo)\s*[.!]*\s*$", re.IGNORECASE)
START = re.compile(r"^\s*/?(mulai|mulai promo|subscribe|langganan|langganan lagi|start promo)\s*[.!]*\s*$",
                   re.IGNORECASE)
CHANNEL_NAMES = {"line": "LINE", "telegram": "Telegram", "simulator": "simulator"}
TEXTS = {
    "opted_out": {"id": "Oke, kamu tidak akan menerima pesan promo lagi di {channel}. Chat dan pesanan tetap "
                        "bisa seperti biasa. Ketik MULAI kalau mau menerima promo lagi.",
                  "en": "Done, you won't get promotional messages on {channel} any more. Chatting and ordering "
                        "work as usual. Type MULAI (or SUBSCRIBE) to get promos again."},
    "opted_in": {"id": "Siap, kamu akan menerima info promo lagi di {channel} 🎉 Ketik STOP kapan saja untuk "
                       "berhenti.",
                 "en": "Great, you'll get our promos on {channel} again 🎉 Type STOP any time to stop."},
}


def _say(key: str, ctx: Context, channel: str) -> str:
    return TEXTS[key]["en" if ctx.language == "en" else "id"].format(channel=CHANNEL_NAMES.get(channel, channel))


def _text_of(inbound: m.Inbound) -> str:
    return inbound.text or "" if inbound.message_type == "text" else ""


class OptOutHandler:
    """"stop" / "berhenti" opts out of marketing on this channel (with a confirmation); "mulai" back in."""

    name = "opt_out"
    # A customer who says stop is opted out even while staff have the chat.
    answers_while_bot_inactive = True

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """A direct message that is only a stop or start word."""
        if ctx.data is None or ctx.contact_id is None or not inbound.is_direct or inbound.kind != m.MESSAGE:
            return False
        text = _text_of(inbound)
        return bool(STOP.match(text) or START.match(text))

    def handle(self, inbound: m.Inbound, ctx: Context) -> list[m.Reply]:
        """Record the choice and confirm it."""
        from broadcasts.consent import set_opt_out

        out = bool(STOP.match(_text_of(inbound)))
        set_opt_out(session=ctx.data.session, contact_id=ctx.contact_id, channel=inbound.channel, opted_out=out)
        ctx.intent = "opt_out" if out else "opt_in"
        return [m.Reply(text=_say("opted_out" if out else "opted_in", ctx, inbound.channel))]


class CampaignButtonHandler:
    """A campaign's `reply` button (postback ``bc:<campaign>:<variant>:<index>``): count the click, answer."""

    name = "campaign_button"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Postbacks carrying a campaign button."""
        return inbound.kind == m.POSTBACK and ctx.data is not None and \
            (inbound.postback_data or "").startswith("bc:")

    def handle(self, inbound: m.Inbound, ctx: Context) -> list[m.Reply]:
        """The button's answer (and a click in the campaign's results)."""
        from broadcasts import campaigns
        from broadcasts.models import Campaign

        try:
            _, campaign_id, variant, index = (inbound.postback_data or "").split(":", 3)
            campaign = ctx.data.session.get(Campaign, int(campaign_id))
            position = int(index)
        except (ValueError, TypeError):
            campaign = None
        if campaign is None:
            ctx.intent = "campaign_button"
            return [m.Reply(text=ctx.say("unknown_button"))]
        campaigns.record_click(session=ctx.data.session, campaign_id=campaign.id, variant=variant,
                               contact_id=ctx.contact_id)
        answer = campaigns.button_reply(campaigns.variant_message(campaign, variant), position)
        return [m.Reply(text=answer)] if answer else []


class WelcomeJourneyHandler:
    """The welcome journey when staff edited or switched it off (else the built-in welcome answers)."""

    name = "greeting"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Follow / /start while the welcome journey is off or has its own text."""
        if ctx.data is None or not (inbound.kind == m.FOLLOW or
                                    (inbound.kind == m.MESSAGE and inbound.command == "start")):
            return False
        from broadcasts.journeys import welcome_text

        enabled, text = welcome_text(session=ctx.data.session)
        return not enabled or bool(text)

    def handle(self, inbound: m.Inbound, ctx: Context) -> list[m.Reply]:
        """Silence when off; the edited welcome (with the menu) when on."""
        from broadcasts.journeys import welcome_text
        from handlers.menu import menu_choices

        enabled, text = welcome_text(session=ctx.data.session)
        if not enabled:
            return []
        filled = text.replace("{name}", ctx.contact_name).replace("{first_name}", ctx.contact_name.split()[0]) \
            .replace("{shop}", ctx.shop_name)
        return [m.Reply(text=filled, choices=menu_choices(ctx.language))]
