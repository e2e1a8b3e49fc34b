"""Questions answered from the shop's knowledge base, or clarified, or handed over."""

from __future__ import annotations

import re

from core import messages as m
from core.texts import menu_label
from crm.faq import CONFIDENT, SUGGEST, answer_text
from crm.stores import exception_on, exceptions_of, opening_text
from handlers.base import Context
from handlers.effects import Answer
from handlers.handoff import hand_over
from handlers.location import services_note
from handlers.nlu.lang import asks_for_information, looks_like_question
from handlers.nlu.order_text import shop_terms, stores_named
from handlers.order_flow import has_draft
from handlers.orders import asks_what_is_sold, names_a_kind_of_product, priced_products, reading

# What the NLU takes a knowledge-base question for when it names a product or a perk ("member dapet apa?").
FAQ_LOOKALIKES = ("faq", "order", "promotion", "other")


def _question(entry, language: str) -> str:
    return (entry.question_en if language == "en" and entry.question_en else entry.question)


KEYCAPS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")
_DECLINES = re.compile(r"\b(?:bukan|ngga?k?|gak|ga|tidak|enggak|engga|neither|none|nope|not)\b", re.IGNORECASE)
_OPEN_OR_CLOSED = re.compile(r"\b(?:buka|bukak|tutup|open|opens|opening|close|closes|closed|closing)\b",
                             re.IGNORECASE)
_PICK = re.compile(r"\s*(?:no\.?|nomor|number|yang|yg)?\s*([1-5])\s*(?:aja|ya|please)?\s*[.!]?\s*", re.IGNORECASE)


def listed(ctx: Context, entries: list, intro: str) -> tuple[str, tuple[m.Choice, ...]]:
    """Questions by number in the text, their numbers as buttons: a whole question never fits a label."""
    ctx.state["faq_options"] = [entry.id for entry in entries]
    lines = "\n".join(f"{KEYCAPS[n]} {_question(entry, ctx.language)}" for n, entry in enumerate(entries))
    return f"{intro}\n{lines}", tuple(m.Choice(KEYCAPS[n], data=f"faq:{entry.id}") for n, entry in enumerate(entries))


def _picked(inbound: m.Inbound, ctx: Context) -> int | None:
    """The FAQ entry a typed number picks from the questions just listed ("2", "yang 1")."""
    options = ctx.state.get("faq_options") or []
    said = _PICK.fullmatch(inbound.text or "") if inbound.message_type == "text" else None
    return options[int(said.group(1)) - 1] if said and int(said.group(1)) <= len(options) else None


def _order_store(ctx: Context):
    """The store of the order being built (None when none is chosen yet)."""
    store_id = (ctx.state.get("order") or {}).get("store_id") if has_draft(ctx) else None
    return ctx.data.store(store_id) if store_id else None


def _store_status(ctx: Context, store) -> str:
    status = opening_text(store, ctx.now, ctx.data.tz, ctx.language)
    services = services_note(ctx, store)  # "buka sampai 22:00 (hanya antar, …)" when it does not do both
    return ctx.say("order_store_hours", store=store.name, status=f"{status} ({services})" if services else status)


def _special_hours(ctx: Context) -> list[str]:
    """Today's status of each store whose hours an exception changes today (a holiday, Ramadan hours)."""
    today = ctx.now.astimezone(ctx.data.tz).date()
    return [_store_status(ctx, store) for store in ctx.data.stores()
            if exception_on(exceptions_of(store.hours_exceptions), today)]


def _asks_hours(inbound: m.Inbound, ctx: Context) -> bool:
    """An opening-hours question, by the NLU or by its words ("kemang udah buka?")."""
    return (ctx.analysis is not None and ctx.analysis.fine_intent == "faq.hours") or \
        bool(_OPEN_OR_CLOSED.search(inbound.text or ""))


def _stores_asked_about(inbound: m.Inbound, ctx: Context) -> list:
    """The stores a message names ("cabang kemang buka ga?")."""
    named = stores_named(inbound.text or "", shop_terms(stores=ctx.data.stores()))
    return [ctx.data.store(store_id) for store_id in dict.fromkeys(named)]


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
        # The answer to "which of these do you mean?": none of them, or the question again in other words.
        clarifying = bool(ctx.state.get("faq_clarify")) and (looks_like_question(inbound.text or "") or bool(
            _DECLINES.search(inbound.text or ""))) and not reading(inbound, ctx).items
        return ctx.wants("faq") or unplaced_question or clarifying or _picked(inbound, ctx) is not None

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The answer, or a clarifying question with suggestions, or a handoff."""
        if ctx.requested_intent == "faq":  # the menu button: show common questions
            words, choices = listed(ctx, ctx.data.faqs(limit=5), ctx.say("faq_clarify"))
            return Answer([m.Reply(text=words, choices=choices)])
        picked = _picked(inbound, ctx)
        if inbound.kind == m.POSTBACK or picked is not None:
            entry_id = str(picked) if picked is not None else (inbound.postback_data or "").split(":", 1)[1]
            entry = ctx.data.faq(int(entry_id)) if entry_id.isdigit() else None
            ctx.state.pop("faq_clarify", None)
            ctx.state.pop("faq_options", None)
            return Answer([m.Reply(text=answer_text(entry, ctx.language) if entry else ctx.say("stale_button"))])
        ctx.state.pop("faq_options", None)
        store = _order_store(ctx)
        if store is not None and ctx.analysis is not None and ctx.analysis.fine_intent == "faq.hours":
            # Mid-order, "jam berapa tutup?" is about the store the order is made at, not the whole chain.
            ctx.state.pop("faq_clarify", None)
            return Answer([m.Reply(text=_store_status(ctx, store))])
        asked = _stores_asked_about(inbound, ctx) if _asks_hours(inbound, ctx) else []
        if asked:  # "is Kemang open?" is answered from that store's hours today, holidays included
            ctx.state.pop("faq_clarify", None)
            return Answer([m.Reply(text="\n".join(_store_status(ctx, store) for store in asked))])
        hits = ctx.data.search_faq(inbound.text or "", ctx.language)
        if hits and hits[0].score >= CONFIDENT:
            ctx.state.pop("faq_clarify", None)
            words = answer_text(hits[0].entry, ctx.language)
            special = _special_hours(ctx) if ctx.analysis is not None and ctx.analysis.fine_intent == "faq.hours" else []
            if special:
                # The knowledge base says the usual hours; today's holiday comes first, apart from them.
                words = ctx.say("hours_today_differ", today="\n".join(special), usual=words)
            return Answer([m.Reply(text=words)])
        suggestions = [hit for hit in hits if hit.score >= SUGGEST][:3]
        if len(suggestions) == 1 and not ctx.state.get("faq_clarify"):  # one candidate: offer it, not a menu of one
            ctx.state["faq_clarify"] = True
            talk = m.Choice(menu_label("human_handoff", ctx.language), data="intent=human_handoff")
            return Answer([m.Reply(text=ctx.say("faq_maybe") + "\n" + answer_text(suggestions[0].entry, ctx.language),
                                   choices=(talk,))])
        if suggestions and not ctx.state.get("faq_clarify"):  # a clarifying question with the real candidates
            ctx.state["faq_clarify"] = True
            words, choices = listed(ctx, [hit.entry for hit in suggestions], ctx.say("faq_clarify"))
            talk = m.Choice(menu_label("human_handoff", ctx.language), data="intent=human_handoff")
            return Answer([m.Reply(text=words, choices=choices + (talk,))])
        if not ctx.state.get("faq_clarify"):
            # Nothing close: one clarifying question with what people do ask (and the menu), before staff.
            ctx.state["faq_clarify"] = True
            words, choices = listed(ctx, ctx.data.faqs(limit=3), ctx.say("faq_unknown"))
            return Answer([m.Reply(text=words, choices=choices + (
                m.Choice(menu_label("order", ctx.language), data="intent=order"),
                m.Choice(menu_label("human_handoff", ctx.language), data="intent=human_handoff")))])
        ctx.state.pop("faq_clarify", None)
        return hand_over(ctx, f"Question the FAQ could not answer: {inbound.text}", "handoff_unsure",
                         {"line": "handoff_faq", "quote": inbound.text or ""})


class KnownQuestionHandler(FaqHandler):
    """A question before any order is under way, answered from the FAQ rather than taken as an order or a promo.

    "bisa pesen buat catering kantor?" and "do you have wifi?" ask what the shop's knowledge base
    answers; "how many calories in a matcha latte?" asks to know something, not to get the drink.
    """

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """A number picking a question just listed; a typed question, no order being built, that the FAQ
        answers or that asks for information only."""
        if _picked(inbound, ctx) is not None:
            return True  # before the order handler, which would take "2" for a quantity
        if ctx.data is None or inbound.kind != m.MESSAGE or inbound.message_type != "text" \
                or ctx.analysis is None or has_draft(ctx) or ctx.complains:
            return False  # "kok kopinya basi? gimana sih": a complaint asked as a question is a complaint
        words = inbound.text or ""
        if not looks_like_question(words):
            return False
        if ctx.confident and ctx.analysis.intent not in FAQ_LOOKALIKES:
            return False  # "where is my order?", "nearest store?": their own handlers answer
        r = reading(inbound, ctx)
        if priced_products(words, r) or (asks_what_is_sold(words, r) and names_a_kind_of_product(ctx, r.unknown)):
            return False  # "berapa harga kopsus?", "ada thai tea?": the menu knows its prices and products
        if any(item.product_id is not None and item.quantity is not None
               and (item.quantity > 1 or ctx.analysis.intent == "order") for item in r.items):
            # "what time does Menteng close? I want 2 cappuccinos there": an order, with a question
            # (not "how many calories in a matcha latte?": "a" is no order)
            return False
        if asks_for_information(words) and not ctx.wants("order"):
            return True
        if any(item.product_id is not None for item in r.items):
            return False  # "ada croissant?", "bisa pesan kopsus?": the order handler knows the menu
        hits = ctx.data.search_faq(words, ctx.language)
        return bool(hits) and hits[0].score >= CONFIDENT
