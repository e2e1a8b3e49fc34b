"""Chat side of broadcasts: opt-out ("stop" / "berhenti") and back in, campaign buttons, the
editable welcome journey.

They read campaigns and the welcome journey through `ctx.marketing` and return what to
change (consent, a click) as effects: no broadcasts code is imported here.
"""

from __future__ import annotations

import re

from core import messages as m
from handlers.base import Context
from handlers.effects import Answer, RecordClick, SetOptOut
from handlers.menu import menu_choices

STOP = re.compile(r"^\s*/?(stop|berhenti|unsubscribe|unsub|stop promo|berhenti promo|berhenti langganan|"
                  r"jangan kirim promo)\s*[.!]*\s*$", re.IGNORECASE)
START = re.compile(r"^\s*/?(mulai|mulai promo|subscribe|langganan|langganan lagi|start promo)\s*[.!]*\s*$",
                   re.IGNORECASE)


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

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Record the choice and confirm it."""
        said = _text_of(inbound)
        out = bool(STOP.match(said))
        ctx.intent = "opt_out" if out else "opt_in"
        # ctx.language is the message's, or the customer's last one for a word either language uses ("stop").
        return Answer([m.Reply(text=ctx.say("opted_out" if out else "opted_in"))], (SetOptOut(out),))


class CampaignButtonHandler:
    """A campaign's `reply` button (postback ``bc:<campaign>:<variant>:<index>``): count the click, answer."""

    name = "campaign_button"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Postbacks carrying a campaign button."""
        return inbound.kind == m.POSTBACK and ctx.marketing is not None and \
            (inbound.postback_data or "").startswith("bc:")

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The button's answer (and a click in the campaign's results)."""
        try:
            _, campaign_id, variant, index = (inbound.postback_data or "").split(":", 3)
            campaign, position = int(campaign_id), int(index)
        except (ValueError, TypeError):
            campaign = None
        if campaign is None or not ctx.marketing.has_campaign(campaign):
            ctx.intent = "campaign_button"
            return Answer([m.Reply(text=ctx.say("unknown_button"))])
        answer = ctx.marketing.campaign_answer(campaign, variant, position)
        return Answer([m.Reply(text=answer)] if answer else [], (RecordClick(campaign, variant),))


class WelcomeJourneyHandler:
    """The welcome journey when staff edited or switched it off (else the built-in welcome answers)."""

    name = "greeting"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Follow / /start while the welcome journey is off or has its own text."""
        if ctx.marketing is None or not (inbound.kind == m.FOLLOW or
                                         (inbound.kind == m.MESSAGE and inbound.command == "start")):
            return False
        enabled, text = ctx.marketing.welcome()
        return not enabled or bool(text)

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Silence when off; the edited welcome (with the menu) when on."""
        enabled, text = ctx.marketing.welcome()
        if not enabled:
            return Answer([])
        filled = text.replace("{name}", ctx.contact_name).replace("{first_name}", ctx.contact_name.split()[0]) \
            .replace("{shop}", ctx.shop_name)
        return Answer([m.Reply(text=filled, choices=menu_choices(ctx.language))])
