"""Handing over to staff: on request, and when the bot is unsure instead of guessing."""

from __future__ import annotations

from core import messages as m
from core.texts import MENU_INTENTS
from handlers.base import Context
from handlers.effects import Answer, HandOff
from handlers.menu import menu_choices

UNSURE_INTENTS = 2  # how many guesses to offer as buttons


class HandoffHandler:
    """"Mau ngomong sama admin": flag the conversation for staff; the bot goes quiet."""

    name = "human_handoff"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Handoff requests."""
        return ctx.data is not None and ctx.wants("human_handoff")

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Hand over and say so."""
        ctx.state.clear()
        return Answer([m.Reply(text=ctx.say("handoff"))],
                      (HandOff(f"Customer asked for staff: {inbound.text or inbound.postback_data or ''}"),))


class UnsureHandler:
    """Low confidence: say so and offer the likely meanings once; the second time, hand over."""

    name = "unsure"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """Text the NLU is not confident about (and that is not plain chit-chat)."""
        return ctx.data is not None and inbound.message_type == "text" and ctx.analysis is not None \
            and ctx.requested_intent is None and not ctx.confident and ctx.analysis.text.strip() != ""

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """Clarify with buttons, or hand over when already asked."""
        if ctx.state.get("unsure"):
            ctx.state.pop("unsure", None)
            ctx.intent = "human_handoff"
            return Answer([m.Reply(text=ctx.say("handoff_unsure"))],
                          (HandOff(f"Bot unsure twice; last message: {inbound.text}"),))
        ctx.state["unsure"] = True
        ranked = sorted(ctx.analysis.scores.items(), key=lambda item: -item[1])
        guesses = [intent for intent, _ in ranked
                   if intent in MENU_INTENTS and intent != "human_handoff"][:UNSURE_INTENTS]
        choices = tuple(choice for choice in menu_choices(ctx.language)
                        if choice.data.split("=", 1)[1] in guesses + ["human_handoff"])
        return Answer([m.Reply(text=ctx.say("unsure"), choices=choices)])
