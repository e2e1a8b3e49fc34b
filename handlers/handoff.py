"""Handing over to staff: on request, and when the bot is unsure instead of guessing."""

from __future__ import annotations

import re

from core import messages as m
from core.texts import MENU_INTENTS
from crm import shop_settings
from handlers.base import Context
from handlers.effects import Answer, HandOff
from handlers.menu import menu_choices
from handlers.order_flow import resume_reply, when_text
from handlers.orders import answers_the_order

UNSURE_INTENTS = 2  # how many guesses to offer as buttons
_STAFF = r"(?:orang|manusia|admin|cs|staf|staff|petugas|karyawan|pegawai|manager|manajer|person|human|someone|" \
    r"somebody|agent|customer service|real person|representative)"
# An explicit request for a person, whatever else the message names ("…our beans. Who should I contact?").
ASKS_FOR_A_PERSON = re.compile(
    rf"\b(?:(?:ngomong|bicara|ngobrol|chat|ngechat|hubungi|sambungin|sambungkan|disambungkan|tanya)\s+"
    rf"(?:sama|sm|dengan|dgn|ke|langsung)?\s*(?:sama\s+)?{_STAFF}"
    rf"|(?:talk|speak|chat)\s+(?:to|with)\s+(?:a|an|the|your|some)?\s*{_STAFF}"
    rf"|who\s+(?:should|do|can|could)\s+i\s+(?:contact|talk\s+to|speak\s+(?:to|with)|reach)"
    rf"|siapa\s+yang\s+bisa\s+(?:saya\s+|aku\s+|gw\s+|gue\s+)?(?:dihubungi|hubungi|ditanya)"
    rf"|hubungi\s+siapa"
    rf"|(?:minta|panggil|panggilin|butuh|perlu|mau\s+ke|pengen\s+ke)\s+(?:sama\s+)?(?:admin|cs|staf|staff|manusia|petugas)"
    rf"|^\W*(?:admin|cs|mimin)\s*,?\s*(?:dong|donk|please|pls|plis|tolong))\b", re.IGNORECASE)


def asks_for_a_person(text: str) -> bool:
    """True when the customer asks outright for a human ("mau ngomong sama orang", "can I talk to a person")."""
    return bool(ASKS_FOR_A_PERSON.search(text))


def _hours_text(ctx: Context) -> str:
    """Today's staff hours as the customer reads them ("08:00–21:00"), or "-" when none today."""
    local = ctx.now.astimezone(ctx.data.tz)
    windows = shop_settings.staff_windows_on(ctx.data.settings(), local.date())
    return ", ".join(f"{start}–{end}" for start, end in windows or ()) or "-"


def hand_over(ctx: Context, reason: str, key: str = "handoff", line: dict | None = None) -> Answer:
    """Flag the chat for staff, saying when they answer; off duty, the bot goes on helping meanwhile.

    `reason` is the alert's line in English, `line` its key and values in staff words (crm.alerts).
    """
    ctx.intent = "human_handoff"
    # The order being built is kept: off duty the customer goes on with it ("iya jadi pesen"), on duty
    # it is there when the bot answers again.
    keep = {k: ctx.state[k] for k in ("v", "lang", "order", "pending") if k in ctx.state}
    ctx.state.clear()
    ctx.state.update(keep)
    settings = ctx.data.settings()
    if shop_settings.staff_on_duty(settings, ctx.now, ctx.data.tz):
        return Answer([m.Reply(text=ctx.say(key) + " " + ctx.say("staff_on_duty", hours=_hours_text(ctx)))],
                      (HandOff(reason, params=line or {}),))
    back = shop_settings.next_staff_time(settings, ctx.now, ctx.data.tz)
    when = when_text(ctx, back) if back else "-"
    resume = resume_reply(ctx)
    if resume is not None:  # off duty, the order goes on where it was
        return Answer([m.Reply(text=ctx.say("staff_off_duty", when=when)), resume],
                      (HandOff(reason, quiet=False, params=line or {}),))
    return Answer([m.Reply(text=ctx.say("staff_off_duty", when=when), choices=menu_choices(ctx.language)[:4])],
                  (HandOff(reason, quiet=False, params=line or {}),))


class HandoffHandler:
    """"Mau ngomong sama admin": flag the conversation for staff; the bot goes quiet."""

    name = "human_handoff"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Handoff requests: said or tapped, or asked for outright whatever else the message names."""
        if ctx.data is None:
            return False
        typed = inbound.message_type == "text" and ctx.requested_intent is None
        if typed and asks_for_a_person(inbound.text or ""):
            return True
        # "no hp 0812…" answering the order's question reads like "nomor admin?" to the model: the order's
        return ctx.wants("human_handoff") and not answers_the_order(inbound, ctx)

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Hand over and say so."""
        asked = inbound.text or inbound.postback_data or ""
        return hand_over(ctx, f"Customer asked for staff: {asked}", line={"line": "handoff_asked", "quote": asked})


class UnsureHandler:
    """Low confidence: say so and offer the likely meanings once; the second time, hand over."""

    name = "unsure"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Text the NLU is not confident about (and that is not plain chit-chat)."""
        return ctx.data is not None and inbound.message_type == "text" and ctx.analysis is not None \
            and ctx.requested_intent is None and not ctx.confident and ctx.analysis.text.strip() != ""

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Clarify with buttons, or hand over when already asked."""
        if ctx.clarifying:
            return hand_over(ctx, f"Bot unsure twice; last message: {inbound.text}", "handoff_unsure",
                             {"line": "handoff_unsure", "quote": inbound.text or ""})
        ctx.state["unsure"] = True
        ranked = sorted(ctx.analysis.scores.items(), key=lambda item: -item[1])
        guesses = [intent for intent, _ in ranked
                   if intent in MENU_INTENTS and intent != "human_handoff"][:UNSURE_INTENTS]
        choices = tuple(choice for choice in menu_choices(ctx.language)
                        if choice.data.split("=", 1)[1] in guesses + ["human_handoff"])
        return Answer([m.Reply(text=ctx.say("unsure"), choices=choices)])
