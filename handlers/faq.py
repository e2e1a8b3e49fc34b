"""Questions answered from the shop's knowledge base, or clarified, or handed over."""

from __future__ import annotations

from core import messages as m
from core.texts import menu_label
from crm.faq import answer_text
from handlers.base import Context
from handlers.effects import Answer
from handlers.handoff import hand_over
from handlers.nlu.lang import asks_for_information, looks_like_question
from handlers.order_flow import has_draft
from handlers.orders import priced_products, reading

CONFIDENT, SUGGEST = 0.5, 0.25  # search_faq score thresholds (see crm.faq.search_faq)
# What the NLU takes a knowledge-base question for when it names a product or a perk ("member dapet apa?").
FAQ_LOOKALIKES = ("faq", "order", "promotion", "other")


def _question(entry, language: str) -> str:
    return (entry.question_en if language == "en" and entry.question_en else entry.question)


class FaqHandler:
    """Answers questions with the best FAQ entry when sure; otherwise offers the top matches."""

    name = "faq"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """FAQ buttons, and questions the NLU recognises as FAQ."""
        if ctx.data is None:
            return False
        if inbound.kind == m.POSTBACK:
            return (inbound.postback_data or "").startswith("faq:") or ctx.requested_intent == "faq"
        if inbound.message_type != "text":
            return False
        # A question the intents do not cover ("ada lowongan?") or the NLU is unsure of is looked up too,
        # then clarified or handed over.
        unplaced_question = ctx.analysis is not None and (ctx.analysis.intent == "other" or not ctx.confident) \
            and looks_like_question(inbound.text or "")
        return ctx.wants("faq") or unplaced_question

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The answer, or a clarifying question with suggestions, or a handoff."""
        if ctx.requested_intent == "faq":  # the menu button: show common questions
            entries = ctx.data.faqs(limit=5)
            lines = "\n".join(f"• {_question(entry, ctx.language)}" for entry in entries)
            return Answer([m.Reply(text=f"{ctx.say('faq_clarify')}\n{lines}",
                                   choices=tuple(m.Choice(_question(e, ctx.language), data=f"faq:{e.id}")
                                                 for e in entries))])
        if inbound.kind == m.POSTBACK:
            entry_id = (inbound.postback_data or "").split(":", 1)[1]
            entry = ctx.data.faq(int(entry_id)) if entry_id.isdigit() else None
            ctx.state.pop("faq_clarify", None)
            return Answer([m.Reply(text=answer_text(entry, ctx.language) if entry else ctx.say("stale_button"))])
        hits = ctx.data.search_faq(inbound.text or "", ctx.language)
        if hits and hits[0].score >= CONFIDENT:
            ctx.state.pop("faq_clarify", None)
            return Answer([m.Reply(text=answer_text(hits[0].entry, ctx.language))])
        suggestions = [hit for hit in hits if hit.score >= SUGGEST][:3]
        if len(suggestions) == 1 and not ctx.state.get("faq_clarify"):  # one candidate: offer it, not a menu of one
            ctx.state["faq_clarify"] = True
            talk = m.Choice(menu_label("human_handoff", ctx.language), data="intent=human_handoff")
            return Answer([m.Reply(text=ctx.say("faq_maybe") + "\n" + answer_text(suggestions[0].entry, ctx.language),
                                   choices=(talk,))])
        if suggestions and not ctx.state.get("faq_clarify"):  # a clarifying question with the real candidates
            ctx.state["faq_clarify"] = True
            choices = tuple(m.Choice(_question(hit.entry, ctx.language), data=f"faq:{hit.entry.id}")
                            for hit in suggestions)
            lines = "\n".join(f"• {_question(hit.entry, ctx.language)}" for hit in suggestions)
            talk = m.Choice(menu_label("human_handoff", ctx.language), data="intent=human_handoff")
            return Answer([m.Reply(text=f"{ctx.say('faq_clarify')}\n{lines}", choices=choices + (talk,))])
        if not ctx.state.get("faq_clarify"):
            # Nothing close: one clarifying question with what people do ask (and the menu), before staff.
            ctx.state["faq_clarify"] = True
            entries = ctx.data.faqs(limit=3)
            lines = "\n".join(f"• {_question(entry, ctx.language)}" for entry in entries)
            choices = tuple(m.Choice(_question(entry, ctx.language), data=f"faq:{entry.id}") for entry in entries)
            return Answer([m.Reply(text=f"{ctx.say('faq_unknown')}\n{lines}", choices=choices + (
                m.Choice(menu_label("order", ctx.language), data="intent=order"),
                m.Choice(menu_label("human_handoff", ctx.language), data="intent=human_handoff")))])
        ctx.state.pop("faq_clarify", None)
        return hand_over(ctx, f"Question the FAQ could not answer: {inbound.text}", "handoff_unsure")


class KnownQuestionHandler(FaqHandler):
    """A question before any order is under way, answered from the FAQ rather than taken as an order or a promo.

    "bisa pesen buat catering kantor?" and "do you have wifi?" ask what the shop's knowledge base
    answers; "how many calories in a matcha latte?" asks to know something, not to get the drink.
    """

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """A typed question, no order being built, that the FAQ answers or that asks for information only."""
        if ctx.data is None or inbound.kind != m.MESSAGE or inbound.message_type != "text" \
                or ctx.analysis is None or has_draft(ctx) or ctx.complains:
            return False  # "kok kopinya basi? gimana sih": a complaint asked as a question is a complaint
        words = inbound.text or ""
        if not looks_like_question(words):
            return False
        if ctx.confident and ctx.analysis.intent not in FAQ_LOOKALIKES:
            return False  # "where is my order?", "nearest store?": their own handlers answer
        if priced_products(words, reading(inbound, ctx)):
            return False  # "berapa harga kopsus?": the menu knows its prices
        if asks_for_information(words) and not ctx.wants("order"):
            return True
        names_a_product = any(item.product_id is not None for item in reading(inbound, ctx).items)
        if names_a_product:
            return False  # "ada croissant?", "bisa pesan kopsus?": the order handler knows the menu
        hits = ctx.data.search_faq(words, ctx.language)
        return bool(hits) and hits[0].score >= CONFIDENT
